"""Spotify's JSON → typed results; unexpected shapes become SpotifyUnavailable."""

import logging
import math
from typing import Any, TypeGuard

import requests

from . import sanitize
from .results import (
    IMAGE_WIDTH,
    MAX_SEARCH_OFFSET,
    Playlist,
    PlaylistPage,
    SpotifyForbidden,
    SpotifyNotFound,
    SpotifyUnavailable,
    Track,
    is_valid_playlist_id,
)

logger = logging.getLogger(__name__)


def _decode(response: requests.Response) -> dict[str, Any]:
    status = response.status_code
    if 200 <= status < 300:
        return json_dict(response)
    message = error_message(response)
    if status == 401:
        raise SpotifyUnavailable(f"Spotify rejected a fresh access token ({message})")
    if status == 403:
        raise SpotifyForbidden(f"Spotify forbids this request ({message})")
    if status == 404:
        raise SpotifyNotFound(f"Spotify has no such resource ({message})")
    # 400 and the like: a request we should not have built. Log loudly; visitors see "unavailable".
    logger.error("Spotify answered %s to %s: %s", status, response.url, message)
    raise SpotifyUnavailable(f"Spotify answered {status} ({message})")


def _json_body(response: requests.Response) -> Any:
    """The decoded body; ValueError when it is not JSON."""
    try:
        return response.json(parse_int=sanitize.json_int)
    except RecursionError:
        # Valid, but nested deeper than Python's decoder recurses: what lies too deep goes.
        return sanitize.loads_shallow(response.text)


def json_dict(response: requests.Response) -> dict[str, Any]:
    try:
        body = _json_body(response)
    except ValueError as exc:
        raise SpotifyUnavailable("Spotify answered with malformed JSON") from exc
    if not isinstance(body, dict):
        raise SpotifyUnavailable("Spotify answered with unexpected JSON")
    return body


def error_message(response: requests.Response) -> str:
    try:
        error = _json_body(response).get("error")
    except (ValueError, AttributeError):
        return f"HTTP {response.status_code}"
    if isinstance(error, dict):
        error = error.get("message")
    return sanitize.text(error) or f"HTTP {response.status_code}"


def _retry_after(response: requests.Response) -> int:
    try:
        return max(0, math.ceil(float(response.headers.get("Retry-After", "1"))))
    except ValueError:
        return 1


def is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


_count_value = sanitize.count
_text = sanitize.text


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _pick_image(images: object) -> str | None:
    if not isinstance(images, list):
        return None
    usable = [
        image
        for image in images
        if isinstance(image, dict) and sanitize.image_url(image.get("url"))
    ]
    if not usable:
        return None
    sized = [image for image in usable if is_int(image.get("width"))]
    if not sized:
        return usable[0]["url"]
    big_enough = [image for image in sized if image["width"] >= IMAGE_WIDTH]
    if big_enough:
        return min(big_enough, key=lambda image: image["width"])["url"]
    return max(sized, key=lambda image: image["width"])["url"]


def _track_count(raw: dict[str, Any]) -> int | None:
    # 2026 renamed the reference `tracks` to `items`; either may be missing.
    for key in ("items", "tracks"):
        total = _count_value(_mapping(raw.get(key)).get("total"))
        if total is not None:
            return total
    return None


def _parse_playlist(raw: object) -> Playlist:
    if not isinstance(raw, dict) or not is_valid_playlist_id(raw.get("id")):
        raise SpotifyUnavailable("Spotify sent a playlist without a usable id")
    playlist_id = raw["id"]
    owner = _mapping(raw.get("owner"))
    owner_id = _text(owner.get("id"))
    followers = _mapping(raw.get("followers"))
    return Playlist(
        id=playlist_id,
        name=_text(raw.get("name")),
        # Descriptions arrive as HTML: links as markup, "R&amp;B" as entities.
        description=sanitize.plain_text(raw.get("description")),
        owner_name=_text(owner.get("display_name")) or owner_id,
        owner_id=owner_id,
        image_url=_pick_image(raw.get("images")),
        # A valid id always gives a link: Spotify's own when it is sound, else one built.
        web_url=sanitize.checked_web_url(
            _mapping(raw.get("external_urls")).get("spotify"),
            kind="playlist",
            spotify_id=playlist_id,
        )
        or sanitize.playlist_web_url(playlist_id),
        uri=sanitize.checked_app_uri(raw.get("uri"), kind="playlist", spotify_id=playlist_id)
        or sanitize.playlist_app_uri(playlist_id),
        track_count=_track_count(raw),
        followers=_count_value(followers.get("total")),
    )


def _parse_search(body: dict[str, Any], *, query: str, offset: int, limit: int) -> PlaylistPage:
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


def _parse_entry(entry: object, *, position: int) -> Track | None:
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
        raw_artists = item.get("artists")
        if not isinstance(raw_artists, list):
            raw_artists = []
        artists = tuple(filter(None, (_text(_mapping(a).get("name")) for a in raw_artists)))
    spotify_id = item.get("id")
    web_url = sanitize.checked_web_url(
        _mapping(item.get("external_urls")).get("spotify"), kind=kind, spotify_id=spotify_id
    )
    uri = sanitize.checked_app_uri(item.get("uri"), kind=kind, spotify_id=spotify_id)
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
