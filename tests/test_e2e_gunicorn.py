"""End to end: the Procfile's web command under gunicorn, production settings, a loopback Spotify.

Proves what the test client cannot: the WSGI entry point, whitenoise's manifest (after
collectstatic), settings read from the environment and the Spotify client talking real HTTP.
"""

import re
import urllib.request

import pytest

from bench.appserver import AppServer

pytestmark = pytest.mark.e2e


def fetch(url):
    with urllib.request.urlopen(url, timeout=20) as response:
        return response.status, response.headers, response.read().decode()


@pytest.fixture
def app_server(fake_spotify):
    server = AppServer(
        workers=1,
        env={
            **fake_spotify.environment(),
            "ALLOWED_HOSTS": "127.0.0.1",
        },
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()


def test_the_site_serves_home_search_and_a_playlist_under_gunicorn(app_server, fake_spotify):
    groove = fake_spotify.add_playlist(name="Sunny <Groove> & Co", track_count=12)
    other = fake_spotify.add_playlist(name="Second Helping", track_count=3)
    fake_spotify.set_search_results("happy", [groove, None, other])

    status, headers, home = fetch(f"{app_server.url}/")
    assert status == 200
    assert "How are you feeling?" in home
    # whitenoise serves the hashed name collectstatic wrote into the manifest.
    stylesheet = re.search(r'href="(/static/css/site\.[0-9a-f]{12}\.css)"', home)
    assert stylesheet, home
    css_status, _, css = fetch(app_server.url + stylesheet.group(1))
    assert css_status == 200
    assert ".cards" in css

    status, _, results = fetch(f"{app_server.url}/search/?q=happy")
    assert status == 200
    assert "Sunny &lt;Groove&gt; &amp; Co" in results
    assert "Second Helping" in results
    assert f'href="/playlist/{groove}/"' in results
    assert fake_spotify.calls("search")

    status, _, page = fetch(f"{app_server.url}/playlist/{groove}/")
    assert status == 200
    assert "<h1>Sunny &lt;Groove&gt; &amp; Co</h1>" in page
    assert f"https://open.spotify.com/embed/playlist/{groove}" in page
    assert len(re.findall(r'<tr><td class="num">\d+</td>', page)) == 12

    status, _, legacy = fetch(f"{app_server.url}/playlist/someone/{groove}/")
    assert status == 200
    assert "<h1>Sunny &lt;Groove&gt; &amp; Co</h1>" in legacy
