"""Our links in emails: each pick's signed /go/ redirect, and the marker of a visit from an email.

A /go/ link signs (with django.core.signing, under its own salt) which link of which pick it is:
"web" or "app", the subscription and the playlist id, which together name one `SentPlaylist`
(unique per subscription and playlist). Nothing else is in it, so nothing in the request can
choose where it leads: the answer is always that pick's own stored Spotify link.
"""

import hashlib
import hmac
import re
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.encoding import force_bytes

from ..links import absolute_url

SALT = "subscriptions.listening.go"
SEPARATOR = "."  # not in the value's alphabet nor base64's
SIGNATURE_BYTES = 16
KINDS = {"web": "w", "app": "a"}
LINKS = {letter: kind for kind, letter in KINDS.items()}
# The letter of the link, the subscription's id, the playlist's Spotify id (base62).
VALUE = re.compile(r"([wa])([1-9][0-9]{0,18})-([A-Za-z0-9]{1,64})")
MAX_SIGNED_LENGTH = 200
FROM_EMAIL = "email"  # ?from=email: a visit to the manage page or a web copy from an email


def recording() -> bool:
    """CLICK_RECORDING: links go through /go/ and are counted; otherwise they are plain."""
    return bool(settings.CLICK_RECORDING)


class _Signer(signing.Signer):
    """django.core.signing.Signer with its HMAC-SHA256 cut to 128 bits: 22 characters instead
    of 43 in every link of every email (RFC 2104, section 5, allows truncating to half the
    hash), and each key's derivation done once rather than per link (about 4 µs of CPU a link
    instead of 6 here). `unsign` (with SECRET_KEY_FALLBACKS) checks them as Signer checks its
    own."""

    def __init__(self) -> None:
        super().__init__(salt=SALT, sep=SEPARATOR)
        self._derived: dict = {}

    def signature(self, value, key=None):
        key = key or self.key
        if key not in self._derived:  # what django.utils.crypto.salted_hmac derives each time
            self._derived[key] = hashlib.sha256(
                force_bytes(self.salt + "signer") + force_bytes(key)
            ).digest()
        digest = hmac.digest(self._derived[key], str(value).encode(), "sha256")
        return signing.b64_encode(digest[:SIGNATURE_BYTES]).decode()


@dataclass(frozen=True)
class Target:
    """What a /go/ link names: which link ("web" or "app") of which pick."""

    link: str
    subscription_id: int
    playlist_id: str


class GoLinks:
    """Builds /go/ links; one per run or page, as its signer keeps its derived keys."""

    def __init__(self, *, absolute: bool = True) -> None:
        self.signer = _Signer()
        path = reverse("go", kwargs={"signed": "SIGNED"})
        before, after = (absolute_url(path) if absolute else path).split("SIGNED")
        self.before: str = before
        self.after: str = after

    def link(self, *, link: str, subscription_id: int, playlist_id: str) -> str:
        signed = self.signer.sign(f"{KINDS[link]}{subscription_id}-{playlist_id}")
        return f"{self.before}{signed}{self.after}"


def target_of(signed: str) -> Target:
    """The target a /go/ link's signed part names; raises signing.BadSignature otherwise."""
    if len(signed) > MAX_SIGNED_LENGTH:
        raise signing.BadSignature("Too long.")
    match = VALUE.fullmatch(_Signer().unsign(signed))
    if match is None:  # signed by us, so never; but a key shared with other code might
        raise signing.BadSignature("Not a link of ours.")
    letter, subscription_id, playlist_id = match.groups()
    return Target(LINKS[letter], int(subscription_id), playlist_id)


def from_email(url: str) -> str:
    """A link in an email to one of our pages: marked, so the visit counts as listening."""
    return f"{url}?from={FROM_EMAIL}" if recording() else url
