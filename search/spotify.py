"""Spotify Web API client: the only module that speaks HTTP to Spotify, with typed, cached results.

Views and the daily command use the cached module functions (`search_playlists`, `get_playlist`,
`get_playlist_tracks`); `get_client()` gives the process-wide client behind them.

Settings: SPOTIFY_CLIENT_ID / SPOTIFY_CLIENT_SECRET (Client Credentials), SPOTIFY_TOKEN (a raw
bearer token, used only without the pair), SPOTIFY_API_URL, SPOTIFY_TOKEN_URL, SPOTIFY_MARKET,
SPOTIFY_DEMO_CATALOG. Optional tuning, with production defaults: SPOTIFY_TIMEOUT (connect, read
seconds), SPOTIFY_DEADLINE (seconds one public call may take in all, retries included),
SPOTIFY_ATTEMPTS, SPOTIFY_BACKOFF (first retry pause) and SPOTIFY_MAX_RETRY_AFTER (the longest
429 `Retry-After` worth waiting for inside a web request).
"""

import contextlib
import hashlib
import itertools
import logging
import math
import threading
import time
from dataclasses import dataclass

import requests
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from . import sanitize
from .resilient_cache import cache_add, cache_delete, cache_get, cache_set
from .sanitize import checked_web_url as checked_web_url
from .sanitize import playlist_app_uri as playlist_app_uri
from .sanitize import playlist_web_url as playlist_web_url

logger = logging.getLogger(__name__)

PAGE_SIZE = 10  # Development Mode's maximum search `limit`
MAX_TRACKS = 500
MAX_SEARCH_OFFSET = 1000
ITEMS_PAGE_SIZE = 50  # /playlists/{id}/items maximum
LEGACY_TRACKS_PAGE_SIZE = 100  # /playlists/{id}/tracks maximum
MAX_TRACK_PAGES = 50  # belt and braces against a `next` chain that never ends
IMAGE_WIDTH = 300  # covers are shown at about this size; Spotify offers 60, 300 and 640

CACHE_SECONDS = 10 * 60
CACHE_KEY_VERSION = "1"
# Another process fetching the same key: wait this long for its answer before calling ourselves.
FILL_WAIT_SECONDS = 3.0
FILL_LOCK_SECONDS = 15  # outlives one call's deadline; frees the key soon if a worker dies

DEFAULT_API_URL = "https://api.spotify.com/v1"
DEFAULT_TOKEN_URL = "https://accounts.spotify.com/api/token"  # noqa: S105 (a URL, not a secret)
DEFAULT_TIMEOUT = (3.05, 5.0)
# A page may make two calls (playlist, then tracks): 2 × 8 s stays within the 20 s budget.
DEFAULT_DEADLINE = 8.0
DEFAULT_ATTEMPTS = 3
DEFAULT_BACKOFF = 0.25
DEFAULT_MAX_RETRY_AFTER = 3.0
TOKEN_EXPIRY_MARGIN = 60.0

_USER_AGENT = "funky-music/1.0"


class SpotifyError(Exception):
    """Base of the client's errors; the text is safe to log but not meant for visitors."""


class SpotifyNotConfigured(SpotifyError):
    """No usable credentials (and not in demo mode), or Spotify rejected them."""


class SpotifyUnavailable(SpotifyError):
    """Spotify did not answer usefully: 5xx after retries, timeouts, connection errors, bad JSON."""


class SpotifyRateLimited(SpotifyUnavailable):
    """A 429 whose `Retry-After` is too long to wait for."""

    def __init__(self, retry_after):
        self.retry_after = retry_after
        super().__init__(f"Spotify rate limit hit; retry after {retry_after} s")


class SpotifyNotFound(SpotifyError):
    """404: no such playlist (or one new apps may not read, like Spotify's editorial ones)."""


class SpotifyForbidden(SpotifyError):
    """403: the app may not read this (typically another user's track list since Feb 2026)."""


@dataclass(frozen=True)
class Playlist:
    id: str
    name: str
    description: str  # plain text: Spotify's markup stripped and entities decoded
    owner_name: str
    owner_id: str
    image_url: str | None
    web_url: str
    uri: str
    track_count: int | None
    followers: int | None = None

    @property
    def embed_url(self):
        return sanitize.playlist_embed_url(self.id)


@dataclass(frozen=True)
class Track:
    position: int
    name: str
    artists: tuple[str, ...]
    album: str  # the show's name for an episode
    duration_ms: int | None
    web_url: str | None
    uri: str | None
    is_local: bool
    kind: str  # "track" | "episode"

    @property
    def duration(self):
        if self.duration_ms is None:
            return ""
        minutes, seconds = divmod(round(self.duration_ms / 1000), 60)
        hours, minutes = divmod(minutes, 60)
        if hours:
            return f"{hours}:{minutes:02d}:{seconds:02d}"
        return f"{minutes}:{seconds:02d}"


@dataclass(frozen=True)
class PlaylistPage:
    query: str
    items: tuple[Playlist, ...]
    page: int
    offset: int
    limit: int
    total: int | None
    has_next: bool


@dataclass(frozen=True)
class TrackList:
    tracks: tuple[Track, ...]
    total: int | None
    truncated: bool  # longer than max_tracks: cut by us
    cut_short: bool = False  # Spotify stopped sending pages (empty ones that pointed on) early


def normalize_query(query):
    """The form of a search term that caching and subscriptions compare: trimmed, casefolded."""
    return " ".join(str(query).split()).casefold()


def is_valid_playlist_id(value):
    return sanitize.is_valid_id(value)


class _Deadline:
    """The wall-clock budget of one public call, shared by its token fetch, pages and retries."""

    def __init__(self, seconds):
        self.seconds = seconds
        self._ends = time.monotonic() + seconds

    def remaining(self):
        return self._ends - time.monotonic()

    def timeout(self, timeout):
        remaining = self.remaining()
        if remaining <= 0:
            raise SpotifyUnavailable(f"Spotify did not answer within {self.seconds:g} s")
        connect, read = timeout
        return (min(connect, remaining), min(read, remaining))


class SpotifyClient:
    """Uncached access to the three calls the site needs; safe to share between threads."""

    def __init__(
        self,
        *,
        api_url=DEFAULT_API_URL,
        token_url=DEFAULT_TOKEN_URL,
        client_id="",
        client_secret="",
        token="",
        market="",
        timeout=DEFAULT_TIMEOUT,
        deadline=DEFAULT_DEADLINE,
        attempts=DEFAULT_ATTEMPTS,
        backoff=DEFAULT_BACKOFF,
        max_retry_after=DEFAULT_MAX_RETRY_AFTER,
        session=None,
    ):
        self._credentials = (client_id, client_secret) if client_id and client_secret else None
        self._static_token = "" if self._credentials else token
        if not self._credentials and not self._static_token:
            raise SpotifyNotConfigured(
                "Spotify is not configured: set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET "
                "(or SPOTIFY_TOKEN)."
            )
        self.api_url = api_url.rstrip("/")
        self.token_url = token_url
        self.market = market
        self.timeout = tuple(timeout)
        self.deadline = deadline
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self._session = session or self._new_session()
        self._token_lock = threading.Lock()
        self._access_token = ""
        self._token_expires_at = 0.0
        self._token_cache_key = "spotify:token:" + _digest(self.token_url, client_id)
        self._counter_lock = threading.Lock()
        self.api_calls = 0  # HTTP requests to the API (retries included), for summaries
        self.token_calls = 0

    @staticmethod
    def _new_session():
        session = requests.Session()
        # Our own retry loop (below) knows about deadlines, tokens and Retry-After; urllib3's
        # would retry behind its back. A pool big enough for the daily command's threads.
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=32, max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers.update({"Accept": "application/json", "User-Agent": _USER_AGENT})
        return session

    def close(self):
        self._session.close()

    # -- the three calls ---------------------------------------------------------------------

    def search_playlists(self, query, *, offset=0, limit=PAGE_SIZE):
        query = " ".join(str(query).split())
        if not 1 <= limit <= PAGE_SIZE:
            raise ValueError(f"limit must be 1..{PAGE_SIZE}, not {limit}")
        if not query or not 0 <= offset <= MAX_SEARCH_OFFSET:
            # Spotify answers 400 to both; there is simply nothing to show.
            return PlaylistPage(query, (), offset // limit + 1, offset, limit, 0, False)
        params = {"q": query, "type": "playlist", "limit": limit, "offset": offset}
        if self.market:
            params["market"] = self.market
        body = self._get_json(f"{self.api_url}/search", params, self._new_deadline())
        return _parse_search(body, query=query, offset=offset, limit=limit)

    def get_playlist(self, playlist_id):
        if not is_valid_playlist_id(playlist_id):
            raise SpotifyNotFound(f"not a Spotify playlist id: {playlist_id!r}")
        params = {"market": self.market} if self.market else None
        body = self._get_json(
            f"{self.api_url}/playlists/{playlist_id}", params, self._new_deadline()
        )
        return _parse_playlist(body)

    def get_playlist_tracks(self, playlist_id, *, max_tracks=MAX_TRACKS):
        if not is_valid_playlist_id(playlist_id):
            raise SpotifyNotFound(f"not a Spotify playlist id: {playlist_id!r}")
        deadline = self._new_deadline()
        base = f"{self.api_url}/playlists/{playlist_id}"
        params = {"offset": 0, "additional_types": "track,episode"}
        if self.market:
            params["market"] = self.market
        try:
            endpoint, limit = f"{base}/items", ITEMS_PAGE_SIZE
            body = self._get_json(endpoint, {**params, "limit": limit}, deadline)
        except SpotifyNotFound:
            # Older deployments of the API only have the deprecated /tracks.
            logger.info("Spotify has no /items for playlist %s; trying /tracks", playlist_id)
            endpoint, limit = f"{base}/tracks", LEGACY_TRACKS_PAGE_SIZE
            body = self._get_json(endpoint, {**params, "limit": limit}, deadline)
        params["limit"] = limit
        return self._collect_tracks(body, endpoint, params, max_tracks, deadline)

    def _collect_tracks(self, body, endpoint, params, max_tracks, deadline):
        tracks = []
        total = None
        truncated = cut_short = False
        offset = 0
        for _ in range(MAX_TRACK_PAGES):
            entries = body.get("items")
            if not isinstance(entries, list):
                raise SpotifyUnavailable("Spotify's track page has no `items` list")
            if total is None:
                total = _count_value(body.get("total"))
            for entry in entries:
                track = _parse_entry(entry, position=len(tracks) + 1)
                if track is None:
                    continue
                if len(tracks) >= max_tracks:
                    truncated = True
                    break
                tracks.append(track)
            next_url = body.get("next")
            if truncated or not next_url:
                break
            if len(tracks) >= max_tracks:
                truncated = True
                break
            if not entries:
                # An empty page that points at another: asking on would not end (the spec allows
                # both), so show what came and say the list is not all there.
                cut_short = True
                break
            offset += len(entries)
            if isinstance(next_url, str) and next_url.startswith(self.api_url + "/"):
                body = self._get_json(next_url, None, deadline)
            else:
                # Never send our token to a host we were not configured with.
                body = self._get_json(endpoint, {**params, "offset": offset}, deadline)
        else:
            cut_short = bool(body.get("next"))  # MAX_TRACK_PAGES pages and still more
        return TrackList(tuple(tracks), total, truncated, cut_short)

    # -- HTTP ---------------------------------------------------------------------------------

    def _new_deadline(self):
        return _Deadline(self.deadline)

    def _get_json(self, url, params, deadline):
        rejected = None
        while True:
            token = self._bearer(deadline, rejected=rejected)
            response = self._exchange(
                "GET",
                url,
                deadline=deadline,
                params=params,
                headers={"Authorization": f"Bearer {token}"},
            )
            if response.status_code == 401 and rejected is None:
                # Expired or revoked: one fresh token, one retry.
                logger.info("Spotify rejected the access token; fetching a new one")
                rejected = token
                continue
            return _decode(response)

    def _exchange(self, method, url, *, deadline, **kwargs):
        """Send one request, retrying what is worth retrying; return the first other answer."""
        for attempt in itertools.count(1):
            with self._counter_lock:
                if url == self.token_url:
                    self.token_calls += 1
                else:
                    self.api_calls += 1
            try:
                response = self._session.request(
                    method, url, timeout=deadline.timeout(self.timeout), **kwargs
                )
            except requests.RequestException as exc:
                self._pause_before_retry(attempt, deadline, f"{type(exc).__name__}: {exc}", exc)
                continue
            status = response.status_code
            if status == 429:
                retry_after = _retry_after(response)
                if (
                    retry_after <= self.max_retry_after
                    and attempt < self.attempts
                    and retry_after < deadline.remaining()
                ):
                    logger.warning("Spotify rate limit; waiting %s s as asked", retry_after)
                    time.sleep(retry_after)
                    continue
                raise SpotifyRateLimited(retry_after)
            if status >= 500:
                self._pause_before_retry(attempt, deadline, f"HTTP {status}")
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _pause_before_retry(self, attempt, deadline, reason, cause=None):
        pause = self.backoff * 2 ** (attempt - 1)
        if attempt >= self.attempts or pause >= deadline.remaining():
            raise SpotifyUnavailable(
                f"Spotify unavailable after {attempt} attempt(s): {reason}"
            ) from cause
        logger.warning("Spotify call failed (%s); retrying in %.2f s", reason, pause)
        time.sleep(pause)

    # -- token --------------------------------------------------------------------------------

    def _bearer(self, deadline, *, rejected=None):
        if self._static_token:
            if rejected == self._static_token:
                raise SpotifyNotConfigured(
                    "Spotify rejected SPOTIFY_TOKEN (such tokens expire after an hour): "
                    "set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET instead."
                )
            return self._static_token
        # One thread fetches while the others wait for its token rather than asking too.
        if not self._token_lock.acquire(timeout=max(deadline.remaining(), 0)):
            raise SpotifyUnavailable("timed out waiting for a Spotify access token")
        try:
            now = time.time()
            if self._access_token not in ("", rejected) and now < self._token_expires_at:
                return self._access_token
            shared = cache_get(self._token_cache_key)
            if (
                isinstance(shared, dict)
                and shared.get("access_token") not in (None, "", rejected)
                and now < shared.get("expires_at", 0)
            ):
                self._access_token = shared["access_token"]
                self._token_expires_at = shared["expires_at"]
                return self._access_token
            token, lifetime = self._fetch_token(deadline)
            # Renew a little early so no request goes out with a token about to lapse.
            usable_for = lifetime - min(TOKEN_EXPIRY_MARGIN, lifetime * 0.1)
            self._access_token, self._token_expires_at = token, now + usable_for
            cache_set(
                self._token_cache_key,
                {"access_token": token, "expires_at": self._token_expires_at},
                max(1, math.floor(usable_for)),
            )
            return token
        finally:
            self._token_lock.release()

    def _fetch_token(self, deadline):
        response = self._exchange(
            "POST",
            self.token_url,
            deadline=deadline,
            data={"grant_type": "client_credentials"},
            auth=self._credentials,
        )
        if response.status_code in (400, 401):
            raise SpotifyNotConfigured(
                "Spotify rejected SPOTIFY_CLIENT_ID/SPOTIFY_CLIENT_SECRET "
                f"({_error_message(response)})"
            )
        if response.status_code != 200:
            raise SpotifyUnavailable(f"Spotify's token endpoint answered {response.status_code}")
        body = _json_dict(response)
        token = body.get("access_token")
        lifetime = body.get("expires_in")
        if not isinstance(token, str) or not token or not _is_int(lifetime) or lifetime <= 0:
            raise SpotifyUnavailable("Spotify's token answer has no usable access_token")
        return token, lifetime


# -- parsing: Spotify JSON → typed results; unexpected shapes become SpotifyUnavailable ----------


def _decode(response):
    status = response.status_code
    if 200 <= status < 300:
        return _json_dict(response)
    message = _error_message(response)
    if status == 401:
        raise SpotifyUnavailable(f"Spotify rejected a fresh access token ({message})")
    if status == 403:
        raise SpotifyForbidden(f"Spotify forbids this request ({message})")
    if status == 404:
        raise SpotifyNotFound(f"Spotify has no such resource ({message})")
    # 400 and the like: a request we should not have built. Log loudly; visitors see "unavailable".
    logger.error("Spotify answered %s to %s: %s", status, response.url, message)
    raise SpotifyUnavailable(f"Spotify answered {status} ({message})")


def _json_body(response):
    """The decoded body; ValueError when it is not JSON."""
    try:
        return response.json(parse_int=sanitize.json_int)
    except RecursionError:
        # Valid, but nested deeper than Python's decoder recurses: what lies too deep goes.
        return sanitize.loads_shallow(response.text)


def _json_dict(response):
    try:
        body = _json_body(response)
    except ValueError as exc:
        raise SpotifyUnavailable("Spotify answered with malformed JSON") from exc
    if not isinstance(body, dict):
        raise SpotifyUnavailable("Spotify answered with unexpected JSON")
    return body


def _error_message(response):
    try:
        error = _json_body(response).get("error")
    except (ValueError, AttributeError):
        return f"HTTP {response.status_code}"
    if isinstance(error, dict):
        error = error.get("message")
    return sanitize.text(error) or f"HTTP {response.status_code}"


def _retry_after(response):
    try:
        return max(0, math.ceil(float(response.headers.get("Retry-After", "1"))))
    except ValueError:
        return 1


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


_count_value = sanitize.count
_text = sanitize.text


def _mapping(value):
    return value if isinstance(value, dict) else {}


def _pick_image(images):
    if not isinstance(images, list):
        return None
    usable = [
        image
        for image in images
        if isinstance(image, dict) and sanitize.image_url(image.get("url"))
    ]
    if not usable:
        return None
    sized = [image for image in usable if _is_int(image.get("width"))]
    if not sized:
        return usable[0]["url"]
    big_enough = [image for image in sized if image["width"] >= IMAGE_WIDTH]
    if big_enough:
        return min(big_enough, key=lambda image: image["width"])["url"]
    return max(sized, key=lambda image: image["width"])["url"]


def _track_count(raw):
    # 2026 renamed the reference `tracks` to `items`; either may be missing.
    for key in ("items", "tracks"):
        total = _count_value(_mapping(raw.get(key)).get("total"))
        if total is not None:
            return total
    return None


def _parse_playlist(raw):
    if not isinstance(raw, dict) or not is_valid_playlist_id(raw.get("id")):
        raise SpotifyUnavailable("Spotify sent a playlist without a usable id")
    playlist_id = raw["id"]
    owner = _mapping(raw.get("owner"))
    owner_id = _text(owner.get("id"))
    followers = _mapping(raw.get("followers"))
    links = {"kind": "playlist", "spotify_id": playlist_id}
    return Playlist(
        id=playlist_id,
        name=_text(raw.get("name")),
        # Descriptions arrive as HTML: links as markup, "R&amp;B" as entities.
        description=sanitize.plain_text(raw.get("description")),
        owner_name=_text(owner.get("display_name")) or owner_id,
        owner_id=owner_id,
        image_url=_pick_image(raw.get("images")),
        web_url=sanitize.checked_web_url(
            _mapping(raw.get("external_urls")).get("spotify"), **links
        ),
        uri=sanitize.checked_app_uri(raw.get("uri"), **links),
        track_count=_track_count(raw),
        followers=_count_value(followers.get("total")),
    )


def _parse_search(body, *, query, offset, limit):
    paging = body.get("playlists")
    if not isinstance(paging, dict) or not isinstance(paging.get("items"), list):
        raise SpotifyUnavailable("Spotify's search answer has no playlists")
    items = []
    for raw in paging["items"]:
        if raw is None:  # Spotify-owned playlists come back as null since Dec 2024
            continue
        try:
            items.append(_parse_playlist(raw))
        except SpotifyUnavailable:
            logger.warning("Skipping a malformed playlist in Spotify's search answer")
    return PlaylistPage(
        query=query,
        items=tuple(items),
        page=offset // limit + 1,
        offset=offset,
        limit=limit,
        total=_count_value(paging.get("total")),
        has_next=bool(paging.get("next")) and offset + limit <= MAX_SEARCH_OFFSET,
    )


def _parse_entry(entry, *, position):
    """A Track from one playlist entry, or None for an entry Spotify left empty."""
    if not isinstance(entry, dict):
        return None
    item = entry.get("item")  # 2026 name; `track` until the deprecation window closes
    if item is None:
        item = entry.get("track")
    if not isinstance(item, dict):
        return None
    is_local = entry.get("is_local") is True or item.get("is_local") is True
    if item.get("type") == "episode":
        kind = "episode"
        show = _mapping(item.get("show"))
        album = _text(show.get("name"))
        artists = tuple(filter(None, [_text(show.get("publisher"))]))
    else:
        kind = "track"
        album = _text(_mapping(item.get("album")).get("name"))
        raw_artists = item.get("artists") if isinstance(item.get("artists"), list) else []
        artists = tuple(filter(None, (_text(_mapping(a).get("name")) for a in raw_artists)))
    links = {"kind": kind, "spotify_id": item.get("id")}
    web_url = sanitize.checked_web_url(_mapping(item.get("external_urls")).get("spotify"), **links)
    uri = sanitize.checked_app_uri(item.get("uri"), **links)
    return Track(
        position=position,
        name=_text(item.get("name")),
        artists=artists,
        album=album,
        duration_ms=_count_value(item.get("duration_ms")),
        # A local file lives on someone's computer: nothing to open.
        web_url=None if is_local else web_url,
        uri=None if is_local else uri,
        is_local=is_local,
        kind=kind,
    )


# -- the process-wide client ---------------------------------------------------------------------

_client = None
_client_lock = threading.Lock()


def is_demo_catalog():
    # settings.py only turns it on in DEBUG; checking DEBUG too keeps it out of production for good.
    return bool(settings.SPOTIFY_DEMO_CATALOG and settings.DEBUG)


def get_client():
    """The shared client built from settings; raises SpotifyNotConfigured without credentials."""
    global _client
    client = _client
    if client is None:
        with _client_lock:
            if _client is None:
                _client = _build_client()
            client = _client
    return client


def reset_client():
    """Forget the shared client (and its token), e.g. after settings change."""
    global _client
    with _client_lock:
        client, _client = _client, None
    if client is not None:
        client.close()


def _build_client():
    tuning = {
        "timeout": getattr(settings, "SPOTIFY_TIMEOUT", DEFAULT_TIMEOUT),
        "deadline": getattr(settings, "SPOTIFY_DEADLINE", DEFAULT_DEADLINE),
        "attempts": getattr(settings, "SPOTIFY_ATTEMPTS", DEFAULT_ATTEMPTS),
        "backoff": getattr(settings, "SPOTIFY_BACKOFF", DEFAULT_BACKOFF),
        "max_retry_after": getattr(settings, "SPOTIFY_MAX_RETRY_AFTER", DEFAULT_MAX_RETRY_AFTER),
    }
    if is_demo_catalog():
        from .spotify_demo import DEMO_API_URL, DEMO_TOKEN, demo_session

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
def _reset_client_on_setting_change(*, setting, **kwargs):
    if setting.startswith("SPOTIFY_") or setting in {"DEBUG", "CACHES"}:
        reset_client()


# -- caching --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CachedFailure:
    """An answer that is a fact about the playlist (403, 404), remembered like a result."""

    kind: str
    message: str


_CACHEABLE_FAILURES = {"forbidden": SpotifyForbidden, "not_found": SpotifyNotFound}


def search_playlists(query, *, page=1):
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


def get_playlist(playlist_id):
    """A playlist's metadata, cached for ten minutes; SpotifyNotFound for unknown ids."""
    if not is_valid_playlist_id(playlist_id):
        raise SpotifyNotFound(f"not a Spotify playlist id: {playlist_id!r}")
    return _cached(
        _cache_key("playlist", playlist_id), lambda: get_client().get_playlist(playlist_id)
    )


def get_playlist_tracks(playlist_id):
    """Up to MAX_TRACKS tracks, cached for ten minutes; SpotifyForbidden when Spotify says 403."""
    if not is_valid_playlist_id(playlist_id):
        raise SpotifyNotFound(f"not a Spotify playlist id: {playlist_id!r}")
    return _cached(
        _cache_key("tracks", playlist_id), lambda: get_client().get_playlist_tracks(playlist_id)
    )


def _cache_key(kind, *parts):
    # Hashed: search terms hold any character, and memcached keys may not.
    source = "demo" if is_demo_catalog() else f"live:{settings.SPOTIFY_MARKET}"
    return f"spotify:{CACHE_KEY_VERSION}:{kind}:{_digest(source, *parts)}"


def _digest(*parts):
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def _cached(key, fetch):
    value = cache_get(key)
    if value is None:
        value = _single_flight(key, lambda: _fill(key, fetch))
    if isinstance(value, _CachedFailure):
        raise _CACHEABLE_FAILURES[value.kind](value.message)
    return value


def _fill(key, fetch):
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
    def __init__(self):
        self.landed = threading.Event()
        self.value = None
        self.error = None


_flights = {}
_flights_lock = threading.Lock()


def _single_flight(key, load):
    """Run `load` once per key at a time in this process; concurrent callers share its outcome."""
    with _flights_lock:
        flight = _flights.get(key)
        leader = flight is None
        if leader:
            flight = _flights[key] = _Flight()
    if not leader:
        wait = getattr(settings, "SPOTIFY_DEADLINE", DEFAULT_DEADLINE) + FILL_WAIT_SECONDS + 5
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
def _fill_lock(key):
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
