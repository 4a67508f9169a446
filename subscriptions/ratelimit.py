"""Abuse limits for the subscribe form, counted atomically in Django's cache."""

import hashlib
import ipaddress

from django.conf import settings
from django.core.cache import cache

HOUR = 60 * 60
DAY = 24 * HOUR


def hit(*, scope, key, limit, period):
    """Count one hit on (scope, key); True while the count stays within `limit` per `period`.

    The window starts at the first hit and lasts `period` seconds: `add` sets the expiry once
    and `incr` keeps it (locmem and Redis both do), so there is no boundary where a test or an
    attacker gets a fresh allowance. `add` and `incr` are atomic in Redis, so concurrent
    requests in several processes cannot both slip under the limit.
    """
    digest = hashlib.sha256(str(key).encode()).hexdigest()[:32]
    cache_key = f"ratelimit:{scope}:{digest}"
    cache.add(cache_key, 0, timeout=period)
    try:
        count = cache.incr(cache_key)
    except ValueError:
        # Expired (or evicted) between add and incr: this hit starts a new window.
        cache.add(cache_key, 1, timeout=period)
        count = 1
    return count <= limit


def client_ip(request):
    """The address to count a request against.

    REMOTE_ADDR, except behind Heroku's router (settings.TRUST_X_FORWARDED_FOR), which appends
    the address it accepted the connection from to X-Forwarded-For: its LAST entry is the only
    one a client cannot choose (earlier entries are whatever the client sent).
    """
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.headers.get("X-Forwarded-For", "")
        last_hop = forwarded.rsplit(",", 1)[-1].strip()
        try:
            return str(ipaddress.ip_address(last_hop))
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR", "")


def allow_subscribe_post(request):
    """Per client IP: subscribe POSTs per hour."""
    return hit(
        scope="subscribe-ip",
        key=client_ip(request),
        limit=settings.SUBSCRIBE_POSTS_PER_IP_PER_HOUR,
        period=HOUR,
    )


def allow_subscribe_attempt(*, email):
    """Per address: subscribe attempts per day, whatever the address's state.

    Counting attempts rather than emails sent caps the confirmation emails one address can be
    sent, and answers the same (429 on the same attempt) for a new, pending, active or
    suppressed address, so the limit cannot be used to find out who is subscribed.
    """
    return hit(
        scope="subscribe-address",
        key=email.casefold(),
        limit=settings.SUBSCRIBE_ATTEMPTS_PER_ADDRESS_PER_DAY,
        period=DAY,
    )
