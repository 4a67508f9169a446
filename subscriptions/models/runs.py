"""The daily run's own records: each run, breaker clearances, the day's shared searches."""

from django.conf import settings
from django.db import models
from django.utils import timezone


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
    # A run fanned out to the workers (subscriptions/daily/fanout.py): the hour it was
    # enqueued for (one run per scheduler hour), its batches of claims, and how far they got.
    # The last batch task closes the record; until then the row says how far it went.
    slot = models.DateTimeField("scheduler hour", null=True, blank=True)
    workers = models.BooleanField("on workers", default=False)
    batches_total = models.PositiveIntegerField("batches planned", default=0)
    batches_done = models.PositiveIntegerField("batches done", default=0)
    searches_total = models.PositiveIntegerField("search tasks planned", default=0)
    searches_done = models.PositiveIntegerField("search tasks done", default=0)
    batches_enqueued = models.BooleanField(default=False)
    batches_counted = models.JSONField(
        default=list, blank=True, help_text="The numbers of the batches counted in the totals."
    )
    plan = models.JSONField(
        default=dict, blank=True, help_text="What the tasks need: each batch's claim range."
    )

    class Meta:
        verbose_name = "daily run"
        verbose_name_plural = "daily runs"
        ordering = ["-started_at", "-id"]
        constraints = [
            # Two schedulers firing in the same hour: the second finds the first's run.
            models.UniqueConstraint(
                fields=["slot"],
                condition=models.Q(slot__isnull=False),
                name="sendrun_once_per_slot",
            ),
        ]

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
