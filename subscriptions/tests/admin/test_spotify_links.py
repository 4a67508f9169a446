"""The admin's links to sent playlists: only Spotify's own web links are ever clickable."""

import datetime
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from subscriptions.models import SentPlaylist

SENT_CHANGELIST = reverse("admin:subscriptions_sentplaylist_changelist")
PLAYLIST_ID = "4rOoJ6Egrf8K2IrywzwOMk"

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_():
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com"))
    return client


def sent_with(subscription, web_url, *, playlist_id=PLAYLIST_ID):
    return SentPlaylist.objects.create(
        subscription=subscription,
        playlist_id=playlist_id,
        name="Stored long ago",
        web_url=web_url,
        uri="spotify:playlist:x",
        sent_on=datetime.date(2025, 1, 1),
    )


def spotify_links(page):
    return re.findall(r'<a href="([^"]*)" target="_blank" rel="noopener noreferrer">', page)


@pytest.mark.parametrize(
    "web_url",
    [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "http://open.spotify.com/playlist/x",
        "https://open.spotify.com.evil.example/playlist/x",
        "https://open.spotify.com@evil.example/x",
    ],
)
def test_a_stored_link_that_is_not_spotifys_is_rebuilt_from_the_id(
    admin_client_, make_subscription, web_url
):
    sent = sent_with(make_subscription(), web_url)

    for url in (
        SENT_CHANGELIST,
        reverse("admin:subscriptions_subscription_change", args=[sent.subscription_id]),
    ):
        page = admin_client_.get(url).content.decode()
        assert spotify_links(page) == [f"https://open.spotify.com/playlist/{PLAYLIST_ID}"]
        assert "alert(1)" not in page and "evil.example" not in page


def test_a_stored_link_that_is_spotifys_is_kept(admin_client_, make_subscription):
    web_url = f"https://open.spotify.com/playlist/{PLAYLIST_ID}?si=abc"
    sent_with(make_subscription(), web_url)

    page = admin_client_.get(SENT_CHANGELIST).content.decode()

    assert spotify_links(page) == [web_url]


def test_a_stored_link_with_neither_a_safe_url_nor_a_valid_id_is_not_a_link(
    admin_client_, make_subscription
):
    sent_with(make_subscription(), "javascript:alert(1)", playlist_id="not an id")

    page = admin_client_.get(SENT_CHANGELIST).content.decode()

    assert spotify_links(page) == []
    assert "alert(1)" not in page
