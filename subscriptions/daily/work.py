"""What the daily run's tasks do on a worker (`tasks` wraps them): searches, batches, closing.

Each batch task runs one batch's steps (`batches`) over its range of claims, adds its counts to
the run's row and, when it is the last, closes the row. The claims decide who is mailed: a task
delivered twice (its worker died before acknowledging it) finds its claims sent, in flight or
held, and only sends what is still pending.
"""

import logging
import random
from datetime import date

from anymail.backends.base import AnymailBaseBackend
from celery import current_app
from django.core import mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from search import spotify

from ..models import SendRun
from .batches import BatchSteps, skipped_reasons
from .composing import Composer
from .errors import MailgunUnusable
from .picking import Picker, Searches
from .report import BatchReport, DailySendSummary, Outcome
from .sending import Mailer

logger = logging.getLogger(__name__)  # under "subscriptions.daily"


class BatchHeld(Exception):
    """Some of a batch's claims are held by another task or run for now."""


SEARCH_TASK = "subscriptions.daily.search"
BATCH_TASK = "subscriptions.daily.batch"
RunOutcome = SendRun.Outcome


def searches_fetch(*, run_id: int, terms: list[str]) -> None:
    """A search task: page 1 of each term, kept for the day's batches (daily_searches)."""
    run = SendRun.objects.filter(pk=run_id).only("day", "finished_at").first()
    if run is None:
        return
    if run.finished_at is None:
        client = spotify.get_client()
        before = client.api_calls
        with Searches(day=run.day, store=True) as searches:
            searches.prefetch(terms)
            for term in terms:
                try:
                    searches.page(term, 1)
                except spotify.SpotifyError as error:  # its batches search again
                    logger.warning("Spotify search for %r failed: %s", term, error)
        calls = client.api_calls - before
        SendRun.objects.filter(pk=run_id).update(spotify_calls=F("spotify_calls") + calls)
    SendRun.objects.filter(pk=run_id).update(searches_done=F("searches_done") + 1)
    batches_enqueue(run_id)


def batches_enqueue(run_id: int) -> None:
    """Once every search task is done: one task per batch (exactly once, whoever asks)."""
    searched = SendRun.objects.filter(
        pk=run_id, batches_enqueued=False, searches_done__gte=F("searches_total")
    )
    if not searched.update(batches_enqueued=True):
        return  # searches still running, or another task enqueued them
    total = SendRun.objects.values_list("batches_total", flat=True).get(pk=run_id)
    for number in range(total):
        current_app.send_task(BATCH_TASK, kwargs={"run_id": run_id, "number": number})
    _close_if_done(run_id)


def batch_send(*, run_id: int, number: int) -> None:
    """A batch task: send the pending claims of the run's batch `number`, then count it."""
    run = SendRun.objects.filter(pk=run_id).first()
    if run is None:
        return
    summary = DailySendSummary(day=run.day)
    held_elsewhere = 0
    try:
        if run.finished_at is None:  # a run stopped (wrong Mailgun settings) sends no more
            held_elsewhere = _send_range(run, number, summary)
    except MailgunUnusable as error:
        _stop(run_id, error.reason)
        logger.error("Stopping the run: %s", error.reason)
    if held_elsewhere:
        # Another task (a second delivery of this one) or run holds some of its claims: try
        # again shortly, when they are sent or given back, and count the batch then.
        raise BatchHeld(f"{held_elsewhere} claims of batch {number} are held elsewhere")
    # Counted once it is done; a task that fails (the database away) is retried whole.
    batch_done(run_id, number, summary)


def _send_range(run, number, summary) -> int:
    """Send the batch's pending claims; how many of its claims another task held."""
    day_text, after, upto = run.plan["batches"][number]
    day = date.fromisoformat(day_text)
    seed = run.plan.get("seed")
    composer = Composer(day=day)
    client = spotify.get_client()
    before = client.api_calls
    batch_sending = isinstance(mail.get_connection(), AnymailBaseBackend)
    with Searches(day=run.day, store=True) as searches:
        picker = Picker(
            searches=searches,
            composer=composer,
            rng=random.Random(None if seed is None else seed + number),
        )
        steps = BatchSteps(today=day, picker=picker, mailer=Mailer(day=day))
        try:
            while True:
                batch, after = steps.take(after=after, size=run.plan["batch_size"], upto=upto)
                if batch is None:
                    break
                try:
                    steps.mark(batch)
                finally:
                    steps.let_go(batch)
                composed = batch.composed
                summary.addresses_done += batch.size
                summary.failed += len(composed.undeliverable)
                if not composed.messages:
                    continue
                report = BatchReport(
                    number=number + 1,
                    messages=composed.messages,
                    outcome=Outcome.PENDING,
                    skipped=skipped_reasons(composed, batch.emails),
                )
                answered, calls = steps.mailer.send(report, composer.layout)
                summary.mailgun_calls += calls if batch_sending else 0
                try:
                    steps.record(answered)
                finally:
                    summary.count_answers(answered)
        finally:
            summary.no_new_playlist = picker.tally.no_new_playlist
            summary.spotify_errors = picker.tally.spotify_errors
            summary.spotify_calls = client.api_calls - before
    return steps.held_elsewhere


def batch_done(run_id: int, number: int, summary: DailySendSummary) -> None:
    """Add batch `number`'s counts to its run, once however often its task ran; the last
    batch closes the run."""
    with transaction.atomic():
        run = SendRun.objects.select_for_update().only("batches_counted").get(pk=run_id)
        if number in run.batches_counted:
            return  # a second delivery of a task that had finished
        SendRun.objects.filter(pk=run_id).update(
            batches_counted=[*run.batches_counted, number],
            batches_done=F("batches_done") + 1,
            emails=F("emails") + summary.emails,
            failed=F("failed") + summary.failed,
            unknown=F("unknown") + summary.unknown,
            skipped=F("skipped") + summary.skipped,
            spotify_calls=F("spotify_calls") + summary.spotify_calls,
            mailgun_calls=F("mailgun_calls") + summary.mailgun_calls,
        )
    _close_if_done(run_id)


def _close_if_done(run_id):
    run = SendRun.objects.get(pk=run_id)
    if run.finished_at or not run.batches_enqueued or run.batches_done < run.batches_total:
        return
    now = timezone.now()
    exit_status = 1 if run.failed or run.unknown else 0
    SendRun.objects.filter(pk=run_id, finished_at__isnull=True).update(
        finished_at=now,
        outcome=RunOutcome.SOME_FAILED if exit_status else RunOutcome.SENT,
        exit_status=exit_status,
        seconds=round((now - run.started_at).total_seconds(), 3),
        summary=summary_line(run, seconds=(now - run.started_at).total_seconds()),
    )


def _stop(run_id, reason):
    now = timezone.now()
    SendRun.objects.filter(pk=run_id, finished_at__isnull=True).update(
        finished_at=now,
        outcome=RunOutcome.CONFIGURATION_ERROR,
        exit_status=2,
        error=f"{reason}. The run stopped; no attempt was charged.",
    )


def summary_line(run: SendRun, *, seconds: float) -> str:
    return (
        f"sent {run.emails} emails in {run.batches_total} batches on the workers; "
        f"skipped {run.skipped}; failed {run.failed}; unknown {run.unknown}; "
        f"Spotify calls {run.spotify_calls}; Mailgun calls {run.mailgun_calls}; {seconds:.1f} s"
    )
