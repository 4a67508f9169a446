"""The subscribe form's choices for the shared partial, which pages of both apps include, and
the one wording of each frequency ("Send me a playlist every weekday")."""

import contextlib

from django import template
from django.conf import settings

from subscriptions.models import Frequency, Weekday

register = template.Library()

# How often, as the end of a sentence: the form's heading and button (static/js/site.js reads
# them from the options when the choice changes) and the confirmation pages.
FREQUENCY_PHRASES: dict[str, str] = {
    Frequency.DAILY: "every day",
    Frequency.WEEKDAYS: "every weekday",
    Frequency.WEEKLY: "every week",
}


@register.filter
def how_often(frequency: str) -> str:
    """The phrase of a frequency; a value the form does not offer reads as the default."""
    return FREQUENCY_PHRASES.get(frequency, FREQUENCY_PHRASES[Frequency.DAILY])


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
