"""The shared page cache: visitors' tokens stay theirs, cookies are never shared, one-off
searches cannot fill the cache."""

import pickle
import re

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client, override_settings

# The placeholder of the first page cache, and the shape of the hidden input it stood in.
OLD_PLACEHOLDER = "csrftokenplaceholderQz7xKp3vWm"
HIDDEN_INPUT = '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'


def html(response):
    return response.content.decode()


def csrf_inputs(page):
    return re.findall(r'<input type="hidden" name="csrfmiddlewaretoken" value="([^"]*)">', page)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        OLD_PLACEHOLDER,
        HIDDEN_INPUT.format(OLD_PLACEHOLDER),
        HIDDEN_INPUT.format("csrftokenplaceholder"),
        f"{OLD_PLACEHOLDER} {OLD_PLACEHOLDER}",
    ],
)
def test_a_search_for_the_placeholder_never_shows_the_visitors_token(fake_spotify, query):
    # Three visits: rendered, rendered again (now kept), and served from the shared copy.
    for _ in range(3):
        visitor = Client()
        page = html(visitor.get("/search/", {"q": query}))

        [token] = csrf_inputs(page)
        assert page.count(token) == 1, "the visitor's CSRF token is somewhere else too"
        assert re.search(r'name="q" value="([^"]*)"', page).group(1) != token
        title = re.search(r"<title>(.*)</title>", page).group(1)
        assert "csrftokenplaceholder" in title and token not in title


@pytest.mark.django_db
def test_a_fragment_that_sets_a_cookie_is_not_public(client, fake_spotify):
    client.cookies["csrftoken"] = "not-a-well-formed-token!"

    response = client.get("/search/", {"q": "happy", "page": 2, "fragment": "1"})

    assert response.status_code == 200
    assert "csrftoken" in response.cookies  # Django replaces the malformed cookie
    cache_control = response["Cache-Control"]
    assert "public" not in cache_control
    assert "private" in cache_control


@pytest.mark.django_db
def test_a_fragment_without_cookies_stays_shareable(fake_spotify):
    response = Client().get("/search/", {"q": "happy", "page": 2, "fragment": "1"})

    assert not response.cookies
    assert "public" in response["Cache-Control"]


class RecordingCache(LocMemCache):
    """Django's memory cache, remembering the size of everything it was asked to keep."""

    stored = {}

    def set(self, key, value, *args, **kwargs):
        type(self).stored[key] = value
        return super().set(key, value, *args, **kwargs)

    def add(self, key, value, *args, **kwargs):
        added = super().add(key, value, *args, **kwargs)
        if added:
            type(self).stored[key] = value
        return added


RECORDING = {"default": {"BACKEND": f"{__name__}.RecordingCache", "LOCATION": "recording"}}


@pytest.fixture
def recording_cache():
    RecordingCache.stored = {}
    with override_settings(CACHES=RECORDING):
        yield RecordingCache.stored


def stored_bytes(stored):
    return sum(len(pickle.dumps(value)) for value in stored.values())


def rendered_pages(stored):
    return [v for v in stored.values() if isinstance(v, str) and v.startswith("<!doctype html>")]


# What one search Spotify answers with costs: its parsed answer (about 4 KB for ten playlists).
ONE_OFF_BUDGET = 6_000


@pytest.mark.django_db
def test_one_off_searches_keep_no_rendered_pages(client, fake_spotify, recording_cache):
    for number in range(20):
        assert client.get("/search/", {"q": f"one off {number}"}).status_code == 200

    assert rendered_pages(recording_cache) == []
    assert stored_bytes(recording_cache) <= 20 * ONE_OFF_BUDGET


@pytest.mark.django_db
def test_a_search_asked_for_again_is_kept_rendered_for_everyone(fake_spotify, recording_cache):
    for _ in range(2):
        Client().get("/search/", {"q": "asked again"})

    [page] = rendered_pages(recording_cache)
    assert "Playlists for “asked again”" in page

    calls = len(fake_spotify.calls())
    third = Client().get("/search/", {"q": "asked again"})
    assert third.status_code == 200 and len(fake_spotify.calls()) == calls
    assert csrf_inputs(html(third))


@pytest.mark.django_db
def test_a_playlist_opened_once_keeps_no_rendered_page(client, fake_spotify, recording_cache):
    playlist_id = fake_spotify.add_playlist(name="Once", track_count=200)

    client.get(f"/playlist/{playlist_id}/")
    assert rendered_pages(recording_cache) == []

    client.get(f"/playlist/{playlist_id}/")
    assert len(rendered_pages(recording_cache)) == 1
