"""What Mailgun's delivery events and staff change about an inbox: suppression, its clearing,
and the webhook signatures already used."""

import enum
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from .. import selectors
from ..addresses import canonical_email
from ..models import (
    EmailEvent,
    SubscribeEmail,
    Subscriber,
    Subscription,
    WebhookSignature,
)
from ..services import subscriptions_unsubscribe

logger = logging.getLogger(__name__)

Status = Subscription.Status
Kind = SubscribeEmail.Kind
# The reason the person's own pages and data download show: which member of staff it was is
# for staff only (EmailEvent.staff_user and staff_name).
CLEARED_BY_STAFF = "Cleared by staff"


def address_suppression_clear(*, email: str, staff_user: User) -> bool:
    """Staff lift a bounce or complaint they judge wrong; False when there was none to lift.

    The subscriber's state becomes active again, and with it the subscriptions the person
    left active: the stop was on the inbox, not on their choices (a pending one still needs
    its confirmation). Recorded as an event naming the staff user; a complaint that arrives
    later counts again. The reason the person sees names no one: see CLEARED_BY_STAFF.
    """
    now = timezone.now()
    with transaction.atomic():
        subscriber = (
            Subscriber.objects.select_for_update()
            .filter(inbox_key=canonical_email(email), state__in=Subscriber.SUPPRESSED_STATES)
            .first()
        )
        if subscriber is None:
            return False
        subscriber.state = Subscriber.State.ACTIVE
        subscriber.state_changed_at = now
        subscriber.state_reason = CLEARED_BY_STAFF
        subscriber.save(update_fields=["state", "state_changed_at", "state_reason"])
        EmailEvent.objects.create(
            subscriber=subscriber,
            recipient=email.strip().lower(),
            event_type=EmailEvent.Type.SUPPRESSION_CLEARED,
            event_id=f"staff:{uuid.uuid4()}",
            occurred_at=now,
            reason=CLEARED_BY_STAFF,
            staff_user=staff_user,
            staff_name=staff_user.get_username(),
        )
    logger.info("Suppression of an address cleared by staff.")
    return True


# Mailgun event (as anymail names it) -> the subscriber state it puts the inbox in.
EVENT_STATE = {
    EmailEvent.Type.BOUNCED: Subscriber.State.BOUNCED,
    EmailEvent.Type.REJECTED: Subscriber.State.BOUNCED,
    EmailEvent.Type.COMPLAINED: Subscriber.State.COMPLAINED,
}


def email_event_record(
    *,
    email: str,
    event_type: EmailEvent.Type,
    event_id: str,
    occurred_at: datetime,
    reason: str = "",
    message_id: str = "",
) -> bool:
    """Record one delivery event and act on it for the inbox, under every spelling of its
    address: a bounce or complaint suppresses the subscriber (a complaint is never downgraded
    to a bounce; an inbox we never had gets a subscriber, so it is never mailed), Mailgun's
    unsubscribe stops its live subscriptions.

    Mailgun retries webhooks, so the same event may arrive twice, even at the same moment: the
    unique event_id decides, in the same transaction as the state change, so a duplicate
    records nothing and changes nothing. Returns False for a duplicate.
    """
    email = email.strip().lower()
    new_state = EVENT_STATE.get(event_type)
    subscriber: Subscriber | None
    with transaction.atomic():
        if new_state is not None:
            subscriber = Subscriber.for_address(email)
        else:
            subscriber = selectors.address_subscriber(email=email)
        try:
            with transaction.atomic():
                EmailEvent.objects.create(
                    subscriber=subscriber,
                    recipient=email,
                    event_type=event_type,
                    event_id=event_id,
                    occurred_at=occurred_at,
                    reason=reason,
                    message_id=message_id,
                )
        except IntegrityError:
            return False
        if subscriber is None:
            changed = 0
        elif new_state is None:
            changed = subscriptions_unsubscribe(
                subscriptions=subscriber.subscriptions.all(), via=Subscription.Via.PROVIDER
            )
        else:
            stronger = Subscriber.objects.filter(pk=subscriber.pk)
            if new_state == Subscriber.State.BOUNCED:
                stronger = stronger.exclude(state=Subscriber.State.COMPLAINED)
            changed = stronger.update(
                state=new_state, state_changed_at=occurred_at, state_reason=reason
            )
    logger.info("%s event %s: %d row(s) changed.", event_type, event_id, changed)
    return True


class SignatureUse(enum.Enum):
    """What a Mailgun webhook's signature token had been used for before."""

    FIRST = "first"  # never: the body was handled
    REPEAT = "repeat"  # on this same body: Mailgun retrying a delivery already handled
    CONFLICT = "conflict"  # on another body: a captured signature carrying a forged event


def webhook_signature_use(
    *,
    token: str,
    signed_at: datetime,
    body_digest: str,
    window: timedelta,
    handle: Callable[[], None],
) -> SignatureUse:
    """Run `handle` for a verified Mailgun webhook, at most once per signature token.

    The token is recorded in the transaction that `handle` changes state in, so a failure
    leaves it unused for Mailgun's retry. Two deliveries at the same moment: the unique token
    lets one insert win and the other, waiting on it, then finds it. The store is the
    database, not the cache: an evicted or unreachable cache must not reopen a signature.
    Tokens signed more than twice `window` ago are forgotten (they would be refused as stale
    anyway; the margin covers clocks that differ between dynos).
    """
    WebhookSignature.objects.filter(signed_at__lt=timezone.now() - 2 * window).delete()
    with transaction.atomic():
        try:
            with transaction.atomic():
                WebhookSignature.objects.create(
                    token=token, signed_at=signed_at, body_digest=body_digest
                )
        except IntegrityError:
            seen = (
                WebhookSignature.objects.filter(token=token)
                .values_list("body_digest", flat=True)
                .first()
            )
            if seen is not None and constant_time_compare(seen, body_digest):
                return SignatureUse.REPEAT
            return SignatureUse.CONFLICT
        handle()
    return SignatureUse.FIRST
