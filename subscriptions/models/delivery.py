"""What was sent and what came back: history, daily claims, delivery events, limits, hashes."""

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone

from ..addresses import canonical_email
from .base import Frequency, Weekday, stored_address, validate_time_zone
from .people import Subscriber, Subscription


class SentPlaylist(models.Model):
    """One playlist sent to one subscription: the history that prevents repeats.

    The daily sender writes the rows of a batch before it hands the batch to Mailgun, as
    "unknown"; Mailgun's answer (or, when the run never heard one, its delivery events) makes
    them "sent", and a refusal removes them. An unknown pick counts as sent for the no-repeat
    rule: it may well be in the inbox.
    """

    class Status(models.TextChoices):
        SENT = "sent", "Sent"
        UNKNOWN = "unknown", "Unknown (handed to Mailgun; no answer yet)"

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="sent_playlists"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SENT)
    # The day's claim whose email carries this pick (none for history from before claims).
    daily_email = models.ForeignKey(
        "DailyEmail",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="picks",
        verbose_name="daily email",
    )
    playlist_id = models.CharField("Spotify id", max_length=64)
    name = models.CharField(max_length=300)
    web_url = models.URLField("web link", max_length=500)
    uri = models.CharField("Spotify URI", max_length=200)
    # The cover as the email's day had it, for the email's web copy (Spotify's image hosts).
    image_url = models.URLField("cover", max_length=500, blank=True)
    sent_on = models.DateField("sent on")
    message_id = models.CharField("message id", max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "sent playlist"
        verbose_name_plural = "sent playlists"
        ordering = ["-sent_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "playlist_id"], name="sentplaylist_once_per_subscription"
            ),
        ]

    def __str__(self):
        return f"{self.name} → {self.subscription.subscriber} on {self.sent_on:%Y-%m-%d}"


class DailyEmail(models.Model):
    """The claim on one address's email for one day: at most one row, so at most one email."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (retried up to DAILY_MAX_ATTEMPTS times a day)"
        UNKNOWN = "unknown", "Unknown (no answer from Mailgun yet; never resent)"
        SKIPPED = "skipped", "Skipped (nothing new to send)"

    # The person, not a spelling: one claim, so one email, per inbox per day however its
    # subscriptions spell the address.
    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="daily_emails"
    )
    day = models.DateField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    message_id = models.CharField("message id", max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    # Mailgun's `delivered` event: link scanners click within seconds of it (listening).
    delivered_at = models.DateTimeField("delivered", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "daily email"
        verbose_name_plural = "daily emails"
        ordering = ["-day", "subscriber"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "day"], name="dailyemail_once_per_subscriber_day"
            ),
        ]
        indexes = [
            models.Index(fields=["day", "status"], name="dailyemail_day_status_idx"),
            # The admin counts the unknown ones on every visit of the list: few rows, any day.
            models.Index(
                fields=["day"],
                condition=models.Q(status="unknown"),
                name="dailyemail_unknown_idx",
            ),
        ]

    def __str__(self):
        status = self.get_status_display().lower()
        return f"{self.subscriber} on {self.day:%Y-%m-%d} ({status})"


class EmailEvent(models.Model):
    """A delivery event from Mailgun that changed (or would change) an address's subscriptions,
    or a member of staff lifting such a stop (SUPPRESSION_CLEARED, with who did it)."""

    class Type(models.TextChoices):
        BOUNCED = "bounced", "Bounced"
        REJECTED = "rejected", "Rejected"
        COMPLAINED = "complained", "Complained"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed at Mailgun"
        SUPPRESSION_CLEARED = "cleared", "Bounce/complaint cleared by staff"

    # The address as Mailgun reported it (lower-cased), for the record: rows are found by
    # their subscriber, which is None for an address we never had.
    recipient = models.EmailField("recipient", max_length=254)
    subscriber = models.ForeignKey(
        Subscriber,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="email_events",
    )
    event_type = models.CharField("event", max_length=16, choices=Type.choices)
    # Mailgun's event id, or a digest of the webhook's signature when Mailgun gives none:
    # Mailgun retries webhooks, and the same event must count once.
    event_id = models.CharField("event id", max_length=255, unique=True)
    occurred_at = models.DateTimeField("occurred")
    reason = models.TextField(blank=True)
    message_id = models.CharField("message id", max_length=255, blank=True)
    received_at = models.DateTimeField("received", auto_now_add=True)
    # Who cleared a suppression, for staff: staff_name keeps it should the account go. Never
    # in `reason`, which the person's own data download shows.
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="staff user",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    staff_name = models.CharField("cleared by", max_length=150, blank=True)

    class Meta:
        verbose_name = "email event"
        verbose_name_plural = "email events"
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["subscriber", "-occurred_at"], name="emailevent_subscriber_idx")
        ]

    def __str__(self):
        when = f"{self.occurred_at:%Y-%m-%d %H:%M}"
        return f"{self.get_event_type_display()} for {self.recipient} at {when}"

    def save(self, *args, **kwargs):
        if self.subscriber_id is None:  # an event recorded from the address alone
            self.subscriber = Subscriber.objects.filter(
                inbox_key=canonical_email(self.recipient)
            ).first()
        super().save(*args, **kwargs)


class SubscribeEmail(models.Model):
    """One email the subscribe form sent to an inbox, or stood in for (see Kind.WITHHELD); or
    a mood added on the manage page without one (Kind.MOOD_ADDED).

    The per-inbox daily limits count these rows, so they hold with the cache empty or down:
    the database knows what went out.
    """

    class Kind(models.TextChoices):
        CONFIRMATION = "confirmation", "Confirmation"
        ALREADY_SUBSCRIBED = "already_subscribed", "Already subscribed"
        # The address complained: the same request went to Mailgun in test mode, which
        # Mailgun accepts and never delivers, so this answer takes as long as the others.
        WITHHELD = "withheld", "Withheld (suppressed address, not delivered)"
        # "Lost your link?": the manage page's link, mailed to an inbox that asked for it
        # (older rows: it now counts in the rate-limit cache, ratelimit.manage_link_due).
        MANAGE_LINK = "manage_link", "Manage link"
        # A sign-up for one more mood than MAX_MOODS_PER_SUBSCRIBER: the inbox is told why.
        MOOD_LIMIT = "mood_limit", "Mood limit reached"
        # Not an email: a mood a verified inbox added or restarted on its manage page.
        MOOD_ADDED = "mood_added", "Mood added on the manage page (no email)"

    # What the per-inbox email limit counts: every kind but MOOD_ADDED.
    EMAIL_KINDS = (
        Kind.CONFIRMATION,
        Kind.ALREADY_SUBSCRIBED,
        Kind.WITHHELD,
        Kind.MANAGE_LINK,
        Kind.MOOD_LIMIT,
    )

    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="subscribe_emails"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    sent_at = models.DateTimeField("sent", default=timezone.now)
    # The schedule the sign-up asked for. Its confirmation link names this row, and confirming
    # through it sets the subscriber's schedule if the inbox was not verified before: the
    # person who proves they read the inbox decides, not whoever posted the address first.
    time_zone = models.CharField(
        "requested time zone", max_length=64, blank=True, validators=[validate_time_zone]
    )
    frequency = models.CharField(
        "requested frequency", max_length=16, choices=Frequency.choices, blank=True
    )
    weekly_day = models.PositiveSmallIntegerField(
        "requested weekday", choices=Weekday.choices, null=True, blank=True
    )

    class Meta:
        verbose_name = "subscribe email"
        verbose_name_plural = "subscribe emails"
        ordering = ["-sent_at", "-id"]
        indexes = [
            models.Index(fields=["subscriber", "sent_at"], name="subscribeemail_subscriber_idx"),
            models.Index(fields=["sent_at"], name="subscribeemail_sent_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} at {self.sent_at:%Y-%m-%d %H:%M}"

    @property
    def requested_schedule(self) -> dict | None:
        """The Subscriber fields the sign-up asked for, or None when it asked for none."""
        if not (self.time_zone and self.frequency and self.weekly_day is not None):
            return None
        return {
            "time_zone": self.time_zone,
            "frequency": self.frequency,
            "weekly_day": self.weekly_day,
        }


def inbox_digest(inbox_key: str) -> str:
    """A one-way SHA-256 of an inbox key. Deliberately not keyed with SECRET_KEY: a suppression
    must outlive a key rotation. (An address someone already knows can be checked against it,
    which tells them no more than that we must never mail it.)"""
    return hashlib.sha256(f"funky-music suppressed inbox:{inbox_key}".encode()).hexdigest()


class SuppressedInbox(models.Model):
    """What is left of an inbox that bounced or complained and then erased its data: its key's
    digest, so no subscribe request can ever mail it again, and nothing that names it."""

    class Reason(models.TextChoices):
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Complained (marked as spam)"

    digest = models.CharField("inbox digest", max_length=64, unique=True, editable=False)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    created_at = models.DateTimeField("erased", default=timezone.now, editable=False)

    class Meta:
        verbose_name = "suppressed inbox"
        verbose_name_plural = "suppressed inboxes"

    def __str__(self) -> str:
        return f"{self.get_reason_display()} inbox {self.digest[:12]}…"

    @classmethod
    def covers(cls, email: str) -> bool:
        """The inbox `email` reaches, in any spelling, was erased while suppressed."""
        key = canonical_email(stored_address(email))
        return cls.objects.filter(digest=inbox_digest(key)).exists()


class WebhookSignature(models.Model):
    """A Mailgun webhook signature we acted on. Mailgun signs only timestamp + token, so each
    token may authorise one body, once; rows older than the accepted window are pruned."""

    token = models.CharField(max_length=255, unique=True)
    signed_at = models.DateTimeField("signed", db_index=True)
    # SHA-256 of the body (as canonical JSON): Mailgun's own retry carries the same one.
    body_digest = models.CharField("body digest", max_length=64)
    received_at = models.DateTimeField("received", auto_now_add=True)

    class Meta:
        verbose_name = "webhook signature"
        verbose_name_plural = "webhook signatures"

    def __str__(self):
        return f"{self.token} signed at {self.signed_at:%Y-%m-%d %H:%M:%S}"
