"""Settings for the site pointed at the loopback fake Spotify: production's, plus its covers.

The fake serves cover images over plain http from its own origin (FAKE_SPOTIFY_IMAGE_ORIGIN,
which FakeSpotify.environment() sets with DJANGO_SETTINGS_MODULE=tests.fakes.settings).
Production allows only Spotify's https image hosts (search/sanitize.py); this adds the fake's
origin, and changes nothing else.
"""

import os

from musicsite.settings import *  # noqa: F403

FAKE_SPOTIFY_IMAGE_ORIGIN = os.environ.get("FAKE_SPOTIFY_IMAGE_ORIGIN", "")
if FAKE_SPOTIFY_IMAGE_ORIGIN:
    SPOTIFY_EXTRA_IMAGE_ORIGINS = [FAKE_SPOTIFY_IMAGE_ORIGIN]
