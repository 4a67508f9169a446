"""The sender's locks, none of which a network call waits under.

- While a batch is composed (Spotify) and sent (Mailgun) no transaction is open. Its claims are
  held by PostgreSQL *advisory* locks of the run's session instead of row locks: concurrent runs
  (and tasks) skip them, a subscriber erasing themselves is not blocked by them, and they go
  with the session when its process dies, so the next run takes the claims at once.
- The short transactions that write a batch's claims, picks and answers first take a key-share
  lock on its subscribers (and subscriptions): an erase, which starts by locking the subscriber
  `FOR UPDATE`, waits a few milliseconds for them or they for it; never both for each other,
  and no row is written that points at a person deleted meanwhile.

On SQLite (one writer at a time, one run at a time) the holds are no-ops.
"""

from collections.abc import Iterable

from django.db import connection

from ..models import Subscriber, Subscription

# Claim ids stay far below 2**40; the bits above keep the sender's keys apart from any other
# user of advisory locks in the database.
LOCK_SPACE = 0x5D << 40


def _advisory() -> bool:
    return connection.vendor == "postgresql"


def claims_hold(claim_ids: Iterable[int]) -> set[int]:
    """Take this session's advisory lock on each claim; the ids it could take (every id when
    the database has no advisory locks)."""
    claim_ids = list(claim_ids)
    if not claim_ids or not _advisory():
        return set(claim_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT claim FROM unnest(%s::bigint[]) AS claim "
            "WHERE pg_try_advisory_lock(%s + claim)",
            [claim_ids, LOCK_SPACE],
        )
        return {row[0] for row in cursor.fetchall()}


def claims_let_go(claim_ids: Iterable[int]) -> None:
    """Release the advisory locks `claims_hold` took on these claims."""
    claim_ids = list(claim_ids)
    if not claim_ids or not _advisory():
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_unlock(%s + claim) FROM unnest(%s::bigint[]) AS claim",
            [LOCK_SPACE, claim_ids],
        )


def _keep(model, ids: Iterable[int]) -> set[int]:
    ids = sorted(set(ids))
    if not ids:
        return set()
    if not _advisory():
        return set(model.objects.filter(pk__in=ids).values_list("pk", flat=True))
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        # FOR KEY SHARE: what a foreign key check takes. It waits for (and is waited for by)
        # a delete or a FOR UPDATE only; ordinary updates of the rows go on.
        cursor.execute(
            f"SELECT id FROM {table} WHERE id = ANY(%s) ORDER BY id FOR KEY SHARE",  # noqa: S608
            [ids],
        )
        return {row[0] for row in cursor.fetchall()}


def subscribers_keep(subscriber_ids: Iterable[int]) -> set[int]:
    """In the caller's transaction: keep these subscribers from being deleted until it ends;
    the ids that still exist."""
    return _keep(Subscriber, subscriber_ids)


def subscriptions_keep(subscription_ids: Iterable[int]) -> set[int]:
    """The same for subscriptions (staff may delete one while its pick is composed)."""
    return _keep(Subscription, subscription_ids)
