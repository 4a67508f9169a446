"""Listening: the clicks and visits that came from our emails, the goodbyes to the silent, and
the stretches of time during which clicks were recorded (subscriptions.listening)."""

from django.db import models
from django.utils import timezone

from .delivery import DailyEmail, SentPlaylist
from .people import Subscriber


class ListeningEvent(models.Model):
    """One click on a link of ours in an email or its web copy, or a visit from an email, or a
    person saying "keep them coming". No address, IP or user agent is kept: who (the
    subscriber), which link, when, and whether a person or a link scanner made it."""

    class Link(models.TextChoices):
        WEB = "web", "Opened a playlist on the web"
        APP = "app", "Opened a playlist in the Spotify app"
        COPY = "copy", "Opened the email's web copy"
        MANAGE = "manage", "Opened the manage page from an email"
        KEPT = "kept", "Asked to keep the daily playlists"

    class Verdict(models.TextChoices):
        LISTENER = "listener", "A person"
        HEAD = "head", "A link scanner (a HEAD request)"
        AGENT = "agent", "A link scanner (its user agent)"
        TOO_SOON = "too_soon", "A link scanner (within seconds of delivery)"
        ALL_LINKS = "all_links", "A link scanner (every link of the email at once)"

    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="listening_events"
    )
    # The email the link was in, and the pick it opened; none for "kept".
    daily_email = models.ForeignKey(
        DailyEmail, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    sent_playlist = models.ForeignKey(
        SentPlaylist, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    link = models.CharField(max_length=16, choices=Link.choices)
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    occurred_at = models.DateTimeField("when", default=timezone.now)

    class Meta:
        verbose_name = "listening event"
        verbose_name_plural = "listening events"
        ordering = ["-occurred_at", "-id"]
        indexes = [
            # "Has this subscriber listened since…?" (the goodbye, the admin), and the export.
            models.Index(fields=["subscriber", "verdict", "occurred_at"], name="listening_who_idx"),
            # The scanner rules look at the email's other clicks of the last minute.
            models.Index(fields=["daily_email", "occurred_at"], name="listening_email_idx"),
            # The dashboard's days, and the daily run's pruning.
            models.Index(fields=["occurred_at"], name="listening_when_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_link_display()} ({self.get_verdict_display().lower()})"

    @property
    def is_listening(self) -> bool:
        return self.verdict == self.Verdict.LISTENER


class Goodbye(models.Model):
    """A "Still want your daily playlists?" email, sent in place of one day's playlists: it is
    that day's claim (`daily_email`), and counts only if the claim went out (sent or unknown)."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="goodbyes")
    daily_email = models.OneToOneField(DailyEmail, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField("asked", default=timezone.now)

    class Meta:
        verbose_name = "goodbye"
        verbose_name_plural = "goodbyes"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["subscriber", "created_at"], name="goodbye_who_idx")]

    def __str__(self) -> str:
        return f"Goodbye to {self.subscriber} on {self.created_at:%Y-%m-%d}"


class ListeningPeriod(models.Model):
    """A stretch of time during which clicks were recorded (CLICK_RECORDING on). "No listening
    in 90 days" means something only when those 90 days lie inside one: the day this was
    deployed, or recording was turned back on, nobody has had a chance to click yet."""

    started_at = models.DateTimeField("started", default=timezone.now)
    ended_at = models.DateTimeField("ended", null=True, blank=True)

    class Meta:
        verbose_name = "listening period"
        verbose_name_plural = "listening periods"
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Clicks recorded from {self.started_at:%Y-%m-%d}"
