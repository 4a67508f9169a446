"""Fixtures for the search app's tests."""

import pytest

from search import spotify


@pytest.fixture
def demo(settings):
    """Development without Spotify credentials: the offline demo catalog."""
    settings.DEBUG = True
    settings.SPOTIFY_DEMO_CATALOG = True
    settings.SPOTIFY_CLIENT_ID = settings.SPOTIFY_CLIENT_SECRET = settings.SPOTIFY_TOKEN = ""
    spotify.reset_client()
    yield
    spotify.reset_client()
