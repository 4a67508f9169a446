"""Opening the manage page or an email's web copy from the email counts as listening, once per
visit: the email's links carry a marker, and the page drops it as soon as it has counted."""

import pytest

from subscriptions.links import manage_url
from subscriptions.models import DailyEmail, ListeningEvent, Subscriber
from subscriptions.tests.listening.support import (
    LATER,
    follow,
    links_named,
    mail_today,
    playlists_for,
    text_link,
)

pytestmark = pytest.mark.django_db

Verdict = ListeningEvent.Verdict


@pytest.fixture
def message(fake_mailgun, fake_spotify):
    playlists_for(fake_spotify, "jazz")
    return mail_today(fake_mailgun)


def visits():
    return list(
        ListeningEvent.objects.order_by("pk").values_list("link", "verdict", "daily_email__day")
    )


def test_the_manage_page_from_the_email_counts_once_per_visit(client, message):
    subscriber = Subscriber.objects.get()
    (link,) = links_named(message["html"], "Manage your daily playlists")
    assert text_link(message["text"], "Manage your daily playlists") == [link]
    assert link == f"{manage_url(subscriber)}?from=email"

    response = follow(client, link)

    assert response.status_code == 302
    assert response["Location"] == manage_url(subscriber).removeprefix("https://funky.example.com")
    page = follow(client, response["Location"])
    assert page.status_code == 200
    follow(client, response["Location"])  # a reload of the page: the same visit
    claim = DailyEmail.objects.get()
    assert visits() == [("manage", Verdict.LISTENER, claim.day)]


def test_the_web_copy_from_the_email_counts_once_per_visit(client, message):
    claim = DailyEmail.objects.get()
    (link,) = links_named(message["html"], "View in your browser")
    assert link.endswith(f"/emails/{claim.pk}/?from=email")

    response = follow(client, link)

    assert response.status_code == 302
    assert response["Location"].endswith(f"/emails/{claim.pk}/")
    assert follow(client, response["Location"]).status_code == 200
    assert visits() == [("copy", Verdict.LISTENER, claim.day)]


def test_a_head_request_for_a_marked_page_is_a_scanner(client, message):
    (link,) = links_named(message["html"], "Manage your daily playlists")
    follow(client, link, method="head")
    assert [verdict for _, verdict, _ in visits()] == [Verdict.HEAD]


def test_the_marker_on_someone_elses_page_changes_nothing(client, message):
    (link,) = links_named(message["html"], "View in your browser")
    wrong = link.replace("/manage/", "/manage/x", 1)
    assert follow(client, wrong).status_code == 404
    other = link.replace("/?from=email", "9/?from=email")
    assert follow(client, other).status_code == 404
    assert not ListeningEvent.objects.exists()


def test_the_manage_page_without_the_marker_counts_nothing(client, message):
    follow(client, manage_url(Subscriber.objects.get()), at=LATER)
    assert not ListeningEvent.objects.exists()
