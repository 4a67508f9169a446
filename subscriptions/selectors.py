"""Read-only queries about subscribers and their subscriptions, shared by views, services,
the admin and the daily sender (`sendable_subscriptions`)."""

import datetime

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Lower

from .addresses import canonical_email
from .models import EmailEvent, SentPlaylist, Subscriber, Subscription

# Addresses are compared by inbox (subscriptions.addresses.canonical_email, the unique
# `Subscriber.inbox_key`): Victim@x.com, victim+news@x.com and an old row's "victim"@x.com are
# one subscriber, for the limits, the suppression and the one-live-per-term constraint alike.


def address_subscriber(*, email: str) -> Subscriber | None:
    """The subscriber of the inbox `email` reaches, or None."""
    return Subscriber.objects.filter(inbox_key=canonical_email(email)).first()


def subscriber_is_verified(*, subscriber: Subscriber) -> bool:
    """The person proved once that they read this inbox: a subscription was confirmed (or is
    active, as rows staff made or from before confirmations were recorded may be)."""
    return subscriber.subscriptions.filter(
        Q(confirmed_at__isnull=False) | Q(status=Subscription.Status.ACTIVE)
    ).exists()


def address_subscriptions(*, email: str) -> QuerySet[Subscription]:
    """Every subscription of the inbox `email` reaches, however each was spelled."""
    return Subscription.objects.filter(subscriber__inbox_key=canonical_email(email))


def sendable_subscriptions(*, day: datetime.date) -> QuerySet[Subscription]:
    """Subscriptions the daily email may carry on `day`: active, of a subscriber whose inbox
    is not suppressed (bounced or complained), who has not paused past `day` and was not
    paused for not listening (sunset: subscriptions.listening)."""
    return Subscription.objects.filter(
        status=Subscription.Status.ACTIVE,
        subscriber__state=Subscriber.State.ACTIVE,
        subscriber__sunset_at=None,
    ).exclude(subscriber__paused_until__gte=day)


def live_subscription(*, email: str, term: str) -> Subscription | None:
    """The pending or active subscription of (inbox, term), or None; there is at most one.

    The term compares with LOWER() on both sides: the database's idea of lower case (SQLite's
    is ASCII only) must be the one the unique constraint uses, or a lookup could miss a row
    the constraint sees.
    """
    return (
        address_subscriptions(email=email)
        .alias(term_ci=Lower("term"))
        .filter(term_ci=Lower(Value(term)), status__in=Subscription.LIVE_STATUSES)
        .first()
    )


def subscription_by_token(*, token: str) -> Subscription:
    """Raises Subscription.DoesNotExist for an unknown token. With its subscriber: the pages
    of a link show the address."""
    return Subscription.objects.select_related("subscriber").get(token=token)


def address_has_complained(*, email: str) -> bool:
    """The inbox marked our mail as spam (under any spelling) and staff have not cleared it."""
    return Subscriber.objects.filter(
        inbox_key=canonical_email(email), state=Subscriber.State.COMPLAINED
    ).exists()


def address_is_suppressed(*, email: str) -> bool:
    """We must not mail the inbox until staff clear it: it bounced or complained."""
    return Subscriber.objects.filter(
        inbox_key=canonical_email(email), state__in=Subscriber.SUPPRESSED_STATES
    ).exists()


def _count_of(rows: QuerySet, group: str) -> Coalesce:
    """A correlated COUNT of `rows` grouped by `group` (0 when there are none)."""
    return Coalesce(
        Subquery(rows.order_by().values(group).annotate(count=Count("id")).values("count")), 0
    )


def _latest_event(subscriber: OuterRef) -> dict[str, Subquery]:
    """The subscriber's latest delivery event as `last_event_type`/`_reason`/`_at`."""
    latest = EmailEvent.objects.filter(subscriber=subscriber).order_by("-occurred_at", "-id")
    return {
        f"last_event_{name}": Subquery(latest.values(field)[:1])
        for name, field in (("type", "event_type"), ("reason", "reason"), ("at", "occurred_at"))
    }


def with_subscriber_summary(queryset: QuerySet[Subscriber]) -> QuerySet[Subscriber]:
    """`history_count` and the latest delivery event (`last_event_type`/`_reason`/`_at`) in
    the list's one query: correlated subqueries, paid only by the rows of one page."""
    history = SentPlaylist.objects.filter(subscription__subscriber=OuterRef("pk"))
    return queryset.annotate(
        history_count=_count_of(history, "subscription__subscriber"),
        **_latest_event(OuterRef("pk")),
    )


def with_delivery_summary(queryset: QuerySet[Subscription]) -> QuerySet[Subscription]:
    """Annotate subscriptions with what the admin list shows, in the list's one query:
    `sent_count`, and the address's latest delivery event as `last_event_type`/`_reason`/`_at`.

    Correlated subqueries rather than a JOIN with GROUP BY: the admin's row count and date
    hierarchy queries can then drop them, and only the rows of one page pay for them.
    """
    sent = SentPlaylist.objects.filter(subscription=OuterRef("pk"))
    return queryset.annotate(
        sent_count=_count_of(sent, "subscription"), **_latest_event(OuterRef("subscriber"))
    )
