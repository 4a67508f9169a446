"""Django's cache for the search app, where an outage (Redis restarting) costs speed, not pages.

Every operation that fails degrades to a miss, so a page or a Spotify call goes on without the
cache instead of answering 500. An outage is logged twice per process, not once per operation:
one warning with the reason when the cache first fails, one line when an operation works again.
"""

import logging
import threading
from typing import Any

from django.core.cache import cache

logger = logging.getLogger(__name__)


class _Health:
    """Whether this process's last cache operation failed: shared by its threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures = 0  # operations failed since the outage began; 0 while healthy

    def failed(self, operation: str, error: Exception) -> None:
        with self._lock:
            self._failures += 1
            first = self._failures == 1
        if first:
            logger.warning(
                "Cache unavailable (%s failed: %s: %s); pages go on without it until it is back.",
                operation,
                type(error).__name__,
                error,
            )

    def worked(self) -> None:
        if not self._failures:  # the common case, without the lock
            return
        with self._lock:
            failures, self._failures = self._failures, 0
        if failures:
            logger.warning("Cache is back after %d failed operation(s).", failures)


_health = _Health()


def cache_get(key: str) -> Any:
    try:
        value = cache.get(key)
    except Exception as error:
        _health.failed("get", error)
        return None
    _health.worked()
    return value


def cache_set(key: str, value: object, timeout: float) -> None:
    try:
        cache.set(key, value, timeout)
    except Exception as error:
        _health.failed("set", error)
        return
    _health.worked()


def cache_add(key: str, timeout: float) -> bool:
    """Claim `key` (a lock) if nobody holds it. Without a cache everyone may go ahead."""
    try:
        added = cache.add(key, 1, timeout)
    except Exception as error:
        _health.failed("add", error)
        return True
    _health.worked()
    return added


def cache_delete(key: str) -> None:
    try:
        cache.delete(key)
    except Exception as error:
        _health.failed("delete", error)
        return
    _health.worked()
