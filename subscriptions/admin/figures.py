"""What the admin dashboard shows: the list's health per day, computed in the database.

Every figure comes from a fixed handful of aggregate queries (grouped by day in SQL), so the page
costs the same whether the list has a hundred subscribers or a million.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count
from django.db.models.functions import Lower, TruncDate
from django.utils import timezone

from ..daily.runs import BreakerState, complaint_breaker_state
from ..models import DailyEmail, EmailEvent, SendRun, Subscription

DAYS = 30
TOP_MOODS = 20
RECENT_RUNS = 10
# The lines the inbox providers draw: Google asks bulk senders for a spam rate under 0.1 % and
# Gmail, Yahoo and Microsoft throttle or reject at 0.3 %.
COMPLAINT_RATE_ASKED = 0.001
COMPLAINT_RATE_LIMIT = 0.003


@dataclass
class Day:
    day: date
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    confirmed: int = 0
    unsubscribed: dict[str, int] = field(default_factory=dict)
    bounced: int = 0
    complained: int = 0

    @property
    def unsubscribed_in_order(self) -> list[int]:
        """Unsubscribes by each `Subscription.Via`, in its order (the dashboard's table)."""
        return [self.unsubscribed.get(via, 0) for via in Subscription.Via.values]

    @property
    def unsubscribed_total(self) -> int:
        return sum(self.unsubscribed.values())

    @property
    def complaint_rate(self) -> float | None:
        return self.complained / self.sent if self.sent else None

    @property
    def bounce_rate(self) -> float | None:
        return self.bounced / self.sent if self.sent else None


@dataclass
class Dashboard:
    days: list[Day]
    top_moods: list[tuple[str, int]]
    pending: int
    runs: list[SendRun]
    last_run: SendRun | None
    breaker: BreakerState

    @property
    def totals(self) -> Day:
        total = Day(day=self.days[-1].day)
        for day in self.days:
            total.sent += day.sent
            total.failed += day.failed
            total.unknown += day.unknown
            total.confirmed += day.confirmed
            total.bounced += day.bounced
            total.complained += day.complained
            for via, count in day.unsubscribed.items():
                total.unsubscribed[via] = total.unsubscribed.get(via, 0) + count
        return total


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def dashboard(*, today: date | None = None, days: int = DAYS) -> Dashboard:
    """The last `days` days up to and including `today`, oldest first."""
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    series = {first + timedelta(days=n): Day(day=first + timedelta(days=n)) for n in range(days)}
    since = _start_of(first)

    claims = (
        DailyEmail.objects.filter(day__gte=first, day__lte=today)
        .values("day", "status")
        .annotate(count=Count("id"))
    )
    for row in claims:
        if row["status"] in {"sent", "failed", "unknown"}:
            setattr(series[row["day"]], row["status"], row["count"])

    confirmed = (
        Subscription.objects.filter(confirmed_at__gte=since)
        .annotate(on=TruncDate("confirmed_at"))
        .values("on")
        .annotate(count=Count("subscriber", distinct=True))
    )
    for row in confirmed:
        if row["on"] in series:
            series[row["on"]].confirmed = row["count"]

    unsubscribed = (
        Subscription.objects.filter(unsubscribed_at__gte=since)
        .annotate(on=TruncDate("unsubscribed_at"))
        .values("on", "unsubscribed_via")
        .annotate(count=Count("id"))
    )
    for row in unsubscribed:
        if row["on"] in series:
            series[row["on"]].unsubscribed[row["unsubscribed_via"] or "other"] = row["count"]

    events = (
        EmailEvent.objects.filter(
            occurred_at__gte=since,
            event_type__in=[EmailEvent.Type.BOUNCED, EmailEvent.Type.COMPLAINED],
        )
        .annotate(on=TruncDate("occurred_at"))
        .values("on", "event_type")
        .annotate(count=Count("id"))
    )
    for row in events:
        if row["on"] in series:
            setattr(series[row["on"]], row["event_type"], row["count"])

    top_moods = list(
        Subscription.objects.filter(status=Subscription.Status.ACTIVE)
        .annotate(mood=Lower("term"))
        .values("mood")
        .annotate(count=Count("id"))
        .order_by("-count", "mood")
        .values_list("mood", "count")[:TOP_MOODS]
    )
    runs = list(SendRun.objects.all()[:RECENT_RUNS])
    return Dashboard(
        days=list(series.values()),
        top_moods=top_moods,
        pending=Subscription.objects.filter(status=Subscription.Status.PENDING).count(),
        runs=runs,
        last_run=next((run for run in runs if not run.dry_run), None),
        breaker=complaint_breaker_state(day=today),
    )
