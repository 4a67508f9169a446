"""The subscribe form: an email address and a search term, plus a honeypot for bots."""

import unicodedata

from django import forms
from django.core.exceptions import ValidationError

from . import addresses
from .models import normalize_term

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


class SubscribeForm(forms.Form):
    email = PlainEmailField(
        label="Your email address",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    term = PlainCharField(
        label="Mood or search term",
        # The limit applies after whitespace is collapsed; see clean_term.
        widget=forms.TextInput(attrs={"maxlength": TERM_MAX_LENGTH}),
        error_messages={"required": "Please type a mood or search term."},
    )
    # The honeypot: hidden from people (and screen readers) by the template; bots fill it in.
    homepage = PlainCharField(required=False, label="Leave this empty")

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

    @property
    def is_bot(self):
        """Only meaningful after is_valid(): the honeypot was filled in."""
        return bool(self.cleaned_data.get("homepage"))
