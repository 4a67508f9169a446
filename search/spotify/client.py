"""The uncached HTTP client: Client Credentials token, retries, and one deadline per call."""

import itertools
import logging
import threading
import time
from typing import Any

import requests

from .parsing import (
    _count_value,
    _decode,
    _parse_entry,
    _parse_playlist,
    _parse_search,
    _retry_after,
)
from .results import (
    DEFAULT_API_URL,
    DEFAULT_ATTEMPTS,
    DEFAULT_BACKOFF,
    DEFAULT_DEADLINE,
    DEFAULT_MAX_RETRY_AFTER,
    DEFAULT_TIMEOUT,
    DEFAULT_TOKEN_URL,
    ITEMS_PAGE_SIZE,
    LEGACY_TRACKS_PAGE_SIZE,
    MAX_SEARCH_OFFSET,
    MAX_TRACK_PAGES,
    MAX_TRACKS,
    PAGE_SIZE,
    Deadline,
    Playlist,
    PlaylistPage,
    SpotifyNotConfigured,
    SpotifyNotFound,
    SpotifyRateLimited,
    SpotifyUnavailable,
    Track,
    TrackList,
    require_playlist_id,
)
from .token import AccessTokens, digest

logger = logging.getLogger(__name__)

_USER_AGENT = "funky-music/1.0"


class SpotifyClient:
    """Uncached access to the three calls the site needs; safe to share between threads."""

    def __init__(
        self,
        *,
        api_url: str = DEFAULT_API_URL,
        token_url: str = DEFAULT_TOKEN_URL,
        client_id: str = "",
        client_secret: str = "",
        token: str = "",
        market: str = "",
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff: float = DEFAULT_BACKOFF,
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
        session: requests.Session | None = None,
    ) -> None:
        credentials = (client_id, client_secret) if client_id and client_secret else None
        if not credentials and not token:
            raise SpotifyNotConfigured(
                "Spotify is not configured: set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET "
                "(or SPOTIFY_TOKEN)."
            )
        self.api_url = api_url.rstrip("/")
        self.token_url = token_url
        self.market = market
        connect, read = timeout
        self.timeout = (connect, read)
        self.deadline = deadline
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self._session = session or self._new_session()
        self.tokens = AccessTokens(
            token_url=token_url,
            credentials=credentials,
            static_token="" if credentials else token,
            cache_key="spotify:token:" + digest(token_url, client_id),
            exchange=self._exchange,
        )
        self._counter_lock = threading.Lock()
        self.api_calls = 0  # HTTP requests to the API (retries included), for summaries
        self.token_calls = 0

    @staticmethod
    def _new_session() -> requests.Session:
        session = requests.Session()
        # Our own retry loop (below) knows about deadlines, tokens and Retry-After; urllib3's
        # would retry behind its back. A pool big enough for the daily command's threads.
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=32, max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers.update({"Accept": "application/json", "User-Agent": _USER_AGENT})
        return session

    def close(self) -> None:
        self._session.close()

    # -- the three calls ---------------------------------------------------------------------

    def search_playlists(
        self, query: str, *, offset: int = 0, limit: int = PAGE_SIZE
    ) -> PlaylistPage:
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

    def get_playlist(self, playlist_id: str) -> Playlist:
        require_playlist_id(playlist_id)
        params = {"market": self.market} if self.market else None
        body = self._get_json(
            f"{self.api_url}/playlists/{playlist_id}", params, self._new_deadline()
        )
        return _parse_playlist(body)

    def get_playlist_tracks(self, playlist_id: str, *, max_tracks: int = MAX_TRACKS) -> TrackList:
        require_playlist_id(playlist_id)
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

    def _collect_tracks(
        self,
        body: dict[str, Any],
        endpoint: str,
        params: dict[str, Any],
        max_tracks: int,
        deadline: Deadline,
    ) -> TrackList:
        tracks: list[Track] = []
        total = None
        truncated = cut_short = False
        offset = 0
        pages = 1  # `body` is the first
        while True:
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
            if not entries or pages >= MAX_TRACK_PAGES:
                # An empty page that points at another (asking on might never end; the spec
                # allows it), or MAX_TRACK_PAGES pages and still a `next`: show what came and
                # say the list is not all there, without another request.
                truncated = cut_short = True
                break
            offset += len(entries)
            if isinstance(next_url, str) and next_url.startswith(self.api_url + "/"):
                body = self._get_json(next_url, None, deadline)
            else:
                # Never send our token to a host we were not configured with.
                body = self._get_json(endpoint, {**params, "offset": offset}, deadline)
            pages += 1
        return TrackList(tuple(tracks), total, truncated, cut_short)

    # -- HTTP ---------------------------------------------------------------------------------

    def _new_deadline(self) -> Deadline:
        return Deadline(self.deadline)

    def _get_json(
        self, url: str, params: dict[str, Any] | None, deadline: Deadline
    ) -> dict[str, Any]:
        rejected = None
        while True:
            token = self.tokens.bearer(deadline, rejected=rejected)
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

    def _exchange(
        self, method: str, url: str, *, deadline: Deadline, **kwargs: Any
    ) -> requests.Response:
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

    def _pause_before_retry(
        self, attempt: int, deadline: Deadline, reason: str, cause: BaseException | None = None
    ) -> None:
        pause = self.backoff * 2 ** (attempt - 1)
        if attempt >= self.attempts or pause >= deadline.remaining():
            raise SpotifyUnavailable(
                f"Spotify unavailable after {attempt} attempt(s): {reason}"
            ) from cause
        logger.warning("Spotify call failed (%s); retrying in %.2f s", reason, pause)
        time.sleep(pause)
