"""When a subscriber's email is due: their hour in their time zone, how often, once a period.

The hourly run asks `due_by_day(now)`. Everything is decided on the subscriber's local wall
clock, computed once per distinct zone in Python (there are a few hundred zones at most, and
100,000 subscribers), so the database only compares plain columns:

- the local date is the period key: the day's claim (`DailyEmail(subscriber, day)`) is unique,
  so one email per local day; "weekdays" and "weekly" only make some local days send days,
  and a weekly subscriber also gets nothing more once the local week has had its email;
- the send time has come when the local hour is at least `send_hour`: a missed or late
  scheduler run is caught up by the next one the same local day, and after local midnight it
  is a new day (yesterday's email is never sent late). The hour that does not exist on a
  spring-forward day is passed over by the wall clock (01:59 -> 03:00 >= 02:00) and the
  repeated fall-back hour is one local date: both give one email that day;
- never two emails within `MIN_GAP` (20 hours), whatever happened to the zone in between.
"""

import datetime
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from django.db.models import Exists, OuterRef, Q, QuerySet

from ..delivery.records import retryable_claims
from ..models import DailyEmail, Frequency, Subscriber

MIN_GAP = datetime.timedelta(hours=20)
WORKING_DAYS = range(0, 5)  # Monday..Friday, datetime.weekday()


@dataclass(frozen=True)
class Prefs:
    """A subscriber's schedule, as the model stores it."""

    time_zone: str
    send_hour: int
    frequency: str = Frequency.DAILY
    weekly_day: int = 0


@lru_cache(maxsize=1024)
def zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def local_now(time_zone: str, now: datetime.datetime) -> datetime.datetime:
    """The wall clock in `time_zone` at the aware moment `now`."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    return now.astimezone(zone(time_zone))


def local_date(time_zone: str, now: datetime.datetime) -> datetime.date:
    """The period key of a daily email: the subscriber's own date."""
    return local_now(time_zone, now).date()


def is_send_day(frequency: str, weekly_day: int, day: datetime.date) -> bool:
    """Whether the local date `day` has an email for this frequency."""
    if frequency == Frequency.WEEKDAYS:
        return day.weekday() in WORKING_DAYS
    if frequency == Frequency.WEEKLY:
        return day.weekday() == weekly_day
    return True


def send_time_has_come(time_zone: str, send_hour: int, now: datetime.datetime) -> bool:
    """The local wall clock shows `send_hour`:00 or later (same local date)."""
    return local_now(time_zone, now).hour >= send_hour


def week_start(time_zone: str, now: datetime.datetime) -> datetime.datetime:
    """Local Monday 00:00 of `now`'s week, as an aware moment (midnight exists in every
    zone we know on a Monday, and fold=0 picks the first if it ever repeats)."""
    local = local_now(time_zone, now)
    monday = local.date() - datetime.timedelta(days=local.weekday())
    return datetime.datetime.combine(monday, datetime.time(), tzinfo=zone(time_zone))


def far_enough(last_sent_at: datetime.datetime | None, now: datetime.datetime) -> bool:
    """The 20-hour rule: nothing was sent in the last MIN_GAP."""
    return last_sent_at is None or now - last_sent_at >= MIN_GAP


def is_due(
    prefs: Prefs, now: datetime.datetime, *, last_sent_at: datetime.datetime | None = None
) -> bool:
    """Whether a subscriber with `prefs` may get an email at `now` (claims aside: the day's
    claim is what makes it one per local date)."""
    day = local_date(prefs.time_zone, now)
    if not is_send_day(prefs.frequency, prefs.weekly_day, day):
        return False
    if not send_time_has_come(prefs.time_zone, prefs.send_hour, now):
        return False
    if not far_enough(last_sent_at, now):
        return False
    if prefs.frequency == Frequency.WEEKLY and last_sent_at is not None:
        return last_sent_at < week_start(prefs.time_zone, now)
    return True


def _zone_group_q(zones: list[str], hour: int, day: datetime.date, now) -> Q:
    """Subscribers of `zones` (all at local hour `hour` on `day`) whose email is due."""
    frequencies = Q(frequency=Frequency.DAILY)
    if day.weekday() in WORKING_DAYS:
        frequencies |= Q(frequency=Frequency.WEEKDAYS)
    # A weekly one: its weekday, and nothing sent yet this local week. Zones of one group
    # share the local date, so they share the weekday, but not the moment the week began.
    weekly = Q()
    for name in zones:
        weekly |= Q(time_zone=name) & (
            Q(last_sent_at__isnull=True) | Q(last_sent_at__lt=week_start(name, now))
        )
    frequencies |= Q(frequency=Frequency.WEEKLY, weekly_day=day.weekday()) & weekly
    return Q(time_zone__in=zones, send_hour__lte=hour) & frequencies


def zones_in_use() -> list[str]:
    return list(Subscriber.objects.order_by().values_list("time_zone", flat=True).distinct())


def due_by_day(
    now: datetime.datetime, *, zones: list[str] | None = None
) -> dict[datetime.date, QuerySet[Subscriber]]:
    """Active subscribers due at `now`, by their local date (the day their claim is for).

    At any moment the Earth has at most three dates, so there are at most three querysets.
    Each leaves out subscribers who are suppressed, mailed in the last 20 hours, or whose
    claim for that date is settled (sent, skipped, unknown, out of attempts); a pending or
    retryable claim stays due, so an interrupted run is finished by the next.
    """
    groups: dict[datetime.date, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for name in zones if zones is not None else zones_in_use():
        try:
            local = local_now(name, now)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            continue  # validated on the way in; a zone gone from tzdata mails nobody
        groups[local.date()][local.hour].append(name)
    due: dict[datetime.date, QuerySet[Subscriber]] = {}
    for day in sorted(groups):
        condition = Q()
        for hour, names in groups[day].items():
            condition |= _zone_group_q(sorted(names), hour, day, now)
        settled = DailyEmail.objects.filter(subscriber=OuterRef("pk"), day=day).exclude(
            retryable_claims()
        )
        due[day] = (
            Subscriber.objects.filter(condition, state=Subscriber.State.ACTIVE)
            .filter(Q(last_sent_at__isnull=True) | Q(last_sent_at__lte=now - MIN_GAP))
            .exclude(paused_until__gte=day)
            .exclude(Exists(settled))
        )
    return due


def due_subscribers(now: datetime.datetime) -> QuerySet[Subscriber]:
    """Every subscriber due at `now`, whatever their local date."""
    condition = Q(pk__in=[])
    for queryset in due_by_day(now).values():
        condition |= Q(pk__in=queryset.values("pk"))
    return Subscriber.objects.filter(condition)


def sending_on(day: datetime.date) -> QuerySet[Subscriber]:
    """Subscribers whose frequency has an email on `day`, whatever their hour or zone."""
    frequencies = Q(frequency=Frequency.DAILY) | Q(
        frequency=Frequency.WEEKLY, weekly_day=day.weekday()
    )
    if day.weekday() in WORKING_DAYS:
        frequencies |= Q(frequency=Frequency.WEEKDAYS)
    return Subscriber.objects.filter(frequencies)
