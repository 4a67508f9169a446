"""Read-only queries of the manage page: a subscriber's moods, history and data export."""

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from ..addresses import canonical_email
from ..listening.selectors import subscriber_listening
from ..models import EmailEvent, SentPlaylist, Subscriber, Subscription

Status = Subscription.Status
MANAGE_TOKEN_MAX_LENGTH: int = Subscriber._meta.get_field("manage_token").max_length or 0


def subscriber_by_manage_token(*, token: str) -> Subscriber:
    """Raises Subscriber.DoesNotExist for an unknown (or impossibly long) token."""
    if len(token) > MANAGE_TOKEN_MAX_LENGTH:
        raise Subscriber.DoesNotExist
    return Subscriber.objects.get(manage_token=token)


def manage_link_recipient(*, email: str) -> Subscriber | None:
    """The subscriber whose manage link "Lost your link?" may mail to `email`: its inbox has
    subscriptions and is not suppressed. One query, the same whether or not it finds one."""
    return (
        Subscriber.objects.filter(inbox_key=canonical_email(email), state=Subscriber.State.ACTIVE)
        .filter(Exists(Subscription.objects.filter(subscriber=OuterRef("pk"))))
        .first()
    )


def subscriber_suppression(*, subscriber: Subscriber) -> str | None:
    """ "complained" or "bounced" when the inbox must get no mail from us, else None."""
    return subscriber.state if subscriber.is_suppressed else None


@dataclass(frozen=True)
class Mood:
    """One term of a subscriber as the page lists it: its live subscription if it has one,
    else the latest one that ended."""

    subscription: Subscription
    since: datetime.datetime

    @property
    def can_stop(self) -> bool:
        return self.subscription.is_live

    @property
    def can_restart(self) -> bool:
        return self.subscription.status == Status.UNSUBSCRIBED


def _since(subscription: Subscription) -> datetime.datetime:
    if subscription.status == Status.ACTIVE:
        return subscription.confirmed_at or subscription.created_at
    if subscription.status == Status.UNSUBSCRIBED:
        return subscription.unsubscribed_at or subscription.created_at
    return subscription.created_at


def subscriber_moods(*, subscriber: Subscriber) -> list[Mood]:
    """Every term the subscriber ever asked for, once each, in the order they first did."""
    chosen: dict[str, Subscription] = {}
    for subscription in subscriber.subscriptions.order_by("created_at", "id"):
        key = subscription.term.lower()
        current = chosen.get(key)
        # A live row wins; among ended ones the latest does.
        if current is None or not current.is_live:
            chosen[key] = subscription
    return [Mood(subscription=s, since=_since(s)) for s in chosen.values()]


def subscriber_history(*, subscriber: Subscriber) -> QuerySet[SentPlaylist]:
    """Every playlist the subscriber was sent (or may have been: see SentPlaylist), newest first."""
    return (
        SentPlaylist.objects.filter(subscription__subscriber=subscriber)
        .select_related("subscription")
        .order_by("-sent_on", "-id")
    )


def subscriber_events(*, subscriber: Subscriber) -> QuerySet[EmailEvent]:
    """Delivery events of the inbox: its own, and any recorded for its address while it had
    no subscriber row (Mailgun reports the address lower-cased)."""
    return EmailEvent.objects.filter(
        Q(subscriber=subscriber) | Q(subscriber=None, recipient=subscriber.email.lower())
    ).order_by("occurred_at", "id")


def subscriber_export(*, subscriber: Subscriber) -> dict[str, Any]:
    """Everything we hold about the person, for "Download my data". Tokens are left out:
    they are keys to the pages, not data about anyone, and a file gets passed around."""
    return {
        "exported_at": timezone.now(),
        "subscriber": {
            "email": subscriber.email,
            "delivery_state": subscriber.state,
            "delivery_state_changed_at": subscriber.state_changed_at,
            "delivery_state_reason": subscriber.state_reason,
            "paused_until": subscriber.paused_until,
            "paused_for_not_listening_since": subscriber.sunset_at,
            "created_at": subscriber.created_at,
            "last_sent_at": subscriber.last_sent_at,
        },
        "subscriptions": [
            {
                "term": s.term,
                "status": s.status,
                "created_at": s.created_at,
                "confirmation_sent_at": s.confirmation_sent_at,
                "confirmed_at": s.confirmed_at,
                "unsubscribed_at": s.unsubscribed_at,
                "last_sent_at": s.last_sent_at,
            }
            for s in subscriber.subscriptions.order_by("created_at", "id")
        ],
        "history": [
            {
                "sent_on": sent.sent_on,
                "term": sent.subscription.term,
                "playlist_id": sent.playlist_id,
                "name": sent.name,
                "web_url": sent.web_url,
                "uri": sent.uri,
                "status": sent.status,
            }
            for sent in subscriber_history(subscriber=subscriber)
        ],
        "daily_emails": [
            {"day": claim.day, "status": claim.status, "attempts": claim.attempts}
            for claim in subscriber.daily_emails.order_by("day", "id")
        ],
        "delivery_events": [
            {
                "event": event.event_type,
                "occurred_at": event.occurred_at,
                "reason": event.reason,
                "received_at": event.received_at,
            }
            for event in subscriber_events(subscriber=subscriber)
        ],
        # The links of ours they opened, kept 400 days (subscriptions.listening).
        "listening": subscriber_listening(subscriber=subscriber),
    }
