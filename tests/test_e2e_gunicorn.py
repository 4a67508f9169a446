"""End to end: the Procfile's web command under gunicorn, production settings, a loopback Spotify.

Proves what the test client cannot: the WSGI entry point, whitenoise's manifest (after
collectstatic), settings read from the environment and the Spotify client talking real HTTP.
"""

import gzip
import re
import threading
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings

from tests.support.appserver import AppServer

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


def test_pages_are_compressed_and_static_files_keep_whitenoises_own_copies(app_server):
    gzip_only = {"Accept-Encoding": "gzip"}
    status, headers, page = fetch_raw(f"{app_server.url}/", headers=gzip_only)
    assert (status, headers["Content-Encoding"]) == (200, "gzip")
    home = gzip.decompress(page).decode()
    assert "How are you feeling?" in home

    stylesheet = re.search(r'href="/static/(css/site\.[0-9a-f]{12}\.css)"', home).group(1)
    status, headers, body = fetch_raw(f"{app_server.url}/static/{stylesheet}", headers=gzip_only)
    assert (status, headers["Content-Encoding"]) == (200, "gzip")
    # Byte for byte the file collectstatic compressed, served with WhiteNoise's headers.
    assert body == (settings.STATIC_ROOT / f"{stylesheet}.gz").read_bytes()
    assert "immutable" in headers["Cache-Control"]


def test_web_concurrency_sets_the_number_of_worker_processes(fake_spotify):
    with AppServer(workers=3, env=fake_spotify.environment()) as server:
        assert len(server.worker_pids()) == 3


def test_a_request_waiting_on_spotify_does_not_hold_up_its_worker(fake_spotify):
    """One worker process: while a cold search waits on Spotify, another visitor is served."""
    finished = []
    with AppServer(workers=1, env=fake_spotify.environment()) as server:
        fetch(f"{server.url}/search/?q=warm+up")  # the worker holds a token from here on
        fake_spotify.hang_next("search", seconds=4)

        def slow_search():
            probe(f"{server.url}/search/?q=slow+one")
            finished.append("slow search")

        waiting = threading.Thread(target=slow_search)
        waiting.start()
        try:
            wait_for(lambda: len(fake_spotify.calls("search")) == 2)
            status, _, body = fetch(f"{server.url}/healthz")
            finished.append("healthz")
        finally:
            waiting.join()

    assert (status, body) == (200, "ok\n")
    # A sync worker serves the second visitor only once the first one's search is over.
    assert finished == ["healthz", "slow search"]


def test_concurrent_visitors_of_one_new_term_make_one_spotify_call_per_worker(fake_spotify):
    fake_spotify.latency = 0.3
    with AppServer(workers=2, env=fake_spotify.environment()) as server:
        fetch(f"{server.url}/healthz")
        before = len(fake_spotify.calls("search"))
        url = f"{server.url}/search/?q=together+now"
        barrier = threading.Barrier(16)
        statuses = []

        def visit():
            barrier.wait()
            statuses.append(probe(url))

        visitors = [threading.Thread(target=visit) for _ in range(16)]
        for visitor in visitors:
            visitor.start()
        for visitor in visitors:
            visitor.join()

    assert statuses == [200] * 16
    assert 1 <= len(fake_spotify.calls("search")) - before <= 2


def fetch_raw(url, *, headers):
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=20) as response:
        return response.status, response.headers, response.read()


def probe(url):
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def wait_for(condition, *, timeout=10):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)
