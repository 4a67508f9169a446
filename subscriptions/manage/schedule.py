"""The subscriber's schedule behind their manage token: time zone, hour, how often, weekday.

GET shows the form and changes nothing; POST (with CSRF) saves it, and it takes effect from
the next period: today's email, if it went, is not sent again (subscriptions.daily.schedule).
"""

import zoneinfo
from functools import lru_cache

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from ..models import Subscriber
from . import services as manage
from .web_copies import private, subscriber_or_404

HOURS = [(hour, f"{hour:02d}:00") for hour in range(24)]


@lru_cache(maxsize=1)
def time_zone_names() -> list[str]:
    """IANA zones for the searchable list: Area/Location names, and UTC."""
    names = zoneinfo.available_timezones()
    return sorted(
        name
        for name in names
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "posix/", "right/"))
    ) + ["UTC"]


class ScheduleForm(forms.ModelForm):
    send_hour = forms.TypedChoiceField(
        label="At", choices=HOURS, coerce=int, help_text="Your local time."
    )

    class Meta:
        model = Subscriber
        fields = ["time_zone", "send_hour", "frequency", "weekly_day"]
        labels = {"time_zone": "Time zone", "frequency": "How often", "weekly_day": "Weekly on"}
        widgets = {
            "time_zone": forms.TextInput(
                attrs={"list": "time-zones", "autocomplete": "off", "spellcheck": "false"}
            )
        }
        error_messages = {
            "frequency": {"invalid_choice": "Please choose every day, weekdays or once a week."},
            "weekly_day": {"invalid_choice": "Please choose a day of the week."},
        }


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def schedule(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = subscriber_or_404(token)
    saved = False
    if request.method == "POST":
        form = ScheduleForm(request.POST, instance=Subscriber.objects.get(pk=subscriber.pk))
        if form.is_valid():
            manage.subscriber_schedule_change(subscriber=subscriber, **form.cleaned_data)
            subscriber.refresh_from_db()
            form, saved = ScheduleForm(instance=subscriber), True
    else:
        form = ScheduleForm(instance=subscriber)
    status = 400 if form.errors else 200
    context = {"form": form, "saved": saved, "token": token, "zones": time_zone_names()}
    return private(render(request, "subscriptions/schedule.html", context, status=status))
