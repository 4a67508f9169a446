"""The public pages against the loopback fake Spotify: what a visitor sees and never sees."""

import re
import socket
from unittest import mock

import pytest
from django.contrib import messages
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.db import OperationalError
from django.template.loader import render_to_string
from django.test import Client, override_settings
from django.views.defaults import server_error

from search import page_cache, views

SCRIPT_NAME = "<script>alert(1)</script>"


def html(response):
    return response.content.decode()


def h1_count(response):
    return len(re.findall(r"<h1[\s>]", html(response)))


def csrf_input(response):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html(response))


def card_ids(response):
    return re.findall(r'<h2><a href="/playlist/([A-Za-z0-9]+)/">', html(response))


# -- home ------------------------------------------------------------------------------------------


def test_home_has_a_bookmarkable_search_form_and_the_subscribe_form(client):
    response = client.get("/")

    page = html(response)
    assert response.status_code == 200
    assert h1_count(response) == 1
    assert '<html lang="en">' in page
    assert 'href="#main"' in page and '<main id="main"' in page
    assert re.search(r'<form[^>]*action="/search/"[^>]*method="get"', page)
    assert '<label for="q">How are you feeling?</label>' in page
    assert 'id="q" name="q"' in page
    assert 'action="/subscriptions/"' in page
    assert csrf_input(response)


def test_home_mentions_the_demo_catalog_only_when_it_is_on(client, settings):
    assert "offline demo catalog" not in html(client.get("/"))

    settings.DEBUG = True
    settings.SPOTIFY_DEMO_CATALOG = True
    page = html(client.get("/"))

    assert "offline demo catalog" in page
    assert "SPOTIFY_CLIENT_ID" in page and "SPOTIFY_CLIENT_SECRET" in page


# -- search results --------------------------------------------------------------------------------


def test_search_shows_each_playlist_with_links_to_our_page_and_to_spotify(client, fake_spotify):
    sunny = fake_spotify.add_playlist(name="Sunny Side", owner_name="Ada", track_count=42)
    bare = fake_spotify.add_playlist(name="No Cover", images=False, count_in=None)
    fake_spotify.set_search_results("happy", [sunny, None, bare])

    response = client.get("/search/", {"q": "Happy"})

    page = html(response)
    assert response.status_code == 200
    assert h1_count(response) == 1
    assert "<h1>Playlists for “Happy”</h1>" in page
    assert card_ids(response) == [sunny, bare]
    assert "by Ada · 42 tracks" in page
    assert f'href="https://open.spotify.com/playlist/{sunny}"' in page
    assert f'href="spotify:playlist:{sunny}"' in page
    assert re.search(rf'<img class="cover" src="http://127\.0\.0\.1:\d+/images/{sunny}-', page)
    assert 'alt="Cover of “Sunny Side”"' in page
    # No cover from Spotify: the local placeholder, still described for screen readers.
    assert 'role="img" aria-label="No cover art for “No Cover”"' in page
    # No count from Spotify: nothing made up.
    assert re.search(r"by Fake Owner</p>", page)
    # The search box and the subscribe form both carry the term.
    assert 'name="q" value="Happy"' in page
    assert re.search(r'name="term"[^>]*\s+value="Happy"', page)


def test_search_escapes_names_and_descriptions(client, fake_spotify):
    hostile = fake_spotify.add_playlist(
        name=SCRIPT_NAME,
        description="R&amp;B &lt;img src=x onerror=alert(2)&gt; <a href=spotify:x>more</a>",
        owner_name="<b>owner</b>",
    )
    fake_spotify.set_search_results("xss", [hostile])

    page = html(client.get("/search/", {"q": "xss"}))

    assert SCRIPT_NAME not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # Spotify's entities decoded once and escaped once: the visitor reads "R&B <img ...>".
    assert "R&amp;B &lt;img src=x onerror=alert(2)&gt; more" in page
    assert "<img src=x" not in page
    assert "&lt;b&gt;owner&lt;/b&gt;" in page


def test_search_pages_through_results_with_a_plain_link(client, fake_spotify):
    first = client.get("/search/", {"q": "happy"})
    second = client.get("/search/", {"q": "happy", "page": 2})

    assert 'href="/search/?q=happy&amp;page=2" rel="next" data-more>More playlists</a>' in html(
        first
    )
    assert 'href="/search/?q=happy&amp;page=3"' in html(second)
    assert card_ids(first) and card_ids(second)
    assert not set(card_ids(first)) & set(card_ids(second))
    offsets = [call.params["offset"] for call in fake_spotify.calls("search")]
    assert offsets == ["0", "10"]
    assert all(call.params["limit"] == "10" for call in fake_spotify.calls("search"))


def test_the_last_page_says_there_is_no_more(client, fake_spotify):
    ids = [fake_spotify.add_playlist(name=f"Mix {n}") for n in range(12)]
    fake_spotify.set_search_results("dozen", ids)

    last = client.get("/search/", {"q": "dozen", "page": 2})
    beyond = client.get("/search/", {"q": "dozen", "page": 3})

    assert card_ids(last) == ids[10:]
    assert "More playlists" not in html(last)
    assert "That is all the playlists Spotify has for “dozen”." in html(last)
    assert "There are no more playlists for “dozen”." in html(beyond)


def test_no_results_says_so(client, fake_spotify):
    fake_spotify.set_search_results("qwxz", [])

    response = client.get("/search/", {"q": "qwxz"})

    assert response.status_code == 200
    assert "Spotify found no playlists for “qwxz”." in html(response)
    assert "More playlists" not in html(response)


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "   "}])
def test_an_empty_or_missing_query_asks_for_one_without_calling_spotify(
    client, fake_spotify, params
):
    response = client.get("/search/", params)

    assert response.status_code == 200
    assert h1_count(response) == 1
    assert "Type how you are feeling" in html(response)
    assert fake_spotify.calls() == []


@pytest.mark.parametrize(
    "params",
    [{"q": "happy", "page": "zero"}, {"q": "happy", "page": "0"}, {"q": "x" * 101}],
)
def test_bad_search_input_is_a_plain_400_page(client, fake_spotify, params):
    response = client.get("/search/", params)

    assert response.status_code == 400
    assert h1_count(response) == 1
    assert 'class="errorlist"' in html(response)
    assert fake_spotify.calls("search") == []


def test_the_fragment_is_the_next_cards_and_link_alone_and_shareable(client, fake_spotify):
    response = client.get("/search/", {"q": "happy", "page": 2, "fragment": 1})

    page = html(response)
    assert response.status_code == 200
    assert "<html" not in page and "<h1" not in page
    assert page.lstrip().startswith('<div class="results" data-results>')
    assert card_ids(response)
    assert card_ids(response) == card_ids(client.get("/search/", {"q": "happy", "page": 2}))
    assert 'href="/search/?q=happy&amp;page=3" rel="next" data-more' in page
    # Nothing personal in it, so any cache may keep it.
    assert response["Cache-Control"] == "public, max-age=600"
    assert "csrfmiddlewaretoken" not in page
    assert "csrftoken" not in response.cookies
    assert "Cookie" not in response.get("Vary", "")


def test_the_fragment_of_the_last_page_has_no_more_link(client, fake_spotify):
    response = client.get("/search/", {"q": "happy", "page": 5, "fragment": 1})

    assert card_ids(response)
    assert "data-more" not in html(response)
    assert "That is all the playlists" in html(response)


def test_a_fragment_without_a_query_is_a_bad_request(client, fake_spotify):
    assert client.get("/search/", {"fragment": 1}).status_code == 400
    assert client.get("/search/", {"q": "a", "page": "x", "fragment": 1}).status_code == 400


# -- Spotify trouble -------------------------------------------------------------------------------


def test_spotify_unavailable_is_a_friendly_503_page(client, fake_spotify):
    fake_spotify.fail_next("search", status=500, times=10)

    response = client.get("/search/", {"q": "happy"})

    page = html(response)
    assert response.status_code == 503
    assert h1_count(response) == 1
    assert "Spotify is not answering right now" in page
    assert 'name="q" value="happy"' in page  # the visitor can search again from here
    assert response["Retry-After"] == "60"
    assert "no-store" in response["Cache-Control"]
    assert "Traceback" not in page


def test_spotify_rate_limit_is_a_503_that_passes_on_retry_after(client, fake_spotify):
    fake_spotify.fail_next("search", status=429, headers={"Retry-After": "1800"})

    response = client.get("/search/", {"q": "happy"})

    assert response.status_code == 503
    assert "Spotify asked us to slow down" in html(response)
    assert response["Retry-After"] == "1800"


def test_spotify_not_configured_is_a_503_that_says_what_to_set(client, fake_spotify, settings):
    settings.SPOTIFY_CLIENT_ID = ""
    settings.SPOTIFY_CLIENT_SECRET = ""

    response = client.get("/search/", {"q": "happy"})

    assert response.status_code == 503
    assert "Search is not set up yet" in html(response)
    assert "SPOTIFY_CLIENT_ID" in html(response)
    assert fake_spotify.calls() == []


def test_spotify_trouble_on_a_fragment_is_a_503_snippet(client, fake_spotify):
    fake_spotify.fail_next("search", status=502, times=10)

    response = client.get("/search/", {"q": "happy", "page": 2, "fragment": 1})

    assert response.status_code == 503
    assert "<html" not in html(response)
    assert "data-results-error" in html(response)


def test_a_failure_is_not_cached(client, fake_spotify):
    fake_spotify.fail_next("search", status=500, times=10)
    assert client.get("/search/", {"q": "happy"}).status_code == 503

    fake_spotify.reset()
    response = client.get("/search/", {"q": "happy"})

    assert response.status_code == 200
    assert card_ids(response)


def test_a_playlist_page_when_spotify_is_down_is_a_503(client, fake_spotify):
    playlist_id = fake_spotify.add_playlist(name="Down")
    fake_spotify.fail_next("*", status=503, times=20)

    response = client.get(f"/playlist/{playlist_id}/")

    assert response.status_code == 503
    assert "Spotify is not answering right now" in html(response)


# -- playlist pages --------------------------------------------------------------------------------


def test_playlist_page_shows_the_playlist_the_player_and_every_track(client, fake_spotify):
    playlist_id = fake_spotify.add_playlist(
        name="Road Songs",
        description="Windows down &amp; volume up",
        owner_name="Grace",
        followers=12345,
        entries=["track"] * 60 + ["episode", "local", None, "track"],
    )

    response = client.get(f"/playlist/{playlist_id}/")

    page = html(response)
    assert response.status_code == 200
    assert h1_count(response) == 1
    assert "<title>Road Songs · funky-music</title>" in page
    assert "<h1>Road Songs</h1>" in page
    assert "Windows down &amp; volume up" in page
    assert "<li>by Grace</li>" in page
    assert "<li>12,345 followers</li>" in page
    assert "<li>64 tracks</li>" in page
    assert re.search(
        rf'<iframe class="embed" src="https://open.spotify.com/embed/playlist/{playlist_id}" '
        r'title="Spotify player for “Road Songs”" loading="lazy"',
        page,
    )
    rows = re.findall(r'<tr><td class="num">(\d+)</td>', page)
    assert rows == [str(n) for n in range(1, 64)]  # Spotify's empty entry is left out
    assert page.count('href="https://open.spotify.com/track/') == 61
    assert "(episode)" in page
    assert "Local file" in page
    assert "first 500" not in page


def test_a_playlist_longer_than_500_tracks_says_it_is_cut(client, fake_spotify):
    playlist_id = fake_spotify.add_playlist(name="Everything", track_count=520)

    page = html(client.get(f"/playlist/{playlist_id}/?tracks=all"))

    assert len(re.findall(r'<tr><td class="num">', page)) == 500
    assert "here are the first 500 of 520 tracks" in page


def test_playlist_page_when_spotify_keeps_the_track_list_to_itself(client, fake_spotify):
    playlist_id = fake_spotify.add_playlist(name="Private Mix", tracks_mode="forbidden")

    response = client.get(f"/playlist/{playlist_id}/")

    page = html(response)
    assert response.status_code == 200
    assert "Spotify only shares this playlist’s track list with apps it has approved" in page
    assert f"https://open.spotify.com/embed/playlist/{playlist_id}" in page
    assert "<table" not in page


def test_playlist_page_escapes_what_spotify_says(client, fake_spotify):
    playlist_id = fake_spotify.add_playlist(
        name=SCRIPT_NAME, description="&lt;script&gt;alert(3)&lt;/script&gt;"
    )

    page = html(client.get(f"/playlist/{playlist_id}/"))

    assert "<script>alert" not in page
    assert "<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>" in page
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in page


def test_the_lessons_playlist_url_shows_the_same_page(client, fake_spotify):
    playlist_id = fake_spotify.add_playlist(name="Old Address")

    modern = client.get(f"/playlist/{playlist_id}/")
    legacy = client.get(f"/playlist/spotifyuser/{playlist_id}/")

    assert legacy.status_code == 200
    assert "<h1>Old Address</h1>" in html(legacy)
    canonical = f'<link rel="canonical" href="https://funky.example.com/playlist/{playlist_id}/">'
    assert canonical in html(legacy) and canonical in html(modern)


@pytest.mark.parametrize(
    "playlist_id",
    ["0000000000000000000000", "37i9dQZF1DXdPec7aLTmlC"],  # unknown; editorial (404 since 2024)
)
def test_an_unknown_playlist_is_the_404_page(client, fake_spotify, playlist_id):
    response = client.get(f"/playlist/{playlist_id}/")

    assert response.status_code == 404
    assert "We could not find that page" in html(response)


@pytest.mark.parametrize("path", ["/playlist/not-an-id!/", "/playlist/a/b/c/", "/playlist/..%2f/"])
def test_a_malformed_playlist_id_is_the_404_page_without_asking_spotify(client, fake_spotify, path):
    response = client.get(path)

    assert response.status_code == 404
    assert fake_spotify.calls() == []


# -- caching ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_warm_search_page_asks_spotify_nothing_and_keeps_csrf_tokens_personal(fake_spotify):
    alice, bob = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)

    first = alice.get("/search/", {"q": "happy"})
    calls = len(fake_spotify.calls())
    second = bob.get("/search/", {"q": "happy"})

    assert len(fake_spotify.calls()) == calls
    assert card_ids(first) == card_ids(second)
    token_a, token_b = csrf_input(first).group(1), csrf_input(second).group(1)
    assert token_a != token_b
    assert page_cache.CSRF_TOKEN_PLACEHOLDER not in html(second)
    # Each visitor's form carries the token that matches their own cookie.
    form = {"email": "bob@example.com", "term": "happy"}
    assert bob.post("/subscriptions/", {**form, "csrfmiddlewaretoken": token_a}).status_code == 403
    assert bob.post("/subscriptions/", {**form, "csrfmiddlewaretoken": token_b}).status_code != 403


def test_a_warm_playlist_page_asks_spotify_nothing(client, fake_spotify):
    playlist_id = fake_spotify.add_playlist(name="Warm")
    client.get(f"/playlist/{playlist_id}/")
    calls = len(fake_spotify.calls())

    response = client.get(f"/playlist/{playlist_id}/")

    assert response.status_code == 200
    assert "<h1>Warm</h1>" in html(response)
    assert len(fake_spotify.calls()) == calls


def test_pages_still_render_when_the_cache_is_down(client, fake_spotify):
    closed_port = socket.socket()
    closed_port.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    broken = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port.getsockname()[1]}/0",
        }
    }
    with closed_port, override_settings(CACHES=broken):
        home = client.get("/")
        results = client.get("/search/", {"q": "happy"})

    assert home.status_code == 200
    assert results.status_code == 200
    assert card_ids(results)


def test_flash_messages_reach_only_their_visitor(rf, client, fake_spotify):
    client.get("/")  # the shared copy of the home page now exists
    request = rf.get("/")
    SessionMiddleware(lambda request: None).process_request(request)
    MessageMiddleware(lambda request: None).process_request(request)
    messages.success(request, "Check your inbox to confirm.")

    personal = views.home(request)

    assert "Check your inbox to confirm." in personal.content.decode()
    assert "Check your inbox to confirm." not in html(client.get("/"))


# -- health check and error pages ------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_answers_ok_while_the_database_does(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert response["Cache-Control"] == "no-store"
    assert not response.cookies


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_does_not_answer(client):
    with mock.patch.object(views.connection, "cursor", side_effect=OperationalError("down")):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response["Cache-Control"] == "no-store"


def test_unknown_pages_get_the_site_404_page(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert h1_count(response) == 1
    assert "We could not find that page" in html(response)
    assert '<label for="q">How are you feeling?</label>' in html(response)


def test_the_500_page_renders_with_no_context_at_all(rf):
    assert "Something went wrong on our side" in render_to_string("500.html")

    response = server_error(rf.get("/"))

    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()
    assert 'href="/"' in response.content.decode()
