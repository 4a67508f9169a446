"""Faults end to end: the app under gunicorn (the Procfile's command) while Spotify misbehaves.

Every page must answer within 20 s with 200 or the friendly 503 page, never a 500 or a
traceback, and the workers must survive (same processes, the next normal request works). The
daily command must still send the terms whose Spotify search works.

The app runs with the Spotify client's production timeouts (they are not read from the
environment), so the timeout cases take as long as they would in production: up to the client's
deadline for each Spotify call a page makes.
"""

import datetime
import os
import socket
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from search import spotify
from tests.support.appserver import AppServer

# The day's whole run, whatever the hour: these tests are about what is sent, not when.
WHOLE_DAY = datetime.date.today().isoformat()

pytestmark = pytest.mark.e2e

PAGE_DEADLINE = 20.0
# A hang the client's read timeout cuts short (production value, see module docstring).
HANG_SECONDS = spotify.DEFAULT_TIMEOUT[1] + 1.5
FRIENDLY_503_TEXT = "Please try again"


def spotify_env(fake):
    return {
        **fake.environment(),
    }


@pytest.fixture(scope="module")
def database_url():
    """None for a temporary SQLite file, or a fresh PostgreSQL database when the suite uses one."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield None
        return
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'funky'}_faults"
    admin_url = urlunsplit(parts._replace(path="/postgres"))

    def run(statement):
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(sql.SQL(statement).format(sql.Identifier(name)))

    run("DROP DATABASE IF EXISTS {} WITH (FORCE)")
    run("CREATE DATABASE {}")
    yield urlunsplit(parts._replace(path=f"/{name}"))
    run("DROP DATABASE IF EXISTS {} WITH (FORCE)")


@pytest.fixture(scope="module")
def app(_fake_spotify_server, _fake_mailgun_server, database_url):
    mailgun = _fake_mailgun_server
    server = AppServer(
        workers=2,
        database_url=database_url,
        env={
            **spotify_env(_fake_spotify_server),
            **mailgun.environment(),
            "LOG_LEVEL": "WARNING",
        },
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake(fake_spotify):
    """The session's fake Spotify (the one the app talks to), reset for this test."""
    return fake_spotify


def get(url):
    """(status, body, seconds taken) of one GET, with the page deadline as the client timeout."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=PAGE_DEADLINE + 5) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    return status, body.decode("utf-8", "replace"), time.monotonic() - started


def search_url(app):
    """A search no worker has cached yet: each worker's cache outlives a test."""
    return f"{app.url}/search/?q=fault+{uuid.uuid4().hex[:10]}"


def new_playlist(fake, name):
    """A playlist no worker has cached yet (the fake's own ids repeat after each reset)."""
    return fake.add_playlist(id=uuid.uuid4().hex[:22], name=name, track_count=30)


def assert_page_survived(status, body, elapsed, *, expect=(200, 503)):
    assert elapsed < PAGE_DEADLINE, f"answered after {elapsed:.1f} s"
    assert status in expect, body[:2000]
    assert "Traceback" not in body
    if status == 503:
        assert FRIENDLY_503_TEXT in body


def assert_workers_stay_up(app, fake, pids_before):
    fake.reset()
    status, body, _ = get(search_url(app))
    assert status == 200, body[:2000]
    assert app.worker_pids() == pids_before


@dataclass(frozen=True)
class Fault:
    """What Spotify does wrong for the next `times` calls, and what a visitor may then see.

    One bad call is retried over (a 500 once, a short Retry-After); a run of them is not.
    """

    times: int
    expect: tuple
    fail: dict | None = None  # FakeSpotify.fail_next arguments
    hang: float | None = None  # seconds each answer is held back

    def inject(self, fake, route):
        if self.hang:
            fake.hang_next(route, seconds=self.hang, times=self.times)
        else:
            fake.fail_next(route, times=self.times, **self.fail)


FAULTS = {
    "500-every-time": Fault(20, (503,), fail={"status": 500}),
    "500-once": Fault(1, (200,), fail={"status": 500}),
    "502-html-body": Fault(
        20,
        (503,),
        fail={
            "status": 502,
            "body": b"<html>Bad Gateway</html>",
            "headers": {"Content-Type": "text/html"},
        },
    ),
    "timeout": Fault(20, (503,), hang=HANG_SECONDS),
    "429-retry-after-1": Fault(1, (200,), fail={"status": 429, "headers": {"Retry-After": "1"}}),
    "429-retry-after-3600": Fault(
        20, (503,), fail={"status": 429, "headers": {"Retry-After": "3600"}}
    ),
    "malformed-json": Fault(20, (503,), fail={"status": 200, "body": '{"playlists": {"items": ['}),
    "json-not-an-object": Fault(20, (503,), fail={"status": 200, "body": "[]"}),
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_search_page_survives_spotify_faults(app, fake, fault):
    pids = app.worker_pids()
    get(f"{app.url}/search/?q=warm+up")  # a token in both workers' hands, not part of the fault
    fault.inject(fake, "search")

    status, body, elapsed = get(search_url(app))

    assert_page_survived(status, body, elapsed, expect=fault.expect)
    if fault is FAULTS["429-retry-after-3600"]:
        assert elapsed < 3, "a long Retry-After must fail fast, not hold the worker"
    if fault is FAULTS["429-retry-after-1"]:
        assert elapsed >= 1, "a short Retry-After is waited for, then the search succeeds"
    if fault.hang:
        assert elapsed >= spotify.DEFAULT_TIMEOUT[1], "the client gave up before its timeout"
    assert_workers_stay_up(app, fake, pids)


# A hung track list is the slow test below, which also makes the metadata late.
PLAYLIST_FAULTS = [
    pytest.param(route, fault, id=f"{name}-{route}")
    for route in ("playlist", "items")
    for name, fault in FAULTS.items()
    if not (route == "items" and fault.hang)
]


@pytest.mark.parametrize("route, fault", PLAYLIST_FAULTS)
def test_playlist_page_survives_spotify_faults(app, fake, route, fault):
    pids = app.worker_pids()
    get(f"{app.url}/search/?q=warm+up")
    playlist_id = new_playlist(fake, "Faulty")
    fault.inject(fake, route)

    status, body, elapsed = get(f"{app.url}/playlist/{playlist_id}/")

    # The track list failing alone may leave a useful page (metadata and the embed player).
    assert_page_survived(
        status, body, elapsed, expect=(200, 503) if route == "items" else fault.expect
    )
    if status == 200:
        assert "Faulty" in body
    assert_workers_stay_up(app, fake, pids)


def test_playlist_page_with_slow_metadata_and_hung_tracks(app, fake):
    # The worst slow path: the metadata arrives late on its second attempt, then the track list
    # hangs through all of its attempts. The two calls together must fit the page deadline.
    pids = app.worker_pids()
    get(f"{app.url}/search/?q=warm+up")
    playlist_id = new_playlist(fake, "Slowpoke")
    fake.hang_next("playlist", seconds=HANG_SECONDS, times=1)
    fake.hang_next("playlist", seconds=2.0, times=1)
    fake.hang_next("items", seconds=HANG_SECONDS, times=20)

    status, body, elapsed = get(f"{app.url}/playlist/{playlist_id}/")

    assert_page_survived(status, body, elapsed)
    assert elapsed > spotify.DEFAULT_TIMEOUT[1] + 2.0, "the slow path was not taken"
    assert_workers_stay_up(app, fake, pids)


def test_expired_token_and_failing_token_endpoint(app, fake):
    pids = app.worker_pids()
    get(f"{app.url}/search/?q=warm+up")
    fake.expire_tokens()
    fake.fail_next("token", status=500, times=20)

    status, body, elapsed = get(search_url(app))

    assert_page_survived(status, body, elapsed, expect=(503,))
    assert_workers_stay_up(app, fake, pids)


def test_other_pages_do_not_depend_on_spotify(app, fake):
    fake.fail_next("*", status=500, times=100)

    for path in ("/", "/healthz"):
        status, body, elapsed = get(app.url + path)
        assert_page_survived(status, body, elapsed, expect=(200,))


@pytest.fixture
def refusing_port():
    """A loopback port that refuses connections: bound, never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_connection_refused(fake, refusing_port, database_url):
    # Its own one-worker app, pointed at the closed port: settings come from the environment.
    closed = f"http://127.0.0.1:{refusing_port}"
    env = {
        **spotify_env(fake),
        "SPOTIFY_API_URL": f"{closed}/v1",
        "SPOTIFY_TOKEN_URL": f"{closed}/api/token",
        "LOG_LEVEL": "WARNING",
    }
    with AppServer(workers=1, env=env, database_url=database_url) as refused:
        pids = refused.worker_pids()
        for url in (search_url(refused), f"{refused.url}/playlist/4rOoJ6Egrf8K2IrywzwOMk/"):
            status, body, elapsed = get(url)
            assert_page_survived(status, body, elapsed, expect=(503,))
        status, _, _ = get(refused.url + "/")
        assert status == 200
        assert refused.worker_pids() == pids
    assert fake.calls() == []


# --- the daily command ---------------------------------------------------------------------------

SEED_SUBSCRIPTIONS = """
from subscriptions.models import Subscriber, Subscription
Subscription.objects.all().delete()
for email, term in [
    ("one@example.org", "first term"),
    ("two@example.org", "first term"),
    ("three@example.org", "second term"),
    ("four@example.org", "second term"),
]:
    Subscription.objects.create(
        subscriber=Subscriber.for_address(email), term=term, status=Subscription.Status.ACTIVE
    )
"""


def test_daily_command_sends_the_terms_that_work(app, fake, fake_mailgun):
    app.manage("shell", "-c", SEED_SUBSCRIPTIONS)
    # The first search Spotify receives is refused for an hour; whichever term that is fails,
    # the other must still be sent.
    fake.fail_next("search", status=429, headers={"Retry-After": "3600"}, times=1)

    result = app.manage("send_daily_playlists", "--date", WHOLE_DAY, check=False)

    assert result.returncode == 0, result.stdout + result.stderr
    got_mail = {
        address
        for address in ("one", "two", "three", "four")
        if fake_mailgun.messages_to(f"{address}@example.org")
    }
    assert got_mail in ({"one", "two"}, {"three", "four"}), result.stdout
    assert "Spotify errors: 2" in result.stdout + result.stderr
