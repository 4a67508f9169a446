"""Abuse limits for the subscribe form: posts per client IP in a cache, emails per inbox in the
database; and how often "Lost your link?" may mail one inbox, in the cache.

Posts per IP are counted in the "ratelimit" cache, an alias of their own (settings.CACHES), so
the page cache cannot evict them. When that cache fails (Redis down, or full and refusing
writes) the count goes on in this process's memory ("ratelimit-fallback"): the limit then
holds per process, a few times looser, rather than answering 500 (fail closed would stop every
sign-up while Redis is down; fail open would let one client spray confirmations at thousands
of addresses). Emails per inbox are counted in the database, which knows what went out, so
that limit holds exactly with the cache empty or down.
"""

import datetime
import hashlib
import ipaddress
import logging

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from .addresses import canonical_email
from .models import SubscribeEmail, Subscriber

logger = logging.getLogger(__name__)

HOUR = 60 * 60
DAY = 24 * HOUR
# One IPv6 client usually holds a whole /64: counting single addresses would let it rotate.
IPV6_PREFIX = 64


def _cache_key(scope: str, key: str) -> str:
    return f"ratelimit:{scope}:{hashlib.sha256(str(key).encode()).hexdigest()[:32]}"


def hit(*, scope: str, key: str, limit: int, period: int) -> bool:
    """Count one hit on (scope, key); True while the count stays within `limit` per `period`.

    The window starts at the first hit and lasts `period` seconds: `add` sets the expiry once
    and `incr` keeps it (locmem and Redis both do), so there is no boundary where a test or an
    attacker gets a fresh allowance. `add` and `incr` are atomic in Redis, so concurrent
    requests in several processes cannot both slip under the limit.
    """
    cache_key = _cache_key(scope, key)
    try:
        count = _count(caches["ratelimit"], cache_key, period)
    except Exception:  # whatever the backend raises: redis-py's errors, OSError, ...
        logger.warning("Rate-limit cache failed; counting in this process.", exc_info=True)
        count = _count(caches["ratelimit-fallback"], cache_key, period)
    return count <= limit


def forget(*, scope: str, key: str) -> None:
    """Drop the count of (scope, key): what it counted did not happen after all."""
    for alias in ("ratelimit", "ratelimit-fallback"):
        try:
            caches[alias].delete(_cache_key(scope, key))
        except Exception:  # as in hit(): an unreachable cache forgets nothing, and says so
            logger.warning("Rate-limit cache failed; a count was not dropped.", exc_info=True)


def _count(cache, cache_key, period):
    cache.add(cache_key, 0, timeout=period)
    try:
        return cache.incr(cache_key)
    except ValueError:
        # Expired (or evicted) between add and incr: this hit starts a new window.
        cache.add(cache_key, 1, timeout=period)
        return 1


def client_ip(request: HttpRequest) -> str:
    """The address to count a request against.

    REMOTE_ADDR, except behind Heroku's router (settings.TRUST_X_FORWARDED_FOR), which appends
    the address it accepted the connection from to X-Forwarded-For: its LAST entry is the only
    one a client cannot choose (earlier entries are whatever the client sent). An IPv6 address
    counts as its /64 network.
    """
    remote_addr = request.META.get("REMOTE_ADDR", "")
    candidates = [remote_addr]
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.headers.get("X-Forwarded-For", "")
        candidates.insert(0, forwarded.rsplit(",", 1)[-1].strip())
    for candidate in candidates:
        try:
            parsed = ipaddress.ip_address(candidate)
        except ValueError:
            continue
        if isinstance(parsed, ipaddress.IPv6Address):
            if parsed.ipv4_mapped is not None:
                return str(parsed.ipv4_mapped)
            return str(ipaddress.IPv6Network(f"{parsed}/{IPV6_PREFIX}", strict=False))
        return str(parsed)
    return remote_addr


def allow_subscribe_post(request: HttpRequest) -> bool:
    """Per client IP: subscribe POSTs per hour."""
    return hit(
        scope="subscribe-ip",
        key=client_ip(request),
        limit=settings.SUBSCRIBE_POSTS_PER_IP_PER_HOUR,
        period=HOUR,
    )


def inbox_email_reserve(
    *, subscriber: Subscriber, kind: str, schedule: dict | None = None
) -> SubscribeEmail | None:
    """Book one subscribe-form email to a subscriber's inbox; None when it had its share.
    `schedule`: what the sign-up asked for, kept on the booking for its confirmation link.

    At most SUBSCRIBE_ATTEMPTS_PER_ADDRESS_PER_DAY in any 24 hours, whatever the address's
    state (a confirmation, an "already subscribed" notice or a withheld stand-in all count),
    so the limit answers alike for everyone and cannot tell who is subscribed. The booking is
    committed before the count (in autocommit, as views run): each request counts at least
    every booking committed before its own, so whatever the interleaving the N+1th booking to
    commit sees at least N+1 and is refused. (A refused booking is withdrawn only after its
    count, so a race may refuse more than it must, never let one too many through.) Delete
    the booking when the email could not be sent, so a retry is not held against it.
    """
    return _reserve(
        subscriber=subscriber,
        kind=kind,
        counted=SubscribeEmail.EMAIL_KINDS,
        limit=settings.SUBSCRIBE_ATTEMPTS_PER_ADDRESS_PER_DAY,
        schedule=schedule,
    )


def inbox_mood_add_reserve(*, subscriber: Subscriber) -> SubscribeEmail | None:
    """Book one mood added or restarted on the manage page without an email; None when the
    inbox had MAX_MOODS_PER_SUBSCRIBER of them in the last 24 hours, so stopping and adding
    again cannot churn without end. Counted the way inbox_email_reserve counts, apart from
    its emails; delete the booking when the mood was not added after all."""
    return _reserve(
        subscriber=subscriber,
        kind=SubscribeEmail.Kind.MOOD_ADDED,
        counted=(SubscribeEmail.Kind.MOOD_ADDED,),
        limit=settings.MAX_MOODS_PER_SUBSCRIBER,
    )


def _reserve(*, subscriber, kind, counted, limit, schedule=None):
    with transaction.atomic():
        booking = SubscribeEmail.objects.create(
            subscriber=subscriber, kind=kind, **(schedule or {})
        )
    since = timezone.now() - datetime.timedelta(seconds=DAY)
    booked = SubscribeEmail.objects.filter(
        subscriber=subscriber, kind__in=counted, sent_at__gt=since
    )
    if booked.count() > limit:
        booking.delete()
        return None
    return booking


def manage_link_due(*, email: str) -> bool:
    """ "Lost your link?": True when the inbox `email` reaches may be mailed its manage link now,
    at most once per LOST_LINK_RESEND_MINUTES whoever asks. Counted for any address, known
    or not, in the cache (no row is written for an address we do not know, and the work is the
    same either way); there is no daily cap, so asking cannot lock the owner out: within the
    interval the link has just gone to their inbox."""
    return hit(
        scope="lost-link-inbox",
        key=canonical_email(email),
        limit=1,
        period=settings.LOST_LINK_RESEND_MINUTES * 60,
    )


def manage_link_release(*, email: str) -> None:
    """The link could not be sent: the next request may send it at once."""
    forget(scope="lost-link-inbox", key=canonical_email(email))
