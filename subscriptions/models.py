"""Subscriptions to a daily playlist, what was sent, and what Mailgun told us about delivery."""

import datetime
import hashlib
import secrets
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone

from .addresses import InvalidAddress, canonical_email, plain_address, validate_plain_address

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
    including it.
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
    # When it suits them (subscriptions.schedule): their hour in their zone, how often.
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
    # Who cleared a suppression; the reason keeps their name should the account go.
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="staff user",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

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
    """One email the subscribe form sent to an inbox, or stood in for (see Kind.WITHHELD).

    The per-inbox daily limit counts these rows, so it holds with the cache empty or down:
    the database knows what went out.
    """

    class Kind(models.TextChoices):
        CONFIRMATION = "confirmation", "Confirmation"
        ALREADY_SUBSCRIBED = "already_subscribed", "Already subscribed"
        # The address complained: the same request went to Mailgun in test mode, which
        # Mailgun accepts and never delivers, so this answer takes as long as the others.
        WITHHELD = "withheld", "Withheld (suppressed address, not delivered)"
        # "Lost your link?": the manage page's link, mailed to an inbox that asked for it.
        MANAGE_LINK = "manage_link", "Manage link"

    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="subscribe_emails"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    sent_at = models.DateTimeField("sent", default=timezone.now)

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


class SendRun(models.Model):
    """One run of `send_daily_playlists`: when, how long, what it did, how it ended.

    The row is written when the run starts, so a run that is killed stays visible (as running)."""

    class Outcome(models.TextChoices):
        RUNNING = "running", "Running (or killed)"
        SENT = "sent", "Sent"
        SOME_FAILED = "some_failed", "Some mail failed or unknown"
        CONFIGURATION_ERROR = "configuration", "Configuration error"
        BREAKER = "breaker", "Stopped by the complaint breaker"
        CRASHED = "crashed", "Crashed"

    started_at = models.DateTimeField("started", default=timezone.now, db_index=True)
    finished_at = models.DateTimeField("finished", null=True, blank=True)
    day = models.DateField()
    dry_run = models.BooleanField("dry run", default=False)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    exit_status = models.PositiveSmallIntegerField("exit status", null=True, blank=True)
    emails = models.PositiveIntegerField("sent", default=0)
    failed = models.PositiveIntegerField(default=0)
    unknown = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    spotify_calls = models.PositiveIntegerField("Spotify calls", default=0)
    mailgun_calls = models.PositiveIntegerField("Mailgun calls", default=0)
    seconds = models.FloatField(null=True, blank=True)
    summary = models.TextField("summary line", blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = "daily run"
        verbose_name_plural = "daily runs"
        ordering = ["-started_at", "-id"]

    def __str__(self):
        return f"{self.get_outcome_display()} run of {self.day} at {self.started_at:%Y-%m-%d %H:%M}"


class BreakerClearance(models.Model):
    """A member of staff let the daily email go out for one day despite the complaint rate."""

    day = models.DateField(unique=True)
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="staff user",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    staff_name = models.CharField("cleared by", max_length=150)
    complaint_rate = models.FloatField("complaint rate when cleared")
    created_at = models.DateTimeField("cleared", auto_now_add=True)

    class Meta:
        verbose_name = "complaint breaker clearance"
        verbose_name_plural = "complaint breaker clearances"
        ordering = ["-day"]

    def __str__(self):
        return f"Breaker cleared for {self.day} by {self.staff_name}"


class DailySearch(models.Model):
    """One page of Spotify's answer for a term, kept for the day: the hourly runs of one day
    share it, so a day costs one search per distinct term, not one per term per run."""

    day = models.DateField(help_text="The site's date (TIME_ZONE) the answer is for.")
    term = models.CharField("search term", max_length=100)  # spotify.normalize_query
    page = models.PositiveSmallIntegerField(default=1)
    results = models.JSONField(help_text="The PlaylistPage, as search.spotify parsed it.")
    fetched_at = models.DateTimeField("fetched", default=timezone.now)

    class Meta:
        verbose_name = "daily search"
        verbose_name_plural = "daily searches"
        constraints = [
            models.UniqueConstraint(fields=["day", "term", "page"], name="dailysearch_once")
        ]

    def __str__(self):
        return f"“{self.term}” page {self.page} on {self.day:%Y-%m-%d}"
