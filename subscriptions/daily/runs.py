"""The daily run's own record (`SendRun`) and the complaint breaker that can stop it."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from ..models import BreakerClearance, DailyEmail, EmailEvent, SendRun

logger = logging.getLogger(__name__)

# Exit status of `send_daily_playlists` when the breaker stops it (0, 1 and 2 are the sender's).
BREAKER_EXIT_STATUS = 3


@dataclass(frozen=True)
class BreakerState:
    """The complaint rate over the window before `day`, and whether it stops that day's email."""

    day: date
    since: date
    complaints: int
    sent: int
    threshold: float
    cleared_by: str = ""

    @property
    def rate(self) -> float:
        if not self.sent:
            return 1.0 if self.complaints else 0.0
        return self.complaints / self.sent

    @property
    def rate_percent(self) -> str:
        return f"{self.rate:.2%}"

    @property
    def over(self) -> bool:
        return self.complaints > 0 and self.rate >= self.threshold

    @property
    def tripped(self) -> bool:
        """Over the line and nobody on staff has let today's email go out anyway."""
        return self.over and not self.cleared_by

    def describe(self) -> str:
        return (
            f"{self.complaints} complaints for {self.sent} emails sent since {self.since} "
            f"({self.rate_percent}; the breaker is at {self.threshold:.2%})"
        )


def complaint_breaker_state(*, day: date | None = None) -> BreakerState:
    """Complaints ÷ emails sent over the last DAILY_COMPLAINT_WINDOW_DAYS days before `day`.

    Emails sent count the daily emails Mailgun accepted (claims `sent`); complaints count
    Mailgun's complaint events that arrived in the window, whichever day's email they were about.
    """
    day = day or timezone.localdate()
    since = day - timedelta(days=settings.DAILY_COMPLAINT_WINDOW_DAYS)
    start = timezone.make_aware(datetime.combine(since, time.min))
    complaints = EmailEvent.objects.filter(
        event_type=EmailEvent.Type.COMPLAINED, occurred_at__gte=start
    ).count()
    sent = DailyEmail.objects.filter(
        status=DailyEmail.Status.SENT, day__gte=since, day__lt=day
    ).count()
    clearance = BreakerClearance.objects.filter(day=day).first()
    return BreakerState(
        day=day,
        since=since,
        complaints=complaints,
        sent=sent,
        threshold=settings.DAILY_COMPLAINT_BREAKER_RATE,
        cleared_by=clearance.staff_name if clearance else "",
    )


def complaint_breaker_clear(
    *, staff_user: AbstractBaseUser, day: date | None = None
) -> BreakerClearance:
    """Let `day`'s email go out despite the complaint rate; recorded with who decided it.

    Clearing twice for one day keeps the first record."""
    state = complaint_breaker_state(day=day)
    name = staff_user.get_username()
    try:
        with transaction.atomic():
            clearance, created = BreakerClearance.objects.get_or_create(
                day=state.day,
                defaults={
                    "staff_user": staff_user,
                    "staff_name": name,
                    "complaint_rate": state.rate,
                },
            )
    except IntegrityError:  # two clicks at once: the other one recorded it
        clearance, created = BreakerClearance.objects.get(day=state.day), False
    if created:
        logger.warning(
            "%s cleared the complaint breaker for %s: %s", name, state.day, state.describe()
        )
    return clearance


class RunRecord:
    """What `send_run_recorded` hands the command: say how the run ended with `finish`."""

    def __init__(self, run: SendRun | None):
        self.run = run

    def finish(self, *, outcome: str, exit_status: int, summary=None, error: str = "") -> None:
        if self.run is None:
            return
        run = self.run
        run.outcome = outcome
        run.exit_status = exit_status
        run.finished_at = timezone.now()
        run.error = error[:10_000]
        if summary is not None:
            run.emails = summary.emails
            run.failed = summary.failed
            run.unknown = summary.unknown
            run.skipped = summary.skipped
            run.spotify_calls = summary.spotify_calls
            run.mailgun_calls = summary.mailgun_calls
            run.seconds = round(summary.seconds, 3)
            run.summary = summary.line()
        else:
            run.seconds = (run.finished_at - run.started_at).total_seconds()
        try:
            run.save()
        except DatabaseError as error:
            logger.error("Could not record how the daily run of %s ended: %s", run.day, error)
        self.run = None


@contextmanager
def send_run_recorded(*, day: date, dry_run: bool) -> Iterator[RunRecord]:
    """Record a daily run from its start; a run that raises is recorded as crashed.

    The database being down must not stop the email: then nothing is recorded, and the run
    goes on (the sender's own claims still say who got what)."""
    try:
        run: SendRun | None = SendRun.objects.create(day=day, dry_run=dry_run)
    except DatabaseError as error:
        logger.error("Could not record the start of the daily run of %s: %s", day, error)
        run = None
    record = RunRecord(run)
    try:
        yield record
    except BaseException as error:
        record.finish(
            outcome=SendRun.Outcome.CRASHED, exit_status=1, error=f"{type(error).__name__}: {error}"
        )
        raise
    finally:
        if record.run is not None:  # the command returned without saying how it ended
            record.finish(outcome=SendRun.Outcome.CRASHED, exit_status=1, error="ended unrecorded")
