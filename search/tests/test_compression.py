"""HTML goes out gzip-compressed to browsers that accept it, and the same page either way."""

import gzip
import re

import pytest

GZIP = {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}
CSRF_VALUE = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+')


def without_csrf_token(page):
    # Django masks the token afresh for every response, so two copies of a page differ there.
    return CSRF_VALUE.sub(r"\1…", page)


@pytest.fixture
def pages(fake_spotify):
    playlist_id = fake_spotify.add_playlist(name="Long Drive", track_count=120)
    fake_spotify.set_search_results("happy", [playlist_id])
    return {
        "home": "/",
        "results": "/search/?q=happy",
        "playlist": f"/playlist/{playlist_id}/",
    }


@pytest.mark.parametrize("page", ["home", "results", "playlist"])
def test_pages_are_compressed_for_browsers_that_accept_gzip(client, pages, page):
    plain = client.get(pages[page])
    compressed = client.get(pages[page], **GZIP)

    assert compressed.status_code == 200
    assert compressed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in compressed["Vary"]
    assert len(compressed.content) < len(plain.content) / 2
    assert without_csrf_token(gzip.decompress(compressed.content).decode()) == without_csrf_token(
        plain.content.decode()
    )


@pytest.mark.parametrize("page", ["home", "results", "playlist"])
def test_pages_are_plain_for_clients_that_do_not_ask_for_gzip(client, pages, page):
    response = client.get(pages[page])

    assert response.status_code == 200
    assert not response.has_header("Content-Encoding")
    assert "<!doctype html>" in response.content.decode()


def test_the_more_playlists_fragment_stays_public_when_compressed(client, pages):
    response = client.get("/search/?q=happy&page=1&fragment=1", **GZIP)

    assert response["Content-Encoding"] == "gzip"
    assert "public" in response["Cache-Control"]
    assert "Accept-Encoding" in response["Vary"]  # a shared cache keeps the two apart
    assert 'class="results"' in gzip.decompress(response.content).decode()


def test_a_compressed_page_still_carries_a_working_csrf_token(client, pages):
    page = gzip.decompress(client.get("/", **GZIP).content).decode()

    assert CSRF_VALUE.search(page)
    assert client.cookies["csrftoken"].value
