"""Claiming: the at-most-once protocol's writes before a batch is sent.

One pending `DailyEmail` claim per subscriber and day, inserted with `ON CONFLICT DO NOTHING`
on the unique (subscriber, day): concurrent runs agree on the day's work without talking to
each other. A batch takes its claims in a short transaction (`SELECT … FOR UPDATE SKIP LOCKED`,
then an advisory lock each, `locks`), so parallel runs split the work instead of waiting, and
commits: no row lock is held while it is composed. Before anything is sent, another short
transaction marks the claims that are still there and still pending "unknown" — in flight —
with their picks written as unknown history (`records` writes what comes after).

So a run killed while a batch is on the wire leaves that batch "unknown" instead of mailing it
twice on the next run, and a run killed before a batch is marked in flight leaves its claims
pending (its advisory locks die with its session) for the next run. A subscriber erased while
their batch is composed simply has no claim left to mark: nobody waits, nothing is written.
"""

from dataclasses import dataclass
from datetime import date

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from ..delivery import records
from ..models import DailyEmail, SentPlaylist
from . import locks
from .goodbye import goodbyes_hold
from .picking import Composed
from .report import Outcome


@dataclass
class Taken:
    """Claims a batch holds (advisory locks, no transaction), and how far the scan went."""

    claims: list[DailyEmail]
    last_seen: int  # the highest claim id looked at: the next batch starts after it
    candidates: int = 0  # claims looked at; those not in `claims` were held elsewhere


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
        chunk = subscriber_ids[start : start + CLAIM_CHUNK]
        with transaction.atomic():
            alive = locks.subscribers_keep(chunk)  # one erased since the plan gets no claim
            records.insert_ignoring_conflicts(
                DailyEmail,
                (*fields, "created_at", "updated_at"),
                [
                    (subscriber_id, day_value, pending, "", 0, "", now, now)
                    for subscriber_id in chunk
                    if subscriber_id in alive
                ],
            )


def claims_take(*, day: date, after: int, size: int, upto: int | None = None) -> Taken | None:
    """Take the next claims this run may send, in id order past `after` (and up to `upto`):
    a claim this run left alone (Spotify errors) is not taken again by it, one another run or
    task holds is passed over. None when there are none left; `Taken.claims` may be empty when
    all those looked at were held elsewhere. Release them with `locks.claims_let_go`."""
    retryable = DailyEmail.objects.filter(records.retryable_claims(), day=day, pk__gt=after)
    if upto is not None:
        retryable = retryable.filter(pk__lte=upto)
    with transaction.atomic():
        candidates = list(
            retryable.select_for_update(skip_locked=True, of=("self",))
            .select_related("subscriber")
            .only("pk", "attempts", "subscriber_id", "subscriber__email")
            .order_by("pk")[:size]
        )
        if not candidates:
            return None
        # Under the row locks: a claim marked and released by another run between our read
        # and our lock was re-read by PostgreSQL, so what is held here is still pending.
        held = locks.claims_hold(claim.pk for claim in candidates)
    return Taken(
        [claim for claim in candidates if claim.pk in held], candidates[-1].pk, len(candidates)
    )


def _update(claim_ids, **values):
    if claim_ids:
        DailyEmail.objects.filter(pk__in=claim_ids).update(**values)


def batch_mark_in_flight(composed: Composed, claim_ids: dict[int, int], *, day: date) -> None:
    """Before anything is sent: a run that dies from here on must not send these again, and
    their picks count as sent until Mailgun's answer or events say otherwise. `claim_ids`:
    subscriber id -> claim id.

    One short transaction. Claims whose subscriber was erased (or whose picks' subscription
    was deleted) while the batch was composed, and any no longer pending, are dropped from
    `composed`: they are not sent, and nothing is written for them.
    """
    with transaction.atomic():
        _drop_vanished(composed, claim_ids)
        _mark(composed, claim_ids, day=day)


def _drop_vanished(composed: Composed, claim_ids: dict[int, int]) -> None:
    subscribers = locks.subscribers_keep(claim_ids)
    picked = [p.subscription.pk for message in composed.messages for p in message.picks]
    subscriptions = locks.subscriptions_keep(picked)
    current = set(
        DailyEmail.objects.select_for_update(of=("self",))
        .filter(records.retryable_claims(), pk__in=[claim_ids[s] for s in subscribers])
        .values_list("pk", flat=True)
    )
    for subscriber in list(claim_ids):
        if claim_ids[subscriber] not in current:
            del claim_ids[subscriber]
    composed.messages = [
        message
        for message in composed.messages
        if message.subscriber_id in claim_ids
        and all(p.subscription.pk in subscriptions for p in message.picks)
    ]
    for reasons in (composed.skipped, composed.released, composed.undeliverable):
        for subscriber in [s for s in reasons if s not in claim_ids]:
            del reasons[subscriber]


def _mark(composed: Composed, claim_ids: dict[int, int], *, day: date) -> None:
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
    goodbyes_hold(composed.messages)  # a goodbye stands in for the day's playlists
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
    """Write what Mailgun answered for each call of a batch, in one short transaction."""
    now = timezone.now()
    with transaction.atomic():
        # First, as an erase does: whoever comes second waits, nobody deadlocks.
        locks.subscribers_keep(m.subscriber_id for report in reports for m in report.messages)
        for report in reports:
            _answer_record(report, day=day, now=now)


def claims_return(claim_ids: list[int], *, error: str) -> None:
    """These in-flight claims were never taken by Mailgun because its settings are wrong:
    they are pending again, as they were (the attempt is not counted), their picks dropped."""
    if not claim_ids:
        return
    in_flight = DailyEmail.objects.filter(pk__in=claim_ids, status=records.IN_FLIGHT)
    with transaction.atomic():
        SentPlaylist.objects.filter(
            daily_email__in=claim_ids, status=SentPlaylist.Status.UNKNOWN
        ).delete()
        in_flight.update(
            status=DailyEmail.Status.PENDING,
            error=error,
            attempts=F("attempts") - 1,
            updated_at=timezone.now(),
        )


def _answer_record(report, *, day, now):
    claim_ids = [message.claim_id for message in report.messages]
    if report.outcome == Outcome.RETURNED:
        claims_return(claim_ids, error=report.error)
    elif report.outcome == Outcome.SENT:
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
