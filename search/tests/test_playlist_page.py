"""A playlist page paints quickly: its first 100 tracks at once, the rest one link away."""

import re

import pytest


def rows(response):
    return [
        int(n) for n in re.findall(r'<tr><td class="num">(\d+)</td>', response.content.decode())
    ]


def cover_tags(response):
    return re.findall(r'<img class="cover"[^>]*>', response.content.decode())


def test_a_long_playlist_lists_its_first_100_tracks_and_links_to_the_rest(client, fake_spotify):
    playlist_id = fake_spotify.add_playlist(name="Long Drive", track_count=150)

    response = client.get(f"/playlist/{playlist_id}/")

    assert rows(response) == list(range(1, 101))
    page = response.content.decode()
    assert "<li>150 tracks</li>" in page
    assert (
        f'<a class="button" href="/playlist/{playlist_id}/?tracks=all#more-tracks">'
        "Show all 150 tracks</a>"
    ) in page


def test_the_link_shows_every_track_from_where_the_first_100_end(client, fake_spotify):
    playlist_id = fake_spotify.add_playlist(name="Long Drive", track_count=150)

    response = client.get(f"/playlist/{playlist_id}/?tracks=all")

    assert response.status_code == 200
    assert rows(response) == list(range(1, 151))
    page = response.content.decode()
    assert re.search(r'<tbody id="more-tracks">\s*<tr><td class="num">101</td>', page)
    assert "Show all" not in page
    # One page for search engines whichever way it is shown.
    assert (
        f'<link rel="canonical" href="https://funky.example.com/playlist/{playlist_id}/">' in page
    )


def test_a_short_playlist_has_no_link(client, fake_spotify):
    playlist_id = fake_spotify.add_playlist(name="Short", track_count=100)

    response = client.get(f"/playlist/{playlist_id}/")

    assert rows(response) == list(range(1, 101))
    assert "Show all" not in response.content.decode()
    assert 'id="more-tracks"' not in response.content.decode()


def test_a_playlist_past_500_tracks_offers_the_first_500(client, fake_spotify):
    playlist_id = fake_spotify.add_playlist(name="Everything", track_count=520)

    first = client.get(f"/playlist/{playlist_id}/")
    every = client.get(f"/playlist/{playlist_id}/?tracks=all")

    assert len(rows(first)) == 100
    assert "Show the first 500 tracks</a>" in first.content.decode()
    assert len(rows(every)) == 500
    assert "here are the first 500 of 520 tracks" in every.content.decode()


@pytest.mark.parametrize("value", ["", "ALL", "1", "all; drop", "<script>"])
def test_any_other_tracks_value_is_the_usual_page(client, fake_spotify, value):
    playlist_id = fake_spotify.add_playlist(name="Long Drive", track_count=150)

    response = client.get(f"/playlist/{playlist_id}/", {"tracks": value})

    assert response.status_code == 200
    assert len(rows(response)) == 100


def test_both_ways_of_showing_a_playlist_are_cached_apart(client, fake_spotify):
    playlist_id = fake_spotify.add_playlist(name="Long Drive", track_count=150)
    for _ in range(2):  # a page is kept once it has been asked for twice
        client.get(f"/playlist/{playlist_id}/")
        client.get(f"/playlist/{playlist_id}/?tracks=all")
    calls = len(fake_spotify.calls())

    assert len(rows(client.get(f"/playlist/{playlist_id}/"))) == 100
    assert len(rows(client.get(f"/playlist/{playlist_id}/?tracks=all"))) == 150
    assert len(fake_spotify.calls()) == calls


def test_the_playlist_cover_is_fetched_first_not_lazily(client, fake_spotify):
    playlist_id = fake_spotify.add_playlist(name="Long Drive", track_count=5)

    (cover,) = cover_tags(client.get(f"/playlist/{playlist_id}/"))

    assert 'fetchpriority="high"' in cover
    assert "lazy" not in cover


def test_only_the_first_result_cover_is_fetched_first(client, fake_spotify):
    covers = cover_tags(client.get("/search/?q=sunny"))
    more = cover_tags(client.get("/search/?q=sunny&page=2&fragment=1"))

    assert len(covers) > 1
    assert 'fetchpriority="high"' in covers[0] and "lazy" not in covers[0]
    assert all('loading="lazy"' in tag and "fetchpriority" not in tag for tag in covers[1:])
    assert more and all('loading="lazy"' in tag for tag in more)
