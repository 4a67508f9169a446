"""The loopback fake keeps the real API's rules, so tests built on it mean something."""

import pytest
import requests


@pytest.fixture
def api(fake_spotify):
    token = fake_spotify.issue_token()

    def get(path, **params):
        return requests.get(
            f"{fake_spotify.api_url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )

    return get


def test_search_limit_over_ten_is_refused(api):
    response = api("/search", q="happy", type="playlist", limit=11)

    assert response.status_code == 400
    assert response.json() == {"error": {"status": 400, "message": "Invalid limit"}}


def test_calls_without_a_valid_token_are_refused(fake_spotify):
    for headers in ({}, {"Authorization": "Bearer made-up"}):
        response = requests.get(
            f"{fake_spotify.api_url}/search",
            params={"q": "x", "type": "playlist"},
            headers=headers,
            timeout=5,
        )
        assert response.status_code == 401


def test_track_page_limits_match_the_real_endpoints(api, fake_spotify):
    playlist_id = fake_spotify.add_playlist()

    assert api(f"/playlists/{playlist_id}/items", limit=51).status_code == 400
    assert api(f"/playlists/{playlist_id}/items", limit=50).status_code == 200
    assert api(f"/playlists/{playlist_id}/tracks", limit=101).status_code == 400
    assert api(f"/playlists/{playlist_id}/tracks", limit=100).status_code == 200


def test_editorial_playlists_are_not_found(api):
    assert api("/playlists/37i9dQZF1DXcBWIGoYBM5M").status_code == 404


def test_generated_results_are_stable_per_query_and_distinct_between_queries(api):
    def ids(query):
        items = api("/search", q=query, type="playlist", limit=10).json()["playlists"]["items"]
        return [item and item["id"] for item in items]

    happy = ids("happy")

    assert ids("happy") == happy
    assert None in happy  # the real capture's null items
    assert not set(filter(None, happy)) & set(filter(None, ids("sad")))


def test_generated_playlists_have_the_track_list_their_count_promises(api):
    search = api("/search", q="happy", type="playlist", limit=1).json()["playlists"]
    [item] = search["items"]

    page = api(f"/playlists/{item['id']}/items", limit=50, offset=0).json()

    assert search["total"] == 50
    assert page["total"] == item["items"]["total"] == item["tracks"]["total"]
    assert len(page["items"]) == 50


def test_an_endless_track_list_serves_one_entry_a_page_and_always_a_next(api, fake_spotify):
    playlist_id = fake_spotify.add_playlist(name="Loop", track_count=3, tracks_mode="endless")

    pages = [api(f"/playlists/{playlist_id}/items", limit=50, offset=n).json() for n in (0, 999)]

    for offset, page in zip((0, 999), pages, strict=True):
        assert len(page["items"]) == 1
        assert page["next"].endswith(
            f"/v1/playlists/{playlist_id}/items?offset={offset + 1}&limit=50"
        )
    assert pages[0]["items"][0]["track"]["name"] == pages[1]["items"][0]["track"]["name"]


def test_a_hook_sees_each_request_before_it_is_answered(api, fake_spotify):
    seen = []
    fake_spotify.serve_with(lambda call: seen.append((call.route, call.params.get("q"))))

    assert api("/search", q="rain", type="playlist").status_code == 200

    assert seen == [("search", "rain")]
    fake_spotify.reset()
    api("/search", q="sun", type="playlist")
    assert len(seen) == 1  # reset() removes the hook
