"""What the manage page changes: moods, pause, erasure, and the "Lost your link?" email."""

import datetime
import enum
import logging

from anymail.exceptions import AnymailError
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .. import emails, moods, ratelimit, selectors, services
from ..addresses import plain_address
from ..models import (
    Subscriber,
    Subscription,
    SuppressedInbox,
    inbox_digest,
    normalize_term,
)
from . import selectors as manage_selectors

logger = logging.getLogger(__name__)

Status = Subscription.Status
# What an erased person's rows are called in the admin's history of staff actions.
ERASED_IN_ADMIN_LOG = "(erased)"


class MoodOutcome(enum.Enum):
    """What adding (or re-starting) a mood did; the page words each one."""

    ADDED = "added"  # active now: the address was verified before
    CONFIRMATION_SENT = "confirmation_sent"  # pending: a confirmation email went out
    ALREADY = "already"  # a pending or active subscription for the term exists
    SUPPRESSED = "suppressed"  # the inbox bounced or complained: nothing changed
    LIMITED = "limited"  # the inbox had its share of emails today: nothing changed
    ADDS_LIMITED = "adds_limited"  # MAX_MOODS_PER_SUBSCRIBER adds today: nothing changed
    FULL = "full"  # MAX_MOODS_PER_SUBSCRIBER live moods already: nothing changed
    NOT_SENT = "not_sent"  # the mail backend failed: nothing changed


def mood_add(*, subscriber: Subscriber, term: str) -> MoodOutcome:
    """Give the subscriber a daily playlist for `term`.

    An inbox that confirmed a subscription before gets it at once, reviving its latest
    stopped subscription for the term when there is one (so the links of old emails for
    that term work again); any other goes through the double opt-in of the subscribe form,
    within its limits. Never past MAX_MOODS_PER_SUBSCRIBER live moods (subscriptions.moods),
    and at most that many adds a day (ratelimit.inbox_mood_add_reserve)."""
    term = normalize_term(term)
    if manage_selectors.subscriber_suppression(subscriber=subscriber):
        return MoodOutcome.SUPPRESSED
    if selectors.live_subscription(email=subscriber.email, term=term) is not None:
        return MoodOutcome.ALREADY
    if not moods.has_room(subscriber_id=subscriber.pk):
        return MoodOutcome.FULL
    if not selectors.subscriber_is_verified(subscriber=subscriber):
        return _mood_request(subscriber=subscriber, term=term)
    booking = ratelimit.inbox_mood_add_reserve(subscriber=subscriber)
    if booking is None:
        return MoodOutcome.ADDS_LIMITED
    outcome = _mood_activate(subscriber=subscriber, term=term)
    if outcome is not MoodOutcome.ADDED:
        booking.delete()
    return outcome


def _mood_activate(*, subscriber, term):
    """A verified inbox's mood, live at once: its latest stopped one revived, or a new one."""
    now = timezone.now()
    stopped = (
        subscriber.subscriptions.filter(status=Status.UNSUBSCRIBED, term__iexact=term)
        .order_by("-created_at", "-id")
        .first()
    )
    try:
        with transaction.atomic():
            moods.room_claim(subscriber_id=subscriber.pk)
            if stopped is not None:
                Subscription.objects.filter(pk=stopped.pk).update(
                    status=Status.ACTIVE, confirmed_at=now, unsubscribed_at=None
                )
            else:
                Subscription.objects.create(
                    subscriber=subscriber,
                    term=term,
                    status=Status.ACTIVE,
                    confirmed_at=now,
                )
    except IntegrityError:  # a concurrent request made it live first
        return MoodOutcome.ALREADY
    except moods.TooManyMoods:  # a concurrent request took the last room
        return MoodOutcome.FULL
    return MoodOutcome.ADDED


def _mood_request(*, subscriber, term):
    try:
        outcome = services.subscription_request(email=subscriber.email, term=term)
    except services.ConfirmationNotSent:
        return MoodOutcome.NOT_SENT
    return {
        services.SubscribeOutcome.LIMITED: MoodOutcome.LIMITED,
        services.SubscribeOutcome.SUPPRESSED: MoodOutcome.SUPPRESSED,
        services.SubscribeOutcome.ALREADY_ACTIVE: MoodOutcome.ALREADY,
        services.SubscribeOutcome.FULL: MoodOutcome.FULL,
    }.get(outcome, MoodOutcome.CONFIRMATION_SENT)


def mood_stop(*, subscription: Subscription) -> bool:
    """Stop one subscription; False when it had stopped already."""
    return services.subscription_unsubscribe(subscription=subscription, via=Subscription.Via.MANAGE)


def moods_stop_all(*, subscriber: Subscriber) -> int:
    """Stop every live subscription of the subscriber; how many were live."""
    return services.subscriptions_unsubscribe(
        subscriptions=subscriber.subscriptions.all(), via=Subscription.Via.MANAGE
    )


def subscriber_pause(*, subscriber: Subscriber, until: datetime.date) -> None:
    """Send nothing on any day up to and including `until` (the form checks the range)."""
    Subscriber.objects.filter(pk=subscriber.pk).update(paused_until=until)
    subscriber.paused_until = until


def subscriber_resume(*, subscriber: Subscriber) -> None:
    """Lift a pause: the next daily run mails the subscriber again."""
    Subscriber.objects.filter(pk=subscriber.pk).update(paused_until=None)
    subscriber.paused_until = None


def subscriber_schedule_change(
    *, subscriber: Subscriber, time_zone: str, send_hour: int, frequency: str, weekly_day: int
) -> None:
    """Their hour, zone and frequency from now on. The next period's email follows them;
    this period's, if it went, is not sent again (the claim and the 20-hour rule). Their own
    choice, behind their token: no sign-up made before it overrides it when confirmed."""
    with transaction.atomic():
        Subscriber.objects.filter(pk=subscriber.pk).update(
            time_zone=time_zone, send_hour=send_hour, frequency=frequency, weekly_day=weekly_day
        )
        subscriber.subscribe_emails.update(time_zone="", frequency="", weekly_day=None)


def subscriber_erase(*, subscriber: Subscriber) -> bool:
    """Delete the subscriber and every row about their inbox, under any spelling.

    An inbox that bounced or complained leaves one SuppressedInbox row, a one-way digest of
    its key, which the subscribe form checks so that it is never mailed again. True when it
    did. Staff's edits of its rows stay in the admin's log without anything that names it."""
    with transaction.atomic():
        # Its state as it is now: a complaint may have come in since the page was opened, and
        # one arriving meanwhile waits for this to commit.
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        reason = manage_selectors.subscriber_suppression(subscriber=subscriber)
        if reason:
            SuppressedInbox.objects.get_or_create(
                digest=inbox_digest(subscriber.inbox_key), defaults={"reason": reason}
            )
        # Events recorded while the inbox had no subscriber carry only its address.
        manage_selectors.subscriber_events(subscriber=subscriber).delete()
        _admin_log_anonymise(subscriber)
        Subscriber.objects.filter(pk=subscriber.pk).delete()
    logger.info("A subscriber erased their data (suppression kept: %s).", bool(reason))
    return bool(reason)


def _admin_log_anonymise(subscriber: Subscriber) -> None:
    """The admin's log entries for the subscriber and its subscriptions keep who did what
    kind of change when; the row they point at, its name (the address) and the message
    (which names inline rows by their address too) go."""
    subscription_ids = [str(pk) for pk in subscriber.subscriptions.values_list("pk", flat=True)]
    of_model = ContentType.objects.get_for_model
    LogEntry.objects.filter(
        Q(content_type=of_model(Subscriber), object_id=str(subscriber.pk))
        | Q(content_type=of_model(Subscription), object_id__in=subscription_ids)
    ).update(object_id=None, object_repr=ERASED_IN_ADMIN_LOG, change_message="")


class LinkOutcome(enum.Enum):
    """What a "Lost your link?" request did. Never shown: every outcome gets the same answer
    after the same work (see manage_link_request)."""

    SENT = "sent"
    # Nothing delivered: no subscriptions, a suppressed inbox, or the link went to the inbox
    # less than LOST_LINK_RESEND_MINUTES ago.
    WITHHELD = "withheld"


def manage_link_request(*, email: str) -> LinkOutcome:
    """Email the manage page's link to `email` if its inbox has subscriptions and may be
    mailed, at most once per LOST_LINK_RESEND_MINUTES (ratelimit.manage_link_due).

    Known or not, every request does the same work, so neither the answer nor its time tells
    whether we know the address: the same two reads, no write (nothing is stored about an
    address we do not know), one count in the rate-limit cache, and one call to the mail
    backend, in Mailgun's test mode when nothing is to be delivered. Raises
    addresses.InvalidAddress for an address that is not plain, and
    services.ConfirmationNotSent when the mail backend fails (the interval is then not
    started, so a retry sends at once)."""
    email = plain_address(email)
    subscriber = manage_selectors.manage_link_recipient(email=email)
    erased_while_suppressed = SuppressedInbox.covers(email)
    due = ratelimit.manage_link_due(email=email)
    try:
        if subscriber is not None and not erased_while_suppressed and due:
            emails.send_manage_link(subscriber)
            return LinkOutcome.SENT
        emails.send_manage_link_withheld(email=email)
        return LinkOutcome.WITHHELD
    except (AnymailError, OSError) as error:  # OSError covers SMTP and socket failures
        if due:
            ratelimit.manage_link_release(email=email)
        logger.warning("Manage-link email not sent: %s", error)
        raise services.ConfirmationNotSent(str(error)) from error
