"""Fixtures for the browser tests: the app as Heroku runs it, loopback fakes and Debian's Chromium.

One gunicorn server (the Procfile's web command, DEBUG off, a migrated SQLite database and
collected static files in a temporary folder) and one Chromium serve every test in this package.
Spotify is a loopback FakeSpotify; mail goes through anymail's real Mailgun backend to a
loopback FakeMailgun, so a test reads exactly what a subscriber would receive.

Without Chromium, Playwright, the npm tools or Java the tests skip and say why; with
REQUIRE_BROWSER_TESTS=1 (set by .ci/run) they fail instead, so CI cannot pass by skipping.
"""

import os
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest


def browser_tests_required():
    value = os.environ.get("REQUIRE_BROWSER_TESTS", "").strip().lower()
    return value in {"1", "true", "yes", "on"}


if not browser_tests_required():
    # Skips this whole package; when required, the test modules' import fails loudly instead.
    pytest.importorskip(
        "playwright.sync_api",
        reason="Playwright is not installed: `pip install -r requirements-dev.txt`",
    )

from search.spotify.sanitize import is_spotify_image_host  # noqa: E402
from tests.browser.audits import ToolMissing, require_axe, require_nu_checker  # noqa: E402
from tests.browser.pages import unique_address  # noqa: E402
from tests.fakes.mailgun import FakeMailgun  # noqa: E402
from tests.fakes.spotify import FakeSpotify  # noqa: E402
from tests.support.appserver import AppServer  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 375, "height": 812}
# Playlists sent to the "active" subscription: more than one page of the manage page's history.
HISTORY_LENGTH = 25
# Seconds a single Playwright action or navigation may take before the test fails.
ACTION_TIMEOUT_MS = 10_000

SPOTIFY_EMBED_HOST = "open.spotify.com"


def unavailable(reason):
    """Skip with `reason`, or fail when CI said the browser tests must run."""
    if browser_tests_required():
        pytest.fail(f"{reason} (REQUIRE_BROWSER_TESTS is set: this must not be skipped)")
    pytest.skip(reason)


@pytest.fixture(scope="package", autouse=True)
def _chromium_installed():
    """Checked before the app starts, so a machine without Chromium skips quickly."""
    if not os.access(CHROMIUM, os.X_OK):
        unavailable(f"{CHROMIUM} not found: `apt-get install chromium` to run the browser tests")


# -- the app -----------------------------------------------------------------------------------


@dataclass
class LiveApp:
    """The running site (tests.support.appserver.AppServer) and the fakes behind it."""

    server: AppServer
    database: Path
    spotify: FakeSpotify
    mailgun: FakeMailgun
    playlists: dict = field(default_factory=dict)  # role ("tracks", "long", "forbidden") -> id
    tokens: dict = field(default_factory=dict)  # subscription state -> token, for page checks

    @property
    def url(self):
        return self.server.url

    def manage(self, *args):
        """Run a management command with the server's environment (settings, database, fakes)."""
        return self.server.manage(*args, check=False)

    def subscriptions(self, email):
        """The stored subscriptions of `email`, read straight from the server's database."""
        with closing(sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)) as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(
                "SELECT term, status, confirmed_at, unsubscribed_at"
                " FROM subscriptions_subscription AS subscription"
                " JOIN subscriptions_subscriber AS subscriber"
                " ON subscriber.id = subscription.subscriber_id"
                " WHERE lower(subscriber.email) = lower(?) ORDER BY subscription.id",
                [email],
            ).fetchall()
        return [dict(row) for row in rows]

    def add_subscriptions(self, states, *, history=()):
        """Store a subscription to 'happy' (a fresh address each) per name -> status; the
        tokens by name, and each one's manage-page token as "<name>_manage". Those named in
        `history` get HISTORY_LENGTH playlists sent, two pages of the manage page's history.
        One `manage.py shell`, as Django starts in about a second."""
        rows = [(name, status, unique_address(name)) for name, status in states.items()]
        code = (
            "import datetime\n"
            "from subscriptions.models import SentPlaylist, Subscriber, Subscription as S\n"
            f"for name, status, email in {rows!r}:\n"
            "    person = Subscriber.for_address(email)\n"
            "    s = S.objects.create(subscriber=person, term='happy', status=status)\n"
            "    print(name, s.token)\n"
            "    print(name + '_manage', s.subscriber.manage_token)\n"
            f"    if name in {list(history)!r}:\n"
            f"        for n in range({HISTORY_LENGTH}):\n"
            "            SentPlaylist.objects.create(subscription=s, playlist_id=f'pl{n}',\n"
            "                name=f'A playlist with quite a long name, number {n}',\n"
            "                web_url=f'https://open.spotify.com/playlist/pl{n}',\n"
            "                uri=f'spotify:playlist:pl{n}',\n"
            "                sent_on=datetime.date(2026, 1, 1) + datetime.timedelta(days=n))\n"
        )
        result = self.manage("shell", "--verbosity", "0", "--command", code)
        assert result.returncode == 0, result.stderr
        return dict(line.split() for line in result.stdout.splitlines() if line.strip())

    def add_sent_email(self):
        """A subscriber with one sent daily email carrying the "tracks" playlist, cover and
        all, as the daily run writes it: {"manage": its token, "email_copy": the email's id}."""
        playlist_id = self.playlists["tracks"]
        cover = f"{self.spotify.base_url}/images/{playlist_id}-300.svg"
        code = (
            "import datetime\n"
            "from subscriptions.models import DailyEmail, SentPlaylist, Subscriber, Subscription\n"
            f"r = Subscriber.for_address({unique_address('copy')!r})\n"
            "s = Subscription.objects.create(subscriber=r, term='happy', status='active')\n"
            "day = datetime.date.today()\n"
            "e = DailyEmail.objects.create(subscriber=s.subscriber, day=day, status='sent')\n"
            "SentPlaylist.objects.create(subscription=s, daily_email=e,"
            f" playlist_id={playlist_id!r}, name='Happy Tracks For Testing', sent_on=day,"
            f" web_url='https://open.spotify.com/playlist/{playlist_id}',"
            f" uri='spotify:playlist:{playlist_id}', image_url={cover!r})\n"
            "print('manage', s.subscriber.manage_token)\n"
            "print('email_copy', e.pk)\n"
        )
        result = self.manage("shell", "--verbosity", "0", "--command", code)
        assert result.returncode == 0, result.stderr
        return dict(line.split() for line in result.stdout.splitlines() if line.strip())

    def add_sunset_subscriber(self):
        """A subscriber paused for not listening (subscriptions.listening.sunset), two moods:
        {"sunset_manage": their manage token}."""
        code = (
            "from django.utils import timezone\n"
            "from subscriptions.models import Subscriber, Subscription\n"
            f"r = Subscriber.for_address({unique_address('sunset')!r})\n"
            "for term in ('happy', 'rainy sunday'):\n"
            "    Subscription.objects.create(subscriber=r, term=term, status='active')\n"
            "Subscriber.objects.filter(pk=r.pk).update(sunset_at=timezone.now())\n"
            "print('sunset_manage', r.manage_token)\n"
        )
        result = self.manage("shell", "--verbosity", "0", "--command", code)
        assert result.returncode == 0, result.stderr
        return dict(line.split() for line in result.stdout.splitlines() if line.strip())

    def log_tail(self):
        return f"--- gunicorn log ---\n{self.server.log_tail()}"


@pytest.fixture(scope="package")
def app(tmp_path_factory):
    """The Procfile's web process (DEBUG off, SQLite, collectstatic) with loopback fakes."""
    database = tmp_path_factory.mktemp("browser-app") / "db.sqlite3"
    with FakeSpotify() as spotify, FakeMailgun() as mailgun:
        playlists = {
            "tracks": spotify.add_playlist(name="Happy Tracks For Testing", track_count=25),
            # As long as a track list gets (search.spotify.MAX_TRACKS): the heaviest page.
            "long": spotify.add_playlist(name="Happy Marathon", track_count=500),
            "forbidden": spotify.add_playlist(
                name="Happy Hits (track list private)", tracks_mode="forbidden"
            ),
        }
        server = AppServer(
            database_url=f"sqlite:///{database}",
            env={
                **spotify.environment(),
                **mailgun.environment(),
                # Whatever the caller's shell points at (Redis in some setups), not shared here.
                "REDIS_URL": "",
            },
        )
        # Links in emails point at this server, so the test can follow them like a reader.
        server.env["SITE_URL"] = server.url
        with server:
            live = LiveApp(
                server=server,
                database=database,
                spotify=spotify,
                mailgun=mailgun,
                playlists=playlists,
            )
            # "leaving" is the one the "unsubscribed" page check unsubscribes (again and again).
            live.tokens = live.add_subscriptions(
                {"pending": "pending", "active": "active", "leaving": "active"},
                history=["active"],
            )
            live.tokens.update(live.add_sent_email())
            live.tokens.update(live.add_sunset_subscriber())
            yield live


# -- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# Spotify's player is a page on open.spotify.com; this stands in for it so screenshots show a
# player-sized box instead of Chromium's error page.
EMBED_STAND_IN = (
    "<!doctype html><html lang=en><title>Spotify player</title>"
    "<body style='margin:0;font:16px sans-serif;background:#282828;color:#fff;padding:1rem'>"
    "Spotify's player (its page is not fetched in tests)</body></html>"
)


# Runs before the page's own scripts (Playwright injects it, whatever the CSP says).
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation({
    page: location.href,
    directive: event.effectiveDirective,
    blocked: event.blockedURI,
    sample: event.sample,
    where: `${event.sourceFile}:${event.lineNumber}`,
  });
});
"""


def origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class Tab:
    """A page in its own browser context, and every request it made to a host but ours.

    Our app's origin passes. The loopback fake Spotify (it serves the cover images) and
    Spotify's real image and player hosts count as Spotify's; the real ones are never reached:
    the player gets a stand-in page, images are aborted. Any other host is aborted and listed
    in `foreign_requests`, which the tests expect to stay empty.
    """

    page: object  # playwright.sync_api.Page
    own_origin: str
    spotify_origin: str  # the fake Spotify's
    spotify_requests: list = field(default_factory=list)
    foreign_requests: list = field(default_factory=list)
    script_errors: list = field(default_factory=list)  # uncaught JavaScript exceptions
    # What the Content-Security-Policy refused: `securitypolicyviolation` events, and the
    # console errors that name the policy (Chromium logs some it sends no event for).
    csp_violations: list = field(default_factory=list)

    def console(self, message):
        if message.type == "error" and "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)

    def route(self, route, request):
        url = request.url
        host = urlsplit(url).hostname or ""
        if origin(url) == self.own_origin:
            route.continue_()
        elif origin(url) == self.spotify_origin:
            self.spotify_requests.append(url)
            route.continue_()
        elif host == SPOTIFY_EMBED_HOST and request.resource_type == "document":
            self.spotify_requests.append(url)
            route.fulfill(status=200, content_type="text/html", body=EMBED_STAND_IN)
        elif is_spotify_image_host(host) and request.resource_type == "image":
            self.spotify_requests.append(url)
            route.abort("blockedbyclient")
        else:
            self.foreign_requests.append(url)
            route.abort("blockedbyclient")


@pytest.fixture
def open_tab(browser, app):
    """Factory: a fresh browser context (no cookies) on the app; nothing leaves the machine."""
    contexts = []

    def open_tab(*, viewport=DESKTOP, javascript=True, **options):
        context = browser.new_context(
            base_url=app.url, viewport=viewport, java_script_enabled=javascript, **options
        )
        contexts.append(context)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        page = context.new_page()
        tab = Tab(page=page, own_origin=app.url, spotify_origin=app.spotify.base_url)
        context.route("**/*", tab.route)
        page.on("pageerror", lambda error: tab.script_errors.append(str(error)))
        page.on("console", tab.console)
        context.expose_binding(
            "reportCspViolation", lambda source, report: tab.csp_violations.append(report)
        )
        context.add_init_script(REPORT_CSP_VIOLATIONS)
        return tab

    yield open_tab
    for context in contexts:
        context.close()


@pytest.fixture(scope="package")
def artifacts():
    """test-artifacts/ (gitignored): screenshots and the HTML the checker read, for humans."""
    for name in ("screenshots", "html"):
        shutil.rmtree(ARTIFACTS / name, ignore_errors=True)
        (ARTIFACTS / name).mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture
def axe():
    """axe-core is installed (else skip, or fail when required)."""
    try:
        require_axe()
    except ToolMissing as missing:
        unavailable(str(missing))


@pytest.fixture
def nu_checker():
    """The Nu HTML checker and Java are installed (else skip, or fail when required)."""
    try:
        require_nu_checker()
    except ToolMissing as missing:
        unavailable(str(missing))
