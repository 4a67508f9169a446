"""The subscribe form sends the browser's own time zone (static/js/site.js), or the site's."""

import sqlite3
from contextlib import closing

import pytest

from tests.browser.pages import subscribe, unique_address

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
    assert stored_zone(app, email) == expected
    assert not tab.script_errors and not tab.csp_violations
