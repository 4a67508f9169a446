"""Odd but valid Spotify answers: each still gives working pages, never an error for everyone.

Every body here is allowed by Spotify's OpenAPI description (fixed-spotify-open-api.yml): its
strings may hold any JSON string (a lone surrogate escape included), its integers have no maximum,
its objects take extra properties of any depth, and a paging object's `items` may be empty while
`next` is set.
"""

import re

import pytest

from search import spotify
from tests.fakes.spotify import RawJSON

LONE_SURROGATE = "\ud83d"  # the first half of an emoji, without its second half
REPLACEMENT = "\ufffd"
HUGE = 10**400  # an integer far beyond a float's range
# A tag that never closes, long enough for Django's strip_tags to give up (SuspiciousOperation).
UNCLOSED_TAG = "Best of the 90s <i" + " <3" * 400


def html(response):
    return response.content.decode()


def search_and_open(client, fake_spotify, playlist_id, term):
    """The results page for `term` (showing `playlist_id`) twice, then the playlist page twice:
    the second of each is what the next visitor gets, from the cache."""
    fake_spotify.set_search_results(term, [playlist_id])
    responses = [client.get("/search/", {"q": term}) for _ in range(2)]
    responses += [client.get(f"/playlist/{playlist_id}/") for _ in range(2)]
    for response in responses:
        assert response.status_code == 200, response.content[:500]
    return [html(response) for response in responses]


def test_a_lone_surrogate_is_replaced_wherever_spotify_puts_text(client, fake_spotify):
    playlist_id = fake_spotify.add_playlist(
        name=f"Smile {LONE_SURROGATE} now",
        description=f"happy {LONE_SURROGATE}",
        owner_name=f"Ann{LONE_SURROGATE}",
        track_overrides={"name": f"Track {LONE_SURROGATE}", "artists": [{"name": LONE_SURROGATE}]},
    )

    results, cached_results, page, cached_page = search_and_open(
        client, fake_spotify, playlist_id, "surrogate"
    )

    for text in (results, cached_results):
        assert f"Smile {REPLACEMENT} now" in text
        assert f"by Ann{REPLACEMENT}" in text
    for text in (page, cached_page):
        assert f"<h1>Smile {REPLACEMENT} now</h1>" in text
        assert f"Track {REPLACEMENT}" in text


@pytest.mark.parametrize(
    "number",
    [pytest.param(HUGE, id="huge-int"), pytest.param(RawJSON("1e400"), id="1e400")],
)
def test_counts_and_durations_beyond_float_range_are_shown_as_unknown(client, fake_spotify, number):
    playlist_id = fake_spotify.add_playlist(
        name="Endless",
        track_count=3,
        overrides={
            "followers": {"href": None, "total": number},
            "items": {"href": "x", "total": number},
        },
        track_overrides={"duration_ms": number},
    )
    fake_spotify.set_search_results("endless", [playlist_id])

    results, _, page, _ = search_and_open(client, fake_spotify, playlist_id, "endless")

    assert re.search(r"by Fake Owner</p>", results)  # no track count made up
    assert "follower" not in page
    assert len(re.findall(r'<td class="num"></td>', page)) == 3  # no duration to show
    assert "3 tracks" in page  # the track list's own count stands


def test_json_nested_deeper_than_python_can_recurse_is_cut_off(client, fake_spotify):
    playlist_id = fake_spotify.add_playlist(
        name="Deep Cuts",
        overrides={"x-extra": RawJSON.nested(1_500)},
        track_overrides={"x-extra": RawJSON.nested(1_500)},
        track_count=4,
    )

    results, _, page, _ = search_and_open(client, fake_spotify, playlist_id, "deep")

    assert "Deep Cuts" in results
    assert len(re.findall(r'<tr><td class="num">', page)) == 4


def test_a_description_with_a_long_unclosed_tag_still_shows(client, fake_spotify):
    playlist_id = fake_spotify.add_playlist(name="Nineties", description=UNCLOSED_TAG)

    results, _, page, _ = search_and_open(client, fake_spotify, playlist_id, "nineties")

    for text in (results, page):
        assert "Best of the 90s" in text
        assert "<i <3" not in text


def test_empty_pages_that_keep_pointing_on_end_the_track_list_and_say_so(client, fake_spotify):
    playlist_id = fake_spotify.add_playlist(
        name="Stutter", track_count=120, tracks_mode="empty_pages"
    )

    tracks = spotify.get_playlist_tracks(playlist_id)

    assert len(tracks.tracks) == 50
    assert tracks.cut_short
    assert len(fake_spotify.calls("items")) == 2  # the first page, then one empty one

    page = html(client.get(f"/playlist/{playlist_id}/"))
    assert len(re.findall(r'<tr><td class="num">', page)) == 50
    assert "Spotify stopped sending this track list early" in page
    assert "first 50 of 120 tracks" in page


def test_a_track_list_spotify_sends_none_of_says_so_rather_than_empty(client, fake_spotify):
    playlist_id = fake_spotify.add_playlist(name="Silent", track_count=0, tracks_mode="empty_pages")

    page = html(client.get(f"/playlist/{playlist_id}/"))

    assert "Spotify stopped sending this track list early" in page
    assert "This playlist has no tracks yet." not in page
    assert "<table" not in page
