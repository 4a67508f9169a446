"""Playlist items paging that does not end as it should (issue 21, item 16): the track list says
it is not all there, and no more than MAX_TRACK_PAGES pages are asked for.

Both answers are valid Spotify paging objects (fixed-spotify-open-api.yml, PagingObject: `limit`
is only the most items a page holds, `next` is null only "if none"); the fuzzer of issue 21 found
them among bodies generated from the spec.
"""

import re

from search import spotify


def html(response):
    return response.content.decode()


def test_a_next_that_never_ends_stops_at_max_track_pages_requests_and_says_so(client, fake_spotify):
    playlist_id = fake_spotify.add_playlist(name="Loop", track_count=7, tracks_mode="endless")

    tracks = spotify.get_playlist_tracks(playlist_id)

    assert len(fake_spotify.calls("items")) == spotify.MAX_TRACK_PAGES
    assert len(tracks.tracks) == spotify.MAX_TRACK_PAGES  # one entry a page
    assert tracks.truncated
    assert tracks.cut_short  # Spotify's paging, not our MAX_TRACKS, ended it


def test_the_page_of_an_endless_list_says_it_is_not_all_there(client, fake_spotify):
    playlist_id = fake_spotify.add_playlist(name="Loop", track_count=7, tracks_mode="endless")

    page = html(client.get(f"/playlist/{playlist_id}/", {"tracks": "all"}))

    assert len(fake_spotify.calls("items")) == spotify.MAX_TRACK_PAGES
    assert len(re.findall(r'<tr><td class="num">', page)) == spotify.MAX_TRACK_PAGES
    assert "Spotify stopped sending this track list early: here are the first 50" in page


def test_an_empty_page_that_points_on_ends_the_list_as_truncated(client, fake_spotify):
    playlist_id = fake_spotify.add_playlist(
        name="Stutter", track_count=120, tracks_mode="empty_pages"
    )

    tracks = spotify.get_playlist_tracks(playlist_id)

    assert len(tracks.tracks) == 50
    assert tracks.truncated
    assert tracks.cut_short
    assert len(fake_spotify.calls("items")) == 2  # the first page, then one empty one
    page = html(client.get(f"/playlist/{playlist_id}/"))
    assert "Spotify stopped sending this track list early: here are the first 50 of 120" in page


def test_a_whole_list_is_not_truncated(fake_spotify):
    playlist_id = fake_spotify.add_playlist(name="Whole", track_count=120)

    tracks = spotify.get_playlist_tracks(playlist_id)

    assert len(tracks.tracks) == 120
    assert not tracks.truncated
    assert not tracks.cut_short
    assert len(fake_spotify.calls("items")) == 3


def test_a_list_longer_than_max_tracks_is_truncated_by_us(fake_spotify):
    playlist_id = fake_spotify.add_playlist(name="Long", track_count=spotify.MAX_TRACKS + 60)

    tracks = spotify.get_playlist_tracks(playlist_id)

    assert len(tracks.tracks) == spotify.MAX_TRACKS
    assert tracks.truncated
    assert not tracks.cut_short
