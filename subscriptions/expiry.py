"""Pending sign-ups nobody confirmed in time, old limit records, and subscribers left with
nothing: what the daily run (and `expire_pending_subscriptions`) clear away."""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from .models import (
    SubscribeEmail,
    Subscriber,
    Subscription,
    confirmation_cutoff,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExpiryResult:
    subscriptions: int  # expired pending subscriptions removed (or that would be)
    subscribe_emails: int  # records of subscribe-form emails past any limit's window
    subscribers: int = 0  # people left with nothing: no subscription, no stop, no recent email


def pending_subscriptions_expire(
    *, now: datetime | None = None, dry_run: bool = False
) -> ExpiryResult:
    """Remove pending subscriptions whose confirmation expired (PENDING_CONFIRMATION_DAYS) and
    the subscribe-form email records as old, which no limit counts any more. With dry_run,
    count and change nothing. Run by `expire_pending_subscriptions` (and the daily sender)."""
    now = now or timezone.now()
    cutoff = confirmation_cutoff(now)
    expired = Subscription.objects.expired_pending(now=now)
    spent = SubscribeEmail.objects.filter(sent_at__lt=cutoff)
    if dry_run:
        return ExpiryResult(
            subscriptions=expired.count(),
            subscribe_emails=spent.count(),
            subscribers=_empty_subscribers(cutoff, without=expired).count(),
        )
    with transaction.atomic():
        _, removed = expired.delete()
        _, forgotten = spent.delete()
        _, emptied = _empty_subscribers(cutoff).delete()
    result = ExpiryResult(
        subscriptions=removed.get(Subscription._meta.label, 0),
        subscribe_emails=forgotten.get(SubscribeEmail._meta.label, 0),
        subscribers=emptied.get(Subscriber._meta.label, 0),
    )
    logger.info("Removed %d expired pending subscription(s).", result.subscriptions)
    return result


def _empty_subscribers(cutoff, *, without=None) -> QuerySet[Subscriber]:
    """Subscribers older than `cutoff` with no subscription (a sign-up that never went
    through, an expired one) and nothing to remember: never a suppressed inbox, never one
    whose subscribe-form emails still count towards its limit. `without`: subscriptions to
    count as gone already (a dry run)."""
    subscriptions = Subscription.objects.filter(subscriber=OuterRef("pk"))
    if without is not None:
        subscriptions = subscriptions.exclude(pk__in=without.values("pk"))
    return (
        Subscriber.objects.filter(state=Subscriber.State.ACTIVE, created_at__lt=cutoff)
        .exclude(Exists(subscriptions))
        .exclude(
            Exists(SubscribeEmail.objects.filter(subscriber=OuterRef("pk"), sent_at__gte=cutoff))
        )
    )
