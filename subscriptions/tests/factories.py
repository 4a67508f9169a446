"""Rows for tests: subscribers and subscriptions in any state, spelled the way tests think.

A bounce or complaint belongs to the inbox (Subscriber.state), not to a subscription; the
"bounced" and "complained" statuses tests ask for are shorthand for an active subscription of
a subscriber in that state.
"""

from django.utils import timezone

from subscriptions.models import Subscriber, Subscription

SUPPRESSED = {state.value for state in Subscriber.SUPPRESSED_STATES}


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
    return Subscription.objects.create(email=email, term=term, status=status, **extra)
