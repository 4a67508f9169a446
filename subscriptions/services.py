"""What changes a subscription's state: subscribe, confirm, unsubscribe, delivery events."""

import enum
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from anymail.exceptions import AnymailError
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from . import emails, ratelimit, selectors
from .addresses import canonical_email, plain_address
from .models import (
    EmailEvent,
    SubscribeEmail,
    Subscription,
    WebhookSignature,
    confirmation_cutoff,
    normalize_term,
)

logger = logging.getLogger(__name__)

Status = Subscription.Status
Kind = SubscribeEmail.Kind


class ConfirmationNotSent(Exception):
    """The mail backend refused or could not be reached; the caller may try again later."""


class SubscribeOutcome(enum.Enum):
    """What a subscribe request did. Never shown to the visitor: every outcome but LIMITED
    gets the same answer after the same work (one email through Mailgun), so the form does not
    tell who is subscribed; LIMITED comes on the same attempt whatever the address's state."""

    CREATED = "created"  # new pending subscription, confirmation sent
    RESENT = "resent"  # already pending: confirmation sent again
    ALREADY_ACTIVE = "already_active"  # the "you are already subscribed" notice sent
    SUPPRESSED = "suppressed"  # bounced or complained: nothing delivered (emails.send_withheld)
    LIMITED = "limited"  # the inbox had its share of emails today: nothing sent


def subscription_request(*, email: str, term: str) -> SubscribeOutcome:
    """Start (or nudge) the double opt-in of `email` for `term`.

    Raises addresses.InvalidAddress for an address that is not plain (nothing changes), and
    ConfirmationNotSent when the email could not be sent; a subscription made by this call is
    then removed again, and the email is not held against the inbox's limit, so a retry
    starts from a clean slate.
    """
    email = plain_address(email)
    term = normalize_term(term)
    subscription = None
    if selectors.address_has_complained(email=email):
        kind = Kind.WITHHELD
    else:
        subscription = selectors.live_subscription(email=email, term=term)
        active = subscription is not None and subscription.status == Status.ACTIVE
        kind = Kind.ALREADY_SUBSCRIBED if active else Kind.CONFIRMATION

    booking = ratelimit.inbox_email_reserve(inbox_key=canonical_email(email), kind=kind)
    if booking is None:
        logger.info("Subscribe request over the inbox's daily limit; nothing sent.")
        return SubscribeOutcome.LIMITED
    try:
        if kind == Kind.WITHHELD:
            logger.info("Subscribe request for an address that complained; nothing delivered.")
            _sending(emails.send_withheld, email=email, term=term)
            return SubscribeOutcome.SUPPRESSED
        if kind == Kind.ALREADY_SUBSCRIBED:
            _sending(emails.send_already_subscribed, subscription)
            return SubscribeOutcome.ALREADY_ACTIVE
        return _confirm_pending(email=email, term=term, subscription=subscription)
    except ConfirmationNotSent:
        booking.delete()
        raise


def _confirm_pending(*, email, term, subscription):
    if subscription is not None and subscription.confirmation_expired():
        # Its link has expired: a new row gets a new link rather than reviving the old one.
        subscription.delete()
        subscription = None
    created = False
    if subscription is None:
        subscription, created = _create_pending(email=email, term=term)
    if subscription.status == Status.ACTIVE:  # confirmed between our lookup and now
        _sending(emails.send_already_subscribed, subscription)
        return SubscribeOutcome.ALREADY_ACTIVE
    try:
        _send_confirmation(subscription)
    except ConfirmationNotSent:
        if created:
            subscription.delete()
        raise
    return SubscribeOutcome.CREATED if created else SubscribeOutcome.RESENT


def _create_pending(*, email, term):
    """(subscription, created). Two requests for the same pair may race here: the database's
    one-live-per-pair constraint lets one insert win, and the loser uses the winner's row."""
    try:
        with transaction.atomic():
            return Subscription.objects.create(email=email, term=term), True
    except IntegrityError:
        existing = selectors.live_subscription(email=email, term=term)
        if existing is None:
            raise
        return existing, False


def _sending(send, *args, **kwargs):
    """Call `send`; the mail backend's failures become ConfirmationNotSent."""
    try:
        send(*args, **kwargs)
    except (AnymailError, OSError) as error:  # OSError covers SMTP and socket failures
        logger.warning("Subscribe-form email not sent: %s", error)
        raise ConfirmationNotSent(str(error)) from error


def _send_confirmation(subscription):
    _sending(emails.send_confirmation, subscription)
    subscription.confirmation_sent_at = timezone.now()
    subscription.save(update_fields=["confirmation_sent_at"])


def confirmation_resend(*, subscription):
    """Send a pending subscription's confirmation again (the admin's action). False when it is
    not pending; raises ConfirmationNotSent when the mail backend fails."""
    if subscription.status != Status.PENDING:
        return False
    _send_confirmation(subscription)
    return True


def subscription_confirm(*, subscription: Subscription) -> Subscription:
    """Activate a pending subscription whose link has not expired. Confirming twice, or
    confirming a subscription that has ended or expired since, changes nothing. Returns the
    subscription as it now stands."""
    Subscription.objects.confirmable().filter(pk=subscription.pk).update(
        status=Status.ACTIVE, confirmed_at=timezone.now()
    )
    subscription.refresh_from_db()
    return subscription


@dataclass(frozen=True)
class ExpiryResult:
    subscriptions: int  # expired pending subscriptions removed (or that would be)
    subscribe_emails: int  # records of subscribe-form emails past any limit's window


def pending_subscriptions_expire(*, now=None, dry_run: bool = False) -> ExpiryResult:
    """Remove pending subscriptions whose confirmation expired (PENDING_CONFIRMATION_DAYS) and
    the subscribe-form email records as old, which no limit counts any more. With dry_run,
    count and change nothing. Run by `expire_pending_subscriptions` (and the daily sender)."""
    now = now or timezone.now()
    expired = Subscription.objects.expired_pending(now=now)
    spent = SubscribeEmail.objects.filter(sent_at__lt=confirmation_cutoff(now))
    if dry_run:
        return ExpiryResult(subscriptions=expired.count(), subscribe_emails=spent.count())
    with transaction.atomic():
        _, removed = expired.delete()
        _, forgotten = spent.delete()
    result = ExpiryResult(
        subscriptions=removed.get(Subscription._meta.label, 0),
        subscribe_emails=forgotten.get(SubscribeEmail._meta.label, 0),
    )
    logger.info("Removed %d expired pending subscription(s).", result.subscriptions)
    return result


def subscription_unsubscribe(*, subscription):
    """Stop one subscription; True when it was live (a second call changes nothing)."""
    just_this_one = Subscription.objects.filter(pk=subscription.pk)
    return bool(subscriptions_unsubscribe(subscriptions=just_this_one))


def address_unsubscribe_all(*, email):
    """Stop every live subscription of an address (the "all" choice and RFC 8058 one-click)."""
    return subscriptions_unsubscribe(subscriptions=selectors.address_subscriptions(email=email))


def subscriptions_unsubscribe(*, subscriptions):
    """Unsubscribe the live ones among `subscriptions`; returns how many changed."""
    return subscriptions.filter(status__in=Subscription.LIVE_STATUSES).update(
        status=Status.UNSUBSCRIBED, unsubscribed_at=timezone.now()
    )


class MarkActiveResult(NamedTuple):
    activated: int
    conflicts: int
    suppressed: int


def subscriptions_mark_active(*, subscriptions: QuerySet[Subscription]) -> MarkActiveResult:
    """Staff override: make each subscription active whatever its state.

    A subscription whose (email, term) already has another live subscription is left alone
    (`conflicts`), since two live rows for one pair would mean two emails; so is every
    subscription of an address that bounced or complained (`suppressed`): only
    `address_suppression_clear` lifts that.
    """
    activated = conflicts = suppressed = 0
    is_suppressed: dict[str, bool] = {}
    for subscription in subscriptions.exclude(status=Status.ACTIVE):
        key = subscription.email.lower()
        if key not in is_suppressed:
            is_suppressed[key] = selectors.address_is_suppressed(email=subscription.email)
        if is_suppressed[key]:
            suppressed += 1
            continue
        try:
            with transaction.atomic():
                Subscription.objects.filter(pk=subscription.pk).update(
                    status=Status.ACTIVE,
                    confirmed_at=Coalesce("confirmed_at", timezone.now()),
                    unsubscribed_at=None,
                )
        except IntegrityError:
            conflicts += 1
        else:
            activated += 1
    return MarkActiveResult(activated, conflicts, suppressed)


def address_suppression_clear(*, email: str, staff_user: AbstractBaseUser) -> bool:
    """Staff lift a bounce or complaint they judge wrong; False when there was none to lift.

    Every bounced or complained subscription of the address becomes unsubscribed, not active:
    whether mail reaches (and is wanted by) the person is still in doubt, so mail resumes only
    after a new confirmation, which the form no longer refuses, or after staff "Mark active".
    Recorded as an event naming the staff user; a complaint that arrives later counts again.
    """
    now = timezone.now()
    with transaction.atomic():
        if not selectors.address_is_suppressed(email=email):
            return False
        changed = (
            selectors.address_subscriptions(email=email)
            .filter(status__in=Subscription.SUPPRESSED_STATUSES)
            .update(status=Status.UNSUBSCRIBED, unsubscribed_at=now)
        )
        EmailEvent.objects.create(
            email=email.strip().lower(),
            event_type=EmailEvent.Type.SUPPRESSION_CLEARED,
            event_id=f"staff:{uuid.uuid4()}",
            occurred_at=now,
            reason=f"Cleared by {staff_user.get_username()}",
            staff_user=staff_user,
        )
    logger.info(
        "Suppression of an address cleared by staff: %d subscription(s) now ended.", changed
    )
    return True


# Mailgun event (as anymail names it) -> what it does to the address's live subscriptions.
EVENT_STATUS = {
    EmailEvent.Type.BOUNCED: Status.BOUNCED,
    EmailEvent.Type.REJECTED: Status.BOUNCED,
    EmailEvent.Type.COMPLAINED: Status.COMPLAINED,
    EmailEvent.Type.UNSUBSCRIBED: Status.UNSUBSCRIBED,
}


def email_event_record(*, email, event_type, event_id, occurred_at, reason="", message_id=""):
    """Record one delivery event and stop the inbox's live subscriptions accordingly, under
    every spelling of its address.

    Mailgun retries webhooks, so the same event may arrive twice, even at the same moment: the
    unique event_id decides, in the same transaction as the state change, so a duplicate
    records nothing and changes nothing. Returns False for a duplicate.
    """
    email = email.strip().lower()
    new_status = EVENT_STATUS[event_type]
    with transaction.atomic():
        try:
            with transaction.atomic():
                EmailEvent.objects.create(
                    email=email,
                    event_type=event_type,
                    event_id=event_id,
                    occurred_at=occurred_at,
                    reason=reason,
                    message_id=message_id,
                )
        except IntegrityError:
            return False
        changes = {"status": new_status}
        if new_status == Status.UNSUBSCRIBED:
            changes["unsubscribed_at"] = timezone.now()
        changed = (
            selectors.address_subscriptions(email=email)
            .filter(status__in=Subscription.LIVE_STATUSES)
            .update(**changes)
        )
    logger.info(
        "%s event %s: %d subscription(s) now %s.", event_type, event_id, changed, new_status
    )
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
