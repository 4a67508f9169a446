"""The first playlist at once: an inbox's first confirmed mood gets that local day's email now.

`subscription_confirm_with_welcome` is what the confirmation page calls: the core's
`services.subscription_confirm`, then, for the inbox's first mood, `welcome_email_send`.

It is the day's email, not an extra one: it takes the subscriber's claim for their local date
(`DailyEmail`), so the hourly run sends nothing more that day, and it goes through the sender's
own pieces in the order a batch does:

1. pick and compose (the Picker's no-repeat picks, the Composer's templates): Spotify's
   searches and reads only, outside any transaction;
2. take the claim and mark it in flight with its picks held, in one short transaction; a run or
   another confirmation holding the claim (`SKIP LOCKED`), or having sent it, wins;
3. send through the Mailer, holding no row lock;
4. record the answer as a run records it: sent, failed (a later hourly run retries it the same
   day) or unknown (never resent; Mailgun's events settle it).

A Spotify failure leaves the claim untaken and a Mailgun refusal leaves it failed with attempts
left: either way the next hourly run sends the day's email, once.
"""

import enum
import logging
import random
from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from .. import services
from ..delivery.records import retryable_claims
from ..models import DailyEmail, Subscriber, Subscription
from . import claims, schedule
from . import searches as daily_searches
from .composing import Composer, Pick
from .picking import Composed, Picker, Searches, due_subscriptions
from .report import BatchReport, Outcome
from .runs import complaint_breaker_state
from .sending import Mailer

logger = logging.getLogger(__name__)  # under "subscriptions.daily"

SEARCH_WORKERS = 2  # a new inbox has a mood or two


class WelcomeOutcome(enum.Enum):
    SENT = "sent"  # Mailgun took today's email
    UNKNOWN = "unknown"  # handed to Mailgun without an answer: likely delivered, never resent
    LATER = "later"  # Spotify, Mailgun or the complaint breaker said no: the next run sends it
    TAKEN = "taken"  # today's email has gone already, or a run is sending it


@dataclass(frozen=True)
class Welcome:
    """What confirming an inbox's first mood sent: the day's email and its picks."""

    outcome: WelcomeOutcome
    day: date
    picks: tuple[Pick, ...] = ()
    daily_email_id: int | None = None

    @property
    def handed_over(self) -> bool:
        """The email went to Mailgun: its picks are the subscriber's today."""
        return self.outcome in (WelcomeOutcome.SENT, WelcomeOutcome.UNKNOWN)


def subscription_confirm_with_welcome(
    *, subscription: Subscription, sign_up: int | None = None
) -> tuple[Subscription, Welcome | None]:
    """Confirm `subscription` (`services.subscription_confirm`, which takes the schedule of
    the sign-up `sign_up` names for a first mood); when that was the first mood of its inbox,
    send the day's email at once, by that schedule. Returns the subscription as it now stands
    and the welcome (None for a later mood, or when nothing was confirmed): the confirmation
    holds whatever happens to the email. Later moods join the next email."""
    confirmation = services.subscription_confirm(subscription=subscription, sign_up=sign_up)
    confirmed = confirmation.subscription
    if not confirmation.first:
        return confirmed, None
    subscriber = Subscriber.objects.get(pk=confirmed.subscriber_id)
    return confirmed, welcome_email_send(subscriber=subscriber, now=confirmed.confirmed_at)


def welcome_email_send(*, subscriber: Subscriber, now: datetime | None = None) -> Welcome:
    """Send `subscriber` their email of today (their local date at `now`) at once.

    Never raises for Spotify or Mailgun: their failures are a LATER outcome, the day's claim
    left for the hourly run. Sends nothing while the complaint breaker is on.
    """
    now = now or timezone.now()
    day = schedule.local_date(subscriber.time_zone, now)
    site_day = daily_searches.search_day(now)
    if (breaker := complaint_breaker_state(day=site_day)).tripped:
        logger.warning("No welcome email: the complaint breaker is on (%s).", breaker.describe())
        return Welcome(WelcomeOutcome.LATER, day)
    composer = Composer(day=day)
    subscriptions = list(due_subscriptions(day).filter(subscriber=subscriber).order_by("pk"))
    # The searches are kept for the day's hourly runs, as a run keeps its own.
    with Searches(workers=SEARCH_WORKERS, day=site_day, store=True) as searches:
        picker = Picker(searches=searches, composer=composer, rng=random.Random())
        composed = picker.compose(
            subscriptions,
            {subscriber.pk: subscriber.email},
            {subscriber.pk: subscriber.manage_token},
        )
    if not composed.messages:
        reasons = {**composed.skipped, **composed.released, **composed.undeliverable}
        logger.info(
            "No welcome email now (%s); the hourly run sends the day's email.",
            ", ".join(reasons.values()),
        )
        return Welcome(WelcomeOutcome.LATER, day)
    claim_id = _claim_take(composed, subscriber=subscriber, day=day, composer=composer)
    if claim_id is None:
        return Welcome(WelcomeOutcome.TAKEN, day)
    message = composed.messages[0]
    report = BatchReport(number=1, messages=[message], outcome=Outcome.PENDING)
    answered, _ = Mailer(day=day).send(report, composer.layout)
    with transaction.atomic():
        claims.answers_record(answered, day=day)
    # Refused, or Mailgun's settings wrong (the claim went back to pending, nothing charged).
    later = {Outcome.FAILED, Outcome.RETURNED}
    outcome = {Outcome.SENT: WelcomeOutcome.SENT, **dict.fromkeys(later, WelcomeOutcome.LATER)}.get(
        answered[0].outcome, WelcomeOutcome.UNKNOWN
    )
    return Welcome(outcome, day, tuple(message.picks), claim_id)


def _claim_take(
    composed: Composed, *, subscriber: Subscriber, day: date, composer: Composer
) -> int | None:
    """Take the subscriber's claim for `day` and mark it in flight with the message's picks,
    committed before anything is sent; its id, or None when another holds or settled it."""
    message = composed.messages[0]
    with transaction.atomic():
        claims.claims_insert([subscriber.pk], day=day)
        claim = (
            DailyEmail.objects.select_for_update(skip_locked=True)
            .filter(retryable_claims(), subscriber=subscriber, day=day)
            .only("pk", "attempts")
            .first()
        )
        if claim is None:
            return None
        message.claim_id, message.attempt = claim.pk, claim.attempts + 1
        # The email's web copy is the claim's, as in a run's batch.
        message.variables["web_copy_url"] = composer.web_copy_url(subscriber.manage_token, claim.pk)
        claims.batch_mark_in_flight(composed, {subscriber.pk: claim.pk}, day=day)
    return claim.pk
