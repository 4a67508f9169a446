"""Rows for tests: subscribers and subscriptions in any state, spelled the way tests think.

A bounce or complaint belongs to the inbox (Subscriber.state), not to a subscription; the
"bounced" and "complained" statuses tests ask for are shorthand for an active subscription of
a subscriber in that state. The address is the subscriber's: a subscription made "for" an
address belongs to the subscriber of its inbox, made if new.
"""

from collections.abc import Iterable

from django.utils import timezone

from subscriptions.addresses import canonical_email
from subscriptions.models import Subscriber, Subscription, stored_address

SUPPRESSED = {state.value for state in Subscriber.SUPPRESSED_STATES}
BATCH = 1000


def subscriber(email: str = "listener@example.com", *, state: str = "active") -> Subscriber:
    """The subscriber of `email`'s inbox (made if new), put in `state`."""
    found = Subscriber.for_address(email)
    if found.state != state:
        found.state, found.state_changed_at = state, timezone.now()
        found.save(update_fields=["state", "state_changed_at"])
    return found


def subscription(
    email: str = "listener@example.com", term: str = "happy", status: str = "active", **extra
) -> Subscription:
    if status in SUPPRESSED:
        subscriber(email, state=status)
        status = Subscription.Status.ACTIVE
    if status == Subscription.Status.ACTIVE:
        extra.setdefault("confirmed_at", timezone.now())
    extra.setdefault("subscriber", Subscriber.for_address(email))
    return Subscription.objects.create(term=term, status=status, **extra)


def subscribers_bulk(emails: Iterable[str], *, as_spelled: bool = False) -> dict[str, Subscriber]:
    """{address: the subscriber of its inbox}, the new ones made in bulk; spellings of one inbox
    share one subscriber, spelled as the first of them. `as_spelled`: store a new subscriber's
    address exactly as given, as rows from before today's address rules may be (save() and
    bulk_create would tidy it)."""
    emails = list(dict.fromkeys(emails))
    first_spelling = {}
    for email in emails:
        first_spelling.setdefault(canonical_email(stored_address(email)), email)
    known = _by_key(list(first_spelling))
    new = [Subscriber(email=email) for key, email in first_spelling.items() if key not in known]
    Subscriber.objects.bulk_create(new, batch_size=BATCH)
    by_key = _by_key(list(first_spelling))
    if as_spelled:
        for key, email in first_spelling.items():
            if key not in known and by_key[key].email != email:
                Subscriber.objects.filter(pk=by_key[key].pk).update(email=email)
                by_key[key].email = email
    return {email: by_key[canonical_email(stored_address(email))] for email in emails}


def _by_key(keys):
    found = {}
    for start in range(0, len(keys), BATCH):
        found.update(
            (row.inbox_key, row)
            for row in Subscriber.objects.filter(inbox_key__in=keys[start : start + BATCH])
        )
    return found


def subscriptions_bulk(
    rows: Iterable[tuple[str, str]],
    *,
    status: str = "active",
    as_spelled: bool = False,
    **extra,
) -> list[Subscription]:
    """One subscription per (address, term) of `rows`, all in `status`, made in bulk with
    their subscribers (see subscribers_bulk)."""
    rows = list(rows)
    subscribers = subscribers_bulk((email for email, _ in rows), as_spelled=as_spelled)
    if status == Subscription.Status.ACTIVE:
        extra.setdefault("confirmed_at", timezone.now())
    return Subscription.objects.bulk_create(
        [
            Subscription(subscriber=subscribers[email], term=term, status=status, **extra)
            for email, term in rows
        ],
        batch_size=BATCH,
    )
