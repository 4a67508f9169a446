"""The subscribe form sends the browser's own time zone (static/js/site.js), or the site's; it
becomes the subscriber's when the sign-up's confirmation link is confirmed."""

import sqlite3
from contextlib import closing

import pytest
from playwright.sync_api import expect

from tests.browser.pages import open_email, press_button, subscribe, unique_address

pytestmark = pytest.mark.browser


def stored_zone(app, email):
    with closing(sqlite3.connect(f"file:{app.database}?mode=ro", uri=True)) as db:
        (zone,) = db.execute(
            "SELECT time_zone FROM subscriptions_subscriber WHERE lower(email) = lower(?)",
            [email],
        ).fetchone()
    return zone


@pytest.mark.parametrize("javascript, expected", [(True, "Pacific/Kiritimati"), (False, "UTC")])
def test_a_new_subscriber_gets_the_browsers_time_zone(app, open_tab, javascript, expected):
    tab = open_tab(timezone_id="Pacific/Kiritimati", javascript=javascript)
    tab.page.goto("/search/?q=happy")  # the subscribe form with its term filled in
    email = unique_address("zone")
    subscribe(tab.page, email=email)
    assert not tab.script_errors and not tab.csp_violations
    # The email's own inline styles are no page of ours: its link is what counts.
    [confirmation] = app.mailgun.messages_to(email)
    open_email(tab.page, confirmation, "Confirm my subscription")
    press_button(tab.page, "Confirm")
    expect(tab.page.get_by_role("heading", level=1)).to_have_text("You’re subscribed")
    assert stored_zone(app, email) == expected
