"""What a day's claims end as: recorded from the sender's answers or from Mailgun's events.

A claim (`DailyEmail`) is marked "unknown" and its picks are written as "unknown" history rows
before its batch goes to Mailgun, so that whatever happens next the picks count for the
no-repeat rule and the inbox is never mailed twice. From there:

- Mailgun accepted the batch -> the claim and its picks are "sent" (the subscriptions too);
- Mailgun refused it -> the claim is "failed" and its picks are dropped; a later run retries it
  while it has attempts left today (DAILY_MAX_ATTEMPTS), then it is left failed with the reason;
- no answer -> it stays "unknown" and is never resent. Mailgun's `delivered` event for it
  makes it "sent"; a permanent failure (`bounced`, `rejected`) makes it "failed", for good.
"""

from datetime import date, datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from ..addresses import canonical_email
from ..models import DailyEmail, SentPlaylist, Subscriber, Subscription

Status = DailyEmail.Status
IN_FLIGHT = Status.UNKNOWN  # the claims a batch carries, from before it is sent to its answer
GAVE_UP = "Gave up after {attempts} attempts today. Last: {error}"


def retryable_claims() -> Q:
    """Claims a run may send: pending, or refused before Mailgun took them, with attempts left.

    A failed claim with a message id was taken by Mailgun (its fate came later by webhook):
    sending it again would be the day's second email.
    """
    return Q(status=Status.PENDING) | Q(
        status=Status.FAILED, message_id="", attempts__lt=settings.DAILY_MAX_ATTEMPTS
    )


def picks_hold(picks: list[tuple[int, int, str, str, str, str, str]], *, day: date) -> None:
    """Write a batch's picks, as (claim id, subscription id, playlist id, name, web link, app
    link, cover), as unknown history rows before the batch is sent."""
    ops = connection.ops
    created = ops.adapt_datetimefield_value(timezone.now())
    sent_on = ops.adapt_datefield_value(day)
    unknown = SentPlaylist.Status.UNKNOWN.value
    insert_ignoring_conflicts(
        SentPlaylist,
        ("daily_email", "subscription", "playlist_id", "name", "web_url", "uri", "image_url")
        + ("status", "sent_on", "message_id", "created_at"),
        [
            (claim_id, subscription_id, playlist_id, name[:300], web_url[:500], uri[:200])
            + ((image_url if len(image_url) <= 500 else ""), unknown, sent_on, "", created)
            for claim_id, subscription_id, playlist_id, name, web_url, uri, image_url in picks
        ],
    )


def claims_sent(
    claim_ids: list[int],
    *,
    subscription_ids: list[int],
    day: date,
    message_id: str,
    sent_at: datetime,
) -> None:
    """Mailgun took these in-flight claims' email: they, their picks and the subscriptions
    picked for (`subscription_ids`) are sent."""
    if not claim_ids:
        return
    with transaction.atomic():
        DailyEmail.objects.filter(pk__in=claim_ids, status=IN_FLIGHT).update(
            status=Status.SENT, message_id=message_id, error="", updated_at=timezone.now()
        )
        SentPlaylist.objects.filter(daily_email__in=claim_ids).update(
            status=SentPlaylist.Status.SENT, message_id=message_id
        )
        Subscription.objects.filter(pk__in=subscription_ids).filter(
            Q(last_sent_on__isnull=True) | Q(last_sent_on__lt=day)
        ).update(last_sent_on=day, last_sent_at=sent_at)
        Subscriber.objects.filter(daily_emails__in=claim_ids).update(last_sent_at=sent_at)


def claims_failed(attempts: dict[int, int], *, error: str) -> None:
    """Mailgun refused these in-flight claims (claim id -> attempts so far today): their picks
    go; the claims are retried later today unless they are out of attempts."""
    if not attempts:
        return
    limit = settings.DAILY_MAX_ATTEMPTS
    final = [claim_id for claim_id, count in attempts.items() if count >= limit]
    retried = [claim_id for claim_id, count in attempts.items() if count < limit]
    now = timezone.now()
    with transaction.atomic():
        in_flight = DailyEmail.objects.filter(status=IN_FLIGHT)
        in_flight.filter(pk__in=retried).update(status=Status.FAILED, error=error, updated_at=now)
        in_flight.filter(pk__in=final).update(
            status=Status.FAILED,
            error=GAVE_UP.format(attempts=limit, error=error),
            updated_at=now,
        )
        SentPlaylist.objects.filter(
            daily_email__in=list(attempts), status=SentPlaylist.Status.UNKNOWN
        ).delete()


def claims_unknown(claim_ids: list[int], *, error: str) -> None:
    """No answer: the claims stay unknown (never resent), with what went wrong."""
    if claim_ids:
        DailyEmail.objects.filter(pk__in=claim_ids, status=IN_FLIGHT).update(
            error=error, updated_at=timezone.now()
        )


def daily_email_resolve(
    *,
    recipient: str,
    metadata: dict,
    delivered: bool,
    message_id: str,
    reason: str,
    occurred_at: datetime,
) -> bool:
    """Settle the unknown claim a delivery event is about; True if there was one.

    The event names the recipient and carries the message's metadata ("kind": "daily", "day"):
    with the inbox key they find the day's one claim, the only daily email of that inbox that
    day. Claims that are not unknown are left alone: the sender heard Mailgun's answer itself.
    """
    if metadata.get("kind") != "daily":
        return False
    try:
        day = date.fromisoformat(str(metadata.get("day")))
    except ValueError:
        return False
    key = canonical_email(recipient)
    with transaction.atomic():
        claim = (
            DailyEmail.objects.select_for_update(of=("self",))
            .filter(subscriber__inbox_key=key, day=day, status=IN_FLIGHT)
            .only("pk")
            .first()
        )
        if claim is None:
            return False
        if delivered:
            picked = SentPlaylist.objects.filter(daily_email=claim).values_list(
                "subscription", flat=True
            )
            claims_sent(
                [claim.pk],
                subscription_ids=list(picked),
                day=day,
                message_id=message_id,
                sent_at=occurred_at,
            )
            return True
        DailyEmail.objects.filter(pk=claim.pk).update(
            status=Status.FAILED,
            message_id=message_id,
            error=f"Mailgun reported it undelivered: {reason or 'no reason given'}",
            updated_at=timezone.now(),
        )
        SentPlaylist.objects.filter(daily_email=claim, status=SentPlaylist.Status.UNKNOWN).delete()
    return True


def insert_ignoring_conflicts(model, fields: tuple[str, ...], rows: list[tuple]) -> None:
    """`INSERT … ON CONFLICT DO NOTHING` of `rows` (database values for `fields`), in one
    executemany and one transaction.

    bulk_create(ignore_conflicts=True) does the same but prepares every value of every row
    through its field: at 100,000 rows a day, seconds spent on values that are all alike.
    """
    if not rows:
        return
    ops = connection.ops
    table = ops.quote_name(model._meta.db_table)
    columns = ", ".join(ops.quote_name(model._meta.get_field(name).column) for name in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    # Names come from the model's _meta; values go as parameters.
    insert = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(f"{insert} ON CONFLICT DO NOTHING", rows)
