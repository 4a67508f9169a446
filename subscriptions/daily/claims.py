"""Claiming: the at-most-once protocol's writes before a batch is sent.

One pending `DailyEmail` claim per subscriber and day, inserted with `ON CONFLICT DO NOTHING`
on the unique (subscriber, day): concurrent runs agree on the day's work without talking to
each other. Batches take claims with `SELECT … FOR UPDATE SKIP LOCKED` (parallel runs split the
work instead of waiting), and mark them "unknown" — in flight — with their picks written as
unknown history, and commit, before anything is sent (`records` writes what comes after).

So a run killed while a batch is on the wire leaves that batch "unknown" instead of mailing it
twice on the next run, and a run killed before a batch is marked in flight leaves its claims
pending (PostgreSQL drops the locks) for the next run.
"""

from datetime import date

from django.db import connection
from django.db.models import F
from django.utils import timezone

from ..delivery import records
from ..models import DailyEmail
from .picking import Composed
from .report import Outcome

CLAIM_CHUNK = 1000
IN_FLIGHT_NOTE = "Handed to the mail backend; the run stopped before it heard back."


def settled_subscribers(day: date) -> set[int]:
    """Subscribers whose claim for `day` is done (or out of attempts): not this run's work."""
    return set(
        DailyEmail.objects.filter(day=day)
        .exclude(records.retryable_claims())
        .values_list("subscriber_id", flat=True)
    )


def claims_insert(subscriber_ids: list[int], *, day: date) -> None:
    """One pending claim per subscriber for `day`, ids in the given order; others' stay."""
    ops = connection.ops
    day_value = ops.adapt_datefield_value(day)
    now = ops.adapt_datetimefield_value(timezone.now())
    pending = DailyEmail.Status.PENDING.value
    fields = ("subscriber_id", "day", "status", "message_id", "attempts", "error")
    for start in range(0, len(subscriber_ids), CLAIM_CHUNK):
        records.insert_ignoring_conflicts(
            DailyEmail,
            (*fields, "created_at", "updated_at"),
            [
                (subscriber_id, day_value, pending, "", 0, "", now, now)
                for subscriber_id in subscriber_ids[start : start + CLAIM_CHUNK]
            ],
        )


def claims_lock(*, day: date, after: int, size: int) -> list[DailyEmail]:
    """Lock the next claims this run may send (in the caller's transaction), in id order past
    `after`: a claim this run left alone (Spotify errors) is not taken again by it."""
    return list(
        DailyEmail.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("subscriber")
        .only("pk", "attempts", "subscriber_id", "subscriber__email")
        .filter(records.retryable_claims(), day=day, pk__gt=after)
        .order_by("pk")[:size]
    )


def _update(claim_ids, **values):
    if claim_ids:
        DailyEmail.objects.filter(pk__in=claim_ids).update(**values)


def batch_mark_in_flight(composed: Composed, claim_ids: dict[int, int], *, day: date) -> None:
    """Before anything is sent: a run that dies from here on must not send these again, and
    their picks count as sent until Mailgun's answer or events say otherwise. `claim_ids`:
    subscriber id -> claim id."""
    now = timezone.now()
    _update(
        [message.claim_id for message in composed.messages],
        status=DailyEmail.Status.UNKNOWN,
        error=IN_FLIGHT_NOTE,
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    records.picks_hold(
        [
            (claim_ids[message.subscriber_id], pick.subscription.pk)
            + (pick.playlist.id, pick.playlist.name)
            + (pick.playlist.web_url, pick.playlist.uri, pick.playlist.image_url or "")
            for message in composed.messages
            for pick in message.picks
        ],
        day=day,
    )
    _update(
        [claim_ids[subscriber] for subscriber in composed.skipped],
        status=DailyEmail.Status.SKIPPED,
        error="Nothing new to send today.",
        updated_at=now,
    )
    _update(
        [claim_ids[subscriber] for subscriber in composed.released],
        error="Spotify errors; a later run will try again today.",
        updated_at=now,
    )
    for subscriber, reason in composed.undeliverable.items():
        _update(
            [claim_ids[subscriber]],
            status=DailyEmail.Status.FAILED,
            error=reason,
            attempts=F("attempts") + 1,
            updated_at=now,
        )


def answers_record(reports, *, day: date) -> None:
    """Write what Mailgun answered for each call of a batch (in the caller's transaction)."""
    now = timezone.now()
    for report in reports:
        claim_ids = [message.claim_id for message in report.messages]
        if report.outcome == Outcome.SENT:
            records.claims_sent(
                claim_ids,
                subscription_ids=[
                    pick.subscription.pk for message in report.messages for pick in message.picks
                ],
                day=day,
                message_id=report.message_id,
                sent_at=now,
            )
        elif report.outcome == Outcome.FAILED:
            records.claims_failed(
                {message.claim_id: message.attempt for message in report.messages},
                error=report.error,
            )
        else:
            records.claims_unknown(claim_ids, error=report.error)
