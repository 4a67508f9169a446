"""What listening reads: the pick a /go/ link names, the email a click came from, and a
subscriber's own record for their data download."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Min, OuterRef, QuerySet, Subquery

from ..models import DailyEmail, ListeningEvent, SentPlaylist, Subscriber
from .links import Target

LINKS_BESIDES_PICKS = 2  # the web copy and the manage page; each pick adds its web and app link


@dataclass(frozen=True)
class EmailFacts:
    """What the scanner rules need to know of the email a click came from."""

    daily_email_id: int
    sent_at: datetime | None  # when its picks were handed to Mailgun
    delivered_at: datetime | None  # Mailgun's `delivered` event
    link_count: int  # the links of ours it carries


def pick_of(target: Target) -> SentPlaylist | None:
    """The pick a /go/ link names, with its subscriber id; None if it is no longer kept."""
    return (
        SentPlaylist.objects.select_related("subscription")
        .only("pk", "web_url", "uri", "playlist_id", "daily_email_id", "subscription__subscriber")
        .filter(subscription_id=target.subscription_id, playlist_id=target.playlist_id)
        .first()
    )


def email_facts(*, daily_email_id: int | None) -> EmailFacts | None:
    if daily_email_id is None:
        return None
    row = (
        DailyEmail.objects.filter(pk=daily_email_id)
        .annotate(pick_count=Count("picks"), sent_at=Min("picks__created_at"))
        .values("delivered_at", "pick_count", "sent_at")
        .first()
    )
    if row is None:
        return None
    return EmailFacts(
        daily_email_id=daily_email_id,
        sent_at=row["sent_at"],
        delivered_at=row["delivered_at"],
        link_count=2 * row["pick_count"] + LINKS_BESIDES_PICKS,
    )


def latest_email_of(*, subscriber: Subscriber) -> int | None:
    """The email a visit to the manage page most likely came from: the latest that carried
    picks (the manage link says no more than "from an email")."""
    return (
        SentPlaylist.objects.filter(subscription__subscriber=subscriber, daily_email__isnull=False)
        .order_by("-created_at", "-pk")
        .values_list("daily_email_id", flat=True)
        .first()
    )


def subscriber_listening(*, subscriber: Subscriber) -> list[dict[str, Any]]:
    """Every click and visit kept for the subscriber, oldest first, for "Download my data":
    what was opened, when, the playlist, and how it was counted. No IP or user agent is kept."""
    events = (
        ListeningEvent.objects.filter(subscriber=subscriber)
        .select_related("sent_playlist", "daily_email")
        .order_by("occurred_at", "pk")
    )
    return [
        {
            "at": event.occurred_at,
            "link": event.link,
            "what": event.get_link_display(),
            "playlist": event.sent_playlist.name if event.sent_playlist else None,
            "email_of": event.daily_email.day if event.daily_email else None,
            "counted_as": "listening" if event.is_listening else event.get_verdict_display(),
        }
        for event in events
    ]


def with_last_listened(queryset: QuerySet[Subscriber]) -> QuerySet[Subscriber]:
    """`last_listened_at`: the subscriber's latest listening (a correlated subquery, paid only
    by the rows of the admin's page)."""
    latest = ListeningEvent.objects.filter(
        subscriber=OuterRef("pk"), verdict=ListeningEvent.Verdict.LISTENER
    ).order_by("-occurred_at")
    return queryset.annotate(last_listened_at=Subquery(latest.values("occurred_at")[:1]))
