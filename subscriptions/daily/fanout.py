"""The daily run on Celery workers: plan and claim here, searches and batches as tasks.

The command plans (the same checks as an in-process run, `preflight`), inserts the day's
claims and cuts them into ranges of at most a batch's size, all recorded in the run's
`SendRun` row; then it enqueues search tasks (distinct terms, in chunks). The last search task
to finish enqueues one task per batch; each batch task adds its counts to the row, and the
last one closes it (`batch_done`). Tasks carry only the run's id and a number: the row and the
claims say the rest, so a task delivered twice finds its claims taken and mails nobody twice.
"""

import logging
import math
import time
from datetime import UTC, date, datetime, timedelta

from celery import current_app
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from search import spotify

from ..delivery import records
from ..models import DailyEmail, SendRun
from . import claims, work
from .picking import due_subscriptions
from .preflight import run_prepare
from .runs import RunRecord

logger = logging.getLogger(__name__)  # under "subscriptions.daily"

SEARCH_CHUNK = 200  # terms per search task: a few seconds of searching at 8 at a time
Outcome = SendRun.Outcome


def hour_slot(now: datetime) -> datetime:
    """The scheduler hour `now` falls in: one fanned-out run per hour."""
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def run_open(*, day: date, slot: datetime | None) -> tuple[SendRun, bool]:
    """A new record for a run on the workers, or (for a `slot` that has one) the one there
    already, with False: a second scheduler in the same hour joins the first's run."""
    try:
        with transaction.atomic():
            return SendRun.objects.create(day=day, slot=slot, workers=True), True
    except IntegrityError:
        return SendRun.objects.get(slot=slot), False


def run_failed(
    *, outcome: str, exit_status: int, error: object, run: SendRun | None = None, day=None
) -> None:
    """Record a run that ended before the workers had it (a new row when there is none yet);
    its hour is free again for a later scheduler to try."""
    try:
        if run is None:
            run = SendRun.objects.create(day=day, workers=True)
        RunRecord(run).finish(outcome=outcome, exit_status=exit_status, error=str(error))
        SendRun.objects.filter(pk=run.pk).update(slot=None)
    except DatabaseError as problem:
        logger.error("Could not record how the daily run ended: %s", problem)


def run_plan(
    run: SendRun,
    *,
    today: date | None,
    now: datetime,
    limit: int | None = None,
    batch_size: int | None = None,
    seed: int | None = None,
) -> list[str]:
    """Claim who is due and cut the claims into batches, in `run`'s row; the distinct terms to
    search. Raises what `preflight.run_prepare` raises, before anything is claimed."""
    prepared = run_prepare(today=today, now=now, dry_run=False, batch_size=batch_size)
    if run.slot is not None:
        _abandon_earlier(run)
    terms: dict[str, None] = {}
    ranges: list[list] = []
    planned = 0
    for day, subscribers in prepared.plans.items():
        left = None if limit is None else limit - planned
        planned += _claim_due(day, subscribers, terms, limit=left)
        ranges += _ranges(day, prepared.batch_size, limit=left)
    run.plan = {"batch_size": prepared.batch_size, "seed": seed, "batches": ranges}
    run.batches_total = len(ranges)
    run.searches_total = math.ceil(len(terms) / SEARCH_CHUNK)
    run.save(update_fields=["plan", "batches_total", "searches_total"])
    return list(terms)


def _claim_due(day, subscribers, terms, *, limit):
    """Insert the claims of those due on `day` (by term, as batches take them), a thousand at
    a time, without holding every subscriber in memory; add their terms to `terms`."""
    settled = claims.settled_subscribers(day)
    seen: set[int] = set()
    chunk: list[int] = []
    rows = (
        due_subscriptions(day, subscribers)
        .order_by(Lower("term"), "subscriber__inbox_key", "pk")
        .values_list("subscriber_id", "term")
    )
    for subscriber_id, term in rows.iterator(chunk_size=5000):
        if subscriber_id in settled:
            continue
        if subscriber_id not in seen:
            if limit is not None and len(seen) >= limit:
                continue
            seen.add(subscriber_id)
            chunk.append(subscriber_id)
        terms.setdefault(spotify.normalize_query(term))
        if len(chunk) >= claims.CLAIM_CHUNK:
            claims.claims_insert(chunk, day=day)
            chunk = []
    claims.claims_insert(chunk, day=day)
    return len(seen)


def _ranges(day, batch_size, *, limit):
    """[day, after, upto] claim id ranges of at most `batch_size` claims a run may send."""
    ids = (
        DailyEmail.objects.filter(records.retryable_claims(), day=day)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    ranges, after, count, last = [], 0, 0, None
    for number, claim_id in enumerate(ids.iterator(chunk_size=10_000)):
        if limit is not None and number >= limit:
            break
        last, count = claim_id, count + 1
        if count == batch_size:
            ranges.append([day.isoformat(), after, claim_id])
            after, count = claim_id, 0
    if count:
        ranges.append([day.isoformat(), after, last])
    return ranges


def _abandon_earlier(run):
    """Earlier hours' runs still open lost their tasks (a broker or the workers went away):
    say so; this run takes the claims they left."""
    SendRun.objects.filter(workers=True, finished_at__isnull=True, slot__lt=run.slot).update(
        outcome=Outcome.CRASHED,
        exit_status=1,
        finished_at=timezone.now(),
        error=f"Its tasks never all finished; run {run.pk} took the claims it left.",
    )


def run_enqueue(run: SendRun, terms: list[str]) -> None:
    """Hand the run to the workers: its searches, whose last task enqueues the batches."""
    if not terms:
        work.batches_enqueue(run.pk)
        return
    for start in range(0, len(terms), SEARCH_CHUNK):
        current_app.send_task(
            work.SEARCH_TASK,
            kwargs={"run_id": run.pk, "terms": terms[start : start + SEARCH_CHUNK]},
        )


def run_wait(run: SendRun, *, poll: float = 1.0, progress=None, timeout: float | None = None):
    """Wait until the workers close `run` (or `timeout` seconds pass); the run as it is then.
    `progress(run)` is called whenever its batches done change."""
    deadline = None if timeout is None else timezone.now() + timedelta(seconds=timeout)
    seen = None
    while True:
        run.refresh_from_db()
        if progress is not None and run.batches_done != seen:
            seen = run.batches_done
            progress(run)
        if run.finished_at is not None or (deadline and timezone.now() >= deadline):
            return run
        time.sleep(poll)
