"""Every page and both emails' HTML parts, as served and sent, pass the Nu HTML checker."""

import datetime

import pytest

from tests.browser.audits import describe_nu_messages, nu_check
from tests.browser.pages import SITE_PAGES, open_email, press_button, unique_address, visit

# The day's whole run, whatever the hour: these tests are about what is sent, not when.
WHOLE_DAY = datetime.date.today().isoformat()

pytestmark = pytest.mark.browser


def test_pages_and_emails_have_no_html_errors(nu_checker, app, open_tab, artifacts):
    folder = artifacts / "html"
    page = open_tab().page
    email = unique_address("html")

    def save(name, html):
        (folder / f"{name}.html").write_text(html)

    # The markup as the server sent it (not the DOM after scripts ran).
    for site_page in SITE_PAGES:
        response = visit(page, site_page, app=app, email=email)
        save(site_page.name, response.text())

    # The address that subscribed above gets the confirmation email, confirms, gets a daily one.
    confirmation = app.mailgun.messages_to(email)[0]
    save("email-confirmation", confirmation["html"])
    open_email(page, confirmation, "Confirm my subscription")
    press_button(page, "Confirm")
    run = app.manage("send_daily_playlists", "--date", WHOLE_DAY)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    daily = app.mailgun.messages_to(email)[1]
    save("email-daily", daily["html"])

    checked = sorted(folder.glob("*.html"))
    assert len(checked) == len(SITE_PAGES) + 2
    errors = nu_check(checked)
    assert not errors, f"the Nu HTML checker found errors:\n{describe_nu_messages(errors)}"
