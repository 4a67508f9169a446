"""Loopback fake of Spotify's Web API: real HTTP on 127.0.0.1, answers built from captured bodies.

Used as a pytest plugin (the `fake_spotify` fixture) and as a standalone server for benchmarks:
`python -m tests.fakes.spotify --port 8001 --latency 0.1`.

What it imitates (see tests/fakes/spotify_data/README.md for the captures it starts from):
- `POST /api/token` — Client Credentials with HTTP Basic auth; bad credentials → 400 invalid_client.
- `GET /v1/search?type=playlist` — `limit` 1..10 (Development Mode), `offset` 0..1000, null items.
- `GET /v1/playlists/{id}` — metadata only (count references, no embedded track page), like a
  Development Mode app reading a playlist it does not own.
- `GET /v1/playlists/{id}/items` (limit ≤ 50) and the legacy `/tracks` (limit ≤ 100, `track` key).
- A Bearer token it issued on every API call, else 401; editorial ids (`37i9dQZF…`) → 404.
Any query without explicit results gets 50 deterministic results built from the real search
items (nulls included), each a playlist with a track list built from real track objects.

Odd but valid answers (fixed-spotify-open-api.yml allows them: its objects take any extra
property, its strings any text, its integers any size, and a paging object's `items` may be empty
while `next` is set): `add_playlist(overrides=..., track_overrides=...)` puts raw values into a
playlist's or its tracks' JSON, `RawJSON` splices text the encoder could not write (nesting deeper
than Python's recursion limit), `tracks_mode="empty_pages"` serves empty pages that still carry
`next`, `tracks_mode="endless"` pages of one entry whose `next` never runs out, and `answer_next`
serves any body (e.g. one generated from the spec's schemas).
"""

import argparse
import base64
import copy
import hashlib
import itertools
import json
import string
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest

from tests.fakes.server import LoopbackServer

DATA_DIR = Path(__file__).with_name("spotify_data")

ROUTES = ("token", "search", "playlist", "items", "tracks")
SEARCH_LIMIT_MAX = 10
ITEMS_LIMIT_MAX = 50
TRACKS_LIMIT_MAX = 100
OFFSET_MAX = 1000
GENERATED_TOTAL = 50
EDITORIAL_PREFIX = "37i9dQZF"
TOKEN_LIFETIME = 3600


def _load(name):
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


_SEARCH_BODY = _load("search_playlists.json")
_PLAYLIST_BODY = _load("get_playlist.json")
_LEGACY_TRACKS_PAGE = _load("playlist_tracks_legacy_2025.json")
_ERRORS = _load("errors_and_token.json")

# 20 real search items, 3 of them null: generated results cycle through them.
SEARCH_TEMPLATES = _SEARCH_BODY["playlists"]["items"]
_PLAYLIST_TEMPLATE = next(item for item in SEARCH_TEMPLATES if item)
TRACK_TEMPLATES = [entry["track"] for entry in _LEGACY_TRACKS_PAGE["items"]] + [
    _PLAYLIST_BODY["items"]["items"][0]["item"]
]
_ENTRY_TEMPLATE = {k: v for k, v in _LEGACY_TRACKS_PAGE["items"][0].items() if k != "track"}

_BASE62 = string.digits + string.ascii_letters
_ERROR_MESSAGES = {
    400: "Bad request",
    401: _ERRORS["api_401_2026_message"]["error"]["message"],
    403: _ERRORS["api_403_playlist_items_not_owned"]["error"]["message"],
    404: _ERRORS["api_404"]["error"]["message"],
    429: _ERRORS["api_429"]["error"]["message"],
    500: "Server error",
    502: "Bad gateway",
    503: "Service unavailable",
}
_COVER_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="300" height="300" viewBox="0 0 300 300">'
    b'<rect width="300" height="300" fill="#1db954"/></svg>'
)


def spotify_id(*parts):
    """A deterministic 22-character base62 id, like Spotify's."""
    seed = "|".join(map(str, parts)).encode("utf-8", "surrogatepass")  # odd names too
    number = int.from_bytes(hashlib.sha256(seed).digest(), "big")
    chars = []
    for _ in range(22):
        number, digit = divmod(number, 62)
        chars.append(_BASE62[digit])
    return "".join(chars)


def _normalize(query):
    return " ".join(query.split()).casefold()


@dataclass
class FakePlaylist:
    id: str
    name: str
    description: str
    owner_name: str
    owner_id: str
    track_count: int
    images: bool = True
    tracks_mode: str = "items"  # "items" | "tracks_only" | "forbidden" | "empty_pages" | "endless"
    entry_key: str = "both"  # "both" | "item" | "track"
    count_in: str | None = "items"  # "items" | "tracks" | "both" | None
    followers: int = 0
    entries: tuple | None = None  # per-position kinds: "track" | "episode" | "local" | None
    template: dict | None = None  # the real search item a generated playlist copies
    overrides: dict | None = None  # raw values put into the playlist object as they are
    track_overrides: dict | None = None  # the same for every track and episode object

    def kind_at(self, index):
        return self.entries[index] if self.entries is not None else "track"


@dataclass
class Call:
    route: str
    method: str
    path: str
    params: dict
    headers: dict
    form: dict
    at: float


@dataclass
class _Fault:
    route: str
    times: int
    status: int = 500
    headers: dict = field(default_factory=dict)
    body: object = None
    seconds: float = 0.0


class RawJSON:
    """JSON text sent as it is where this object stands in a body (json.dumps cannot write it)."""

    def __init__(self, text):
        self.text = text

    @classmethod
    def nested(cls, depth, innermost="1"):
        """An array `depth` levels deep: deeper than Python's JSON decoder can recurse at 1,000."""
        return cls("[" * depth + innermost + "]" * depth)


def _dumps(body):
    """JSON text for `body`, with each RawJSON's text spliced in where it stands."""
    raw = []

    def placeholder(value):
        if not isinstance(value, RawJSON):
            raise TypeError(f"not JSON serializable: {type(value).__name__}")
        raw.append(value.text)
        return f"\x00raw{len(raw) - 1}\x00"

    text = json.dumps(body, default=placeholder)
    for number, value in enumerate(raw):
        text = text.replace(json.dumps(f"\x00raw{number}\x00"), value)
    return text


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API behind a pooled session
    disable_nagle_algorithm = True  # headers and body go out in two writes
    server_version = "FakeSpotify/1.0"

    def do_GET(self):
        self.server.fake._handle(self, "GET")

    def do_POST(self):
        self.server.fake._handle(self, "POST")

    def log_message(self, format, *args):
        pass


class FakeSpotify(LoopbackServer):
    client_id = "fake-client-id"
    client_secret = "fake-client-secret"
    handler_class = _Handler

    def __init__(self, *, port=0, latency=0.0):
        super().__init__(port=port)
        self._lock = threading.Lock()
        self.reset()
        self.latency = latency

    # -- addresses -----------------------------------------------------------------------------

    def environment(self):
        """The variables that point a child process (gunicorn, manage.py) at this fake.

        Its covers come from its own plain-http origin, which only tests.fakes.settings lets
        the parser and the Content-Security-Policy through."""
        return {
            "SPOTIFY_CLIENT_ID": self.client_id,
            "SPOTIFY_CLIENT_SECRET": self.client_secret,
            "SPOTIFY_API_URL": self.api_url,
            "SPOTIFY_TOKEN_URL": self.token_url,
            "DJANGO_SETTINGS_MODULE": "tests.fakes.settings",
            "FAKE_SPOTIFY_IMAGE_ORIGIN": self.base_url,
        }

    @property
    def api_url(self):
        return f"{self.base_url}/v1"

    @property
    def token_url(self):
        return f"{self.base_url}/api/token"

    # -- test controls -------------------------------------------------------------------------

    def reset(self):
        with self._lock:
            self.latency = 0.0
            self.token_lifetime = TOKEN_LIFETIME
            self._token_numbers = itertools.count(1)
            self._calls = []
            self._faults = []
            self._hangs = []
            self._tokens = set()
            self._search_results = {}
            self._playlists = {}
            self.while_serving = None
            for item in SEARCH_TEMPLATES:
                if item:
                    self._playlists[item["id"]] = self._from_template(item["id"], item)

    def calls(self, route=None):
        with self._lock:
            return [call for call in self._calls if route is None or call.route == route]

    def add_playlist(
        self,
        *,
        id=None,
        name="Fake playlist",
        description="",
        owner_name="Fake Owner",
        owner_id=None,
        track_count=25,
        images=True,
        tracks_mode="items",
        entry_key="both",
        count_in="items",
        followers=0,
        entries=None,
        overrides=None,
        track_overrides=None,
    ):
        """Add a playlist; `entries` (kinds per position) overrides `track_count` when given.

        `overrides` and `track_overrides` are merged as they are into the playlist's JSON and
        into each of its tracks' (and episodes'), after everything else: odd values, hostile links.
        """
        if tracks_mode not in {"items", "tracks_only", "forbidden", "empty_pages", "endless"}:
            raise ValueError(f"unknown tracks_mode {tracks_mode!r}")
        if entry_key not in {"both", "item", "track"}:
            raise ValueError(f"unknown entry_key {entry_key!r}")
        if count_in not in {"items", "tracks", "both", None}:
            raise ValueError(f"unknown count_in {count_in!r}")
        with self._lock:
            playlist_id = id or spotify_id("added", len(self._playlists), name)
            self._playlists[playlist_id] = FakePlaylist(
                id=playlist_id,
                name=name,
                description=description,
                owner_name=owner_name,
                owner_id=owner_id or owner_name.lower().replace(" ", ""),
                track_count=len(entries) if entries is not None else track_count,
                images=images,
                tracks_mode=tracks_mode,
                entry_key=entry_key,
                count_in=count_in,
                followers=followers,
                entries=tuple(entries) if entries is not None else None,
                overrides=copy.deepcopy(overrides),
                track_overrides=copy.deepcopy(track_overrides),
            )
        return playlist_id

    def set_search_results(self, query, playlist_ids):
        """Exact results for `query`: a list of playlist ids, None standing for a null item."""
        with self._lock:
            self._search_results[_normalize(query)] = list(playlist_ids)

    def fail_next(self, route, *, status=500, times=1, headers=None, body=None):
        """Answer the next `times` calls to `route` ("*" for any) with an error.

        `body` may be a dict (sent as JSON) or a str/bytes (sent as is, e.g. malformed JSON);
        by default it is Spotify's error body for `status`. A 429 gets `Retry-After: 1` unless
        `headers` says otherwise.
        """
        self._check_route(route)
        headers = dict(headers or {})
        if status == 429:
            headers.setdefault("Retry-After", "1")
        with self._lock:
            self._faults.append(_Fault(route, times, status, headers, body))

    def answer_next(self, route, body, *, times=1):
        """Answer the next `times` calls to `route` with 200 and `body` (dict, str or bytes)."""
        self.fail_next(route, status=200, times=times, body=body)

    def hang_next(self, route, *, seconds, times=1):
        """Hold the next `times` answers to `route` ("*" for any) for `seconds` before answering."""
        self._check_route(route)
        with self._lock:
            self._hangs.append(_Fault(route, times, seconds=seconds))

    def serve_with(self, hook):
        """Call `hook(call)` in the handler thread as each request is served, after its
        latency and before its answer (None: no hook; reset() removes it). A test watches
        what the client holds while it waits, or holds the answer itself until it is ready."""
        with self._lock:
            self.while_serving = hook

    def expire_tokens(self):
        """Every token issued so far stops working: the next API call with one gets 401."""
        with self._lock:
            self._tokens.clear()

    def issue_token(self):
        """A valid access token, as if obtained elsewhere (for the raw SPOTIFY_TOKEN setting)."""
        token = f"fake-token-{next(self._token_numbers)}"
        with self._lock:
            self._tokens.add(token)
        return token

    # -- request handling ----------------------------------------------------------------------

    @staticmethod
    def _check_route(route):
        if route != "*" and route not in ROUTES:
            raise ValueError(f"route must be '*' or one of {ROUTES}, not {route!r}")

    def _handle(self, handler, method):
        url = urlsplit(handler.path)
        params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        length = int(handler.headers.get("Content-Length") or 0)
        raw_body = handler.rfile.read(length) if length else b""
        form = {k: v[-1] for k, v in parse_qs(raw_body.decode("latin-1")).items()}
        route, playlist_id = self._route(method, url.path)
        call = Call(route, method, url.path, params, dict(handler.headers), form, time.time())
        with self._lock:
            self._calls.append(call)
            hang = self._take(self._hangs, route)
            fault = self._take(self._faults, route)
            hook = self.while_serving
        delay = self.latency + (hang.seconds if hang else 0.0)
        if delay:
            time.sleep(delay)
        if hook is not None:
            hook(call)
        if fault:
            status, headers, body = fault.status, fault.headers, fault.body
            if body is None:
                body = self._token_error() if route == "token" else self._error_body(status)
        else:
            status, headers, body = self._answer(route, playlist_id, params, handler, form)
        self._send(handler, status, headers, body)

    @staticmethod
    def _take(queue, route):
        for fault in queue:
            # "*" means any API call; a browser fetching cover images must not use faults up.
            matches = fault.route == route or (fault.route == "*" and route in ROUTES)
            if fault.times > 0 and matches:
                fault.times -= 1
                return fault
        return None

    @staticmethod
    def _route(method, path):
        parts = [part for part in path.split("/") if part]
        if method == "POST" and parts == ["api", "token"]:
            return "token", None
        if method == "GET" and parts == ["v1", "search"]:
            return "search", None
        if method == "GET" and len(parts) == 3 and parts[:2] == ["v1", "playlists"]:
            return "playlist", parts[2]
        if (
            method == "GET"
            and len(parts) == 4
            and parts[:2] == ["v1", "playlists"]
            and parts[3] in ("items", "tracks")
        ):
            return parts[3], parts[2]
        if method == "GET" and len(parts) == 2 and parts[0] == "images":
            return "image", None
        return "other", None

    def _answer(self, route, playlist_id, params, handler, form):
        if route == "token":
            return self._answer_token(handler, form)
        if route == "image":
            return 200, {"Content-Type": "image/svg+xml"}, _COVER_SVG
        if route == "other":
            return 404, {}, self._error_body(404, "Service not found")
        if not self._authorized(handler.headers.get("Authorization", "")):
            return 401, {}, self._error_body(401)
        if route == "search":
            return self._answer_search(params)
        with self._lock:
            playlist = self._playlists.get(playlist_id)
        if playlist is None or playlist_id.startswith(EDITORIAL_PREFIX):
            return 404, {}, self._error_body(404)
        if route == "playlist":
            return 200, {}, self._playlist_json(playlist, full=True)
        return self._answer_entries(route, playlist, params)

    def _answer_token(self, handler, form):
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if handler.headers.get("Authorization", "") != f"Basic {expected}":
            return 400, {}, self._token_error()
        if form.get("grant_type") != "client_credentials":
            return 400, {}, {"error": "unsupported_grant_type"}
        token = self.issue_token()
        return (
            200,
            {},
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": self.token_lifetime,
            },
        )

    def _authorized(self, header):
        scheme, _, token = header.partition(" ")
        with self._lock:
            return scheme == "Bearer" and token in self._tokens

    def _answer_search(self, params):
        query = params.get("q", "").strip()
        if not query:
            return 400, {}, self._error_body(400, "No search query")
        if "playlist" not in params.get("type", "").split(","):
            return 400, {}, self._error_body(400, "Missing parameter type")
        limit = _int_or_none(params.get("limit", "5"))
        offset = _int_or_none(params.get("offset", "0"))
        if limit is None or not 1 <= limit <= SEARCH_LIMIT_MAX:
            return 400, {}, _ERRORS["api_400_search_limit_over_10"]
        if offset is None or not 0 <= offset <= OFFSET_MAX:
            return 400, {}, self._error_body(400, "Invalid offset")
        key = _normalize(query)
        with self._lock:
            explicit = self._search_results.get(key)
            if explicit is not None:
                total = len(explicit)
                page_ids = explicit[offset : offset + limit]
            else:
                total = GENERATED_TOTAL
                page_ids = [
                    self._generated_result(key, position)
                    for position in range(offset, min(offset + limit, total))
                ]
            items = [
                self._playlist_json(self._playlists[pid], full=False) if pid else None
                for pid in page_ids
            ]
        extra = {"q": query, "type": "playlist"}
        if "market" in params:
            extra["market"] = params["market"]
        paging = self._paging("/v1/search", extra, items, offset, limit, total)
        return 200, {}, {"playlists": paging}

    def _generated_result(self, key, position):
        # Called with the lock held. Registers the playlist so later calls can open it.
        template = SEARCH_TEMPLATES[position % len(SEARCH_TEMPLATES)]
        if template is None:
            return None
        playlist_id = spotify_id("search", key, position)
        if playlist_id not in self._playlists:
            self._playlists[playlist_id] = self._from_template(playlist_id, template)
        return playlist_id

    @staticmethod
    def _from_template(playlist_id, template):
        return FakePlaylist(
            id=playlist_id,
            name=template["name"],
            description=template["description"],
            owner_name=template["owner"]["display_name"],
            owner_id=template["owner"]["id"],
            track_count=template["tracks"]["total"],
            images=bool(template["images"]),
            count_in="both",
            followers=template["tracks"]["total"] * 7,
            template=template,
        )

    def _answer_entries(self, route, playlist, params):
        if playlist.tracks_mode == "forbidden":
            return 403, {}, _ERRORS["api_403_playlist_items_not_owned"]
        if route == "items" and playlist.tracks_mode == "tracks_only":
            return 404, {}, self._error_body(404)
        max_limit = ITEMS_LIMIT_MAX if route == "items" else TRACKS_LIMIT_MAX
        limit = _int_or_none(params.get("limit", "20"))
        offset = _int_or_none(params.get("offset", "0"))
        if limit is None or not 1 <= limit <= max_limit:
            return 400, {}, self._error_body(400, "Invalid limit")
        if offset is None or offset < 0:
            return 400, {}, self._error_body(400, "Invalid offset")
        positions = range(offset, min(offset + limit, playlist.track_count))
        entries = [self._entry(playlist, position, route) for position in positions]
        path = f"/v1/playlists/{playlist.id}/{route}"
        paging = self._paging(path, {}, entries, offset, limit, playlist.track_count)
        if playlist.tracks_mode == "empty_pages":
            # The first page as usual, then empty pages that never stop pointing at another:
            # PagingObject's `items` has no minItems and its `next` is any nullable string.
            if offset:
                paging["items"] = []
            paging["next"] = f"{self.base_url}{path}?" + urlencode(
                {"offset": offset + limit, "limit": limit}
            )
        elif playlist.tracks_mode == "endless" and playlist.track_count:
            # One entry a page (the list's entries over and over) and a `next` that never runs
            # out: PagingObject's `limit` is only "the maximum number of items in the response"
            # and its `next` is null only "if none" (fixed-spotify-open-api.yml).
            paging["items"] = [self._entry(playlist, offset % playlist.track_count, route)]
            paging["next"] = f"{self.base_url}{path}?" + urlencode(
                {"offset": offset + 1, "limit": limit}
            )
        return 200, {}, paging

    # -- bodies --------------------------------------------------------------------------------

    def _paging(self, path, params, items, offset, limit, total):
        def page_url(page_offset):
            return f"{self.base_url}{path}?" + urlencode(
                {**params, "offset": page_offset, "limit": limit}
            )

        return {
            "href": page_url(offset),
            "items": items,
            "limit": limit,
            "next": page_url(offset + limit) if offset + limit < total else None,
            "offset": offset,
            "previous": page_url(max(offset - limit, 0)) if offset > 0 else None,
            "total": total,
        }

    def _playlist_json(self, playlist, *, full):
        body = copy.deepcopy(playlist.template or _PLAYLIST_TEMPLATE)
        api = self.api_url
        owner_id = playlist.owner_id
        body.update(
            id=playlist.id,
            name=playlist.name,
            description=playlist.description,
            href=f"{api}/playlists/{playlist.id}",
            uri=f"spotify:playlist:{playlist.id}",
            external_urls={"spotify": f"https://open.spotify.com/playlist/{playlist.id}"},
            snapshot_id=spotify_id("snapshot", playlist.id)[:32],
            owner={
                "display_name": playlist.owner_name,
                "external_urls": {"spotify": f"https://open.spotify.com/user/{owner_id}"},
                "href": f"{api}/users/{owner_id}",
                "id": owner_id,
                "type": "user",
                "uri": f"spotify:user:{owner_id}",
            },
            images=self._images(playlist) if playlist.images else [],
        )
        body.pop("tracks", None)
        body.pop("items", None)
        reference = {"href": f"{api}/playlists/{playlist.id}/items", "total": playlist.track_count}
        if playlist.count_in in ("items", "both"):
            body["items"] = reference
        if playlist.count_in in ("tracks", "both"):
            body["tracks"] = {**reference, "href": f"{api}/playlists/{playlist.id}/tracks"}
        if full:
            body["followers"] = {"href": None, "total": playlist.followers}
        body.update(copy.deepcopy(playlist.overrides or {}))
        return body

    def _images(self, playlist):
        sizes = (640, 300, 60)
        if playlist.template:
            sizes = tuple(image["width"] for image in playlist.template["images"])
        return [
            {
                "height": size,
                "url": f"{self.base_url}/images/{playlist.id}-{size or 'x'}.svg",
                "width": size,
            }
            for size in sizes
        ]

    def _entry(self, playlist, position, route):
        kind = playlist.kind_at(position)
        if kind is None:
            obj = None
        elif kind == "episode":
            obj = self._episode(playlist, position)
        elif kind == "local":
            obj = self._local_track(position)
        else:
            obj = self._track(playlist, position)
        if obj is not None and playlist.track_overrides:
            obj.update(copy.deepcopy(playlist.track_overrides))
        entry = dict(_ENTRY_TEMPLATE, is_local=kind == "local")
        if route == "tracks":  # the legacy endpoint only knows `track`
            entry["track"] = obj
        else:
            if playlist.entry_key in ("both", "track"):
                entry["track"] = obj
            if playlist.entry_key in ("both", "item"):
                entry["item"] = obj
        return entry

    def _track(self, playlist, position):
        track = copy.deepcopy(TRACK_TEMPLATES[position % len(TRACK_TEMPLATES)])
        track_id = spotify_id("track", playlist.id, position)
        track.update(
            id=track_id,
            href=f"{self.api_url}/tracks/{track_id}",
            uri=f"spotify:track:{track_id}",
            external_urls={"spotify": f"https://open.spotify.com/track/{track_id}"},
        )
        return track

    def _episode(self, playlist, position):
        # EpisodeObject as in the OpenAPI spec (no capture of one is available).
        episode_id = spotify_id("episode", playlist.id, position)
        show_id = spotify_id("show", playlist.id)
        return {
            "audio_preview_url": None,
            "description": "An episode in a playlist.",
            "html_description": "<p>An episode in a playlist.</p>",
            "duration_ms": 1_834_000,
            "explicit": False,
            "external_urls": {"spotify": f"https://open.spotify.com/episode/{episode_id}"},
            "href": f"{self.api_url}/episodes/{episode_id}",
            "id": episode_id,
            "images": [],
            "is_externally_hosted": False,
            "is_playable": True,
            "language": "en",
            "languages": ["en"],
            "name": f"Episode {position + 1}",
            "release_date": "2025-03-01",
            "release_date_precision": "day",
            "type": "episode",
            "uri": f"spotify:episode:{episode_id}",
            "show": {
                "id": show_id,
                "name": "The Fake Show",
                "publisher": "Fake Podcasts",
                "uri": f"spotify:show:{show_id}",
                "external_urls": {"spotify": f"https://open.spotify.com/show/{show_id}"},
                "type": "show",
            },
        }

    @staticmethod
    def _local_track(position):
        name = f"Home Recording {position + 1}"
        return {
            "album": {
                "album_type": None,
                "artists": [],
                "id": None,
                "images": [],
                "name": "Tapes",
                "type": "album",
                "uri": None,
            },
            "artists": [
                {
                    "external_urls": {},
                    "href": None,
                    "id": None,
                    "name": "Me",
                    "type": "artist",
                    "uri": None,
                }
            ],
            "disc_number": 0,
            "duration_ms": 185_000,
            "explicit": False,
            "external_ids": {},
            "external_urls": {},
            "href": None,
            "id": None,
            "is_local": True,
            "name": name,
            "popularity": 0,
            "preview_url": None,
            "track_number": 0,
            "type": "track",
            "uri": f"spotify:local:Me:Tapes:{quote(name, safe='')}:185",
        }

    @staticmethod
    def _error_body(status, message=None):
        return {"error": {"status": status, "message": message or _ERROR_MESSAGES.get(status, "")}}

    @staticmethod
    def _token_error():
        return _ERRORS["token_error_400_invalid_client"]

    @staticmethod
    def _send(handler, status, headers, body):
        if isinstance(body, bytes):
            payload = body
            content_type = headers.get("Content-Type", "application/json")
        elif isinstance(body, str):
            payload = body.encode()
            content_type = "application/json; charset=utf-8"
        else:
            payload = _dumps(body).encode()
            content_type = "application/json; charset=utf-8"
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                if name.lower() != "content-type":
                    handler.send_header(name, str(value))
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout), as real clients do


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# -- pytest plugin ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _fake_spotify_server():
    with FakeSpotify() as fake:
        yield fake


@pytest.fixture
def fake_spotify(_fake_spotify_server, settings):
    """The fake, reset, with Django's settings and the Spotify client pointed at it."""
    from search import spotify

    fake = _fake_spotify_server
    fake.reset()
    for name, value in fake.environment().items():
        if name.startswith("SPOTIFY_"):
            setattr(settings, name, value)
    settings.SPOTIFY_TOKEN = ""
    settings.SPOTIFY_MARKET = ""
    settings.SPOTIFY_DEMO_CATALOG = False
    # The fake serves covers over plain http on loopback; production shows Spotify's only.
    settings.SPOTIFY_EXTRA_IMAGE_ORIGINS = [fake.base_url]
    # Short waits keep failure tests fast; the shape of the retry policy stays the same.
    settings.SPOTIFY_TIMEOUT = (1.0, 1.0)
    settings.SPOTIFY_DEADLINE = 4.0
    settings.SPOTIFY_BACKOFF = 0.01
    spotify.reset_client()
    yield fake
    spotify.reset_client()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    args = parser.parse_args(argv)
    fake = FakeSpotify(port=args.port, latency=args.latency).start()
    for name, value in fake.environment().items():
        print(f"{name}={value}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
