"""Hourly runs over two days: each subscriber's email at their own hour, zone and frequency."""

import datetime
import io
import zoneinfo
from collections import defaultdict

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command

from subscriptions.daily import daily_playlists_send
from subscriptions.models import DailyEmail, SentPlaylist, Subscriber
from subscriptions.tests import factories
from subscriptions.tests.daily_support import use_anymail_test_backend

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
START = datetime.datetime(2026, 11, 1, tzinfo=UTC)  # Sunday; New York falls back at 06:00 UTC
TERMS = ("jazz", "rain", "calm")

# (address, zone, hour, frequency, weekly day)
PEOPLE = [
    ("kiri@example.org", "Pacific/Kiritimati", 7, "daily", 0),  # UTC+14
    ("baker@example.org", "Etc/GMT+12", 7, "daily", 0),  # UTC-12
    ("ny-night@example.org", "America/New_York", 1, "daily", 0),  # 01:00 comes twice on the 1st
    ("ny-work@example.org", "America/New_York", 7, "weekdays", 0),
    ("london@example.org", "Europe/London", 7, "weekly", 6),  # Sundays
    ("sydney@example.org", "Australia/Sydney", 7, "weekly", 0),  # Mondays
    ("kolkata@example.org", "Asia/Kolkata", 23, "daily", 0),  # +05:30: the run at :30 local
    ("utc@example.org", "UTC", 0, "daily", 0),
]


@pytest.fixture(autouse=True)
def _backend(settings, fake_spotify):
    use_anymail_test_backend(settings)
    settings.MIN_PLAYLIST_TRACKS = 1
    for term in TERMS:
        fake_spotify.set_search_results(
            term,
            [fake_spotify.add_playlist(name=f"{term} {n}", track_count=20) for n in range(10)],
        )


def people():
    for email, zone, hour, frequency, weekly_day in PEOPLE:
        for term in TERMS[: 1 + len(email) % 3]:
            factories.subscription(email, term=term)
        Subscriber.objects.filter(email=email).update(
            time_zone=zone, send_hour=hour, frequency=frequency, weekly_day=weekly_day
        )


def run_at(moment, **options):
    """One scheduler run at `moment`: {address: picks} of what it mailed."""
    with time_machine.travel(moment, tick=False):
        daily_playlists_send(seed=moment.hour, **options)
    sent = {}
    for batch in mail.outbox:
        for address, values in batch.anymail_test_params["merge_data"].items():
            assert address not in sent
            sent[address] = sorted(v for k, v in values.items() if k.endswith("_name"))
    mail.outbox.clear()
    return sent


def hourly_runs(hours, start=START):
    return [start + datetime.timedelta(hours=n) for n in range(hours)]


def expected_sends(zone, hour, frequency, weekly_day, runs):
    """The oracle, from instants rather than wall clocks: each send day's wanted moment, and
    the first run at or after it on the same local date (a catch-up when it was before), and
    20 hours or more after the one before."""
    tz = zoneinfo.ZoneInfo(zone)
    days = {run.astimezone(tz).date() for run in runs}
    sends, last = {}, None
    for day in sorted(days):
        if frequency == "weekdays" and day.weekday() > 4:
            continue
        if frequency == "weekly" and day.weekday() != weekly_day:
            continue
        wanted = datetime.datetime.combine(day, datetime.time(hour), tzinfo=tz)
        if wanted < runs[0]:
            continue  # had before the first run (steady_state)
        at = [
            run
            for run in runs
            if run >= wanted
            and run.astimezone(tz).date() == day
            and (last is None or run - last >= datetime.timedelta(hours=20))
        ]
        if at:
            sends[day], last = (at[0], wanted), at[0]
    return sends


def steady_state():
    """Everyone whose send time on START's local date came before START had that email:
    {address: that date}."""
    primed = {}
    for email, zone, hour, frequency, weekly_day in PEOPLE:
        tz = zoneinfo.ZoneInfo(zone)
        day = START.astimezone(tz).date()
        wanted = datetime.datetime.combine(day, datetime.time(hour), tzinfo=tz)
        sends_that_day = expected_sends(zone, hour, frequency, weekly_day, [wanted])
        if wanted < START and sends_that_day:
            subscriber = Subscriber.objects.get(email=email)
            DailyEmail.objects.create(subscriber=subscriber, day=day, status="sent")
            Subscriber.objects.filter(pk=subscriber.pk).update(last_sent_at=wanted)
            primed[email] = day
    return primed


def test_48_hourly_runs_send_each_subscriber_exactly_their_emails_within_the_hour(
    fake_spotify,
):
    people()
    primed = steady_state()
    runs = hourly_runs(48)
    mailed = defaultdict(list)
    for moment in runs:
        for address in run_at(moment):
            mailed[address].append(moment)

    for email, zone, hour, frequency, weekly_day in PEOPLE:
        expected = expected_sends(zone, hour, frequency, weekly_day, runs)
        assert mailed[email] == [at for at, _ in expected.values()], email
        for at, wanted in expected.values():
            assert datetime.timedelta(0) <= at - wanted < datetime.timedelta(hours=1)
        claims = DailyEmail.objects.filter(subscriber__email=email).exclude(day=primed.get(email))
        assert sorted(claims.values_list("day", flat=True)) == sorted(expected)
    # Frequencies really differ: nobody on weekdays on Sunday, one weekly each.
    assert len(mailed["ny-work@example.org"]) == 1
    assert len(mailed["london@example.org"]) == len(mailed["sydney@example.org"]) == 1
    assert len(mailed["kiri@example.org"]) == 2  # the 2nd and the 3rd: UTC+14 is ahead
    assert len(mailed["ny-night@example.org"]) == 2  # 01:00 came twice on the 1st: one email
    # Every email had a new playlist for each mood.
    for email, *_ in PEOPLE:
        picks = SentPlaylist.objects.filter(subscription__subscriber__email=email)
        assert picks.count() == len(set(picks.values_list("subscription", "playlist_id")))
    # The day's searches are shared through the database: one per term and site day (two
    # UTC days here), not one per term per hourly run.
    assert len(fake_spotify.calls("search")) <= 2 * len(TERMS)


def test_a_missed_run_is_caught_up_later_that_local_day_but_never_after_midnight():
    people()
    Subscriber.objects.filter(email="utc@example.org").update(send_hour=23)
    # London's weekly Sunday email is due at 07:00: the runs from 07:00 to 21:00 are missed.
    assert "london@example.org" in run_at(START + datetime.timedelta(hours=22))
    # UTC's 23:00 run of the 1st is missed; at 00:00 on the 2nd it is the 2nd's email, once.
    first = run_at(START + datetime.timedelta(hours=24))
    assert "utc@example.org" not in first  # 00:00 < 23:00 on the 2nd
    assert not DailyEmail.objects.filter(
        subscriber__email="utc@example.org", day=datetime.date(2026, 11, 1)
    ).exists()


def test_a_change_of_time_zone_after_todays_email_gives_no_second_one_that_day():
    factories.subscription("mover@example.org", term="jazz")
    Subscriber.objects.update(time_zone="Europe/London", send_hour=7)
    assert "mover@example.org" in run_at(START + datetime.timedelta(hours=7))
    # Off to Kiritimati: it is already the 2nd there, past 07:00.
    Subscriber.objects.update(time_zone="Pacific/Kiritimati")
    later = hourly_runs(12, start=START + datetime.timedelta(hours=8))
    assert not any("mover@example.org" in run_at(moment) for moment in later)
    # From 20 hours on, the 2nd's email (Kiritimati's date) goes.
    assert "mover@example.org" in run_at(START + datetime.timedelta(hours=27))


def test_frequency_changes_and_pauses_take_effect_from_the_next_period():
    factories.subscription("changer@example.org", term="jazz")
    factories.subscription("pauser@example.org", term="jazz")
    Subscriber.objects.update(time_zone="UTC", send_hour=7)
    sunday, monday = START + datetime.timedelta(hours=8), START + datetime.timedelta(hours=32)
    assert set(run_at(sunday)) == {"changer@example.org", "pauser@example.org"}
    # After Sunday's email: weekly on Sundays from now, and a pause over Monday.
    Subscriber.objects.filter(email="changer@example.org").update(frequency="weekly", weekly_day=6)
    Subscriber.objects.filter(email="pauser@example.org").update(
        paused_until=datetime.date(2026, 11, 2)
    )
    assert run_at(sunday + datetime.timedelta(hours=1)) == {}  # no second email on Sunday
    assert run_at(monday) == {}  # weekly is next Sunday; paused over Monday
    tuesday = monday + datetime.timedelta(days=1)
    assert set(run_at(tuesday)) == {"pauser@example.org"}
    next_sunday = START + datetime.timedelta(days=7, hours=7)
    assert set(run_at(next_sunday)) == {"changer@example.org", "pauser@example.org"}


def test_a_weekly_subscriber_who_moves_their_day_gets_nothing_more_that_week():
    factories.subscription("weekly@example.org", term="jazz")
    Subscriber.objects.update(time_zone="UTC", frequency="weekly", weekly_day=0)
    monday = datetime.datetime(2026, 11, 2, 8, tzinfo=UTC)
    assert "weekly@example.org" in run_at(monday)
    Subscriber.objects.update(weekly_day=2)
    assert run_at(monday + datetime.timedelta(days=2)) == {}
    assert "weekly@example.org" in run_at(monday + datetime.timedelta(days=9))


def test_the_command_takes_the_moment_it_runs_at_for_tests(fake_mailgun):
    factories.subscription("ann@example.org", term="jazz")
    Subscriber.objects.update(time_zone="Asia/Tokyo", send_hour=9)
    call_command("send_daily_playlists", "--now", "2026-11-24T23:30+00:00", stdout=io.StringIO())
    assert fake_mailgun.recipients == []  # 08:30 in Tokyo
    call_command("send_daily_playlists", "--now", "2026-11-25T00:30+00:00", stdout=io.StringIO())
    assert fake_mailgun.recipients == ["ann@example.org"]
    assert DailyEmail.objects.get().day == datetime.date(2026, 11, 25)
    with pytest.raises(CommandError, match="time zone offset"):
        call_command("send_daily_playlists", "--now", "2026-11-25T00:30", stdout=io.StringIO())


@pytest.mark.parametrize(
    "zone, hour, day, expected_run",
    [
        # 02:00 never shows on the wall clock: 03:00 EDT is the same moment as 02:00 EST.
        ("America/New_York", 2, datetime.date(2026, 3, 8), "2026-03-08 07:00"),
        ("Europe/London", 1, datetime.date(2026, 3, 29), "2026-03-29 01:00"),
        # 01:00 comes twice: the first one sends, the second finds the day's claim.
        ("Europe/London", 1, datetime.date(2026, 10, 25), "2026-10-25 00:00"),
    ],
)
def test_daylight_saving_days_give_one_email_in_hourly_runs(zone, hour, day, expected_run):
    factories.subscription("dst@example.org", term="jazz")
    # The day before's email went at its hour.
    before = day - datetime.timedelta(days=1)
    tz = zoneinfo.ZoneInfo(zone)
    Subscriber.objects.update(
        time_zone=zone,
        send_hour=hour,
        last_sent_at=datetime.datetime.combine(before, datetime.time(hour), tzinfo=tz),
    )
    DailyEmail.objects.create(subscriber=Subscriber.objects.get(), day=before, status="sent")
    start = datetime.datetime.combine(day, datetime.time(), tzinfo=UTC) - datetime.timedelta(
        hours=6
    )
    mailed = [moment for moment in hourly_runs(30, start=start) if run_at(moment)]
    assert [f"{moment:%Y-%m-%d %H:%M}" for moment in mailed] == [expected_run]
    assert DailyEmail.objects.get(status="sent", day__gt=before).day == day
