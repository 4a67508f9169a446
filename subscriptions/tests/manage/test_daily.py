"""The manage page and the daily email together: a pause set on the page holds the email back,
and the email's footer leads to a page that lists what it carried."""

import datetime
import re

import pytest
from django.core import mail
from django.utils import timezone

from subscriptions.daily import daily_playlists_send
from subscriptions.tests import factories
from subscriptions.tests.daily_support import outbox_messages, use_anymail_test_backend
from subscriptions.tests.manage.test_pages import browser, manage_url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _backend(settings, fake_spotify):
    use_anymail_test_backend(settings)
    settings.MIN_PLAYLIST_TRACKS = 10
    fake_spotify.set_search_results(
        "jazz", [fake_spotify.add_playlist(name=f"Late Jazz {n}", track_count=20) for n in range(3)]
    )


def test_a_pause_set_on_the_page_holds_the_daily_email_until_resumed(client):
    subscriber = factories.subscription("ann@example.org", term="jazz").subscriber
    today = timezone.localdate()
    page = browser(manage_url(subscriber))
    until = today + datetime.timedelta(days=3)
    assert page.post_form({"action": "pause", "until": until.isoformat()}).status_code == 303

    daily_playlists_send(today=today, seed=1)
    assert outbox_messages() == {}

    assert page.post_form({"action": "resume"}).status_code == 303
    daily_playlists_send(today=today, seed=1)
    assert list(outbox_messages()) == ["ann@example.org"]


def test_the_footer_link_opens_the_page_that_lists_the_playlist_just_sent(client):
    subscriber = factories.subscription("ann@example.org", term="jazz").subscriber
    daily_playlists_send(today=timezone.localdate(), seed=1)
    [message] = outbox_messages().values()
    name = re.search(r"Late Jazz \d", message["text"]).group(0)

    [link] = set(
        re.findall(r"https://funky\.example\.com(/subscriptions/manage/[\w-]+/)", message["text"])
    )
    assert link == manage_url(subscriber)
    html = client.get(link).content.decode()
    assert f"<td>jazz</td>\n          <td>{name}</td>" in html
    assert len(mail.outbox) == 1
