"""The subscribe form (an email address, a search term and how often, plus a honeypot for bots)
and the manage page's forms."""

import datetime
import unicodedata
import zoneinfo

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from . import addresses
from .models import Frequency, Subscription, Weekday, normalize_term

TERM_MAX_LENGTH = 100
# Joiners hold emoji sequences together ("👩‍🎤"), which make fine search terms.
ALLOWED_FORMAT_CHARACTERS = {"\u200c", "\u200d"}
CONTROL_CHARACTERS_MESSAGE = "Please remove line breaks and other control characters."


def has_control_characters(value):
    """True for C0/C1 controls (CR, LF, NUL, DEL...) and invisible format characters (bidi
    overrides, BOM): they have no place in an address or a term and are how header injection
    and look-alike text start."""
    return any(
        unicodedata.category(char) == "Cc"
        or (unicodedata.category(char) == "Cf" and char not in ALLOWED_FORMAT_CHARACTERS)
        for char in value
    )


def known_time_zone(value: str | None) -> str:
    """`value` if zoneinfo knows the zone, else the site's TIME_ZONE."""
    value = value.strip() if isinstance(value, str) else ""
    if value and "\x00" not in value and value in zoneinfo.available_timezones():
        return value
    return settings.TIME_ZONE


class NoControlCharactersMixin:
    """Checks the value as posted, before the field strips it: a trailing CR/LF is an injection
    attempt to refuse, not whitespace to tidy away."""

    def to_python(self, value):
        if isinstance(value, str) and has_control_characters(value):
            raise ValidationError(CONTROL_CHARACTERS_MESSAGE, code="control_characters")
        return super().to_python(value)


class PlainEmailField(NoControlCharactersMixin, forms.CharField):
    """An address in the plain `local@domain` form only (subscriptions.addresses), cleaned to
    the form it is stored and sent in. Not forms.EmailField: its validator accepts quoted
    local parts and IP literals, and would answer first with a vaguer message."""

    widget = forms.EmailInput

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", addresses.MAX_LENGTH)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if value in self.empty_values:
            return value
        try:
            return addresses.plain_address(value)
        except addresses.InvalidAddress as error:
            raise ValidationError(str(error), code="invalid") from error


class PlainCharField(NoControlCharactersMixin, forms.CharField):
    pass


class TermForm(forms.Form):
    """A mood or search term, cleaned as the subscriptions store it."""

    term = PlainCharField(
        label="Mood or search term",
        # The limit applies after whitespace is collapsed; see clean_term.
        widget=forms.TextInput(attrs={"maxlength": TERM_MAX_LENGTH}),
        error_messages={"required": "Please type a mood or search term."},
    )

    def clean_term(self):
        term = normalize_term(self.cleaned_data["term"])
        if not term:
            raise ValidationError("Please type a mood or search term.", code="required")
        if len(term) > TERM_MAX_LENGTH:
            raise ValidationError(
                "Keep the term to %(limit)d characters or fewer.",
                code="max_length",
                params={"limit": TERM_MAX_LENGTH},
            )
        return term


class SubscribeForm(TermForm):
    email = PlainEmailField(
        label="Your email address",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    # The browser's zone (static/js/site.js fills it from Intl); without JavaScript, or with
    # a name zoneinfo does not know, the site's TIME_ZONE: never an error on the form.
    # A plain Field: no length or NUL validator of CharField's may turn it into an error.
    time_zone = forms.Field(required=False, widget=forms.HiddenInput)
    frequency = forms.ChoiceField(
        label="How often",
        choices=Frequency.choices,
        initial=Frequency.DAILY,
        required=False,  # a form without the select (an old cached page) means daily
        error_messages={"invalid_choice": "Please choose every day, weekdays or once a week."},
    )
    weekly_day = forms.TypedChoiceField(
        label="Weekly on",
        choices=Weekday.choices,
        coerce=int,
        initial=Weekday.MONDAY,
        required=False,
        empty_value=Weekday.MONDAY,  # type: ignore[arg-type]  # coerced to int, not a str
        error_messages={"invalid_choice": "Please choose a day of the week."},
    )
    # The honeypot: hidden from people (and screen readers) by the template; bots fill it in.
    homepage = PlainCharField(required=False, label="Leave this empty")

    field_order = ["email", "term", "frequency", "weekly_day", "time_zone", "homepage"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.is_bound and self.data.get("frequency") != Frequency.WEEKLY:
            # Only a weekly email has a weekday. The page hides the field for the others, so
            # whatever it holds is no error: a disabled field takes its initial value instead.
            self.fields["weekly_day"].disabled = True

    def clean_frequency(self):
        return self.cleaned_data.get("frequency") or Frequency.DAILY

    def clean_time_zone(self):
        return known_time_zone(self.cleaned_data.get("time_zone"))

    @property
    def schedule(self):
        """Only after is_valid(): the preferences a new subscriber starts with."""
        return {
            "time_zone": self.cleaned_data["time_zone"],
            "frequency": self.cleaned_data["frequency"],
            "weekly_day": self.cleaned_data["weekly_day"],
        }

    @property
    def is_bot(self):
        """Only meaningful after is_valid(): the honeypot was filled in."""
        return bool(self.cleaned_data.get("homepage"))


# -- the manage page -------------------------------------------------------------------------

PAUSE_MAX_DAYS = 365


class SubscriptionChoiceForm(forms.Form):
    """One of the subscriber's own subscriptions, named by id (stop, re-start)."""

    subscription: "forms.ModelChoiceField[Subscription]" = forms.ModelChoiceField(
        queryset=None,
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": "That playlist is not one of this address's."},
    )

    def __init__(self, *args, subscriber, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subscription"].queryset = subscriber.subscriptions.all()


class PauseForm(forms.Form):
    until = forms.DateField(
        label="Pause every email until",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": "Please give a date like 2026-12-31."},
    )

    @staticmethod
    def first_day() -> datetime.date:
        return timezone.localdate() + datetime.timedelta(days=1)

    @staticmethod
    def last_day() -> datetime.date:
        return timezone.localdate() + datetime.timedelta(days=PAUSE_MAX_DAYS)

    def clean_until(self):
        until = self.cleaned_data["until"]
        if until < self.first_day():
            raise ValidationError("Please pick a day after today.", code="past")
        if until > self.last_day():
            raise ValidationError(
                "You can pause for up to %(days)d days.",
                code="too_far",
                params={"days": PAUSE_MAX_DAYS},
            )
        return until


class EraseForm(forms.Form):
    confirm = forms.BooleanField(
        label="Yes, erase everything about my address",
        error_messages={"required": "Tick the box to confirm that you want your data erased."},
    )


class LostLinkForm(forms.Form):
    email = PlainEmailField(
        label="Your email address",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
