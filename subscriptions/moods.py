"""The cap on an inbox's live moods (MAX_MOODS_PER_SUBSCRIBER): the one place they are counted.

Each live (pending or active) mood is a Spotify search a day and a pick in the inbox's email,
so every way one is added or brought back (the subscribe form, the manage page, the admin)
asks here first, and again under the subscriber's row lock in the transaction that adds it.
"""

from django.conf import settings

from .models import Subscriber, Subscription


class TooManyMoods(Exception):
    """The subscriber has as many live moods as the cap allows: nothing was added."""


def mood_cap() -> int:
    return settings.MAX_MOODS_PER_SUBSCRIBER


def live_mood_count(*, subscriber_id: int) -> int:
    return Subscription.objects.filter(
        subscriber_id=subscriber_id, status__in=Subscription.LIVE_STATUSES
    ).count()


def has_room(*, subscriber_id: int) -> bool:
    """Room for one more live mood, as things stand (no lock: to choose what to answer)."""
    return live_mood_count(subscriber_id=subscriber_id) < mood_cap()


def room_claim(*, subscriber_id: int) -> None:
    """Inside the transaction that adds a live mood: lock the subscriber's row, so adds for
    one inbox take turns here, then raise TooManyMoods when it has no room for one more.
    Two adds at once cannot both count room for the last one: the second counts after the
    first commits. (SQLite has no row locks; it lets one writer in at a time anyway.)"""
    list(Subscriber.objects.select_for_update().filter(pk=subscriber_id).values_list("pk"))
    if not has_room(subscriber_id=subscriber_id):
        raise TooManyMoods
