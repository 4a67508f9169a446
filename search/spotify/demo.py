"""Offline demo catalog: answers the Spotify client's requests from JSON files, without a network.

`make run` on a machine with no Spotify credentials gets a working site: get_client() builds the
ordinary SpotifyClient on a requests session whose transport is DemoCatalogAdapter, so every answer
goes through the same status handling and parsing as live Spotify's. The catalog is one file per
playlist in `search/demo_catalog/`, each a `GET /v1/playlists/{id}` body in Spotify's shape with
its entries under `items`; search results and `/items` pages are cut from those bodies.
"""

import functools
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from django.templatetags.static import static
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

DEMO_API_URL = "https://demo.funky-music.invalid/v1"
DEMO_TOKEN = "demo-catalog"  # noqa: S105 (the adapter ignores it; the client wants one)
CATALOG_DIR = Path(__file__).parent.parent / "demo_catalog"
STATIC_PREFIX = "static:"  # image URLs in the files are paths under our static files

# Words that say nothing about which playlist fits; they would match everything or nothing.
STOP_WORDS = frozenset(
    {"a", "an", "and", "are", "feel", "feeling", "for", "im", "in", "is", "it", "like", "me"}
    | {"music", "my", "of", "on", "playlist", "so", "some", "song", "songs", "the", "to"}
    | {"very", "want", "with", "you"}
)
_WORD = re.compile(r"\w+")


@functools.cache
def load_catalog() -> tuple[dict[str, Any], ...]:
    """The playlist bodies, in file-name order (the order search shows them in)."""
    return tuple(
        json.loads(path.read_text(encoding="utf-8")) for path in sorted(CATALOG_DIR.glob("*.json"))
    )


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.casefold()))


def matching_playlists(query: str) -> list[dict[str, Any]]:
    """Playlists whose name or description shares words with the query, best first.

    A word matches a catalog word it begins, or that begins it ("relaxing" finds "relax").
    When nothing matches, the whole catalog: the demo always has something to show.
    """
    catalog = load_catalog()
    wanted = [w for w in _words(query) if w not in STOP_WORDS and len(w) > 1]
    scored = []
    for position, playlist in enumerate(catalog):
        words = _words(f"{playlist['name']} {playlist['description']}")
        score = sum(
            any(word.startswith(w) or (len(word) > 3 and w.startswith(word)) for word in words)
            for w in wanted
        )
        if score:
            scored.append((-score, position, playlist))
    if not scored:
        return list(catalog)
    return [playlist for _, _, playlist in sorted(scored, key=lambda row: row[:2])]


class DemoCatalogAdapter(BaseAdapter):
    """A requests transport that serves the Web API's three read calls from the catalog."""

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: object = None,
        verify: object = True,
        cert: object = None,
        proxies: object = None,
    ) -> requests.Response:
        url = urlsplit(str(request.url))
        params = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = [part for part in url.path.split("/") if part][1:]  # drop "v1"
        status, body = self._answer(parts, params)
        response = requests.Response()
        response.status_code = status
        response.reason = "OK" if status == 200 else "Error"
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json"})
        response._content = json.dumps(body).encode()
        response.encoding = "utf-8"
        response.url = str(request.url)
        response.request = request
        return response

    def close(self) -> None:
        pass

    def _answer(self, parts: list[str], params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if parts == ["search"]:
            return self._search(params)
        if len(parts) in (2, 3) and parts[0] == "playlists":
            playlist = next((p for p in load_catalog() if p["id"] == parts[1]), None)
            if playlist is None:
                return 404, {"error": {"status": 404, "message": "Resource not found"}}
            if len(parts) == 2:
                return 200, self._metadata(playlist)
            if parts[2] in ("items", "tracks"):
                return 200, self._entries(playlist, parts[2], params)
        return 404, {"error": {"status": 404, "message": "Service not found"}}

    def _search(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        query = params.get("q", "")
        if not query.strip():
            return 400, {"error": {"status": 400, "message": "No search query"}}
        offset, limit = int(params.get("offset", 0)), int(params.get("limit", 5))
        found = matching_playlists(query)
        items = [self._metadata(p, search=True) for p in found[offset : offset + limit]]
        paging = _paging(
            "search", {"q": query, "type": "playlist"}, items, offset, limit, len(found)
        )
        return 200, {"playlists": paging}

    def _metadata(self, playlist: dict[str, Any], *, search: bool = False) -> dict[str, Any]:
        body = {key: value for key, value in playlist.items() if key != "items"}
        # Metadata only, like a Development Mode app gets: a reference to the entries, no page.
        body["items"] = {"href": playlist["items"]["href"], "total": playlist["items"]["total"]}
        if search:
            body.pop("followers", None)
        body["images"] = [
            {**image, "url": static(image["url"].removeprefix(STATIC_PREFIX))}
            if image["url"].startswith(STATIC_PREFIX)
            else image
            for image in playlist["images"]
        ]
        return body

    def _entries(
        self, playlist: dict[str, Any], route: str, params: dict[str, str]
    ) -> dict[str, Any]:
        entries = playlist["items"]["items"]
        offset, limit = int(params.get("offset", 0)), int(params.get("limit", 20))
        return _paging(
            f"playlists/{playlist['id']}/{route}",
            {},
            entries[offset : offset + limit],
            offset,
            limit,
            len(entries),
        )


def _paging(
    path: str, params: dict[str, str], items: list[Any], offset: int, limit: int, total: int
) -> dict[str, Any]:
    def page_url(page_offset: int) -> str:
        query = urlencode({**params, "offset": page_offset, "limit": limit})
        return f"{DEMO_API_URL}/{path}?{query}"

    return {
        "href": page_url(offset),
        "items": items,
        "limit": limit,
        "next": page_url(offset + limit) if offset + limit < total else None,
        "offset": offset,
        "previous": page_url(max(offset - limit, 0)) if offset else None,
        "total": total,
    }


def demo_session() -> requests.Session:
    session = requests.Session()
    session.mount(DEMO_API_URL.rsplit("/v1", 1)[0] + "/", DemoCatalogAdapter())
    return session
