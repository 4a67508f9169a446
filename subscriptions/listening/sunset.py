"""A kind goodbye to the silent: who is asked "Still want your daily playlists?" in place of that
day's playlists (the email is subscriptions.daily.goodbye), and the pause of those who never
answer.

A subscriber is asked once when nobody has listened (a person's click or visit from an email,
or "keep them coming") for SUNSET_AFTER_DAYS, while they were mailed on at least 30 of those
days, and the whole stretch lies inside one period of click recording (ListeningPeriod: not
the day this was deployed). The goodbye is that day's email: the daily run claims, sends and
records it like the playlists it stands in for (subscriptions.daily.picking chooses it). With
no listening in the 14 days after it, the daily run's housekeeping sets `Subscriber.sunset_at`:
nothing is sent until the person comes back (the manage page, or the goodbye's own button).
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Subquery

from ..models import DailyEmail, Goodbye, ListeningEvent, ListeningPeriod, Subscriber, Subscription
from . import links

MIN_SENT_DAYS = 30  # mailed on at least this many of the quiet days
ANSWER_DAYS = 14  # days the goodbye waits for an answer before the pause
# Claims whose email went out, or may have: a goodbye that failed was never read.
WENT_OUT = (DailyEmail.Status.SENT, DailyEmail.Status.UNKNOWN)
LISTENER = ListeningEvent.Verdict.LISTENER


def enabled() -> bool:
    """SUNSET_AFTER_DAYS set, and clicks recorded: without them nobody could show they listen."""
    return links.recording() and settings.SUNSET_AFTER_DAYS > 0


def recording_since() -> datetime | None:
    """When the current period of click recording began (None: clicks are not recorded)."""
    period = ListeningPeriod.objects.filter(ended_at=None).order_by("started_at").first()
    return period.started_at if period else None


def period_track(*, now: datetime) -> None:
    """Open a period of click recording when CLICK_RECORDING is on, close it when it is off."""
    current = ListeningPeriod.objects.filter(ended_at=None)
    if not links.recording():
        current.update(ended_at=now)
    elif not current.exists():
        ListeningPeriod.objects.create(started_at=now)


def _listened_since(moment) -> Exists:
    return Exists(
        ListeningEvent.objects.filter(
            subscriber=OuterRef("pk"), verdict=LISTENER, occurred_at__gte=moment
        )
    )


def goodbyes_due(*, subscriber_ids: Iterable[int], now: datetime) -> set[int]:
    """Which of `subscriber_ids` get the goodbye in place of today's email (one query, and one
    for the recording period)."""
    subscriber_ids = list(subscriber_ids)
    if not subscriber_ids or not enabled():
        return set()
    quiet_since = now - timedelta(days=settings.SUNSET_AFTER_DAYS)
    started = recording_since()
    if started is None or started > quiet_since:
        return set()
    # The MIN_SENT_DAYS-th latest day they were sent an email, if it is within the quiet days.
    sent_days = DailyEmail.objects.filter(
        subscriber=OuterRef("pk"), status=DailyEmail.Status.SENT, day__gte=quiet_since.date()
    ).order_by("-day")
    asked = Goodbye.objects.filter(
        subscriber=OuterRef("pk"), created_at__gte=quiet_since, daily_email__status__in=WENT_OUT
    )
    return set(
        Subscriber.objects.filter(pk__in=subscriber_ids, sunset_at=None)
        .annotate(
            enough=Subquery(sent_days.values("day")[MIN_SENT_DAYS - 1 : MIN_SENT_DAYS]),
        )
        .filter(enough__isnull=False)
        .exclude(_listened_since(quiet_since))
        .exclude(Exists(asked))
        .values_list("pk", flat=True)
    )


def goodbyes_record(asked: Iterable[tuple[int, int]]) -> None:
    """Record goodbyes as (subscriber id, claim id) when their claims are marked in flight:
    from then on they count as asked (unless the claim ends failed)."""
    Goodbye.objects.bulk_create(
        [Goodbye(subscriber_id=subscriber, daily_email_id=claim) for subscriber, claim in asked],
        ignore_conflicts=True,  # a retry of the day's claim asks again: the first time counts
    )


def subscribers_sunset(*, now: datetime) -> int:
    """Pause everyone whose goodbye went out ANSWER_DAYS ago or more, in this period of click
    recording, without listening since; how many."""
    if not enabled() or (started := recording_since()) is None:
        return 0
    unanswered = Goodbye.objects.filter(
        subscriber=OuterRef("pk"),
        daily_email__status__in=WENT_OUT,
        created_at__gte=started,
        created_at__lte=now - timedelta(days=ANSWER_DAYS),
    ).exclude(
        Exists(
            ListeningEvent.objects.filter(
                subscriber=OuterRef("subscriber"),
                verdict=LISTENER,
                occurred_at__gte=OuterRef("created_at"),
            )
        )
    )
    active = Subscription.objects.filter(
        subscriber=OuterRef("pk"), status=Subscription.Status.ACTIVE
    )
    return (
        Subscriber.objects.filter(sunset_at=None)
        .filter(Exists(unanswered), Exists(active))
        .update(sunset_at=now)
    )
