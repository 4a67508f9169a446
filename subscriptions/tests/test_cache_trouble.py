"""The subscribe form's limits under cache trouble: Redis unreachable, Redis full, the page cache
crowding the counters out, the cache emptied.

Issue 10: with Redis unreachable the subscribe POST answered 500; a small Redis that refused
writes when full broke it the same way; 2,000 searches in the in-memory cache evicted the
counters and the per-IP limit started over. Now the counters have a cache of their own that
falls back to process memory when it fails, and the per-inbox limit is counted in the
database, which knows what went out.
"""

import logging
import os
import socket

import pytest
import redis
from django.core import mail
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from tests.fakes.full_redis import FullRedisConnection

pytestmark = pytest.mark.django_db

SUBSCRIBE_URL = reverse("subscriptions:subscribe")
REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/3")


def subscribe(email="listener@example.com", *, ip="198.51.100.7", term="happy"):
    client = Client(REMOTE_ADDR=ip, raise_request_exception=False)
    return client.post(SUBSCRIBE_URL, {"email": email, "term": term, "homepage": ""})


def closed_port():
    """A local port nobody listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def use_redis(settings, location, **options):
    """Both the page cache and the counters on one Redis, as with REDIS_URL alone; the
    process-memory fallback as configured (the autouse fixture clears it between tests)."""
    cache = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": location,
        "OPTIONS": options,
    }
    fallback = settings.CACHES.get("ratelimit-fallback")
    settings.CACHES = {"default": cache, "ratelimit": cache, "ratelimit-fallback": fallback}


@pytest.fixture
def unreachable_redis(settings):
    use_redis(settings, f"redis://127.0.0.1:{closed_port()}/5")


@pytest.fixture
def full_redis(settings):
    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        reason = f"no Redis at {REDIS_TEST_URL} ({error})"
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"REQUIRE_REDIS=1 but {reason}")
        pytest.skip(reason)
    finally:
        client.close()
    use_redis(settings, REDIS_TEST_URL, connection_class=FullRedisConnection)


# -- Redis unreachable -----------------------------------------------------------------------


def test_with_redis_unreachable_subscribing_works(unreachable_redis, caplog):
    with caplog.at_level(logging.WARNING, logger="subscriptions.ratelimit"):
        response = subscribe()

    assert response.status_code == 200
    assert "Check your inbox to confirm" in response.content.decode()
    assert len(mail.outbox) == 1
    assert "Rate-limit cache failed; counting in this process." in caplog.messages


def test_with_redis_unreachable_the_ip_limit_counts_in_process(unreachable_redis, settings):
    settings.SUBSCRIBE_POSTS_PER_IP_PER_HOUR = 3
    statuses = [subscribe(f"person{n}@example.com").status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert subscribe("other@example.com", ip="198.51.100.8").status_code == 200


def test_with_redis_unreachable_the_inbox_limit_holds(unreachable_redis, settings):
    settings.SUBSCRIBE_ATTEMPTS_PER_ADDRESS_PER_DAY = 3
    statuses = [subscribe("a@example.com", ip=f"203.0.113.{n}").status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert len(mail.outbox) == 3


# -- Redis full ------------------------------------------------------------------------------


def test_the_full_redis_fake_refuses_writes_and_answers_reads(full_redis):
    cache = caches["ratelimit"]
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        cache.set("key", "value")
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        cache.add("key", 0)
    assert cache.get("key") is None  # the read reached the real server
    cache.delete("key")


def test_with_redis_full_subscribing_works_and_the_limits_hold(full_redis, settings):
    settings.SUBSCRIBE_POSTS_PER_IP_PER_HOUR = 3
    settings.SUBSCRIBE_ATTEMPTS_PER_ADDRESS_PER_DAY = 2

    by_ip = [subscribe(f"person{n}@example.com").status_code for n in range(4)]
    by_inbox = [subscribe("a@example.com", ip=f"203.0.113.{n}").status_code for n in range(3)]

    assert by_ip == [200, 200, 200, 429]
    assert by_inbox == [200, 200, 429]
    assert len(mail.outbox) == 5


# -- the page cache crowding the counters ----------------------------------------------------


def test_filling_the_page_cache_does_not_evict_the_ip_counters(settings):
    settings.SUBSCRIBE_POSTS_PER_IP_PER_HOUR = 3
    assert [subscribe(f"person{n}@example.com").status_code for n in range(2)] == [200, 200]

    # More entries than the page cache holds, as 2,000 one-off searches (page, results and
    # fragments each) leave behind.
    page_cache = caches["default"]
    max_entries = settings.CACHES["default"].get("OPTIONS", {}).get("MAX_ENTRIES", 300)
    for number in range(max_entries + 1000):
        page_cache.set(f"search-page:{number}", "<html>" + "x" * 100, 600)

    statuses = [subscribe(f"person{n}@example.com").status_code for n in range(2, 4)]
    assert statuses == [200, 429]


def test_an_emptied_cache_does_not_reset_the_inbox_limit(settings):
    settings.SUBSCRIBE_ATTEMPTS_PER_ADDRESS_PER_DAY = 3
    statuses = []
    for _ in range(4):
        statuses.append(subscribe("a@example.com").status_code)
        for cache in caches.all():
            cache.clear()  # Redis restarted without persistence, or flushed
    assert statuses == [200, 200, 200, 429]
    assert len(mail.outbox) == 3
