"""Spotify Web API client: the only code that speaks HTTP to Spotify, with typed, cached results.

Views and the daily command use the cached functions (`search_playlists`, `get_playlist`,
`get_playlist_tracks`); `get_client()` gives the process-wide client behind them. Import it as
`from search import spotify`; the modules behind this face are:

- results.py — the typed results (Playlist, Track, PlaylistPage, TrackList), errors and limits;
- client.py — SpotifyClient: retries, Retry-After and the deadline of one call, uncached;
- token.py — its access token: Client Credentials, shared through the cache, renewed early;
- parsing.py — Spotify's JSON turned into results, whatever shape it arrives in;
- cached.py — the cached functions and the shared client, misses merged within and across processes;
- demo.py — the offline demo catalog, served through the same client.

Settings: SPOTIFY_CLIENT_ID / SPOTIFY_CLIENT_SECRET (Client Credentials), SPOTIFY_TOKEN (a raw
bearer token, used only without the pair), SPOTIFY_API_URL, SPOTIFY_TOKEN_URL, SPOTIFY_MARKET,
SPOTIFY_DEMO_CATALOG. Optional tuning, read from the environment by musicsite/settings.py with the
DEFAULT_* values as defaults: SPOTIFY_TIMEOUT (connect, read seconds), SPOTIFY_DEADLINE (seconds
one public call may take in all, retries included), SPOTIFY_ATTEMPTS, SPOTIFY_BACKOFF (first retry
pause) and SPOTIFY_MAX_RETRY_AFTER (the longest 429 `Retry-After` worth waiting for inside a web
request).
"""

from .cached import (
    get_client,
    get_playlist,
    get_playlist_tracks,
    is_demo_catalog,
    reset_client,
    search_playlists,
)
from .client import SpotifyClient
from .results import (
    CACHE_KEY_VERSION,
    CACHE_SECONDS,
    DEFAULT_API_URL,
    DEFAULT_ATTEMPTS,
    DEFAULT_BACKOFF,
    DEFAULT_DEADLINE,
    DEFAULT_MAX_RETRY_AFTER,
    DEFAULT_TIMEOUT,
    DEFAULT_TOKEN_URL,
    FILL_LOCK_SECONDS,
    FILL_WAIT_SECONDS,
    IMAGE_WIDTH,
    ITEMS_PAGE_SIZE,
    LEGACY_TRACKS_PAGE_SIZE,
    MAX_SEARCH_OFFSET,
    MAX_TRACK_PAGES,
    MAX_TRACKS,
    PAGE_SIZE,
    TOKEN_EXPIRY_MARGIN,
    Playlist,
    PlaylistPage,
    SpotifyError,
    SpotifyForbidden,
    SpotifyNotConfigured,
    SpotifyNotFound,
    SpotifyRateLimited,
    SpotifyUnavailable,
    Track,
    TrackList,
    is_valid_playlist_id,
    normalize_query,
)
from .sanitize import checked_web_url, playlist_app_uri, playlist_web_url

__all__ = [
    "CACHE_KEY_VERSION",
    "CACHE_SECONDS",
    "DEFAULT_API_URL",
    "DEFAULT_ATTEMPTS",
    "DEFAULT_BACKOFF",
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_RETRY_AFTER",
    "DEFAULT_TIMEOUT",
    "DEFAULT_TOKEN_URL",
    "FILL_LOCK_SECONDS",
    "FILL_WAIT_SECONDS",
    "IMAGE_WIDTH",
    "ITEMS_PAGE_SIZE",
    "LEGACY_TRACKS_PAGE_SIZE",
    "MAX_SEARCH_OFFSET",
    "MAX_TRACK_PAGES",
    "MAX_TRACKS",
    "PAGE_SIZE",
    "TOKEN_EXPIRY_MARGIN",
    "Playlist",
    "PlaylistPage",
    "SpotifyClient",
    "SpotifyError",
    "SpotifyForbidden",
    "SpotifyNotConfigured",
    "SpotifyNotFound",
    "SpotifyRateLimited",
    "SpotifyUnavailable",
    "Track",
    "TrackList",
    "checked_web_url",
    "get_client",
    "get_playlist",
    "get_playlist_tracks",
    "is_demo_catalog",
    "is_valid_playlist_id",
    "normalize_query",
    "playlist_app_uri",
    "playlist_web_url",
    "reset_client",
    "search_playlists",
]
