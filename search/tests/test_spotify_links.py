"""Links and covers come from Spotify's JSON: only Spotify's own survive, the rest are rebuilt.

A web link is kept only when it is https://open.spotify.com/..., an app link only when it is a
`spotify:` URI; otherwise both are built from the validated id. A cover is kept only over https
from Spotify's image hosts (or from our own static files, for the demo catalog); otherwise the
placeholder is shown.
"""

import re

import pytest

from search import spotify

HOSTILE_WEB_URLS = [
    "javascript:alert(1)",
    "JavaScript:alert(1)//https://open.spotify.com/",
    "data:text/html,<script>alert(1)</script>",
    "http://open.spotify.com/playlist/plain",
    "https://open.spotify.com.evil.example/playlist/x",
    "https://open.spotify.com@evil.example/playlist/x",
    "https://open.spotify.com:8443/playlist/x",
    "https://open.spotify.com\\@evil.example/x",
    "https://evil.example/https://open.spotify.com/",
    "//evil.example/open.spotify.com",
    " https://open.spotify.com/playlist/x",
    'https://open.spotify.com/playlist/x" onmouseover="alert(1)',
    "https://open.spotify.com/" + "a" * 600,  # longer than the record of a sent playlist holds
]
HOSTILE_URIS = [
    "javascript:alert(1)",
    "https://evil.example/",
    "spotifyx:playlist:x",
    'spotify:playlist:x" onclick="alert(1)',
    "spotify:playlist:x\njavascript:alert(1)",
    "spotify:",
]
HOSTILE_IMAGE_URLS = [
    "javascript:alert(1)",
    "data:image/svg+xml,<svg onload=alert(1)>",
    "http://i.scdn.co/image/plain-http",
    "https://i.scdn.co.evil.example/image/x",
    "https://evil.example/i.scdn.co/image/x",
    "https://i.scdn.co@evil.example/image/x",
    "https://image-cdn-ak.spotifycdn.com.evil.example/image/x",
    "https://mosaic.scdn.co:8443/640/x",
    "//i.scdn.co/image/protocol-relative",
    "/admin/logout/",
    "/static/../admin/",
]
SPOTIFY_IMAGE_URLS = [
    "https://i.scdn.co/image/ab67616d00001e02ff9ca10b55ce82ae553c8228",
    "https://mosaic.scdn.co/640/ab67616d00001e02",
    "https://image-cdn-ak.spotifycdn.com/image/ab67706c0000da84",
    "https://image-cdn-fa.spotifycdn.com/image/ab67706c0000da84",
]


def html(response):
    return response.content.decode()


def images(url):
    return [{"url": url, "height": 300, "width": 300}]


def pages_of(client, fake_spotify, playlist_id):
    fake_spotify.set_search_results("links", [playlist_id])
    results = client.get("/search/", {"q": "links"})
    playlist = client.get(f"/playlist/{playlist_id}/")
    assert results.status_code == playlist.status_code == 200
    return html(results), html(playlist)


def open_links(page):
    return (
        re.findall(r'<a href="([^"]*)">Open in Spotify</a>', page),
        re.findall(r'<a href="([^"]*)">Open in the app</a>', page),
    )


@pytest.mark.parametrize("url", HOSTILE_WEB_URLS)
def test_a_web_link_that_is_not_spotifys_is_rebuilt_from_the_id(client, fake_spotify, url):
    playlist_id = fake_spotify.add_playlist(
        name="Links", overrides={"external_urls": {"spotify": url}}
    )

    for page in pages_of(client, fake_spotify, playlist_id):
        web, _ = open_links(page)
        assert web == [f"https://open.spotify.com/playlist/{playlist_id}"]
        assert "evil.example" not in page and "alert(1)" not in page
    assert spotify.get_playlist(playlist_id).web_url == spotify.playlist_web_url(playlist_id)


@pytest.mark.parametrize("uri", HOSTILE_URIS)
def test_an_app_link_that_is_not_a_spotify_uri_is_rebuilt_from_the_id(client, fake_spotify, uri):
    playlist_id = fake_spotify.add_playlist(name="Links", overrides={"uri": uri})

    for page in pages_of(client, fake_spotify, playlist_id):
        _, app = open_links(page)
        assert app == [f"spotify:playlist:{playlist_id}"]
        assert "evil.example" not in page and "alert(1)" not in page
    assert spotify.get_playlist(playlist_id).uri == spotify.playlist_app_uri(playlist_id)


def test_spotifys_own_links_are_kept_as_spotify_sent_them(client, fake_spotify):
    web = "https://open.spotify.com/playlist/4rOoJ6Egrf8K2IrywzwOMk?si=a1b2c3"
    uri = "spotify:user:spotify:playlist:4rOoJ6Egrf8K2IrywzwOMk"
    playlist_id = fake_spotify.add_playlist(
        name="Links", overrides={"external_urls": {"spotify": web}, "uri": uri}
    )

    for page in pages_of(client, fake_spotify, playlist_id):
        assert open_links(page) == ([web.replace("&", "&amp;")], [uri])


@pytest.mark.parametrize("url", HOSTILE_WEB_URLS + HOSTILE_URIS)
def test_a_track_link_that_is_not_spotifys_is_rebuilt_or_dropped(client, fake_spotify, url):
    playlist_id = fake_spotify.add_playlist(
        name="Tracks",
        track_count=2,
        track_overrides={"external_urls": {"spotify": url}, "uri": url},
    )

    _, page = pages_of(client, fake_spotify, playlist_id)

    links = re.findall(r'<a href="([^"]*)">Open<span', page)
    assert len(links) == 2
    assert all(
        re.fullmatch(r"https://open\.spotify\.com/track/[A-Za-z0-9]+", link) for link in links
    )
    assert "evil.example" not in page and "alert(1)" not in page
    tracks = spotify.get_playlist_tracks(playlist_id).tracks
    assert all(re.fullmatch(r"spotify:track:[A-Za-z0-9]+", track.uri) for track in tracks)


def test_a_track_without_a_usable_link_or_id_has_no_link(client, fake_spotify):
    playlist_id = fake_spotify.add_playlist(
        name="Tracks",
        track_count=1,
        track_overrides={"external_urls": {"spotify": "javascript:alert(1)"}, "id": "../x"},
    )

    _, page = pages_of(client, fake_spotify, playlist_id)

    assert 'class="num">1</td>' in page
    assert "Open<span" not in page and "alert(1)" not in page


@pytest.mark.parametrize("url", HOSTILE_IMAGE_URLS)
def test_a_cover_that_is_not_from_spotifys_image_hosts_is_the_placeholder(
    client, fake_spotify, url
):
    playlist_id = fake_spotify.add_playlist(name="Cover", overrides={"images": images(url)})

    for page in pages_of(client, fake_spotify, playlist_id):
        assert '<img class="cover"' not in page
        assert 'aria-label="No cover art for “Cover”"' in page
    assert spotify.get_playlist(playlist_id).image_url is None


@pytest.mark.parametrize("url", SPOTIFY_IMAGE_URLS)
def test_a_cover_from_spotifys_image_hosts_is_shown(client, fake_spotify, url):
    playlist_id = fake_spotify.add_playlist(name="Cover", overrides={"images": images(url)})

    for page in pages_of(client, fake_spotify, playlist_id):
        assert f'<img class="cover" src="{url}"' in page


def test_link_builders_refuse_what_is_not_a_spotify_id():
    assert spotify.playlist_web_url("37i9dQZF1DXcBWIGoYBM5M") == (
        "https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M"
    )
    assert (
        spotify.playlist_app_uri("37i9dQZF1DXcBWIGoYBM5M")
        == "spotify:playlist:37i9dQZF1DXcBWIGoYBM5M"
    )
    for bad in ("", "../x", "a b", "x" * 65, None):
        with pytest.raises(ValueError):
            spotify.playlist_web_url(bad)
        with pytest.raises(ValueError):
            spotify.playlist_app_uri(bad)
