"""The real command under `faketime`, as Heroku Scheduler runs it hourly: each subscriber at their
own hour, in their zone, once a day, and the day's Spotify searches shared between processes."""

import shutil
import subprocess
import sys

import pytest

from tests.support.appserver import BASE_DIR, AppServer

pytestmark = pytest.mark.skipif(not shutil.which("faketime"), reason="needs faketime")

# Each had the 24th's email (their local date) at 07:00 their time.
SEED = """
import datetime
from subscriptions.models import DailyEmail, Subscriber, Subscription
for email, zone, last_sent in [
    ("london@example.org", "Europe/London", "2026-11-24T07:00Z"),
    ("tokyo@example.org", "Asia/Tokyo", "2026-11-23T22:00Z"),
    ("baker@example.org", "Etc/GMT+12", "2026-11-24T19:00Z"),
]:
    Subscription.objects.create(
        subscriber=Subscriber.for_address(email), term="jazz", status="active"
    )
    Subscriber.objects.filter(email=email).update(
        time_zone=zone, send_hour=7, last_sent_at=datetime.datetime.fromisoformat(last_sent)
    )
    subscriber = Subscriber.objects.get(email=email)
    DailyEmail.objects.create(subscriber=subscriber, day=datetime.date(2026, 11, 24), status="sent")
"""


@pytest.fixture
def app(fake_spotify, fake_mailgun):
    server = AppServer(
        env={**fake_spotify.environment(), **fake_mailgun.environment(), "LOG_LEVEL": "WARNING"}
    )
    server.manage("migrate", "--noinput")
    server.manage("shell", "-c", SEED)
    yield server
    server.stop()


def run_at(app, moment):
    """`manage.py send_daily_playlists` with the system clock at `moment` (UTC)."""
    return subprocess.run(
        ["faketime", moment, sys.executable, str(BASE_DIR / "manage.py"), "send_daily_playlists"],
        cwd=BASE_DIR,
        env={**app.env, "TZ": "UTC"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_hourly_runs_of_the_real_command_mail_each_zone_at_its_hour(
    app, fake_spotify, fake_mailgun
):
    playlists = [fake_spotify.add_playlist(name=f"Jazz {n}", track_count=30) for n in range(5)]
    fake_spotify.set_search_results("jazz", playlists)
    mailed = {}
    for moment in ["2026-11-24 21:00:00", "2026-11-24 22:00:00", "2026-11-25 06:00:00"]:
        before = len(fake_mailgun.recipients)
        result = run_at(app, moment)
        assert result.returncode == 0, result.stdout + result.stderr
        mailed[moment] = sorted(fake_mailgun.recipients[before:])
    for moment in ["2026-11-25 07:00:00", "2026-11-25 08:00:00", "2026-11-25 19:00:00"]:
        before = len(fake_mailgun.recipients)
        assert run_at(app, moment).returncode == 0
        mailed[moment] = sorted(fake_mailgun.recipients[before:])

    assert mailed == {
        "2026-11-24 21:00:00": [],  # 06:00 in Tokyo
        "2026-11-24 22:00:00": ["tokyo@example.org"],  # 07:00 in Tokyo, the 25th
        "2026-11-25 06:00:00": [],
        "2026-11-25 07:00:00": ["london@example.org"],
        "2026-11-25 08:00:00": [],
        "2026-11-25 19:00:00": ["baker@example.org"],  # 07:00 at UTC-12
    }
    # The runs of the 25th (UTC) searched once between them; the 24th's once.
    assert len(fake_spotify.calls("search")) == 2
