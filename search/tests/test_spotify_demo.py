"""The offline demo catalog: served through the real client, only in development."""

import socket

import pytest

from search import spotify
from search.spotify import demo as spotify_demo


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the demo catalog must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_demo_catalog_is_never_used_with_debug_off(settings):
    settings.DEBUG = False
    settings.SPOTIFY_DEMO_CATALOG = True
    settings.SPOTIFY_CLIENT_ID = settings.SPOTIFY_CLIENT_SECRET = settings.SPOTIFY_TOKEN = ""

    assert spotify.is_demo_catalog() is False
    with pytest.raises(spotify.SpotifyNotConfigured):
        spotify.search_playlists("happy")


def test_every_demo_playlist_parses_with_its_tracks(demo, no_network, settings):
    catalog = spotify_demo.load_catalog()
    assert len(catalog) == 12

    for body in catalog:
        playlist = spotify.get_playlist(body["id"])
        tracks = spotify.get_playlist_tracks(body["id"])

        assert playlist.name == body["name"]
        assert playlist.owner_name == "funky-music demo"
        assert playlist.track_count == body["items"]["total"] == len(body["items"]["items"])
        assert playlist.image_url is None or playlist.image_url.startswith(settings.STATIC_URL)
        assert tracks.tracks
        assert all(track.name for track in tracks.tracks)
        assert tracks.truncated is False


def test_demo_covers_exist_as_static_files(demo):
    from django.contrib.staticfiles import finders

    covers = [image["url"] for body in spotify_demo.load_catalog() for image in body["images"]]
    assert covers
    for cover in covers:
        assert finders.find(cover.removeprefix(spotify_demo.STATIC_PREFIX)), cover


def test_demo_shows_real_world_oddities(demo, no_network):
    by_name = {body["name"]: body["id"] for body in spotify_demo.load_catalog()}

    coffee = spotify.get_playlist_tracks(by_name["Morning Coffee"]).tracks
    funk = spotify.get_playlist_tracks(by_name["Funky Grooves"]).tracks
    eighties = spotify.get_playlist_tracks(by_name["80s Nostalgia"])

    assert coffee[-1].kind == "episode"
    assert funk[-1].is_local and funk[-1].web_url is None
    assert len(eighties.tracks) == eighties.total - 1  # the null entry is skipped
    assert spotify.get_playlist(by_name["Sleepy Time"]).image_url is None


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("happy", "Happy Hits"),
        ("I'm feeling so relaxed", "Chill Evening"),
        ("FUNKY", "Funky Grooves"),
        ("sad and rainy", "Rainy Day Blues"),
        ("study", "Deep Focus"),
    ],
)
def test_demo_search_matches_words_in_names_and_descriptions(demo, no_network, query, first):
    page = spotify.search_playlists(query)

    assert page.items[0].name == first
    assert page.total == len(page.items) < 12


def test_demo_search_without_a_match_shows_the_whole_catalog(demo, no_network):
    first = spotify.search_playlists("zzz qqq")
    second = spotify.search_playlists("zzz qqq", page=2)

    assert (len(first.items), first.total, first.has_next) == (10, 12, True)
    assert (len(second.items), second.has_next) == (2, False)
    assert {p.id for p in first.items + second.items} == {
        body["id"] for body in spotify_demo.load_catalog()
    }


def test_demo_unknown_playlist_is_not_found(demo, no_network):
    with pytest.raises(spotify.SpotifyNotFound):
        spotify.get_playlist("0000000000000000000000")
