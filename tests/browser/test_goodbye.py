"""The goodbye as a silent subscriber gets it: valid HTML, its button's page in a real browser,
and the press that keeps their playlists coming."""

import datetime

import pytest
from playwright.sync_api import expect

from tests.browser.audits import describe_nu_messages, nu_check
from tests.browser.pages import open_email, press_button, unique_address

pytestmark = pytest.mark.browser

TODAY = datetime.date.today().isoformat()


def silent_subscriber(app):
    """An address mailed on 40 of the last 90 days that opened nothing, clicks recorded since
    100 days ago: today's email is the goodbye."""
    email = unique_address("silent")
    code = (
        "import datetime\n"
        "from django.utils import timezone\n"
        "from subscriptions.models import DailyEmail, ListeningPeriod, Subscriber, Subscription\n"
        "now = timezone.now()\n"
        "ListeningPeriod.objects.filter(ended_at=None).update(\n"
        "    started_at=now - datetime.timedelta(days=100))\n"
        "if not ListeningPeriod.objects.exists():\n"
        "    ListeningPeriod.objects.create(started_at=now - datetime.timedelta(days=100))\n"
        f"r = Subscriber.for_address({email!r})\n"
        "Subscription.objects.create(subscriber=r, term='happy', status='active',"
        " confirmed_at=now - datetime.timedelta(days=120))\n"
        "for n in range(1, 41):\n"
        "    DailyEmail.objects.create(subscriber=r, status='sent',"
        " day=timezone.localdate() - datetime.timedelta(days=n))\n"
    )
    result = app.manage("shell", "--verbosity", "0", "--command", code)
    assert result.returncode == 0, result.stderr
    return email


def test_a_silent_subscriber_gets_the_goodbye_and_keeps_their_playlists(
    nu_checker, app, open_tab, tmp_path
):
    email = silent_subscriber(app)
    run = app.manage("send_daily_playlists", "--date", TODAY)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    (goodbye,) = app.mailgun.messages_to(email)
    assert goodbye["subject"] == "Still want your daily playlists?"
    saved = tmp_path / "email-goodbye.html"  # test_html_validity counts test-artifacts/html
    saved.write_text(goodbye["html"])
    errors = nu_check([saved])
    assert not errors, f"the Nu HTML checker found errors:\n{describe_nu_messages(errors)}"

    page = open_tab().page
    response = open_email(page, goodbye, "Yes, keep them coming")
    assert response.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Still want your daily playlists?")
    press_button(page, "Yes, keep them coming")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your daily playlists")
    expect(page.get_by_role("status").first).to_contain_text("your daily playlists keep coming")
