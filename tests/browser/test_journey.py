"""A new visitor's whole journey in a real browser, from a search to the one-click unsubscribe."""

import datetime
import http.client
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.pages import (
    EMAIL_LABEL,
    TERM_LABEL,
    open_email,
    press_button,
    search,
    subscribe,
    unique_address,
)

# The day's whole run, whatever the hour: these tests are about what is sent, not when.
WHOLE_DAY = datetime.date.today().isoformat()

pytestmark = pytest.mark.browser

PLAYLIST_PATH = re.compile(r"^/playlist/([A-Za-z0-9]+)/$")
WEB_LINK = re.compile(r"^https://open\.spotify\.com/playlist/([A-Za-z0-9]+)$")
APP_LINK = re.compile(r"^spotify:playlist:([A-Za-z0-9]+)$")
TRACK_WEB_LINK = re.compile(r"^https://open\.spotify\.com/(track|episode)/[A-Za-z0-9]+$")
ONE_CLICK_BODY = b"List-Unsubscribe=One-Click"


def cards_on(page):
    return page.locator(".cards > li")


def check_cards(cards):
    """Every card shows a cover (or its placeholder) and a name, and its three links agree
    on the playlist: ours, Spotify's web page and the Spotify app. Returns the ids in order."""
    ids = []
    for index in range(cards.count()):
        card = cards.nth(index)
        name_link = card.get_by_role("heading", level=2).get_by_role("link")
        name = name_link.text_content().strip()
        assert name, f"card {index} has no name"
        cover = card.get_by_role("img")
        expect(cover).to_have_count(1)
        if cover.evaluate("element => element.tagName") == "IMG":
            # Covers load lazily: bring each into view, as scrolling would, and wait for it.
            cover.scroll_into_view_if_needed()
            width = cover.evaluate("img => img.decode().then(() => img.naturalWidth, () => 0)")
            assert width > 0, f"the cover of {name!r} did not load: {cover.get_attribute('src')}"
        assert name in (cover.get_attribute("alt") or cover.get_attribute("aria-label"))

        playlist_id = PLAYLIST_PATH.match(name_link.get_attribute("href")).group(1)
        web = card.get_by_role("link", name="Open in Spotify").get_attribute("href")
        app_link = card.get_by_role("link", name="Open in the app").get_attribute("href")
        assert WEB_LINK.match(web).group(1) == playlist_id, web
        assert APP_LINK.match(app_link).group(1) == playlist_id, app_link
        ids.append(playlist_id)
    return ids


def redirected_to(url):
    """Where one of our redirects sends a browser (without following it)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", parts.path)
        response = connection.getresponse()
        assert response.status == 302, (url, response.status)
        return response.getheader("Location")
    finally:
        connection.close()


def one_click_unsubscribe(url):
    """RFC 8058: what a mail provider sends — a bare POST, no cookie, no CSRF token."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(
            "POST",
            parts.path,
            body=ONE_CLICK_BODY,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def test_visitor_searches_subscribes_confirms_gets_the_daily_email_and_unsubscribes(app, open_tab):
    tab = open_tab()
    page = tab.page
    email = unique_address("journey")

    # Search from the home page.
    page.goto("/")
    search(page, "happy")
    expect(page).to_have_url(re.compile(r"/search/\?q=happy$"))
    cards = cards_on(page)
    first_page = check_cards(cards)
    # Up to ten: Spotify's pages of ten have null items, which the site skips.
    assert 0 < len(first_page) <= 10

    # "More playlists" appends the next page in place and puts page 2 in the address bar.
    page.evaluate("() => { window.stillTheSamePage = true; }")
    page.get_by_role("link", name="More playlists").click()
    expect(page).to_have_url(re.compile(r"/search/\?q=happy&page=2$"))
    expect(cards).not_to_have_count(len(first_page))
    assert page.evaluate("() => window.stillTheSamePage === true"), "the page was reloaded"
    both_pages = check_cards(cards)
    assert both_pages[: len(first_page)] == first_page
    assert len(both_pages) > len(first_page)
    assert len(set(both_pages)) == len(both_pages), "page 2 repeats playlists from page 1"

    # A playlist page: its tracks (or Spotify's refusal to share them) and the player.
    first = cards.first.get_by_role("heading", level=2).get_by_role("link")
    name = first.text_content().strip()
    with page.expect_navigation():
        first.click()
    expect(page).to_have_url(re.compile(rf"/playlist/{first_page[0]}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    player = page.locator("iframe")
    expect(player).to_have_attribute(
        "src", f"https://open.spotify.com/embed/playlist/{first_page[0]}"
    )
    assert player.get_attribute("title")
    rows = page.locator("table tbody tr")
    if rows.count():
        for href in rows.get_by_role("link").evaluate_all("links => links.map(a => a.href)"):
            assert TRACK_WEB_LINK.match(href), href
    else:
        expect(page.get_by_text("Spotify only shares this playlist")).to_be_visible()
    web = page.get_by_role("link", name="Open in Spotify").get_attribute("href")
    app_link = page.get_by_role("link", name="Open in the app").get_attribute("href")
    assert WEB_LINK.match(web).group(1) == APP_LINK.match(app_link).group(1) == first_page[0]

    # Subscribe from the results page; the term comes from the search.
    page.go_back()
    expect(page.get_by_label(TERM_LABEL)).to_have_value("happy")
    subscribe(page, email=email)
    # A second term, left unconfirmed: the one-click unsubscribe must stop it too.
    search(page, "rainy sunday")
    subscribe(page, email=email)
    assert [(s["term"], s["status"]) for s in app.subscriptions(email)] == [
        ("happy", "pending"),
        ("rainy sunday", "pending"),
    ]

    # The confirmation email: its link opens a page that confirms only when the button is pressed.
    confirmations = app.mailgun.messages_to(email)
    assert [m["subject"] for m in confirmations] == [
        "Confirm your daily playlist for 'happy'",
        "Confirm your daily playlist for 'rainy sunday'",
    ]
    open_email(page, confirmations[0], "Confirm my subscription")
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your daily playlist")
    assert app.subscriptions(email)[0]["status"] == "pending", "opening the link confirmed"
    press_button(page, "Confirm")
    expect(page.get_by_role("heading", level=1)).to_have_text("You’re subscribed")
    assert app.subscriptions(email)[0]["status"] == "active"

    # The inbox's first confirmed mood gets the day's email at once, one playlist for the
    # confirmed term only, shown on the page too; the day's run sends no second one.
    expect(page.get_by_role("heading", name="Your first playlist is on its way")).to_be_visible()
    assert len(app.mailgun.messages_to(email)) == 3
    run = app.manage("send_daily_playlists", "--date", WHOLE_DAY)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    daily = app.mailgun.messages_to(email)[2:]
    assert len(daily) == 1, [m["subject"] for m in daily]
    daily = daily[0]
    assert daily["subject"].startswith("Your playlists for ")
    page.set_content(daily["html"])
    expect(page.get_by_role("heading", level=2)).to_have_count(1)
    # Both links go through our own /go/ redirect (the click is counted), to the playlist.
    web = page.get_by_role("link", name="Open on the web").get_attribute("href")
    app_link = page.get_by_role("link", name="Open in the Spotify app").get_attribute("href")
    assert web.startswith(f"{app.url}/go/") and app_link.startswith(f"{app.url}/go/")
    web, app_link = redirected_to(web), redirected_to(app_link)
    assert WEB_LINK.match(web).group(1) == APP_LINK.match(app_link).group(1)
    assert "rainy sunday" not in daily["html"] + daily["text"]
    one_click_url = daily["headers"]["List-Unsubscribe"].strip("<>")
    assert one_click_url.startswith(f"{app.url}/subscriptions/unsubscribe/")
    assert daily["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # Its unsubscribe link: a page with a button, which stops this term only.
    open_email(page, daily, "Stop the daily playlist for 'happy'")
    expect(page.get_by_role("heading", level=1)).to_have_text("Unsubscribe from ‘happy’?")
    assert app.subscriptions(email)[0]["status"] == "active", "opening the link unsubscribed"
    press_button(page, "Unsubscribe")
    expect(page.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")
    assert [s["status"] for s in app.subscriptions(email)] == ["unsubscribed", "pending"]

    # One-click from the mail provider stops everything left; sent again, it changes nothing.
    assert one_click_unsubscribe(one_click_url)[0] == 200
    after_first = app.subscriptions(email)
    assert [s["status"] for s in after_first] == ["unsubscribed", "unsubscribed"]
    assert one_click_unsubscribe(one_click_url)[0] == 200
    assert app.subscriptions(email) == after_first

    assert not tab.foreign_requests, "requests to hosts other than ours and Spotify's"
    assert not tab.script_errors


def test_without_javascript_a_visitor_can_search_page_open_a_playlist_and_subscribe(app, open_tab):
    tab = open_tab(javascript=False)
    page = tab.page
    email = unique_address("no-js")

    page.goto("/")
    search(page, "happy")
    cards = cards_on(page)
    first_page = check_cards(cards)
    assert first_page

    # "More playlists" is a plain link: it opens page 2, with only the next playlists.
    with page.expect_navigation():
        page.get_by_role("link", name="More playlists").click()
    expect(page).to_have_url(re.compile(r"/search/\?q=happy&page=2$"))
    second_page = check_cards(cards)
    assert second_page
    assert not set(first_page) & set(second_page)

    name_link = cards.first.get_by_role("heading", level=2).get_by_role("link")
    name = name_link.text_content().strip()
    with page.expect_navigation():
        name_link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.locator("iframe")).to_have_attribute(
        "src", f"https://open.spotify.com/embed/playlist/{second_page[0]}"
    )

    page.go_back()
    expect(page.get_by_label(EMAIL_LABEL)).to_be_empty()
    subscribe(page, email=email)
    assert [(s["term"], s["status"]) for s in app.subscriptions(email)] == [("happy", "pending")]
    assert [m["subject"] for m in app.mailgun.messages_to(email)] == [
        "Confirm your daily playlist for 'happy'"
    ]
    assert not tab.foreign_requests
