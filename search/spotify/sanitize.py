"""What Spotify sends, made safe to show, store and mail: plain text, bounded counts, its own links.

Spotify's OpenAPI description allows any JSON string (a lone surrogate, control characters, a tag
that never closes), integers of any size and objects nested to any depth. The client's parser
passes every value through here once, so pages, the admin and emails all get the same clean ones.

Links: a web link is kept only when it is https://open.spotify.com/..., an app link only when it
is a `spotify:` URI, and otherwise both are built from the validated id (`web_url_for`,
`app_uri_for`: the one home of Spotify's URL formats). Covers are kept only over https from
Spotify's image hosts or from our own static files (the demo catalog); otherwise None, and pages
show the placeholder cover. Tests may add origins with the SPOTIFY_EXTRA_IMAGE_ORIGINS setting
(the loopback fake serves plain http); production settings never set it.
"""

import json
import re
from html.parser import HTMLParser
from typing import TypeGuard

from django.conf import settings

SPOTIFY_WEB = "https://open.spotify.com"
# The largest count a float (and JavaScript) holds exactly; anything above is not a real count.
MAX_COUNT = 2**53 - 1
# Longer than any Spotify name or description, short enough that no page or record is swamped.
MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 500
# What SentPlaylist's fields hold: a link cut to fit would point somewhere else.
MAX_WEB_URL_LENGTH = 500
MAX_URI_LENGTH = 200
# Deeper JSON than Spotify's own objects ever are (about 8 levels) is replaced by null.
MAX_JSON_DEPTH = 32

_ID = re.compile(r"[A-Za-z0-9]{1,64}")
_KINDS = frozenset({"playlist", "track", "episode"})
# RFC 3986 characters, less the ones that need escaping in HTML or that browsers reinterpret.
_URL_TAIL = r"[A-Za-z0-9\-._~%!$&'()*+,;=:@/?#]*"
_WEB_URL = re.compile(re.escape(SPOTIFY_WEB) + "/" + _URL_TAIL)
_APP_URI = re.compile(r"spotify:[A-Za-z0-9\-._~%!$&'()*+,;=:@]+")
# The hosts Spotify's bodies serve covers from (search_playlists.json, get_playlist.json).
_IMAGE_HOST = re.compile(r"i\.scdn\.co|mosaic\.scdn\.co|image-cdn-[a-z0-9]+\.spotifycdn\.com")
_IMAGE_URL = re.compile(r"https://(" + _IMAGE_HOST.pattern + ")/" + _URL_TAIL)
_STATIC_PATH = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_\-./]*")

_SURROGATES = re.compile("[\ud800-\udfff]")
# C0 and C1 controls (tab, newline and the like become spaces) and Unicode's noncharacters.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
_NONCHARACTERS = re.compile("[\ufdd0-\ufdef\ufffe\uffff]")


# -- ids and links ----------------------------------------------------------------------------


def is_valid_id(value: object) -> TypeGuard[str]:
    """A Spotify id as the site accepts it: base62, at most 64 characters."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def web_url_for(kind: str, spotify_id: str) -> str:
    """Spotify's web page for a playlist, track or episode; ValueError for anything but an id."""
    _check(kind, spotify_id)
    return f"{SPOTIFY_WEB}/{kind}/{spotify_id}"


def app_uri_for(kind: str, spotify_id: str) -> str:
    """The `spotify:` URI that opens it in the app; ValueError for anything but an id."""
    _check(kind, spotify_id)
    return f"spotify:{kind}:{spotify_id}"


def playlist_web_url(playlist_id: str) -> str:
    return web_url_for("playlist", playlist_id)


def playlist_app_uri(playlist_id: str) -> str:
    return app_uri_for("playlist", playlist_id)


def playlist_embed_url(playlist_id: str) -> str:
    _check("playlist", playlist_id)
    return f"{SPOTIFY_WEB}/embed/playlist/{playlist_id}"


def _check(kind: str, spotify_id: object) -> None:
    if kind not in _KINDS or not is_valid_id(spotify_id):
        raise ValueError(f"not a Spotify {kind} id: {spotify_id!r}")


def checked_web_url(value: object, *, kind: str, spotify_id: object) -> str | None:
    """`value` if it is Spotify's own web link, else the one built from a valid id, else None."""
    if isinstance(value, str) and len(value) <= MAX_WEB_URL_LENGTH and _WEB_URL.fullmatch(value):
        return value
    return web_url_for(kind, spotify_id) if is_valid_id(spotify_id) else None


def checked_app_uri(value: object, *, kind: str, spotify_id: object) -> str | None:
    """`value` if it is a `spotify:` URI, else the one built from a valid id, else None."""
    if isinstance(value, str) and len(value) <= MAX_URI_LENGTH and _APP_URI.fullmatch(value):
        return value
    return app_uri_for(kind, spotify_id) if is_valid_id(spotify_id) else None


def is_spotify_image_host(host: str) -> bool:
    """The hosts Spotify serves cover art from."""
    return _IMAGE_HOST.fullmatch(host) is not None


def image_url(value: object) -> str | None:
    """`value` if it is a cover we may show: Spotify's image hosts over https, or our static."""
    if not isinstance(value, str) or len(value) > MAX_WEB_URL_LENGTH:
        return None
    if _IMAGE_URL.fullmatch(value):
        return value
    static_url = settings.STATIC_URL
    if (
        static_url.startswith("/")
        and value.startswith(static_url)
        and _STATIC_PATH.fullmatch(value.removeprefix(static_url))
        and ".." not in value
    ):
        return value
    for origin in getattr(settings, "SPOTIFY_EXTRA_IMAGE_ORIGINS", ()):
        if value.startswith(origin + "/") and re.fullmatch(_URL_TAIL, value[len(origin) :]):
            return value
    return None


# -- text and numbers ---------------------------------------------------------------------------


def text(value: object, *, limit: int = MAX_NAME_LENGTH) -> str:
    """One line of printable text, at most `limit` long: lone surrogates become U+FFFD,
    controls spaces."""
    if not isinstance(value, str):
        return ""
    value = _NONCHARACTERS.sub("", _CONTROLS.sub(" ", _SURROGATES.sub("\ufffd", value)))
    value = " ".join(value.split())
    if len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    return value


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(value: object, *, limit: int = MAX_DESCRIPTION_LENGTH) -> str:
    """The text of a bit of Spotify's HTML (descriptions): tags dropped, entities decoded.

    One pass of the standard library's parser, so a tag that never closes is dropped with what
    follows it instead of raising like Django's strip_tags. The result is text for templates to
    escape, never markup.
    """
    if not isinstance(value, str):
        return ""
    collector = _TextCollector()
    # Far more than any description; keeps the parser's work bounded whatever arrives.
    collector.feed(value[: limit * 20])
    collector.close()
    return text("".join(collector.parts), limit=limit)


def count(value: object) -> int | None:
    """A count Spotify sent (tracks, followers, milliseconds), or None when it is not one."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT:
        return value
    return None


# -- JSON ---------------------------------------------------------------------------------------

# More digits than any count has; from 4,300 Python refuses to convert them and the whole body
# would fail to decode.
MAX_JSON_INT_DIGITS = 20
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]|[^"\[\]{}]+', re.DOTALL)


def json_int(digits: str) -> int | None:
    """json.loads's `parse_int`: an integer too long to be a count becomes null."""
    return int(digits) if len(digits.lstrip("-")) <= MAX_JSON_INT_DIGITS else None


def loads_shallow(raw: str, *, max_depth: int = MAX_JSON_DEPTH) -> object:
    """json.loads for text nested deeper than Python's decoder can recurse (it raises
    RecursionError at about 1,000 levels): whatever lies deeper than `max_depth` becomes null.
    ValueError for text that is not JSON."""
    kept, depth, skipping, position = [], 0, False, 0
    for match in _JSON_TOKEN.finditer(raw):
        if match.start() != position:  # an unterminated string: not JSON
            raise ValueError("not JSON")
        position = match.end()
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > max_depth and not skipping:
                skipping = True
                kept.append("null")
            elif not skipping:
                kept.append(token)
        elif token in ("]", "}"):
            depth -= 1
            if not skipping:
                kept.append(token)
            elif depth == max_depth:
                skipping = False
        elif not skipping:
            kept.append(token)
    if position != len(raw):
        raise ValueError("not JSON")
    return json.loads("".join(kept), parse_int=json_int)
