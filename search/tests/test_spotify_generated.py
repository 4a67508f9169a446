"""Answers generated from Spotify's OpenAPI schemas (hypothesis-jsonschema), through the fake.

Whatever the spec allows Spotify to send for a search, a playlist or a page of its items, the
client parses it into clean values and the pages render: no error, only Spotify's own links,
only covers from its image hosts, text that encodes. The odd cases a generator rarely finds
(nesting 1,500 deep, a 1,200-character unclosed tag, endless empty pages) are in
test_spotify_odd.py.
"""

import re
import uuid

import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, Phase, given, settings

from search import spotify
from search.spotify import sanitize
from tests.fakes.spotify_schemas import answers

# Bounded and deadline-free: the schemas are big and each example makes real HTTP calls. No
# shrinking: on these schemas it takes minutes; the failing example is printed as drawn.
GENERATED = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # the fake is reset per test, queued per example
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
SEARCH = answers("search", spotify_ids=True)
PLAYLIST = answers("playlist", spotify_ids=True)
ITEMS = answers("items")
PLAYLIST_ID = "4rOoJ6Egrf8K2IrywzwOMk"
HREF = re.compile(r'\shref="([^"]*)"')
IMG_SRC = re.compile(r'<img[^>]*\ssrc="([^"]*)"')
FRAME_SRC = re.compile(r'<iframe[^>]*\ssrc="([^"]*)"')


def assert_clean_text(value):
    assert sanitize.text(value, limit=len(value) + 1) == value, repr(value)
    value.encode("utf-8")


def assert_clean_playlist(playlist):
    assert spotify.is_valid_playlist_id(playlist.id)
    for value in (playlist.name, playlist.description, playlist.owner_name, playlist.owner_id):
        assert_clean_text(value)
    assert sanitize.checked_web_url(playlist.web_url, kind="playlist", spotify_id="x") == (
        playlist.web_url
    )
    assert sanitize.checked_app_uri(playlist.uri, kind="playlist", spotify_id="x") == playlist.uri
    assert playlist.image_url is None or sanitize.image_url(playlist.image_url)
    for number in (playlist.track_count, playlist.followers):
        assert number is None or 0 <= number <= sanitize.MAX_COUNT


def assert_safe_page(response):
    assert response.status_code == 200, response.content[:300]
    page = response.content.decode("utf-8")
    ours = ("/", "#", f"{django_settings.SITE_URL}/")
    for link in HREF.findall(page):
        assert link.startswith((*ours, "https://open.spotify.com/", "spotify:")), link
    for source in IMG_SRC.findall(page):
        assert sanitize.image_url(source.replace("&amp;", "&")), source
    for source in FRAME_SRC.findall(page):
        assert source.startswith("https://open.spotify.com/embed/playlist/"), source


@pytest.fixture
def playlist_in_fake(fake_spotify):
    """A playlist the fake knows, so pages after a generated first one have real answers."""
    return fake_spotify.add_playlist(id=PLAYLIST_ID, name="Generated", track_count=120)


@GENERATED
@given(body=SEARCH)
def test_any_search_answer_parses_into_clean_playlists(fake_spotify, body):
    fake_spotify.answer_next("search", body)

    page = spotify.get_client().search_playlists("generated")

    for playlist in page.items:
        assert_clean_playlist(playlist)
    assert page.total is None or page.total >= 0


@GENERATED
@given(body=SEARCH)
def test_any_search_answer_gives_a_safe_results_page(client, fake_spotify, body):
    fake_spotify.answer_next("search", body)

    assert_safe_page(client.get("/search/", {"q": f"generated {uuid.uuid4().hex}"}))


@GENERATED
@given(body=PLAYLIST)
def test_any_playlist_answer_parses_into_a_clean_playlist(fake_spotify, body):
    fake_spotify.answer_next("playlist", body)

    assert_clean_playlist(spotify.get_client().get_playlist(PLAYLIST_ID))


@GENERATED
@given(body=ITEMS)
def test_any_items_page_parses_into_clean_tracks(fake_spotify, playlist_in_fake, body):
    fake_spotify.answer_next("items", body)

    tracks = spotify.get_client().get_playlist_tracks(playlist_in_fake)

    for track in tracks.tracks:
        for value in (track.name, track.album, *track.artists):
            assert_clean_text(value)
        assert track.duration_ms is None or 0 <= track.duration_ms <= sanitize.MAX_COUNT
        assert track.web_url is None or track.web_url.startswith("https://open.spotify.com/")
        assert track.uri is None or track.uri.startswith("spotify:")
        track.duration.encode()


@GENERATED
@given(metadata=PLAYLIST, items=ITEMS)
def test_any_playlist_and_items_answers_give_a_safe_playlist_page(
    client, fake_spotify, playlist_in_fake, metadata, items
):
    from django.core.cache import cache

    cache.clear()  # each example's answers, not the last one's page
    fake_spotify.answer_next("playlist", {**metadata, "id": playlist_in_fake})
    fake_spotify.answer_next("items", items)

    assert_safe_page(client.get(f"/playlist/{playlist_in_fake}/"))
