"""Read-only queries about subscriptions, shared by views, services, the admin and the sender."""

from django.db.models import Count, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, Lower

from .models import EmailEvent, SentPlaylist, Subscription


def _same_text(field, value):
    """Case-insensitive equality with LOWER() on both sides: the database's idea of lower case
    (SQLite's is ASCII only) must be the one the unique constraint uses, or a lookup could miss
    a row the constraint sees."""
    return {f"{field}_ci": Lower(field)}, {f"{field}_ci": Lower(Value(value))}


def address_subscriptions(*, email):
    """Every subscription of one address, whatever the case it was typed in."""
    alias, lookup = _same_text("email", email)
    return Subscription.objects.alias(**alias).filter(**lookup)


def live_subscription(*, email, term):
    """The pending or active subscription of (email, term), or None; there is at most one."""
    alias, lookup = _same_text("term", term)
    return (
        address_subscriptions(email=email)
        .alias(**alias)
        .filter(**lookup, status__in=Subscription.LIVE_STATUSES)
        .first()
    )


def subscription_by_token(*, token):
    """Raises Subscription.DoesNotExist for an unknown token."""
    return Subscription.objects.get(token=token)


def address_has_complained(*, email):
    """The address marked our mail as spam: a subscription says so, or a recorded complaint
    does (it may have arrived when the address had nothing live left to mark)."""
    return (
        address_subscriptions(email=email).filter(status=Subscription.Status.COMPLAINED).exists()
        or EmailEvent.objects.filter(
            email=email.lower(), event_type=EmailEvent.Type.COMPLAINED
        ).exists()
    )


def address_events(*, email):
    """Delivery events of the address, newest first (EmailEvent stores addresses lower-cased)."""
    return EmailEvent.objects.filter(email=email.lower())


def with_delivery_summary(queryset):
    """Annotate subscriptions with what the admin list shows, in the list's one query:
    `sent_count`, and the address's latest delivery event as `last_event_type`/`_reason`/`_at`.

    Correlated subqueries rather than a JOIN with GROUP BY: the admin's row count and date
    hierarchy queries can then drop them, and only the rows of one page pay for them.
    """
    sent_count = (
        SentPlaylist.objects.filter(subscription=OuterRef("pk"))
        .order_by()
        .values("subscription")
        .annotate(count=Count("id"))
        .values("count")
    )
    latest_event = EmailEvent.objects.filter(email=Lower(OuterRef("email"))).order_by(
        "-occurred_at", "-id"
    )
    return queryset.annotate(
        sent_count=Coalesce(Subquery(sent_count), 0),
        last_event_type=Subquery(latest_event.values("event_type")[:1]),
        last_event_reason=Subquery(latest_event.values("reason")[:1]),
        last_event_at=Subquery(latest_event.values("occurred_at")[:1]),
    )
