"""What changes a subscription's state: subscribe, confirm, unsubscribe, delivery events."""

import enum
import logging

from anymail.exceptions import AnymailError
from django.db import IntegrityError, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from . import emails, selectors
from .models import EmailEvent, Subscription, normalize_email, normalize_term

logger = logging.getLogger(__name__)

Status = Subscription.Status


class ConfirmationNotSent(Exception):
    """The mail backend refused or could not be reached; the caller may try again later."""


class SubscribeOutcome(enum.Enum):
    """What a subscribe request did. Never shown to the visitor: every outcome gets the same
    answer, so the form does not tell who is subscribed."""

    CREATED = "created"  # new pending subscription, confirmation sent
    RESENT = "resent"  # already pending: confirmation sent again
    ALREADY_ACTIVE = "already_active"  # nothing to do
    SUPPRESSED = "suppressed"  # the address complained about our mail: never mail it again


def subscription_request(*, email, term):
    """Start (or nudge) the double opt-in of `email` for `term`.

    Raises ConfirmationNotSent when the confirmation could not be sent; a subscription made by
    this call is then removed again, so a retry starts from a clean slate.
    """
    email = normalize_email(email)
    term = normalize_term(term)
    if selectors.address_has_complained(email=email):
        logger.info("Subscribe request for an address that complained; nothing sent.")
        return SubscribeOutcome.SUPPRESSED

    subscription = selectors.live_subscription(email=email, term=term)
    created = False
    if subscription is None:
        subscription, created = _create_pending(email=email, term=term)
    if subscription.status == Status.ACTIVE:
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


def _send_confirmation(subscription):
    try:
        emails.send_confirmation(subscription)
    except (AnymailError, OSError) as error:  # OSError covers SMTP and socket failures
        logger.warning("Confirmation for subscription %s not sent: %s", subscription.pk, error)
        raise ConfirmationNotSent(str(error)) from error
    subscription.confirmation_sent_at = timezone.now()
    subscription.save(update_fields=["confirmation_sent_at"])


def confirmation_resend(*, subscription):
    """Send a pending subscription's confirmation again (the admin's action). False when it is
    not pending; raises ConfirmationNotSent when the mail backend fails."""
    if subscription.status != Status.PENDING:
        return False
    _send_confirmation(subscription)
    return True


def subscription_confirm(*, subscription):
    """Activate a pending subscription. Confirming twice, or confirming a subscription that has
    ended since, changes nothing. Returns the subscription as it now stands."""
    Subscription.objects.filter(pk=subscription.pk, status=Status.PENDING).update(
        status=Status.ACTIVE, confirmed_at=timezone.now()
    )
    subscription.refresh_from_db()
    return subscription


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


def subscriptions_mark_active(*, subscriptions):
    """Staff override: make each subscription active whatever its state.

    Returns (activated, conflicts): a subscription whose (email, term) already has another
    live subscription is left alone, since two live rows for one pair would mean two emails.
    """
    activated = conflicts = 0
    for subscription in subscriptions.exclude(status=Status.ACTIVE):
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
    return activated, conflicts


# Mailgun event (as anymail names it) -> what it does to the address's live subscriptions.
EVENT_STATUS = {
    EmailEvent.Type.BOUNCED: Status.BOUNCED,
    EmailEvent.Type.REJECTED: Status.BOUNCED,
    EmailEvent.Type.COMPLAINED: Status.COMPLAINED,
    EmailEvent.Type.UNSUBSCRIBED: Status.UNSUBSCRIBED,
}


def email_event_record(*, email, event_type, event_id, occurred_at, reason="", message_id=""):
    """Record one delivery event and stop the address's live subscriptions accordingly.

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
