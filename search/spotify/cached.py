"""The cached functions views and the daily command call, over one process-wide client.

Misses for the same key are merged: within a process (threads share one flight) and across
processes sharing the cache (one fills while the others briefly wait for its answer).
"""

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar, cast

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from ..resilient_cache import cache_add, cache_delete, cache_get, cache_set
from .client import SpotifyClient
from .results import (
    CACHE_KEY_VERSION,
    CACHE_SECONDS,
    FILL_LOCK_SECONDS,
    FILL_WAIT_SECONDS,
    MAX_SEARCH_OFFSET,
    PAGE_SIZE,
    Playlist,
    PlaylistPage,
    SpotifyForbidden,
    SpotifyNotFound,
    SpotifyUnavailable,
    TrackList,
    normalize_query,
    require_playlist_id,
)
from .token import digest

T = TypeVar("T")

_client: SpotifyClient | None = None
_client_lock = threading.Lock()


def is_demo_catalog() -> bool:
    # settings.py only turns it on in DEBUG; checking DEBUG too keeps it out of production for good.
    return bool(settings.SPOTIFY_DEMO_CATALOG and settings.DEBUG)


def get_client() -> SpotifyClient:
    """The shared client built from settings; raises SpotifyNotConfigured without credentials."""
    global _client
    client = _client
    if client is None:
        with _client_lock:
            if _client is None:
                _client = _build_client()
            client = _client
    return client


def reset_client() -> None:
    """Forget the shared client (and its token), e.g. after settings change."""
    global _client
    with _client_lock:
        client, _client = _client, None
    if client is not None:
        client.close()


def _build_client() -> SpotifyClient:
    tuning = {
        "timeout": settings.SPOTIFY_TIMEOUT,
        "deadline": settings.SPOTIFY_DEADLINE,
        "attempts": settings.SPOTIFY_ATTEMPTS,
        "backoff": settings.SPOTIFY_BACKOFF,
        "max_retry_after": settings.SPOTIFY_MAX_RETRY_AFTER,
    }
    if is_demo_catalog():
        from .demo import DEMO_API_URL, DEMO_TOKEN, demo_session

        return SpotifyClient(
            api_url=DEMO_API_URL, token=DEMO_TOKEN, session=demo_session(), **tuning
        )
    return SpotifyClient(
        api_url=settings.SPOTIFY_API_URL,
        token_url=settings.SPOTIFY_TOKEN_URL,
        client_id=settings.SPOTIFY_CLIENT_ID,
        client_secret=settings.SPOTIFY_CLIENT_SECRET,
        token=settings.SPOTIFY_TOKEN,
        market=settings.SPOTIFY_MARKET,
        **tuning,
    )


@receiver(setting_changed)
def _reset_client_on_setting_change(*, setting: str, **kwargs: object) -> None:
    if setting.startswith("SPOTIFY_") or setting in {"DEBUG", "CACHES"}:
        reset_client()


# -- caching --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CachedFailure:
    """An answer that is a fact about the playlist (403, 404), remembered like a result."""

    kind: str
    message: str


_CACHEABLE_FAILURES = {"forbidden": SpotifyForbidden, "not_found": SpotifyNotFound}


def search_playlists(query: str, *, page: int = 1) -> PlaylistPage:
    """One page of playlists for a search term, cached for ten minutes."""
    normalized = normalize_query(query)
    page = max(1, int(page))
    offset = (page - 1) * PAGE_SIZE
    if not normalized or offset > MAX_SEARCH_OFFSET:
        return PlaylistPage(normalized, (), page, offset, PAGE_SIZE, 0, False)
    return _cached(
        _cache_key("search", normalized, str(page)),
        lambda: get_client().search_playlists(normalized, offset=offset, limit=PAGE_SIZE),
    )


def get_playlist(playlist_id: str) -> Playlist:
    """A playlist's metadata, cached for ten minutes; SpotifyNotFound for unknown ids."""
    require_playlist_id(playlist_id)
    return _cached(
        _cache_key("playlist", playlist_id), lambda: get_client().get_playlist(playlist_id)
    )


def get_playlist_tracks(playlist_id: str) -> TrackList:
    """Up to MAX_TRACKS tracks, cached for ten minutes; SpotifyForbidden when Spotify says 403."""
    require_playlist_id(playlist_id)
    return _cached(
        _cache_key("tracks", playlist_id), lambda: get_client().get_playlist_tracks(playlist_id)
    )


def _cache_key(kind: str, *parts: str) -> str:
    # Hashed: search terms hold any character, and memcached keys may not.
    source = "demo" if is_demo_catalog() else f"live:{settings.SPOTIFY_MARKET}"
    return f"spotify:{CACHE_KEY_VERSION}:{kind}:{digest(source, *parts)}"


def _cached(key: str, fetch: Callable[[], T]) -> T:
    value = cache_get(key)
    if value is None:
        value = _single_flight(key, lambda: _fill(key, fetch))
    if isinstance(value, _CachedFailure):
        raise _CACHEABLE_FAILURES[value.kind](value.message)
    return cast(T, value)


def _fill(key: str, fetch: Callable[[], object]) -> object:
    value = cache_get(key)  # a flight that just landed may have filled it
    if value is not None:
        return value
    with _fill_lock(key):
        value = cache_get(key)  # another process may have filled it while we waited
        if value is not None:
            return value
        try:
            value = fetch()
        except SpotifyForbidden as exc:
            value = _CachedFailure("forbidden", str(exc))
        except SpotifyNotFound as exc:
            value = _CachedFailure("not_found", str(exc))
        # Unavailable and rate-limited are not cached: the next visitor tries again.
        cache_set(key, value, CACHE_SECONDS)
        return value


class _Flight:
    def __init__(self) -> None:
        self.landed = threading.Event()
        self.value: object = None
        self.error: Exception | None = None


_flights: dict[str, _Flight] = {}
_flights_lock = threading.Lock()


def _single_flight(key: str, load: Callable[[], object]) -> object:
    """Run `load` once per key at a time in this process; concurrent callers share its outcome."""
    with _flights_lock:
        running = _flights.get(key)
        leader = running is None
        flight = _flights[key] = _Flight() if running is None else running
    if not leader:
        wait = settings.SPOTIFY_DEADLINE + FILL_WAIT_SECONDS + 5
        if not flight.landed.wait(timeout=wait):
            raise SpotifyUnavailable("timed out waiting for another request to Spotify")
        if flight.error is not None:
            raise flight.error
        return flight.value
    try:
        flight.value = load()
    except Exception as exc:
        flight.error = exc
        raise
    finally:
        with _flights_lock:
            del _flights[key]
        flight.landed.set()
    return flight.value


@contextlib.contextmanager
def _fill_lock(key: str) -> Iterator[None]:
    """Across processes (a shared cache): let one fetch a key while the others briefly wait."""
    lock_key = f"{key}:filling"
    acquired = cache_add(lock_key, FILL_LOCK_SECONDS)
    if not acquired:
        # Until its answer lands, it gives up (lock gone) or we have waited long enough.
        give_up_at = time.monotonic() + FILL_WAIT_SECONDS
        while (
            time.monotonic() < give_up_at
            and cache_get(key) is None
            and cache_get(lock_key) is not None
        ):
            time.sleep(0.05)
    try:
        yield
    finally:
        if acquired:
            cache_delete(lock_key)
