"""The Spotify client against the loopback fake: tokens, retries, timeouts and parsing."""

import base64
import socket
import threading
import time

import pytest

from search import spotify
from search.spotify import SpotifyClient


def new_client(fake, **overrides):
    options = {
        "api_url": fake.api_url,
        "token_url": fake.token_url,
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "timeout": (1.0, 1.0),
        "deadline": 4.0,
        "backoff": 0.01,
    }
    return SpotifyClient(**(options | overrides))


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- token -------------------------------------------------------------------------------------


def test_token_is_fetched_with_client_credentials_and_reused(fake_spotify):
    client = spotify.get_client()
    client.search_playlists("happy")
    client.search_playlists("sad")

    [token_call] = fake_spotify.calls("token")
    expected = base64.b64encode(b"fake-client-id:fake-client-secret").decode()
    assert token_call.headers["Authorization"] == f"Basic {expected}"
    assert token_call.form == {"grant_type": "client_credentials"}
    bearers = {call.headers["Authorization"] for call in fake_spotify.calls("search")}
    assert bearers == {"Bearer fake-token-1"}


def test_expired_token_is_replaced_once_and_the_call_retried(fake_spotify):
    client = spotify.get_client()
    client.search_playlists("happy")
    fake_spotify.expire_tokens()

    page = client.search_playlists("happy")

    assert page.items
    assert len(fake_spotify.calls("token")) == 2
    assert [c.headers["Authorization"] for c in fake_spotify.calls("search")] == [
        "Bearer fake-token-1",
        "Bearer fake-token-1",
        "Bearer fake-token-2",
    ]


def test_a_token_rejected_twice_is_not_retried_again(fake_spotify):
    fake_spotify.fail_next("search", status=401, times=5)

    with pytest.raises(spotify.SpotifyUnavailable):
        spotify.get_client().search_playlists("happy")

    assert len(fake_spotify.calls("token")) == 2
    assert len(fake_spotify.calls("search")) == 2


def test_token_is_renewed_shortly_before_it_expires(fake_spotify):
    fake_spotify.token_lifetime = 1  # the client renews it after 0.9 s
    client = spotify.get_client()
    client.search_playlists("happy")
    client.search_playlists("happy")
    assert len(fake_spotify.calls("token")) == 1

    time.sleep(0.95)
    client.search_playlists("happy")

    assert len(fake_spotify.calls("token")) == 2
    assert len(fake_spotify.calls("search")) == 3  # no 401 round trip: renewed ahead of time


def test_threads_share_one_token(fake_spotify):
    fake_spotify.latency = 0.05
    client = spotify.get_client()
    errors = []

    def search(term):
        try:
            client.search_playlists(term)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=search, args=(f"term {n}",)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(fake_spotify.calls("search")) == 16
    assert len(fake_spotify.calls("token")) == 1


def test_processes_share_the_token_through_the_cache(fake_spotify):
    new_client(fake_spotify).search_playlists("happy")
    new_client(fake_spotify).search_playlists("happy")  # another worker: empty memory, same cache

    assert len(fake_spotify.calls("token")) == 1


def test_rejected_credentials_are_a_configuration_error(fake_spotify):
    client = new_client(fake_spotify, client_secret="wrong")

    with pytest.raises(spotify.SpotifyNotConfigured, match="SPOTIFY_CLIENT_SECRET"):
        client.search_playlists("happy")
    assert fake_spotify.calls("search") == []


def test_raw_token_is_used_when_client_credentials_are_absent(fake_spotify, settings):
    settings.SPOTIFY_CLIENT_ID = settings.SPOTIFY_CLIENT_SECRET = ""
    settings.SPOTIFY_TOKEN = fake_spotify.issue_token()

    spotify.search_playlists("happy")

    assert fake_spotify.calls("token") == []
    [call] = fake_spotify.calls("search")
    assert call.headers["Authorization"] == f"Bearer {settings.SPOTIFY_TOKEN}"


def test_an_expired_raw_token_says_to_configure_client_credentials(fake_spotify, settings):
    settings.SPOTIFY_CLIENT_ID = settings.SPOTIFY_CLIENT_SECRET = ""
    settings.SPOTIFY_TOKEN = "expired-token"

    with pytest.raises(spotify.SpotifyNotConfigured, match="SPOTIFY_CLIENT_ID"):
        spotify.search_playlists("happy")


def test_no_credentials_at_all_is_not_configured(fake_spotify, settings):
    settings.SPOTIFY_CLIENT_ID = settings.SPOTIFY_CLIENT_SECRET = settings.SPOTIFY_TOKEN = ""

    with pytest.raises(spotify.SpotifyNotConfigured):
        spotify.search_playlists("happy")
    assert fake_spotify.calls() == []


def test_changed_settings_give_a_new_client(fake_spotify, settings):
    first = spotify.get_client()
    assert spotify.get_client() is first

    settings.SPOTIFY_MARKET = "SE"

    assert spotify.get_client() is not first
    assert spotify.get_client().market == "SE"


# -- retries, timeouts, rate limits ------------------------------------------------------------


def test_server_errors_are_retried_until_success(fake_spotify):
    fake_spotify.fail_next("search", status=503, times=2)

    page = spotify.get_client().search_playlists("happy")

    assert page.items
    assert len(fake_spotify.calls("search")) == 3


def test_server_errors_give_up_after_a_bounded_number_of_attempts(fake_spotify):
    fake_spotify.fail_next("search", status=500, times=10)

    with pytest.raises(spotify.SpotifyUnavailable, match="3 attempt"):
        spotify.get_client().search_playlists("happy")
    assert len(fake_spotify.calls("search")) == 3


def test_token_endpoint_errors_are_retried_too(fake_spotify):
    fake_spotify.fail_next("token", status=502)

    assert spotify.get_client().search_playlists("happy").items
    assert len(fake_spotify.calls("token")) == 2


def test_refused_connection_is_unavailable():
    url = f"http://127.0.0.1:{closed_port()}"
    client = SpotifyClient(
        api_url=f"{url}/v1",
        token_url=f"{url}/api/token",
        client_id="id",
        client_secret="secret",
        backoff=0.01,
    )

    with pytest.raises(spotify.SpotifyUnavailable, match="ConnectionError"):
        client.search_playlists("happy")


def test_a_slow_answer_times_out_and_is_retried(fake_spotify):
    client = new_client(fake_spotify, timeout=(1.0, 0.3))
    fake_spotify.hang_next("search", seconds=1.0)

    assert client.search_playlists("happy").items
    assert len(fake_spotify.calls("search")) == 2


def test_a_hanging_spotify_cannot_hold_a_call_past_its_deadline(fake_spotify):
    client = new_client(fake_spotify, timeout=(1.0, 0.4), deadline=1.0, attempts=10)
    fake_spotify.hang_next("*", seconds=3.0, times=20)

    started = time.monotonic()
    with pytest.raises(spotify.SpotifyUnavailable):
        client.search_playlists("happy")
    assert time.monotonic() - started < 1.5


def test_the_deadline_covers_every_page_of_a_track_list(fake_spotify):
    playlist_id = fake_spotify.add_playlist(track_count=500)
    client = new_client(fake_spotify, deadline=1.0)
    client.get_playlist(playlist_id)  # token fetched outside the measured call
    fake_spotify.latency = 0.3  # 10 pages would take 3 s

    started = time.monotonic()
    with pytest.raises(spotify.SpotifyUnavailable):
        client.get_playlist_tracks(playlist_id)
    assert time.monotonic() - started < 1.5


def test_short_retry_after_is_waited_out(fake_spotify):
    fake_spotify.fail_next("search", status=429, headers={"Retry-After": "1"})

    started = time.monotonic()
    page = spotify.get_client().search_playlists("happy")

    assert page.items
    assert time.monotonic() - started >= 1.0
    assert len(fake_spotify.calls("search")) == 2


def test_long_retry_after_fails_at_once(fake_spotify):
    fake_spotify.fail_next("search", status=429, headers={"Retry-After": "3600"})

    started = time.monotonic()
    with pytest.raises(spotify.SpotifyRateLimited) as caught:
        spotify.get_client().search_playlists("happy")

    assert caught.value.retry_after == 3600
    assert isinstance(caught.value, spotify.SpotifyUnavailable)
    assert time.monotonic() - started < 0.5
    assert len(fake_spotify.calls("search")) == 1


@pytest.mark.parametrize(
    "body",
    ['{"playlists": {"items": [', "[]", {"playlists": None}, {"playlists": {"items": "x"}}],
    ids=["truncated JSON", "a list", "null playlists", "items not a list"],
)
def test_malformed_answers_are_unavailable(fake_spotify, body):
    fake_spotify.fail_next("search", status=200, body=body)

    with pytest.raises(spotify.SpotifyUnavailable):
        spotify.get_client().search_playlists("happy")


def test_a_rejected_request_is_unavailable_not_a_crash(fake_spotify):
    fake_spotify.fail_next("search", status=400, body={"error": {"status": 400, "message": "Bad"}})

    with pytest.raises(spotify.SpotifyUnavailable, match="400"):
        spotify.get_client().search_playlists("happy")


# -- search ------------------------------------------------------------------------------------


def test_search_asks_for_ten_playlists_and_skips_null_items(fake_spotify):
    page = spotify.search_playlists("Happy  Days")

    [call] = fake_spotify.calls("search")
    assert call.params == {"q": "happy days", "type": "playlist", "limit": "10", "offset": "0"}
    # The first page of the real capture holds two nulls among ten items.
    assert len(page.items) == 8
    assert (page.query, page.page, page.offset, page.limit) == ("happy days", 1, 0, 10)
    assert page.total == 50
    assert page.has_next is True


def test_later_pages_use_the_offset_and_the_last_has_no_next(fake_spotify):
    second = spotify.search_playlists("happy", page=2)
    last = spotify.search_playlists("happy", page=5)

    assert [c.params["offset"] for c in fake_spotify.calls("search")] == ["10", "40"]
    assert (second.page, second.offset, second.has_next) == (2, 10, True)
    assert (last.page, last.offset, last.has_next) == (5, 40, False)


def test_search_sends_the_market_only_when_set(fake_spotify, settings):
    spotify.search_playlists("happy")
    settings.SPOTIFY_MARKET = "DE"
    spotify.search_playlists("happy")

    first, second = fake_spotify.calls("search")
    assert "market" not in first.params
    assert second.params["market"] == "DE"


def test_empty_query_asks_spotify_nothing(fake_spotify):
    page = spotify.search_playlists("   ")

    assert page.items == ()
    assert page.has_next is False
    assert fake_spotify.calls() == []


def test_search_result_fields(fake_spotify):
    playlist_id = fake_spotify.add_playlist(
        name="<script>alert(1)</script>",
        description='Best <a href="spotify:playlist:x">R&amp;B</a> &amp; soul &lt;3',
        owner_name="DJ Test",
        owner_id="djtest",
        track_count=42,
    )
    fake_spotify.set_search_results("soul", [None, playlist_id])

    [playlist] = spotify.search_playlists("soul").items

    assert playlist.id == playlist_id
    assert playlist.name == "<script>alert(1)</script>"  # text; templates escape it
    assert playlist.description == "Best R&B & soul <3"
    assert (playlist.owner_name, playlist.owner_id) == ("DJ Test", "djtest")
    assert playlist.web_url == f"https://open.spotify.com/playlist/{playlist_id}"
    assert playlist.uri == f"spotify:playlist:{playlist_id}"
    assert playlist.embed_url == f"https://open.spotify.com/embed/playlist/{playlist_id}"
    assert playlist.image_url.endswith(f"/images/{playlist_id}-300.svg")  # not 640, not 60
    assert playlist.track_count == 42


def test_playlist_without_images_has_no_image_url(fake_spotify):
    playlist_id = fake_spotify.add_playlist(images=False)
    fake_spotify.set_search_results("bare", [playlist_id])

    [playlist] = spotify.search_playlists("bare").items

    assert playlist.image_url is None


@pytest.mark.parametrize(
    ("count_in", "expected"), [("items", 42), ("tracks", 42), ("both", 42), (None, None)]
)
def test_track_count_comes_from_items_or_tracks_or_is_unknown(fake_spotify, count_in, expected):
    playlist_id = fake_spotify.add_playlist(track_count=42, count_in=count_in)
    fake_spotify.set_search_results("count", [playlist_id])

    [playlist] = spotify.search_playlists("count").items

    assert playlist.track_count == expected


def test_missing_owner_name_falls_back_to_the_owner_id(fake_spotify):
    playlist_id = fake_spotify.add_playlist(owner_name="", owner_id="someone")
    fake_spotify.set_search_results("owner", [playlist_id])

    [playlist] = spotify.search_playlists("owner").items

    assert playlist.owner_name == "someone"


# -- one playlist ------------------------------------------------------------------------------


def test_get_playlist_reads_metadata_and_followers(fake_spotify):
    playlist_id = fake_spotify.add_playlist(name="Sunday", track_count=12, followers=345)

    playlist = spotify.get_playlist(playlist_id)

    assert (playlist.id, playlist.name, playlist.track_count) == (playlist_id, "Sunday", 12)
    assert playlist.followers == 345
    [call] = fake_spotify.calls("playlist")
    assert call.path == f"/v1/playlists/{playlist_id}"


@pytest.mark.parametrize("playlist_id", ["0000000000000000000000", "37i9dQZF1DXcBWIGoYBM5M"])
def test_unknown_and_editorial_playlists_are_not_found(fake_spotify, playlist_id):
    with pytest.raises(spotify.SpotifyNotFound):
        spotify.get_playlist(playlist_id)


@pytest.mark.parametrize("value", ["../../me", "", "a" * 65, "abc def", "abc%2F"])
def test_invalid_ids_never_reach_spotify(fake_spotify, value):
    assert not spotify.is_valid_playlist_id(value)
    with pytest.raises(spotify.SpotifyNotFound):
        spotify.get_playlist(value)
    with pytest.raises(spotify.SpotifyNotFound):
        spotify.get_playlist_tracks(value)
    assert fake_spotify.calls() == []


def test_valid_ids():
    assert spotify.is_valid_playlist_id("7y15TCWmOoqxeYyiALg775")
    assert spotify.is_valid_playlist_id("a")


# -- track lists -------------------------------------------------------------------------------


def test_track_list_follows_next_to_the_end(fake_spotify):
    playlist_id = fake_spotify.add_playlist(track_count=120)

    result = spotify.get_playlist_tracks(playlist_id)

    calls = fake_spotify.calls("items")
    assert [(c.params["offset"], c.params["limit"]) for c in calls] == [
        ("0", "50"),
        ("50", "50"),
        ("100", "50"),
    ]
    assert [track.position for track in result.tracks] == list(range(1, 121))
    assert (result.total, result.truncated) == (120, False)
    first = result.tracks[0]
    assert first.name == "Api"  # the first track of the real capture
    assert first.artists == ("Odiseo",)
    assert first.album == "Progressive Psy Trance Picks Vol.8"
    assert (first.duration_ms, first.duration) == (376000, "6:16")
    assert first.web_url.startswith("https://open.spotify.com/track/")
    assert first.uri.startswith("spotify:track:")
    assert (first.kind, first.is_local) == ("track", False)


def test_track_list_is_capped_at_500(fake_spotify):
    playlist_id = fake_spotify.add_playlist(track_count=1061)

    result = spotify.get_playlist_tracks(playlist_id)

    assert len(result.tracks) == spotify.MAX_TRACKS == 500
    assert (result.total, result.truncated) == (1061, True)
    assert len(fake_spotify.calls("items")) == 10


def test_exactly_500_tracks_are_not_truncated(fake_spotify):
    playlist_id = fake_spotify.add_playlist(track_count=500)

    result = spotify.get_playlist_tracks(playlist_id)

    assert (len(result.tracks), result.truncated) == (500, False)


@pytest.mark.parametrize("entry_key", ["item", "track", "both"])
def test_entries_under_item_or_track(fake_spotify, entry_key):
    playlist_id = fake_spotify.add_playlist(track_count=3, entry_key=entry_key)

    result = spotify.get_playlist_tracks(playlist_id)

    assert [track.name for track in result.tracks] == ["Api", "Is", "All I Want"]


def test_falls_back_to_tracks_when_items_is_missing(fake_spotify):
    playlist_id = fake_spotify.add_playlist(track_count=150, tracks_mode="tracks_only")

    result = spotify.get_playlist_tracks(playlist_id)

    assert len(fake_spotify.calls("items")) == 1
    assert [c.params["limit"] for c in fake_spotify.calls("tracks")] == ["100", "100"]
    assert len(result.tracks) == 150


def test_forbidden_track_list(fake_spotify):
    playlist_id = fake_spotify.add_playlist(tracks_mode="forbidden")

    with pytest.raises(spotify.SpotifyForbidden):
        spotify.get_playlist_tracks(playlist_id)
    assert spotify.get_playlist(playlist_id).id == playlist_id  # the metadata is still readable


def test_track_list_of_an_unknown_playlist_is_not_found(fake_spotify):
    with pytest.raises(spotify.SpotifyNotFound):
        spotify.get_playlist_tracks("0000000000000000000000")
    assert len(fake_spotify.calls("items")) == len(fake_spotify.calls("tracks")) == 1


def test_null_entries_are_skipped(fake_spotify):
    playlist_id = fake_spotify.add_playlist(entries=["track", None, "track"])

    result = spotify.get_playlist_tracks(playlist_id)

    assert [track.position for track in result.tracks] == [1, 2]
    assert result.total == 3


def test_episodes_show_their_show(fake_spotify):
    playlist_id = fake_spotify.add_playlist(entries=["episode"])

    [episode] = spotify.get_playlist_tracks(playlist_id).tracks

    assert episode.kind == "episode"
    assert (episode.name, episode.album, episode.artists) == (
        "Episode 1",
        "The Fake Show",
        ("Fake Podcasts",),
    )
    assert episode.web_url.startswith("https://open.spotify.com/episode/")
    assert episode.duration == "30:34"
    [call] = fake_spotify.calls("items")
    assert call.params["additional_types"] == "track,episode"


def test_local_files_have_no_links(fake_spotify):
    playlist_id = fake_spotify.add_playlist(entries=["local"])

    [local] = spotify.get_playlist_tracks(playlist_id).tracks

    assert local.is_local is True
    assert (local.name, local.artists, local.album) == ("Home Recording 1", ("Me",), "Tapes")
    assert local.web_url is None
    assert local.uri is None


def test_a_next_link_to_another_host_is_not_followed(fake_spotify):
    playlist_id = fake_spotify.add_playlist(track_count=2)
    first_page = {
        "href": "x",
        "items": [{"is_local": False, "item": {"name": "One", "type": "track"}}],
        "limit": 1,
        "next": "http://127.0.0.2:9/v1/playlists/x/items?offset=1&limit=1",
        "offset": 0,
        "previous": None,
        "total": 2,
    }
    fake_spotify.fail_next("items", status=200, body=first_page)

    result = spotify.get_playlist_tracks(playlist_id)

    assert [track.name for track in result.tracks] == ["One", "Is"]
    assert [c.params["offset"] for c in fake_spotify.calls("items")] == ["0", "1"]


def test_duration_formats():
    def track(duration_ms):
        return spotify.Track(1, "t", (), "", duration_ms, None, None, False, "track")

    assert track(225_000).duration == "3:45"
    assert track(59_600).duration == "1:00"
    assert track(3_723_000).duration == "1:02:03"
    assert track(None).duration == ""
