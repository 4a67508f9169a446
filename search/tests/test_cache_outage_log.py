"""A cache outage is two log lines, not a traceback per operation (issue 21, item 15).

The cache is pointed at a closed port (Redis down), then at the local Redis (Redis back), through
settings.CACHES as a deploy would; the pages are asked for through the test client.
"""

import logging
import os
import socket
import threading

import pytest
import redis

from search import resilient_cache

LOGGER = "search.resilient_cache"
# db 6 is this module's own: flushed by the suite's cache fixture, never the app's db 0.
LIVE_REDIS = os.environ.get("REDIS_OUTAGE_TEST_URL", "redis://127.0.0.1:6379/6")


def redis_cache(url):
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": "funky-outage-test",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def live_redis_or_skip():
    try:
        redis.Redis.from_url(LIVE_REDIS, socket_connect_timeout=0.5).ping()
    except redis.RedisError as error:
        if os.environ.get("REQUIRE_REDIS"):
            pytest.fail(f"no Redis at {LIVE_REDIS}: {error}")
        pytest.skip(f"no Redis at {LIVE_REDIS}")


def browse(client, playlist_id):
    """A visitor's few pages: each reads and writes the cache several times."""
    for term in ("happy", "rainy sunday", "focus"):
        assert client.get("/search/", {"q": term}).status_code == 200
        assert client.get("/search/", {"q": term}).status_code == 200
    assert client.get(f"/playlist/{playlist_id}/").status_code == 200


def cache_records(caplog):
    return [record for record in caplog.records if record.name == LOGGER]


@pytest.mark.django_db
def test_an_outage_logs_once_when_it_starts_and_once_when_it_ends(
    client, fake_spotify, settings, caplog
):
    live_redis_or_skip()
    caplog.set_level(logging.INFO, logger=LOGGER)
    settings.CACHES = {**settings.CACHES, "default": redis_cache(LIVE_REDIS)}
    playlist_id = fake_spotify.add_playlist(name="Sunny")
    browse(client, playlist_id)  # a working cache, whatever an earlier test left behind
    caplog.clear()

    settings.CACHES = {
        **settings.CACHES,
        "default": redis_cache(f"redis://127.0.0.1:{closed_port()}/0"),
    }
    for _ in range(5):
        browse(client, playlist_id)

    down = cache_records(caplog)
    assert len(down) == 1, [record.getMessage() for record in down]
    assert down[0].levelno == logging.WARNING
    assert down[0].exc_info is None
    assert "unavailable" in down[0].getMessage()
    assert "ConnectionError" in down[0].getMessage()  # the reason, in one line

    caplog.clear()
    settings.CACHES = {**settings.CACHES, "default": redis_cache(LIVE_REDIS)}
    for _ in range(3):
        browse(client, playlist_id)

    back = cache_records(caplog)
    assert len(back) == 1, [record.getMessage() for record in back]
    assert back[0].levelno in (logging.INFO, logging.WARNING)
    assert back[0].exc_info is None
    assert "back" in back[0].getMessage()


def test_threads_hitting_a_dead_cache_together_log_it_once(settings, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    resilient_cache.cache_set("warm-up", 1, 60)  # healthy, whatever an earlier test left behind
    caplog.clear()
    settings.CACHES = {
        **settings.CACHES,
        "default": redis_cache(f"redis://127.0.0.1:{closed_port()}/0"),
    }
    start = threading.Barrier(8)
    misses = []

    def visitor():
        start.wait()
        for n in range(25):
            misses.append(resilient_cache.cache_get(f"key-{n}"))
            resilient_cache.cache_set(f"key-{n}", n, 60)

    threads = [threading.Thread(target=visitor) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert misses == [None] * 200
    assert len(cache_records(caplog)) == 1
