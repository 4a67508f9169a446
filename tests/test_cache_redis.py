"""The shared cache: Redis from REDIS_URL (TLS URLs as Heroku's Key-Value Store gives them).

Settings are read in a fresh interpreter with the environment under test, as at a dyno's start.
The sharing tests run two separate processes against the local Redis (a dedicated db number) and
the loopback fake Spotify. Without a reachable Redis they skip, unless REQUIRE_REDIS=1 (CI) makes
that a failure.
"""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import redis

BASE_DIR = Path(__file__).resolve().parent.parent
# db 3 is this module's own: flushed before and after each test, never the app's db 0.
REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/3")


def run_python(code, *, env, args=()):
    """Run `code` in a new interpreter with Django set up from `env`; return its JSON output."""
    completed = subprocess.run(
        [sys.executable, "-c", f"import django\ndjango.setup()\n{code}", *map(str, args)],
        cwd=BASE_DIR,
        env={
            "PATH": os.environ.get("PATH", ""),
            "DJANGO_SETTINGS_MODULE": "musicsite.settings",
            "SECRET_KEY": "insecure-key-for-tests-only",
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


CACHE_SETTINGS = """
import json
import redis
from django.conf import settings
cache = settings.CACHES["default"]
result = {"cache": cache}
if cache["BACKEND"].endswith("RedisCache"):
    # What Django's RedisCacheClient does with LOCATION and OPTIONS (no connection is opened).
    pool = redis.ConnectionPool.from_url(cache["LOCATION"], **cache.get("OPTIONS", {}))
    kwargs = pool.connection_kwargs
    result["pool"] = {
        "connection_class": pool.connection_class.__name__,
        "host": kwargs["host"],
        "port": kwargs["port"],
        "password": kwargs.get("password"),
        "ssl_cert_reqs": kwargs.get("ssl_cert_reqs", "absent"),
    }
print(json.dumps(result))
"""


def test_rediss_url_uses_tls_without_certificate_verification():
    # Heroku Key-Value Store: TLS with a self-signed certificate, so no verification.
    url = "rediss://:p4ss@ec2-1-2-3-4.compute-1.amazonaws.com:12345"
    result = run_python(CACHE_SETTINGS, env={"REDIS_URL": url})

    assert result["cache"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert result["cache"]["LOCATION"] == url
    assert result["cache"]["OPTIONS"] == {"ssl_cert_reqs": None}
    assert result["pool"] == {
        "connection_class": "SSLConnection",
        "host": "ec2-1-2-3-4.compute-1.amazonaws.com",
        "port": 12345,
        "password": "p4ss",
        "ssl_cert_reqs": None,
    }


def test_plain_redis_url_has_no_tls_options():
    result = run_python(CACHE_SETTINGS, env={"REDIS_URL": "redis://127.0.0.1:6379/3"})

    assert result["cache"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert result["cache"]["OPTIONS"] == {}
    assert result["pool"]["connection_class"] == "Connection"
    assert result["pool"]["ssl_cert_reqs"] == "absent"


def test_without_redis_url_each_process_has_local_memory():
    result = run_python(CACHE_SETTINGS, env={})

    assert result["cache"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


@pytest.fixture
def redis_url():
    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        reason = f"no Redis at {REDIS_TEST_URL} ({error})"
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"REQUIRE_REDIS=1 but {reason}")
        pytest.skip(reason)
    client.flushdb()
    yield REDIS_TEST_URL
    client.flushdb()
    client.close()


SEARCH = """
import json
import sys
from search.spotify import search_playlists
print(json.dumps([playlist.id for playlist in search_playlists(sys.argv[1]).items]))
"""


def spotify_env(fake_spotify):
    return {
        **fake_spotify.environment(),
    }


def test_two_processes_share_cached_search_results(redis_url, fake_spotify):
    env = {**spotify_env(fake_spotify), "REDIS_URL": redis_url}

    first = run_python(SEARCH, env=env, args=["Rainy  Sunday"])
    second = run_python(SEARCH, env=env, args=["rainy sunday"])

    assert first
    assert second == first
    assert len(fake_spotify.calls("search")) == 1


def test_two_processes_share_the_spotify_token(redis_url, fake_spotify):
    env = {**spotify_env(fake_spotify), "REDIS_URL": redis_url}

    run_python(SEARCH, env=env, args=["happy"])
    run_python(SEARCH, env=env, args=["sad"])

    assert len(fake_spotify.calls("search")) == 2
    assert len(fake_spotify.calls("token")) == 1


SEARCH_TOGETHER = """
import json
import sys
import time
from pathlib import Path
from search.spotify import get_playlist, search_playlists
get_playlist(sys.argv[4])  # each has its token before the race
ready = Path(sys.argv[2])
ready.joinpath(sys.argv[3]).touch()
while len(list(ready.iterdir())) < 2:  # both interpreters are up: search at the same moment
    time.sleep(0.01)
print(json.dumps([playlist.id for playlist in search_playlists(sys.argv[1]).items]))
"""


def test_two_processes_missing_the_same_search_make_one_call(redis_url, fake_spotify, tmp_path):
    env = {**spotify_env(fake_spotify), "REDIS_URL": redis_url}
    known = fake_spotify.add_playlist()
    fake_spotify.hang_next("search", seconds=1)  # the first caller is slow to get its answer
    outcomes = {}

    def search(name):
        args = ["new term", tmp_path, name, known]
        outcomes[name] = run_python(SEARCH_TOGETHER, env=env, args=args)

    threads = [threading.Thread(target=search, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)

    assert outcomes["a"]
    assert outcomes["a"] == outcomes["b"]
    assert len(fake_spotify.calls("search")) == 1


def test_without_redis_processes_do_not_share(fake_spotify):
    # The control for the two tests above: the same steps with local memory call Spotify twice.
    env = spotify_env(fake_spotify)

    run_python(SEARCH, env=env, args=["rainy sunday"])
    run_python(SEARCH, env=env, args=["rainy sunday"])

    assert len(fake_spotify.calls("search")) == 2
    assert len(fake_spotify.calls("token")) == 2


RATELIMIT_CACHE = """
import json
from django.conf import settings
print(json.dumps({alias: settings.CACHES[alias] for alias in ("ratelimit", "ratelimit-fallback")}))
"""


def test_the_rate_limit_counters_share_redis_under_their_own_prefix():
    result = run_python(RATELIMIT_CACHE, env={"REDIS_URL": "rediss://:p@redis.example.com:6380"})

    counters = result["ratelimit"]
    assert counters["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert counters["LOCATION"] == "rediss://:p@redis.example.com:6380"
    assert counters["KEY_PREFIX"] == "funky-ratelimit"
    assert counters["OPTIONS"]["ssl_cert_reqs"] is None
    assert counters["OPTIONS"]["socket_timeout"] <= 1  # a hung Redis costs little
    assert result["ratelimit-fallback"]["BACKEND"].endswith("LocMemCache")


def test_the_rate_limit_counters_may_have_a_redis_of_their_own():
    env = {"REDIS_URL": "redis://pages:6379/0", "RATELIMIT_REDIS_URL": "redis://limits:6379/1"}
    result = run_python(RATELIMIT_CACHE, env=env)
    assert result["ratelimit"]["LOCATION"] == "redis://limits:6379/1"


def test_without_redis_the_counters_have_their_own_local_memory():
    result = run_python(RATELIMIT_CACHE, env={})
    counters = result["ratelimit"]
    assert counters["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert counters["LOCATION"] != run_python(CACHE_SETTINGS, env={})["cache"]["LOCATION"]
