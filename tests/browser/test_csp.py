"""The Content-Security-Policy in a real browser: no page of the site or the admin breaks it.

Every page a visitor or a member of staff can reach loads (lazy covers scrolled into view, the
Spotify player's frame included) without one `securitypolicyviolation` event or "Refused to"
console line. The last tests show the check can fail: the same pages with an inline script or
style slipped in are reported.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.pages import SITE_PAGES, unique_address, visit

pytestmark = pytest.mark.browser

ADMIN_PASSWORD = "csp-check-password"  # noqa: S105 (a throwaway account in a test database)
ADMIN_PAGES = (
    "/admin/",
    "/admin/subscriptions/",
    "/admin/subscriptions/subscription/",
    "/admin/subscriptions/subscription/?status__exact=active&q=example",
    "/admin/subscriptions/sentplaylist/",
    "/admin/subscriptions/emailevent/",
    "/admin/subscriptions/dailyemail/",
    "/admin/subscriptions/subscriber/",
    "/admin/subscriptions/sendrun/",
    "/admin/dashboard/",
    "/admin/subscriptions/subscription/{subscription}/change/",
    "/admin/auth/user/",
    "/admin/password_change/",
    # Staff sign-in: one-time-password devices (the QR code page loads an SVG and a script of
    # django-otp's) and django-axes' record of failed attempts.
    "/admin/otp_totp/totpdevice/",
    "/admin/otp_totp/totpdevice/add/",
    "/admin/otp_totp/totpdevice/{device}/config/",
    "/admin/otp_static/staticdevice/",
    "/admin/axes/accessattempt/",
)


def settle(page):
    """Bring lazy covers into view and let the page's own scripts and frames finish."""
    page.wait_for_load_state("load")
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_load_state("networkidle")
    # Violation events are queued as tasks: one more round trip delivers any still pending.
    page.evaluate("() => new Promise((done) => setTimeout(done, 50))")


def assert_no_violations(tab):
    assert not tab.csp_violations, f"{tab.page.url}:\n" + "\n".join(map(str, tab.csp_violations))


@pytest.fixture(scope="module")
def staff(app):
    """A superuser, and a subscription with a sent playlist for the admin's lists to show."""
    email = unique_address("csp-admin")
    code = (
        "import datetime\n"
        "from django.contrib.auth.models import User\n"
        "from django_otp.plugins.otp_totp.models import TOTPDevice\n"
        "from subscriptions.models import SentPlaylist, Subscriber, Subscription\n"
        f"user = User.objects.create_superuser('csp-admin', {email!r}, {ADMIN_PASSWORD!r})\n"
        "device = TOTPDevice.objects.create(user=user, name='phone')\n"
        f"person = Subscriber.for_address({email!r})\n"
        "s = Subscription.objects.create(subscriber=person, term='happy', status='active')\n"
        "SentPlaylist.objects.create(subscription=s, playlist_id='4rOoJ6Egrf8K2IrywzwOMk',"
        " name='Sent', web_url='javascript:alert(1)', uri='spotify:playlist:x',"
        " sent_on=datetime.date(2026, 1, 1))\n"
        "print(s.pk, device.pk)\n"
    )
    result = app.manage("shell", "--verbosity", "0", "--command", code)
    assert result.returncode == 0, result.stderr
    subscription, device = result.stdout.split()
    return {"username": "csp-admin", "subscription": subscription, "device": device}


@pytest.mark.parametrize("site_page", SITE_PAGES, ids=lambda site_page: site_page.name)
def test_no_page_of_the_site_breaks_the_policy(app, open_tab, site_page):
    tab = open_tab()
    response = visit(tab.page, site_page, app=app)
    settle(tab.page)

    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert_no_violations(tab)
    assert not tab.script_errors


def test_the_player_frame_and_the_covers_load_under_the_policy(app, open_tab):
    tab = open_tab()
    tab.page.goto(f"/playlist/{app.playlists['tracks']}/")
    settle(tab.page)

    expect(tab.page.locator("iframe.embed")).to_have_count(1)
    assert any("open.spotify.com/embed/" in url for url in tab.spotify_requests)
    cover = tab.page.locator("img.cover")
    assert cover.evaluate("img => img.decode().then(() => img.naturalWidth, () => 0)") > 0
    assert_no_violations(tab)


def test_more_playlists_adds_its_cards_under_the_policy(app, open_tab):
    tab = open_tab()
    tab.page.goto("/search/?q=happy")
    cards = tab.page.locator(".cards > li")
    first = cards.count()

    tab.page.get_by_role("link", name="More playlists").click()
    expect(cards).not_to_have_count(first)
    settle(tab.page)

    assert_no_violations(tab)
    assert not tab.script_errors


def test_no_admin_page_breaks_the_policy(app, open_tab, staff):
    tab = open_tab()
    page = tab.page
    page.goto("/admin/login/")
    settle(page)
    assert_no_violations(tab)

    page.get_by_label("Username").fill(staff["username"])
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))  # logged in
    for path in ADMIN_PAGES:
        response = page.goto(path.format(**staff))
        assert response.status == 200, path
        settle(page)
        assert_no_violations(tab)
    # The sent playlist's stored link was javascript:; the admin rebuilt it from the id.
    # (Searched for: the manage page's checks send the app's "active" listener playlists too.)
    page.goto("/admin/subscriptions/sentplaylist/?q=4rOoJ6Egrf8K2IrywzwOMk")
    link = page.get_by_role("link", name="Open on Spotify")
    expect(link).to_have_attribute(
        "href", "https://open.spotify.com/playlist/4rOoJ6Egrf8K2IrywzwOMk"
    )
    assert not tab.script_errors


@pytest.mark.parametrize(
    "slipped_in",
    [
        pytest.param("<script>document.title = 'inline';</script>", id="inline-script"),
        pytest.param('<p style="color: red">inline style</p>', id="style-attribute"),
        pytest.param('<img src="https://evil.example/x.png" alt="">', id="foreign-image"),
    ],
)
def test_the_check_reports_what_the_policy_refuses(app, open_tab, slipped_in):
    """Our own home page, as served (headers and all), with one forbidden thing added."""
    tab = open_tab()

    def add_to_home_page(route):
        response = route.fetch()
        body = response.text().replace("</main>", f"{slipped_in}</main>")
        route.fulfill(response=response, body=body)

    tab.page.route(f"{app.url}/", add_to_home_page)
    tab.page.goto("/")
    settle(tab.page)

    assert tab.csp_violations, "the policy let it through, or the check did not hear of it"
    assert tab.page.title() != "inline"
