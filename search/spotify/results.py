"""The client's typed results, its errors and the limits it keeps to."""

import time
from dataclasses import dataclass

from . import sanitize

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


class SpotifyError(Exception):
    """Base of the client's errors; the text is safe to log but not meant for visitors."""


class SpotifyNotConfigured(SpotifyError):
    """No usable credentials (and not in demo mode), or Spotify rejected them."""


class SpotifyUnavailable(SpotifyError):
    """Spotify did not answer usefully: 5xx after retries, timeouts, connection errors, bad JSON."""


class SpotifyRateLimited(SpotifyUnavailable):
    """A 429 whose `Retry-After` is too long to wait for."""

    def __init__(self, retry_after: int) -> None:
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
    def embed_url(self) -> str:
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
    def duration(self) -> str:
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
    truncated: bool  # not every track is listed: cut at max_tracks, or cut_short
    # Spotify's paging did not end where it should (an empty page pointing on, or MAX_TRACK_PAGES
    # pages and still a `next`): the list stopped there, and `truncated` is set too.
    cut_short: bool = False


def normalize_query(query: object) -> str:
    """The form of a search term that caching and subscriptions compare: trimmed, casefolded."""
    return " ".join(str(query).split()).casefold()


def is_valid_playlist_id(value: object) -> bool:
    """Whether `value` is shaped like a Spotify id (the one rule: search/sanitize.py)."""
    return sanitize.is_valid_id(value)


def require_playlist_id(value: object) -> None:
    """SpotifyNotFound, as Spotify would answer, for anything not shaped like a playlist id."""
    if not is_valid_playlist_id(value):
        raise SpotifyNotFound(f"not a Spotify playlist id: {value!r}")


class Deadline:
    """The wall-clock budget of one public call, shared by its token fetch, pages and retries."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._ends = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._ends - time.monotonic()

    def timeout(self, timeout: tuple[float, float]) -> tuple[float, float]:
        remaining = self.remaining()
        if remaining <= 0:
            raise SpotifyUnavailable(f"Spotify did not answer within {self.seconds:g} s")
        connect, read = timeout
        return (min(connect, remaining), min(read, remaining))
