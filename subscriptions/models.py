"""Subscriptions to a daily playlist, what was sent, and what Mailgun told us about delivery."""

import secrets

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


def new_token():
    """An unguessable 256-bit token for confirm and unsubscribe links."""
    return secrets.token_urlsafe(32)


def normalize_email(value):
    """Trim and lower-case the domain; the local part is kept as typed (RFC 5321)."""
    value = (value or "").strip()
    local, sep, domain = value.rpartition("@")
    if not sep:
        return value
    return f"{local}@{domain.lower()}"


def normalize_term(value):
    """Trim and collapse inner whitespace: "  rainy   sunday " -> "rainy sunday"."""
    return " ".join((value or "").split())


class Subscription(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending confirmation"
        ACTIVE = "active", "Active"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Complained (marked as spam)"

    LIVE_STATUSES = (Status.PENDING, Status.ACTIVE)
    SUPPRESSED_STATUSES = (Status.BOUNCED, Status.COMPLAINED)

    email = models.EmailField("email address", max_length=254)
    term = models.CharField("search term", max_length=100)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    created_at = models.DateTimeField("created", default=timezone.now, editable=False)
    confirmation_sent_at = models.DateTimeField("confirmation sent", null=True, blank=True)
    confirmed_at = models.DateTimeField("confirmed", null=True, blank=True)
    unsubscribed_at = models.DateTimeField("unsubscribed", null=True, blank=True)
    last_sent_at = models.DateTimeField("last sent", null=True, blank=True)
    # The day (in TIME_ZONE) of the last daily email: "has it had today's email?"
    last_sent_on = models.DateField("last sent on", null=True, blank=True)

    class Meta:
        verbose_name = "subscription"
        verbose_name_plural = "subscriptions"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                Lower("term"),
                condition=models.Q(status__in=["pending", "active"]),
                name="subscription_one_live_per_email_term",
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
            models.Index(Lower("email"), name="subscription_email_ci_idx"),
        ]

    def __str__(self):
        return f"{self.email} — “{self.term}” ({self.get_status_display().lower()})"

    def save(self, *args, **kwargs):
        self.email = normalize_email(self.email)
        self.term = normalize_term(self.term)
        super().save(*args, **kwargs)

    @property
    def is_live(self):
        return self.status in self.LIVE_STATUSES


class SentPlaylist(models.Model):
    """One playlist sent to one subscription: the history that prevents repeats."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="sent_playlists"
    )
    playlist_id = models.CharField("Spotify id", max_length=64)
    name = models.CharField(max_length=300)
    web_url = models.URLField("web link", max_length=500)
    uri = models.CharField("Spotify URI", max_length=200)
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
        return f"{self.name} → {self.subscription.email} on {self.sent_on:%Y-%m-%d}"


class DailyEmail(models.Model):
    """The claim on one address's email for one day: at most one row, so at most one email."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (will be retried)"
        UNKNOWN = "unknown", "Unknown (no answer from Mailgun; not retried)"
        SKIPPED = "skipped", "Skipped (nothing new to send)"

    email = models.EmailField("email address", max_length=254)  # lower-cased
    day = models.DateField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    message_id = models.CharField("message id", max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "daily email"
        verbose_name_plural = "daily emails"
        ordering = ["-day", "email"]
        constraints = [
            models.UniqueConstraint(
                fields=["email", "day"], name="dailyemail_once_per_address_day"
            ),
        ]
        indexes = [models.Index(fields=["day", "status"], name="dailyemail_day_status_idx")]

    def __str__(self):
        return f"{self.email} on {self.day:%Y-%m-%d} ({self.get_status_display().lower()})"


class EmailEvent(models.Model):
    """A delivery event from Mailgun that changed (or would change) an address's subscriptions."""

    class Type(models.TextChoices):
        BOUNCED = "bounced", "Bounced"
        REJECTED = "rejected", "Rejected"
        COMPLAINED = "complained", "Complained"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed at Mailgun"

    email = models.EmailField("email address", max_length=254)  # lower-cased
    event_type = models.CharField("event", max_length=16, choices=Type.choices)
    # Mailgun's event id, or a digest of the webhook's signature when Mailgun gives none:
    # Mailgun retries webhooks, and the same event must count once.
    event_id = models.CharField("event id", max_length=255, unique=True)
    occurred_at = models.DateTimeField("occurred")
    reason = models.TextField(blank=True)
    message_id = models.CharField("message id", max_length=255, blank=True)
    received_at = models.DateTimeField("received", auto_now_add=True)

    class Meta:
        verbose_name = "email event"
        verbose_name_plural = "email events"
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["email", "-occurred_at"], name="emailevent_email_idx")]

    def __str__(self):
        when = f"{self.occurred_at:%Y-%m-%d %H:%M}"
        return f"{self.get_event_type_display()} for {self.email} at {when}"
