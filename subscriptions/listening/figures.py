"""What the admin dashboard shows of listening, computed in the database: five aggregate queries
whatever the size of the list (subscriptions.admin.figures keeps the rest of the page)."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import Lower, TruncDate
from django.utils import timezone

from ..models import DailyEmail, Goodbye, ListeningEvent, Subscriber
from .sunset import WENT_OUT

DAYS = 30
TOP_MOODS = 10
LISTENER = ListeningEvent.Verdict.LISTENER
KEPT = ListeningEvent.Link.KEPT
PICK_LINKS = (ListeningEvent.Link.WEB, ListeningEvent.Link.APP)


@dataclass
class ListeningDay:
    day: date
    listeners: int = 0  # people who opened something of ours from an email
    by_people: int = 0  # their clicks and visits
    by_scanners: int = 0  # link scanners' requests, set apart
    kept: int = 0  # "keep them coming" (a goodbye's answer, or back from a sunset)


@dataclass
class ListeningBoard:
    days: list[ListeningDay]
    mailed: int  # subscribers sent a daily email in the last DAYS days
    listened: int  # of them, those who listened in those days
    top_moods: list[tuple[str, int, int]]  # mood, listeners, clicks: playlists people opened
    asked: int  # goodbyes that went out in the last DAYS days
    kept: int  # "keep them coming" in the last DAYS days
    paused_recently: int  # sunset in the last DAYS days
    paused: int  # sunset now
    totals: ListeningDay = field(init=False)

    def __post_init__(self) -> None:
        self.totals = ListeningDay(day=self.days[-1].day)
        for day in self.days:
            self.totals.by_people += day.by_people
            self.totals.by_scanners += day.by_scanners
            self.totals.kept += day.kept

    @property
    def listened_share(self) -> str:
        return f"{self.listened / self.mailed:.0%}".replace("%", " %") if self.mailed else "–"


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def listening_board(*, today: date | None = None, days: int = DAYS) -> ListeningBoard:
    """The last `days` days up to and including `today`, oldest first."""
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    since = _start_of(first)
    series = {
        first + timedelta(days=n): ListeningDay(day=first + timedelta(days=n)) for n in range(days)
    }

    people = Q(verdict=LISTENER) & ~Q(link=KEPT)
    per_day = (
        ListeningEvent.objects.filter(occurred_at__gte=since)
        .annotate(on=TruncDate("occurred_at"))
        .values("on")
        .annotate(
            listeners=Count("subscriber", distinct=True, filter=people),
            by_people=Count("id", filter=people),
            by_scanners=Count("id", filter=~Q(verdict=LISTENER)),
            kept=Count("id", filter=Q(link=KEPT)),
        )
    )
    for row in per_day:
        if (day := series.get(row["on"])) is not None:
            day.listeners, day.by_people = row["listeners"], row["by_people"]
            day.by_scanners, day.kept = row["by_scanners"], row["kept"]

    sent = DailyEmail.objects.filter(
        subscriber=OuterRef("pk"), day__gte=first, status=DailyEmail.Status.SENT
    )
    listened = ListeningEvent.objects.filter(
        subscriber=OuterRef("pk"), verdict=LISTENER, occurred_at__gte=since
    )
    share = Subscriber.objects.filter(Exists(sent)).aggregate(
        mailed=Count("pk"), listened=Count("pk", filter=Q(Exists(listened)))
    )

    top_moods = list(
        ListeningEvent.objects.filter(occurred_at__gte=since, verdict=LISTENER, link__in=PICK_LINKS)
        .annotate(mood=Lower("sent_playlist__subscription__term"))
        .values("mood")
        .annotate(listeners=Count("subscriber", distinct=True), clicks=Count("id"))
        .order_by("-listeners", "-clicks", "mood")
        .values_list("mood", "listeners", "clicks")[:TOP_MOODS]
    )

    asked = Goodbye.objects.filter(created_at__gte=since, daily_email__status__in=WENT_OUT)
    paused = Subscriber.objects.filter(sunset_at__isnull=False).aggregate(
        now=Count("pk"), recently=Count("pk", filter=Q(sunset_at__gte=since))
    )
    return ListeningBoard(
        days=list(series.values()),
        mailed=share["mailed"],
        listened=share["listened"],
        top_moods=top_moods,
        asked=asked.count(),
        kept=sum(day.kept for day in series.values()),
        paused_recently=paused["recently"],
        paused=paused["now"],
    )
