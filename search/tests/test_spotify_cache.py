"""Caching of Spotify answers: what is kept, for whom, and how concurrent misses are merged."""

import socket
import threading
import time
import warnings
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import CacheKeyWarning
from django.core.cache.backends.redis import RedisCache

from search import resilient_cache, spotify


def run_together(count, target):
    """Start `count` threads on `target` at the same moment; return their results and errors."""
    barrier = threading.Barrier(count)
    results, errors = [], []

    def run():
        barrier.wait()
        try:
            results.append(target())
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results, errors


def test_search_pages_are_cached_by_normalized_query(fake_spotify):
    first = spotify.search_playlists("Rainy  Day")
    again = spotify.search_playlists("  rainy day ")
    spotify.search_playlists("rainy day", page=2)

    assert again == first
    assert [c.params["offset"] for c in fake_spotify.calls("search")] == ["0", "10"]


def test_playlists_and_track_lists_are_cached(fake_spotify):
    playlist_id = fake_spotify.add_playlist(track_count=60)

    for _ in range(2):
        spotify.get_playlist(playlist_id)
        spotify.get_playlist_tracks(playlist_id)

    assert len(fake_spotify.calls("playlist")) == 1
    assert len(fake_spotify.calls("items")) == 2  # two pages, fetched once


def test_cached_answers_survive_a_new_client(fake_spotify):
    spotify.search_playlists("happy")
    spotify.reset_client()  # as in another worker process sharing the cache

    spotify.search_playlists("happy")

    assert len(fake_spotify.calls("search")) == 1


def test_answers_are_kept_ten_minutes_and_the_token_until_just_before_it_lapses(fake_spotify):
    # The fake's tokens last an hour; the client renews a minute early.
    with time_machine.travel(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), tick=False) as clock:
        spotify.search_playlists("happy")
        clock.shift(timedelta(minutes=9, seconds=59))
        spotify.search_playlists("happy")
        assert len(fake_spotify.calls("search")) == 1

        clock.shift(timedelta(seconds=2))
        spotify.search_playlists("happy")
        assert len(fake_spotify.calls("search")) == 2

        clock.shift(timedelta(minutes=58, seconds=58) - timedelta(minutes=10, seconds=1))
        spotify.search_playlists("calm")
        assert len(fake_spotify.calls("token")) == 1

        clock.shift(timedelta(seconds=3))
        spotify.search_playlists("sad")
        assert len(fake_spotify.calls("token")) == 2


def test_forbidden_track_list_is_remembered_as_a_fact(fake_spotify):
    playlist_id = fake_spotify.add_playlist(tracks_mode="forbidden")

    for _ in range(3):
        with pytest.raises(spotify.SpotifyForbidden):
            spotify.get_playlist_tracks(playlist_id)

    assert len(fake_spotify.calls("items")) == 1


def test_unknown_playlist_is_remembered_as_a_fact(fake_spotify):
    for _ in range(2):
        with pytest.raises(spotify.SpotifyNotFound):
            spotify.get_playlist("0000000000000000000000")

    assert len(fake_spotify.calls("playlist")) == 1


def test_outages_are_not_cached(fake_spotify):
    fake_spotify.fail_next("search", status=500, times=3)
    with pytest.raises(spotify.SpotifyUnavailable):
        spotify.search_playlists("happy")

    assert spotify.search_playlists("happy").items


def test_rate_limits_are_not_cached(fake_spotify):
    fake_spotify.fail_next("search", status=429, headers={"Retry-After": "600"})
    with pytest.raises(spotify.SpotifyRateLimited):
        spotify.search_playlists("happy")

    assert spotify.search_playlists("happy").items


def test_concurrent_requests_for_a_new_term_make_one_call(fake_spotify):
    fake_spotify.latency = 0.2

    results, errors = run_together(32, lambda: spotify.search_playlists("brand new term"))

    assert errors == []
    assert len(results) == 32
    assert all(result == results[0] for result in results)
    assert len(fake_spotify.calls("search")) == 1


def test_concurrent_requests_share_a_failure_instead_of_each_retrying(fake_spotify):
    fake_spotify.latency = 0.1
    fake_spotify.fail_next("search", status=500, times=100)

    results, errors = run_together(8, lambda: spotify.search_playlists("doomed"))

    assert results == []
    assert len(errors) == 8
    assert all(isinstance(error, spotify.SpotifyUnavailable) for error in errors)
    assert len(fake_spotify.calls("search")) == 3  # one caller's attempts, not 8 × 3


def test_cache_keys_are_safe_for_memcached(fake_spotify):
    awkward = ["  ünïcode\tterm with spaces and a very long tail " * 10, "ctrl\x00chars"]
    with warnings.catch_warnings():
        # Django warns about a key memcached would refuse; here that is an error.
        warnings.simplefilter("error", CacheKeyWarning)
        for _ in range(2):
            for term in awkward:
                spotify.search_playlists(term)

    assert len(fake_spotify.calls("search")) == 2  # each kept under its key and found again


def test_a_cache_outage_costs_speed_not_pages(fake_spotify, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(resilient_cache, "cache", RedisCache(f"redis://127.0.0.1:{port}/0", {}))

    started = time.monotonic()
    assert spotify.search_playlists("happy").items
    assert spotify.get_playlist_tracks(spotify.search_playlists("happy").items[0].id).tracks
    assert time.monotonic() - started < 5
