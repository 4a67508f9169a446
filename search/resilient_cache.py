"""Django's cache for the search app, where an outage (Redis restarting) costs speed, not pages.

Every operation that fails is logged and degrades to a miss, so a page or a Spotify call goes
on without the cache instead of answering 500.
"""

import logging
from typing import Any

from django.core.cache import cache

logger = logging.getLogger(__name__)


def cache_get(key: str) -> Any:
    try:
        return cache.get(key)
    except Exception:
        logger.warning("cache get failed for %s", key, exc_info=True)
        return None


def cache_set(key: str, value: object, timeout: float) -> None:
    try:
        cache.set(key, value, timeout)
    except Exception:
        logger.warning("cache set failed for %s", key, exc_info=True)


def cache_add(key: str, timeout: float) -> bool:
    """Claim `key` (a lock) if nobody holds it. Without a cache everyone may go ahead."""
    try:
        return cache.add(key, 1, timeout)
    except Exception:
        logger.warning("cache add failed for %s", key, exc_info=True)
        return True


def cache_delete(key: str) -> None:
    try:
        cache.delete(key)
    except Exception:
        logger.warning("cache delete failed for %s", key, exc_info=True)
