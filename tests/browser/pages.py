"""The pages every browser check visits, and the steps a visitor takes to reach them."""

import uuid
from dataclasses import dataclass

from playwright.sync_api import expect

SEARCH_LABEL = "How are you feeling?"
EMAIL_LABEL = "Your email address"
TERM_LABEL = "Mood or search term"
SUBSCRIBE_BUTTON = "Send me a playlist every day"


@dataclass(frozen=True)
class SitePage:
    """A page a visitor can land on. `path` may name {tracks}, {long} and {forbidden} (playlist
    ids), {pending}, {active} and {leaving} (tokens of subscriptions in those states), and
    {active_manage} (the manage-page token of the "active" one's subscriber), {manage} and
    {email_copy} (a subscriber's manage token and one of its sent emails), {fresh_pending} (a
    pending subscription of a new inbox, made for each visit: confirming changes it), and
    {sunset_manage} (a subscriber paused for not listening)."""

    name: str  # also the screenshot's and the saved HTML's file name
    path: str
    status: int = 200
    subscribes: bool = False  # submit the subscribe form there: the "check your inbox" page
    press: str | None = None  # then press this button (a form that posts)


SITE_PAGES = (
    SitePage("home", "/"),
    SitePage("results", "/search/?q=happy"),
    SitePage("playlist", "/playlist/{tracks}/"),
    SitePage("playlist-long", "/playlist/{long}/"),
    SitePage("playlist-all-tracks", "/playlist/{long}/?tracks=all"),
    SitePage("playlist-403", "/playlist/{forbidden}/"),
    SitePage("check-inbox", "/search/?q=happy", subscribes=True),
    SitePage("confirm", "/subscriptions/confirm/{pending}/"),
    SitePage("confirmed", "/subscriptions/confirm/{active}/"),
    # A new inbox's first mood: today's email goes at once, and the page shows its pick.
    SitePage("confirmed-first", "/subscriptions/confirm/{fresh_pending}/", press="Confirm"),
    SitePage("unsubscribe", "/subscriptions/unsubscribe/{active}/"),
    # Pressing it again on a later visit shows the same page: unsubscribing is idempotent.
    SitePage(
        "unsubscribed",
        "/subscriptions/unsubscribe/{leaving}/",
        press="Unsubscribe from all my playlists",
    ),
    SitePage("manage", "/subscriptions/manage/{active_manage}/"),
    SitePage("manage-history-page-2", "/subscriptions/manage/{active_manage}/?page=2"),
    SitePage("lost-link", "/subscriptions/manage/"),
    SitePage("email-copy", "/subscriptions/manage/{manage}/emails/{email_copy}/"),
    SitePage("past-emails", "/subscriptions/manage/{manage}/emails/"),
    SitePage("schedule", "/subscriptions/manage/{manage}/schedule/"),
    # The goodbye's one button ("Still want your daily playlists?"), and a sunset subscriber's
    # manage page with its notice and the button that starts their playlists again.
    SitePage("goodbye", "/subscriptions/manage/{active_manage}/keep/"),
    SitePage("manage-sunset", "/subscriptions/manage/{sunset_manage}/"),
    SitePage("not-found", "/no-such-page/", status=404),
)


def unique_address(label):
    """A fresh address per use: the form's per-address limits never get in the way."""
    return f"{label}-{uuid.uuid4().hex[:10]}@example.com"


def visit(page, site_page, *, app, email=None):
    """Open `site_page` as a visitor would; returns the main document's response."""
    values = {**app.tokens, **app.playlists}
    if "{fresh_pending}" in site_page.path:
        values["fresh_pending"] = app.add_subscriptions({"fresh": "pending"})["fresh"]
    response = page.goto(site_page.path.format(**values))
    if site_page.subscribes:
        response = subscribe(page, email=email or unique_address(site_page.name))
    if site_page.press:
        response = press_button(page, site_page.press)
    assert response.status == site_page.status, (
        f"{site_page.name}: {response.url} answered {response.status}\n{app.log_tail()}"
    )
    return response


def search(page, term):
    """Type `term` into the search box and press Enter, as a visitor does."""
    page.get_by_label(SEARCH_LABEL).fill(term)
    with page.expect_navigation():
        page.get_by_label(SEARCH_LABEL).press("Enter")


def subscribe(page, *, email):
    """Fill in the subscribe form on the current page and send it; returns the response."""
    page.get_by_label(EMAIL_LABEL).fill(email)
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=SUBSCRIBE_BUTTON).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox to confirm")
    return navigation.value


def press_button(page, name):
    """Press a form's button and wait for the page it leads to; returns that response."""
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=name, exact=True).click()
    return navigation.value


def open_email(page, message, link_name):
    """Show an email's HTML part in the browser and click one of its links, as a reader does."""
    page.set_content(message["html"])
    with page.expect_navigation() as navigation:
        page.get_by_role("link", name=link_name).click()
    return navigation.value
