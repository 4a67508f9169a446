"""The subscribe form's choices for the shared partial, which pages of both apps include."""

import contextlib

from django import template
from django.conf import settings

from subscriptions.models import Frequency, Weekday

register = template.Library()


@register.simple_tag
def subscribe_choices(form=None) -> dict:
    """Frequencies and weekdays, the chosen ones (a bound form's, else the defaults), and
    the site's time zone for the hidden field that the browser's script replaces."""
    frequency, weekday = Frequency.DAILY.value, Weekday.MONDAY.value
    if getattr(form, "is_bound", False):
        frequency = form["frequency"].value() or frequency
        with contextlib.suppress(TypeError, ValueError):
            weekday = int(form["weekly_day"].value())
    return {
        "frequencies": Frequency.choices,
        "weekdays": Weekday.choices,
        "frequency": frequency,
        "weekday": weekday,
        "time_zone": settings.TIME_ZONE,
    }
