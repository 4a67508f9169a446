"""What is kept of listening: in the subscriber's own download, gone with an erase, and pruned
by the daily run once it is older than the README says."""

import datetime
import json
from urllib.parse import urlsplit

import pytest
import time_machine
from django.utils import timezone

from subscriptions.daily import daily_playlists_send
from subscriptions.links import manage_url
from subscriptions.models import ListeningEvent, Subscriber
from subscriptions.tests.listening.support import (
    LATER,
    SENT,
    follow,
    links_named,
    mail_today,
    playlists_for,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def clicked(client, fake_mailgun, fake_spotify):
    """Ann opened her pick on the web, and a scanner opened it in the app."""
    playlists_for(fake_spotify, "jazz")
    message = mail_today(fake_mailgun)
    (web,) = links_named(message["html"], "Open on the web")
    (app,) = links_named(message["html"], "Open in the Spotify app")
    follow(client, web, at=LATER)
    follow(client, app, at=LATER, method="head")
    return Subscriber.objects.get()


def manage_path(subscriber):
    return urlsplit(manage_url(subscriber)).path


def download(client, subscriber):
    page = client.get(manage_path(subscriber))
    token = page.cookies["csrftoken"].value
    response = client.post(
        manage_path(subscriber), {"action": "export", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 200
    return json.loads(response.content)


def test_clicks_are_in_the_download(client, clicked):
    data = download(client, clicked)

    listening = data["listening"]
    assert [(row["link"], row["counted_as"]) for row in listening] == [
        ("web", "listening"),
        ("app", "A link scanner (a HEAD request)"),
    ]
    assert listening[0]["playlist"] == clicked.subscriptions.get().sent_playlists.get().name
    assert listening[0]["at"].startswith(LATER.strftime("%Y-%m-%dT%H:%M"))
    assert "user_agent" not in listening[0] and "ip" not in json.dumps(listening)


def test_clicks_go_with_an_erase(client, clicked):
    page = client.get(manage_path(clicked))
    token = page.cookies["csrftoken"].value
    response = client.post(
        manage_path(clicked), {"action": "erase", "confirm": "on", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 200
    assert not ListeningEvent.objects.exists()


def test_the_daily_run_prunes_clicks_older_than_400_days(clicked, settings):
    day = datetime.timedelta(days=1)
    ListeningEvent.objects.update(occurred_at=SENT - 401 * day)
    kept = ListeningEvent.objects.create(
        subscriber=clicked, link="manage", verdict="listener", occurred_at=SENT - 399 * day
    )
    with time_machine.travel(SENT + 20 * day, tick=False):
        # The run prunes by its clock: 401 days before SENT is 421 days old by now.
        ListeningEvent.objects.filter(pk=kept.pk).update(occurred_at=timezone.now() - 399 * day)
        daily_playlists_send()

    assert list(ListeningEvent.objects.values_list("pk", flat=True)) == [kept.pk]


def test_a_dry_run_prunes_nothing(clicked):
    ListeningEvent.objects.update(occurred_at=SENT - 500 * datetime.timedelta(days=1))
    with time_machine.travel(LATER, tick=False):
        daily_playlists_send(dry_run=True)
    assert ListeningEvent.objects.count() == 2
