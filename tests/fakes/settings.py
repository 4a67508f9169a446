"""Settings for the site pointed at the loopback fake Spotify: production's, plus its covers.

The fake serves cover images over plain http from its own origin (FAKE_SPOTIFY_IMAGE_ORIGIN,
which FakeSpotify.environment() sets with DJANGO_SETTINGS_MODULE=tests.fakes.settings).
Production allows only Spotify's https image hosts, in the parser (search/sanitize.py) and in
the Content-Security-Policy; this adds the fake's origin to both, and changes nothing else.
"""

import os

from musicsite.settings import *  # noqa: F403
from musicsite.settings import CONTENT_SECURITY_POLICY

FAKE_SPOTIFY_IMAGE_ORIGIN = os.environ.get("FAKE_SPOTIFY_IMAGE_ORIGIN", "")
if FAKE_SPOTIFY_IMAGE_ORIGIN:
    SPOTIFY_EXTRA_IMAGE_ORIGINS = [FAKE_SPOTIFY_IMAGE_ORIGIN]
    _directives = CONTENT_SECURITY_POLICY["DIRECTIVES"]
    CONTENT_SECURITY_POLICY = {
        **CONTENT_SECURITY_POLICY,
        "DIRECTIVES": {
            **_directives,
            "img-src": [*_directives["img-src"], FAKE_SPOTIFY_IMAGE_ORIGIN],
        },
    }
