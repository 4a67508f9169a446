"""Helpers and choices the subscription models share: tokens, addresses, terms, schedules."""

import datetime
import secrets
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from ..addresses import InvalidAddress, plain_address

# canonical_email of a 254-character address in any spelling: a local part of up to 252
# characters, "@", and a domain that IDNA encodes to at most 253.
INBOX_KEY_MAX_LENGTH = 512


def new_token():
    """An unguessable 256-bit token for confirm and unsubscribe links."""
    return secrets.token_urlsafe(32)


def stored_address(value):
    """The plain form of an address (subscriptions.addresses), or, for an old row's spelling
    that is not plain (a quoted local part), the address as it is, trimmed: it is still
    somebody's inbox, and its key still finds every other spelling of it."""
    try:
        return plain_address(value)
    except InvalidAddress:
        return (value or "").strip()


def _with_inbox_key(update_fields):
    """update_fields that change `email` must write its key too."""
    if update_fields is None or "email" not in update_fields:
        return update_fields
    return {*update_fields, "inbox_key"}


def confirmation_cutoff(now=None):
    """Pending confirmations last sent before this moment have expired."""
    now = now or timezone.now()
    return now - datetime.timedelta(days=settings.PENDING_CONFIRMATION_DAYS)


def normalize_term(value):
    """Trim and collapse inner whitespace: "  rainy   sunday " -> "rainy sunday"."""
    return " ".join((value or "").split())


def default_time_zone() -> str:
    """The site's zone: a subscriber whose browser told us nothing gets the site's hour."""
    return settings.TIME_ZONE


def validate_time_zone(value: str) -> None:
    """An IANA zone name that zoneinfo knows ("Europe/London", "Pacific/Kiritimati")."""
    if value not in zoneinfo.available_timezones():
        raise ValidationError("%(value)s is not a time zone we know.", params={"value": value})


class Frequency(models.TextChoices):
    DAILY = "daily", "Every day"
    WEEKDAYS = "weekdays", "Weekdays (Monday to Friday)"
    WEEKLY = "weekly", "Once a week"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


DEFAULT_SEND_HOUR = 7
