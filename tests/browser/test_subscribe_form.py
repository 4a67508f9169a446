"""The subscribe form in a real browser: it says how often as the visitor chooses, and asks for a
weekday only for a weekly email, with and without JavaScript; a first confirmation's page."""

import sqlite3
from contextlib import closing

import pytest
from playwright.sync_api import expect

from tests.browser.pages import EMAIL_LABEL, SUBSCRIBE_BUTTON, press_button, unique_address

pytestmark = pytest.mark.browser

FREQUENCY_LABEL = "How often"
WEEKDAY_LABEL = "Day of the week, for a weekly email"
HEADING = "Get a playlist for your mood in your inbox"


def schedule_of(app, email):
    """(frequency, weekly day) the server stored with the sign-up of `email`, which its
    confirmation will apply (the schedule is the confirmed sign-up's)."""
    with closing(sqlite3.connect(f"file:{app.database}?mode=ro", uri=True)) as db:
        return db.execute(
            "SELECT e.frequency, e.weekly_day FROM subscriptions_subscribeemail e"
            " JOIN subscriptions_subscriber s ON s.id = e.subscriber_id WHERE s.email = ?"
            " ORDER BY e.id DESC LIMIT 1",
            [email],
        ).fetchone()


def send(page, email, term="happy"):
    page.get_by_label(EMAIL_LABEL).fill(email)
    page.get_by_label("Mood or search term").fill(term)
    press_button(page, page.locator("[data-subscribe] button[type=submit]").text_content())
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox to confirm")


def test_the_weekday_shows_for_a_weekly_email_only_and_the_words_follow_the_choice(
    app, open_tab, artifacts
):
    tab = open_tab()
    page = tab.page
    page.goto("/")
    frequency = page.get_by_label(FREQUENCY_LABEL)
    weekday = page.get_by_label(WEEKDAY_LABEL)
    button = page.locator("[data-subscribe] button[type=submit]")
    heading = page.locator("#subscribe-heading")

    expect(weekday).to_be_hidden()
    expect(button).to_have_text(SUBSCRIBE_BUTTON)
    expect(heading).to_have_text(f"{HEADING} every day")

    frequency.select_option(label="Weekdays (Monday to Friday)")
    expect(weekday).to_be_hidden()
    expect(button).to_have_text("Send me a playlist every weekday")
    expect(heading).to_have_text(f"{HEADING} every weekday")

    frequency.select_option(label="Once a week")
    expect(weekday).to_be_visible()
    expect(button).to_have_text("Send me a playlist every week")
    expect(heading).to_have_text(f"{HEADING} every week")
    weekday.select_option(label="Friday")
    page.locator("[data-subscribe]").screenshot(
        path=artifacts / "screenshots" / "subscribe-form-weekly.png"
    )

    email = unique_address("weekly")
    send(page, email)
    assert schedule_of(app, email) == ("weekly", 4)
    assert not tab.script_errors
    assert not tab.csp_violations


def test_without_javascript_the_form_still_asks_for_a_weekday_and_the_server_words_it(
    app, open_tab
):
    page = open_tab(javascript=False).page
    page.goto("/subscriptions/")
    page.get_by_label(FREQUENCY_LABEL).select_option(label="Once a week")
    page.get_by_label(WEEKDAY_LABEL).select_option(label="Friday")
    # A term of spaces only, which the server refuses: the form comes back, worded for the
    # frequency it was sent with.
    page.get_by_label(EMAIL_LABEL).fill(unique_address("no-js-error"))
    page.get_by_label("Mood or search term").fill("   ")
    press_button(page, SUBSCRIBE_BUTTON)  # the words the server gave, no script to change them

    expect(page.locator("[data-subscribe] button[type=submit]")).to_have_text(
        "Send me a playlist every week"
    )
    expect(page.get_by_label(WEEKDAY_LABEL)).to_have_value("4")
    email = unique_address("no-js-weekly")
    send(page, email)
    assert schedule_of(app, email) == ("weekly", 4)

    # A daily email ignores whatever the weekday says.
    page.goto("/subscriptions/")
    page.get_by_label(FREQUENCY_LABEL).select_option(label="Once a week")
    page.get_by_label(WEEKDAY_LABEL).select_option(label="Friday")
    page.get_by_label(FREQUENCY_LABEL).select_option(label="Every day")
    daily = unique_address("no-js-daily")
    send(page, daily)
    assert schedule_of(app, daily) == ("daily", 0)


def test_a_first_confirmation_shows_the_playlist_just_mailed(app, open_tab, artifacts):
    tokens = app.add_subscriptions({"first": "pending"})
    tab = open_tab()
    page = tab.page
    page.goto(f"/subscriptions/confirm/{tokens['first']}/")
    press_button(page, "Confirm")

    expect(page.get_by_role("heading", level=2, name="Your first playlist is on its way"))
    name = page.locator(".welcome h3").text_content()
    player = page.locator(".welcome iframe")
    expect(player).to_have_attribute("title", f"Spotify player for “{name}”")
    assert player.get_attribute("src").startswith("https://open.spotify.com/embed/playlist/")
    page.screenshot(path=artifacts / "screenshots" / "confirmed-first.png", full_page=True)
    assert not tab.script_errors
    assert not tab.foreign_requests
