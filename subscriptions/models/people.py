"""The person and their moods: Subscriber (one per inbox) and Subscription (one per mood)."""

import datetime

from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone

from ..addresses import canonical_email, validate_plain_address
from .base import (
    DEFAULT_SEND_HOUR,
    INBOX_KEY_MAX_LENGTH,
    Frequency,
    Weekday,
    _with_inbox_key,
    confirmation_cutoff,
    default_time_zone,
    new_token,
    normalize_term,
    stored_address,
    validate_time_zone,
)


class SubscriberQuerySet(models.QuerySet):
    """bulk_create and bulk_update skip save(): these normalise the rows the same way.
    (A queryset's update(email=...) does not; nothing here updates addresses that way.)"""

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for obj in objs:
            obj.normalize_fields()
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs = list(objs)
        if "email" in fields:
            for obj in objs:
                obj.normalize_fields()
            fields = [*fields, "inbox_key"]
        return super().bulk_update(objs, fields, *args, **kwargs)


class Subscriber(models.Model):
    """One inbox: every subscription, claim and delivery event of a person points here.

    `state` is the inbox's delivery state: a bounced or complained inbox is never mailed until
    staff clear it, whatever its subscriptions say (they keep their own status, so clearing
    the suppression resumes them). `paused_until`: nothing is sent on days up to and
    including it. `sunset_at`: nothing is sent until the person comes back.
    """

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Complained (marked as spam)"

    SUPPRESSED_STATES = (State.BOUNCED, State.COMPLAINED)

    email = models.EmailField("email address", max_length=254, validators=[validate_plain_address])
    inbox_key = models.CharField(
        "inbox key",
        max_length=INBOX_KEY_MAX_LENGTH,
        unique=True,
        editable=False,
        help_text="The address with case, +tag and spelling removed: one key per inbox.",
    )
    state = models.CharField(
        "delivery state", max_length=16, choices=State.choices, default=State.ACTIVE
    )
    state_changed_at = models.DateTimeField("state changed", null=True, blank=True)
    state_reason = models.TextField("state reason", blank=True)
    manage_token = models.CharField(
        "manage token", max_length=64, unique=True, default=new_token, editable=False
    )
    paused_until = models.DateField(
        "paused until", null=True, blank=True, help_text="Nothing is sent up to this day."
    )
    created_at = models.DateTimeField("created", default=timezone.now, editable=False)
    last_sent_at = models.DateTimeField("last sent", null=True, blank=True)
    # No listening for SUNSET_AFTER_DAYS and no answer to the goodbye (subscriptions.listening):
    # nothing is sent until they ask for it again. Their moods keep their status.
    sunset_at = models.DateTimeField(
        "sunset", null=True, blank=True, help_text="Paused for not listening, from this moment."
    )
    # When it suits them (subscriptions.daily.schedule): their hour in their zone, how often.
    time_zone = models.CharField(
        "time zone", max_length=64, default=default_time_zone, validators=[validate_time_zone]
    )
    send_hour = models.PositiveSmallIntegerField(
        "send hour",
        default=DEFAULT_SEND_HOUR,
        validators=[MaxValueValidator(23)],
        help_text="Local hour (0-23) from which the email may go.",
    )
    frequency = models.CharField(max_length=16, choices=Frequency.choices, default=Frequency.DAILY)
    weekly_day = models.PositiveSmallIntegerField(
        "weekly on",
        choices=Weekday.choices,
        default=Weekday.MONDAY,
        help_text="The weekday of a weekly email.",
    )

    objects = SubscriberQuerySet.as_manager()

    Frequency = Frequency

    class Meta:
        verbose_name = "subscriber"
        verbose_name_plural = "subscribers"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state"], name="subscriber_state_idx"),
            # The hourly run reads the due subscribers zone by zone.
            models.Index(fields=["time_zone", "send_hour"], name="subscriber_schedule_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(send_hour__lte=23), name="subscriber_send_hour_range"
            ),
            models.CheckConstraint(
                condition=models.Q(weekly_day__lte=6), name="subscriber_weekly_day_range"
            ),
            models.CheckConstraint(
                condition=models.Q(frequency__in=Frequency.values),
                name="subscriber_frequency_known",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def save(self, *args, update_fields=None, **kwargs):
        self.normalize_fields()
        super().save(*args, update_fields=_with_inbox_key(update_fields), **kwargs)

    def normalize_fields(self) -> None:
        self.email = stored_address(self.email)
        self.inbox_key = canonical_email(self.email)

    @classmethod
    def for_address(cls, email: str) -> "Subscriber":
        """The subscriber of the inbox `email` reaches, created if it is new; race-safe
        (get_or_create retries the lookup when a concurrent insert wins the unique key)."""
        subscriber, _ = cls.objects.get_or_create(
            inbox_key=canonical_email(stored_address(email)),
            defaults={"email": stored_address(email)},
        )
        return subscriber

    @property
    def is_suppressed(self) -> bool:
        return self.state in self.SUPPRESSED_STATES

    def is_paused(self, on: datetime.date) -> bool:
        return self.paused_until is not None and on <= self.paused_until


class SubscriptionQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        """bulk_create skips save(): the terms are tidied the same way here."""
        objs = list(objs)
        for obj in objs:
            obj.normalize_fields()
        return super().bulk_create(objs, *args, **kwargs)

    def _pending(self):
        return self.filter(status=Subscription.Status.PENDING).alias(
            confirmation_last_sent=Coalesce("confirmation_sent_at", "created_at")
        )

    def confirmable(self, *, now=None):
        """Pending subscriptions whose link still confirms them."""
        return self._pending().filter(confirmation_last_sent__gte=confirmation_cutoff(now))

    def expired_pending(self, *, now=None):
        """Pending subscriptions whose last confirmation email is older than
        PENDING_CONFIRMATION_DAYS: their link no longer confirms, and they may be removed."""
        return self._pending().filter(confirmation_last_sent__lt=confirmation_cutoff(now))


class SubscriptionStatus(models.TextChoices):
    PENDING = "pending", "Pending confirmation"
    ACTIVE = "active", "Active"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    # A bounce or complaint stops the inbox, not a subscription: see Subscriber.state.


# A live subscription is one the person still wants: at most one per term (Meta.constraints).
LIVE_STATUSES = (SubscriptionStatus.PENDING, SubscriptionStatus.ACTIVE)


class Subscription(models.Model):
    Status = SubscriptionStatus
    LIVE_STATUSES = LIVE_STATUSES

    class Via(models.TextChoices):
        """How an unsubscribe came: the dashboard counts each way apart."""

        LINK = "link", "Unsubscribe page"
        MANAGE = "manage", "Manage page"
        ONE_CLICK = "one_click", "One-click (List-Unsubscribe)"
        PROVIDER = "provider", "Mailgun (the inbox provider or Mailgun's own link)"
        STAFF = "staff", "Staff, in the admin"

    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="subscriptions"
    )
    term = models.CharField("search term", max_length=100)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    created_at = models.DateTimeField("created", default=timezone.now, editable=False)
    confirmation_sent_at = models.DateTimeField("confirmation sent", null=True, blank=True)
    confirmed_at = models.DateTimeField("confirmed", null=True, blank=True)
    unsubscribed_at = models.DateTimeField("unsubscribed", null=True, blank=True)
    unsubscribed_via = models.CharField(
        "unsubscribed through", max_length=16, choices=Via.choices, blank=True
    )
    last_sent_at = models.DateTimeField("last sent", null=True, blank=True)
    # The day (in TIME_ZONE) of the last daily email: "has it had today's email?"
    last_sent_on = models.DateField("last sent on", null=True, blank=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        verbose_name = "subscription"
        verbose_name_plural = "subscriptions"
        ordering = ["-created_at", "-id"]
        constraints = [
            # One live subscription per person (so per inbox, however it is spelled) and term:
            # two live rows for one pair would be two emails.
            models.UniqueConstraint(
                models.F("subscriber"),
                Lower("term"),
                condition=models.Q(status__in=LIVE_STATUSES),
                name="subscription_one_live_per_subscriber_term",
                violation_error_message=(
                    "This address already has a pending or active subscription for this term."
                ),
            ),
            models.CheckConstraint(
                condition=~models.Q(term=""), name="subscription_term_not_empty"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "last_sent_on"], name="subscription_due_idx"),
        ]

    def __str__(self):
        return f"{self.subscriber} — “{self.term}” ({self.get_status_display().lower()})"

    def save(self, *args, **kwargs):
        self.normalize_fields()
        super().save(*args, **kwargs)

    def normalize_fields(self):
        """What save() (and bulk_create) store: the term with its whitespace collapsed. The
        address is the subscriber's (Subscriber.email), never the subscription's."""
        self.term = normalize_term(self.term)

    @property
    def is_live(self):
        return self.status in self.LIVE_STATUSES

    def confirmation_expired(self, *, now=None):
        """Pending, and its last confirmation went out before confirmation_cutoff()."""
        last_sent = self.confirmation_sent_at or self.created_at
        return self.status == self.Status.PENDING and last_sent < confirmation_cutoff(now)
