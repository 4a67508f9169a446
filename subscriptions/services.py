"""What changes a subscription's state: subscribe, confirm, unsubscribe, expire, mark active.

Delivery events and staff clearing a suppression are in `subscriptions.delivery.events`; they are
named here too, so `services` stays the one place callers write through."""

import enum
import logging
from dataclasses import dataclass
from typing import NamedTuple

from anymail.exceptions import AnymailError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from . import emails, moods, ratelimit, selectors
from .addresses import plain_address
from .models import (
    SubscribeEmail,
    Subscriber,
    Subscription,
    SuppressedInbox,
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
    FULL = "full"  # MAX_MOODS_PER_SUBSCRIBER live moods already: the inbox is told so
    LIMITED = "limited"  # the inbox had its share of emails today: nothing sent


def subscription_request(
    *, email: str, term: str, schedule: dict | None = None
) -> SubscribeOutcome:
    """Start (or nudge) the double opt-in of `email` for `term`.

    `schedule` (time_zone, frequency, weekly_day) is what the sign-up asks for. It is kept
    with this request's email, whose link names it, and applied only when that link is
    confirmed while the inbox has no confirmed mood (subscription_confirm): anyone may post
    the form with any address, and only the person who reads the inbox decides.

    Raises addresses.InvalidAddress for an address that is not plain (nothing changes), and
    ConfirmationNotSent when the email could not be sent; a subscription made by this call is
    then removed again, and the email is not held against the inbox's limit, so a retry
    starts from a clean slate.
    """
    email = plain_address(email)
    term = normalize_term(term)
    subscription = None
    # The inbox's one subscriber, made now if it is new: the limit's record points at it.
    subscriber = Subscriber.for_address(email)
    # An inbox erased while suppressed is known only by its digest (manage.subscriber_erase).
    if selectors.address_has_complained(email=email) or SuppressedInbox.covers(email):
        kind = Kind.WITHHELD
    else:
        subscription = selectors.live_subscription(email=email, term=term)
        active = subscription is not None and subscription.status == Status.ACTIVE
        kind = Kind.ALREADY_SUBSCRIBED if active else Kind.CONFIRMATION
        if subscription is None and not moods.has_room(subscriber_id=subscriber.pk):
            kind = Kind.MOOD_LIMIT

    booking = ratelimit.inbox_email_reserve(
        subscriber=subscriber,
        kind=kind,
        schedule=schedule if kind == Kind.CONFIRMATION else None,
    )
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
        if kind == Kind.MOOD_LIMIT:
            return _mood_limit(subscriber, term)
        return _confirm_pending(
            subscriber=subscriber, term=term, subscription=subscription, sign_up=booking.pk
        )
    except ConfirmationNotSent:
        booking.delete()
        raise


def _mood_limit(subscriber, term):
    _sending(emails.send_mood_limit, subscriber, term=term, cap=moods.mood_cap())
    return SubscribeOutcome.FULL


def _confirm_pending(*, subscriber, term, subscription, sign_up):
    if subscription is not None and subscription.confirmation_expired():
        # Its link has expired: a new row gets a new link rather than reviving the old one.
        subscription.delete()
        subscription = None
    created = False
    if subscription is None:
        try:
            subscription, created = _create_pending(email=subscriber.email, term=term)
        except moods.TooManyMoods:  # a request at the same moment took the last room
            return _mood_limit(subscriber, term)
    if subscription.status == Status.ACTIVE:  # confirmed between our lookup and now
        _sending(emails.send_already_subscribed, subscription)
        return SubscribeOutcome.ALREADY_ACTIVE
    try:
        _send_confirmation(subscription, sign_up=sign_up)
    except ConfirmationNotSent:
        if created:
            subscription.delete()
        raise
    return SubscribeOutcome.CREATED if created else SubscribeOutcome.RESENT


def _create_pending(*, email, term):
    """(subscription, created). Two requests for the same pair may race here: the database's
    one-live-per-pair constraint lets one insert win, and the loser uses the winner's row.
    Raises moods.TooManyMoods when the inbox has no room for one more."""
    try:
        with transaction.atomic():
            subscriber = Subscriber.for_address(email)
            moods.room_claim(subscriber_id=subscriber.pk)
            return Subscription.objects.create(subscriber=subscriber, term=term), True
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


def _send_confirmation(subscription, *, sign_up=None):
    _sending(emails.send_confirmation, subscription, sign_up=sign_up)
    subscription.confirmation_sent_at = timezone.now()
    subscription.save(update_fields=["confirmation_sent_at"])


def confirmation_resend(*, subscription: Subscription) -> bool:
    """Send a pending subscription's confirmation again (the admin's action). False when it is
    not pending; raises ConfirmationNotSent when the mail backend fails."""
    if subscription.status != Status.PENDING:
        return False
    _send_confirmation(subscription)
    return True


@dataclass(frozen=True)
class Confirmation:
    """What confirming did: the subscription as it now stands, and whether this confirmed the
    inbox's first mood (it was never verified before: subscriptions.daily.welcome mails it)."""

    subscription: Subscription
    first: bool = False


def subscription_confirm(*, subscription: Subscription, sign_up: int | None = None) -> Confirmation:
    """Activate a pending subscription whose link has not expired, and lift a bounce of its
    subscriber. Confirming twice, or confirming a subscription that has ended or expired
    since, changes nothing.

    `sign_up` is the SubscribeEmail id the link named: the schedule that sign-up asked for
    becomes the subscriber's when this confirms the inbox's first mood (a verified inbox's
    schedule changes only on its schedule page). An id of another inbox's, or of none, is
    ignored."""
    now = timezone.now()
    with transaction.atomic():
        # One confirmation of an inbox at a time, so that exactly one is its first.
        subscriber = Subscriber.objects.select_for_update().get(pk=subscription.subscriber_id)
        first = not selectors.subscriber_is_verified(subscriber=subscriber)
        confirmed = (
            Subscription.objects.confirmable()
            .filter(pk=subscription.pk)
            .update(status=Status.ACTIVE, confirmed_at=now)
        )
        if confirmed:
            # The link reached the inbox: a bounce is over (a complaint is not: the form
            # never sends a complained inbox a link, and only staff lift one).
            Subscriber.objects.filter(
                pk=subscription.subscriber_id, state=Subscriber.State.BOUNCED
            ).update(
                state=Subscriber.State.ACTIVE,
                state_changed_at=now,
                state_reason="Confirmed a subscription: the inbox receives mail again.",
            )
            if first:
                _schedule_from_sign_up(subscriber=subscriber, sign_up=sign_up)
    subscription.refresh_from_db()
    return Confirmation(subscription, first=bool(confirmed) and first)


def _schedule_from_sign_up(*, subscriber, sign_up):
    booking = SubscribeEmail.objects.filter(
        pk=sign_up, subscriber=subscriber, kind=Kind.CONFIRMATION
    ).first()
    schedule = booking.requested_schedule if booking is not None else None
    if schedule is not None:
        Subscriber.objects.filter(pk=subscriber.pk).update(**schedule)


def subscription_unsubscribe(*, subscription: Subscription, via: str) -> bool:
    """Stop one subscription; True when it was live (a second call changes nothing)."""
    just_this_one = Subscription.objects.filter(pk=subscription.pk)
    return bool(subscriptions_unsubscribe(subscriptions=just_this_one, via=via))


def subscriber_unsubscribe_all(*, subscriber: Subscriber, via: str) -> int:
    """Stop every live subscription of a person (the "all" choice and RFC 8058 one-click)."""
    return subscriptions_unsubscribe(subscriptions=subscriber.subscriptions.all(), via=via)


def subscriptions_unsubscribe(*, subscriptions: QuerySet[Subscription], via: str) -> int:
    """Unsubscribe the live ones among `subscriptions`, saying how (`Subscription.Via`);
    returns how many changed."""
    return subscriptions.filter(status__in=Subscription.LIVE_STATUSES).update(
        status=Status.UNSUBSCRIBED, unsubscribed_at=timezone.now(), unsubscribed_via=via
    )


class MarkActiveResult(NamedTuple):
    activated: int
    conflicts: int
    suppressed: int
    full: int  # the subscriber has MAX_MOODS_PER_SUBSCRIBER live moods already


def subscriptions_mark_active(*, subscriptions: QuerySet[Subscription]) -> MarkActiveResult:
    """Staff override: make each subscription active whatever its state.

    A subscription whose (subscriber, term) already has another live subscription is left
    alone (`conflicts`), since two live rows for one pair would mean two emails; so is every
    subscription of a subscriber that bounced or complained (`suppressed`): only
    `address_suppression_clear` lifts that, so this never revives a complained inbox. Nor
    does it revive a stopped one past the cap on live moods (`full`; subscriptions.moods).
    """
    activated = conflicts = suppressed = full = 0
    for subscription in subscriptions.exclude(status=Status.ACTIVE).select_related("subscriber"):
        if subscription.subscriber.is_suppressed:
            suppressed += 1
            continue
        try:
            with transaction.atomic():
                if not subscription.is_live:
                    moods.room_claim(subscriber_id=subscription.subscriber_id)
                Subscription.objects.filter(pk=subscription.pk).update(
                    status=Status.ACTIVE,
                    confirmed_at=Coalesce("confirmed_at", timezone.now()),
                    unsubscribed_at=None,
                )
        except IntegrityError:
            conflicts += 1
        except moods.TooManyMoods:
            full += 1
        else:
            activated += 1
    return MarkActiveResult(activated, conflicts, suppressed, full)
