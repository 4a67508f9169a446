"""The subscriber's own hour, zone and frequency (subscriptions.daily.schedule)."""

import datetime

import pytest

from subscriptions.daily import schedule
from subscriptions.daily.schedule import Prefs
from subscriptions.models import DailyEmail, Subscriber

UTC = datetime.UTC


def at(text):
    """An aware UTC moment from 'YYYY-MM-DD HH:MM'."""
    return datetime.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    "zone, now, day",
    [
        ("Pacific/Kiritimati", "2026-11-25 10:00", datetime.date(2026, 11, 26)),  # UTC+14
        ("Etc/GMT+12", "2026-11-25 10:00", datetime.date(2026, 11, 24)),  # UTC-12
        ("UTC", "2026-11-25 10:00", datetime.date(2026, 11, 25)),
        ("Asia/Kolkata", "2026-11-25 18:29", datetime.date(2026, 11, 25)),  # +05:30
        ("Asia/Kolkata", "2026-11-25 18:30", datetime.date(2026, 11, 26)),
    ],
)
def test_the_local_date_is_the_subscribers_own(zone, now, day):
    assert schedule.local_date(zone, at(now)) == day


def test_a_naive_moment_is_refused():
    with pytest.raises(ValueError):
        schedule.local_date("UTC", datetime.datetime(2026, 11, 25, 7))


@pytest.mark.parametrize(
    "frequency, weekly_day, day, expected",
    [
        ("daily", 0, datetime.date(2026, 11, 29), True),  # a Sunday
        ("weekdays", 0, datetime.date(2026, 11, 27), True),  # Friday
        ("weekdays", 0, datetime.date(2026, 11, 28), False),  # Saturday
        ("weekdays", 0, datetime.date(2026, 11, 29), False),  # Sunday
        ("weekly", 2, datetime.date(2026, 11, 25), True),  # Wednesday
        ("weekly", 2, datetime.date(2026, 11, 26), False),
        ("weekly", 0, datetime.date(2026, 11, 30), True),  # Monday
    ],
)
def test_send_days_follow_the_frequency(frequency, weekly_day, day, expected):
    assert schedule.is_send_day(frequency, weekly_day, day) is expected


@pytest.mark.parametrize(
    "zone, hour, now, expected",
    [
        ("Europe/London", 7, "2026-11-25 06:59", False),
        ("Europe/London", 7, "2026-11-25 07:00", True),
        ("Europe/London", 7, "2026-11-25 23:59", True),  # a late run catches up that day
        ("Europe/London", 0, "2026-11-25 00:00", True),
        ("Pacific/Kiritimati", 7, "2026-11-24 16:59", False),
        ("Pacific/Kiritimati", 7, "2026-11-24 17:00", True),
        ("Etc/GMT+12", 7, "2026-11-25 19:00", True),
        ("Etc/GMT+12", 7, "2026-11-25 18:00", False),
        # New York springs forward on 2026-03-08: 02:00 never shows; 03:00 EDT is past it.
        ("America/New_York", 2, "2026-03-08 06:59", False),  # 01:59 EST
        ("America/New_York", 2, "2026-03-08 07:00", True),  # 03:00 EDT
        # London on 2026-03-29: 01:00 GMT becomes 02:00 BST.
        ("Europe/London", 1, "2026-03-29 00:59", False),
        ("Europe/London", 1, "2026-03-29 01:00", True),
    ],
)
def test_the_send_time_is_the_local_wall_clock(zone, hour, now, expected):
    assert schedule.send_time_has_come(zone, hour, at(now)) is expected


def test_the_20_hour_rule():
    now = at("2026-11-25 07:00")
    assert schedule.far_enough(None, now)
    assert schedule.far_enough(now - datetime.timedelta(hours=20), now)
    assert not schedule.far_enough(now - datetime.timedelta(hours=19, minutes=59), now)


def test_a_weekly_subscriber_gets_nothing_more_in_a_week_that_had_its_email():
    prefs = Prefs("Europe/London", 7, "weekly", 2)  # Wednesdays
    wednesday = at("2026-11-25 08:00")
    monday_mail = at("2026-11-23 07:10")  # sent while they were still on Mondays
    assert not schedule.is_due(prefs, wednesday, last_sent_at=monday_mail)
    last_week = at("2026-11-18 07:10")
    assert schedule.is_due(prefs, wednesday, last_sent_at=last_week)


def hourly(start, hours):
    first = at(start)
    return [first + datetime.timedelta(hours=n) for n in range(hours)]


@pytest.mark.parametrize(
    "zone, hour, start, local_day",
    [
        # Spring forward, the hour that does not exist.
        ("America/New_York", 2, "2026-03-08 00:00", datetime.date(2026, 3, 8)),
        ("Europe/London", 1, "2026-03-29 00:00", datetime.date(2026, 3, 29)),
        # Fall back, the hour that comes twice.
        ("America/New_York", 1, "2026-11-01 00:00", datetime.date(2026, 11, 1)),
        ("Europe/London", 1, "2026-10-25 00:00", datetime.date(2026, 10, 25)),
    ],
)
def test_daylight_saving_days_give_exactly_one_due_hour(zone, hour, start, local_day):
    """Hour after hour: the first moment due is the hour wanted (or the first after it), and
    the claim keys on one local date, so the repeated hour is no second email."""
    prefs = Prefs(zone, hour)
    due_moments = [
        now
        for now in hourly(start, 30)
        if schedule.local_date(zone, now) == local_day and schedule.is_due(prefs, now)
    ]
    first = schedule.local_now(zone, due_moments[0])
    assert first.hour in (hour, hour + 1)
    assert {schedule.local_date(zone, moment) for moment in due_moments} == {local_day}
    # Within the hour after the wanted local time (as an instant: that hour began then).
    wanted = datetime.datetime.combine(local_day, datetime.time(hour), tzinfo=schedule.zone(zone))
    assert (
        datetime.timedelta(0)
        <= due_moments[0] - wanted.astimezone(UTC)
        < datetime.timedelta(hours=1)
    )


@pytest.mark.django_db
class TestDueByDay:
    def make(self, email, **prefs):
        return Subscriber.objects.create(email=email, **prefs)

    def test_groups_subscribers_by_their_local_date(self):
        kiritimati = self.make("kiri@example.org", time_zone="Pacific/Kiritimati", send_hour=7)
        baker = self.make("baker@example.org", time_zone="Etc/GMT+12", send_hour=7)
        london = self.make("london@example.org", time_zone="Europe/London", send_hour=7)
        self.make("early@example.org", time_zone="Europe/London", send_hour=23)
        due = schedule.due_by_day(at("2026-11-25 20:00"))
        assert {day: set(qs.values_list("pk", flat=True)) for day, qs in due.items()} == {
            datetime.date(2026, 11, 25): {london.pk, baker.pk},
            datetime.date(2026, 11, 26): {kiritimati.pk},
        }

    def test_leaves_out_settled_claims_the_paused_the_suppressed_and_the_recent(self):
        now = at("2026-11-25 09:00")
        today = datetime.date(2026, 11, 25)
        due = self.make("due@example.org", time_zone="UTC")
        retry = self.make("retry@example.org", time_zone="UTC")
        DailyEmail.objects.create(subscriber=retry, day=today, status="failed", attempts=1)
        sent = self.make("sent@example.org", time_zone="UTC")
        DailyEmail.objects.create(subscriber=sent, day=today, status="sent")
        self.make("paused@example.org", time_zone="UTC", paused_until=today)
        self.make("bounced@example.org", time_zone="UTC", state="bounced")
        # Mailed 15 hours ago from another zone: the 20-hour rule holds it back.
        self.make(
            "moved@example.org", time_zone="UTC", last_sent_at=now - datetime.timedelta(hours=15)
        )
        weekly_other = self.make(
            "wk@example.org", time_zone="UTC", frequency="weekly", weekly_day=0
        )
        weekly_today = self.make(
            "wed@example.org", time_zone="UTC", frequency="weekly", weekly_day=2
        )
        assert weekly_other.pk != weekly_today.pk
        assert set(schedule.due_subscribers(now).values_list("pk", flat=True)) == {
            due.pk,
            retry.pk,
            weekly_today.pk,
        }

    def test_weekday_subscribers_rest_at_the_weekend(self):
        weekdays = self.make("wd@example.org", time_zone="UTC", frequency="weekdays")
        saturday, monday = at("2026-11-28 09:00"), at("2026-11-30 09:00")
        assert not schedule.due_subscribers(saturday).filter(pk=weekdays.pk).exists()
        assert schedule.due_subscribers(monday).filter(pk=weekdays.pk).exists()

    def test_one_query_for_the_zones_and_one_per_local_date(self, django_assert_num_queries):
        zones = ["UTC", "Asia/Tokyo", "America/Chicago", "Pacific/Kiritimati", "Etc/GMT+12"]
        for number, zone in enumerate(zones * 20):
            self.make(f"s{number}@example.org", time_zone=zone, send_hour=0)
        now = at("2026-11-25 11:00")  # the 24th at Baker Island, the 26th at Kiritimati
        with django_assert_num_queries(1):
            due = schedule.due_by_day(now)
        with django_assert_num_queries(len(due)):
            counts = [len(queryset) for queryset in due.values()]
        assert len(due) == 3 and sum(counts) == 100
