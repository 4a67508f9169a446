"""The daily email: claim today's subscribers, pick a new playlist per mood, send in batches.

`daily_playlists_send(...)` is the one entry point (the command and the scheduler call it);
`daily_email_preview(...)` builds one subscriber's email of today without sending or writing.
One concern a module:

- `picking`: who is due (`due_subscriptions`), one Spotify search per distinct term, a new
  eligible playlist per subscription (no repeats);
- `composing`: the run's one layout and each address's values for it (`mail_address`);
- `claims` and `records`: the at-most-once protocol — one claim per subscriber and day, marked
  in flight before it is sent, then what Mailgun's answer (or later its events) says;
- `sending`: one anymail call per batch, what each answer means, the 400 bisection;
- `report`: what each batch did (`BatchReport`) and the run's counts (`DailySendSummary`);
- `batches` and `locks`: one batch's steps, none holding a row lock across a network call;
- `run`: the in-process loop that keeps those in order; `fanout` and `tasks` the same work
  spread over Celery workers when a broker is configured (`preflight` is what both check).

A run's claims: an accepted call -> claims and picks sent; an error answer -> claims failed,
picks dropped (a later run retries them today, DAILY_MAX_ATTEMPTS times in all); an answer
that says Mailgun's settings are wrong, or no connection at all -> the batch goes back to
pending with no attempt counted and the run stops (MailgunUnusable); sent but no answer ->
claims stay unknown, never resent, and their picks count as sent until Mailgun's delivery
events settle them.
"""

import logging
import random
import time
from collections.abc import Callable
from datetime import date, datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from search import spotify

from ..models import Subscriber
from ..selectors import sendable_subscriptions
from .claims import IN_FLIGHT_NOTE
from .composing import Composer, DailyMessage, Pick, mail_address
from .errors import ComplaintBreakerOn, DailyConfigurationError, MailgunUnusable
from .picking import SEARCH_WORKERS, Picker, Searches, due_subscriptions
from .preflight import run_prepare
from .report import BatchReport, DailySendSummary, Outcome
from .run import new_run
from .sending import BatchSender, SendContext, batch_send, single_message

__all__ = [
    "IN_FLIGHT_NOTE",
    "BatchReport",
    "BatchSender",
    "ComplaintBreakerOn",
    "DailyConfigurationError",
    "DailyMessage",
    "DailySendSummary",
    "MailgunUnusable",
    "Outcome",
    "Pick",
    "SendContext",
    "batch_send",
    "daily_email_preview",
    "daily_playlists_send",
    "due_subscriptions",
    "mail_address",
]

logger = logging.getLogger(__name__)


def daily_playlists_send(
    *,
    today: date | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
    limit: int | None = None,
    batch_size: int | None = None,
    seed: int | None = None,
    search_workers: int = SEARCH_WORKERS,
    progress: Callable[[BatchReport, DailySendSummary], None] | None = None,
    sender: BatchSender | None = None,
) -> DailySendSummary:
    """Send the email of every subscriber whose time has come; return a `DailySendSummary`.

    Who is due at `now` (default: this moment) is `schedule.due_by_day`: each subscriber's own
    hour, zone and frequency, one email per local date, which is also the day of their claim.
    `today` instead sends that day's email to every subscriber whose frequency has one that
    day, whatever their hour (finishing a day's run by hand).

    `limit` caps the addresses this run handles; `batch_size` the addresses per Mailgun call
    (default MAILGUN_BATCH_SIZE, at most 1,000); `seed` makes the random picks repeatable.
    `progress` is called after each call's answer is recorded; if it raises, the run logs that
    and goes on without it. `sender` makes each batch's call (default `batch_send`, through
    Django's mail connection). Raises DailyConfigurationError before claiming or sending
    anything if the batch size or Spotify's settings are wrong, and ComplaintBreakerOn when the
    complaint rate stops the day's email (not for a dry run); the mail settings are system
    checks (subscriptions.delivery.checks), which the command runs first. When Mailgun's answer says
    its settings are wrong (or it cannot be reached at all) the run stops there and raises
    MailgunUnusable, with the summary of what it did: that batch is pending again, with no
    attempt charged to anyone.
    """
    started = time.monotonic()
    prepared = run_prepare(
        today=today, now=now or timezone.now(), dry_run=dry_run, batch_size=batch_size
    )
    site_day, batch_size, client, plans = (
        prepared.site_day,
        prepared.batch_size,
        prepared.client,
        prepared.plans,
    )
    spotify_calls_before = client.api_calls
    rng = random.Random(seed)
    total = DailySendSummary(day=max(plans, default=site_day), dry_run=dry_run)
    unknown_counts: set[str] = set()
    # One run per local date (at most three at any moment), sharing the searches.
    with Searches(workers=search_workers, day=site_day, store=not dry_run) as searches:
        try:
            for day, subscribers in plans.items():
                run = new_run(
                    today=day,
                    dry_run=dry_run,
                    limit=None if limit is None else limit - total.planned,
                    batch_size=batch_size,
                    rng=rng,
                    searches=searches,
                    progress=progress,
                    sender=sender,
                    subscribers=subscribers,
                )
                run.batch_number = total.batches
                try:
                    run.execute()
                except MailgunUnusable as error:
                    error.summary = total
                    raise
                finally:
                    total.add(run.summary)
                    unknown_counts |= run.picker.unknown_counts
                if total.stopped_early or (limit is not None and total.planned >= limit):
                    break
        finally:
            total.spotify_calls = client.api_calls - spotify_calls_before
            total.seconds = time.monotonic() - started
    if unknown_counts:
        logger.info(
            "Spotify gave no track count for %d playlists; they were counted eligible.",
            len(unknown_counts),
        )
    return total


def daily_email_preview(
    *, subscriber: Subscriber, today: date | None = None, seed: int | None = None
) -> EmailMultiAlternatives | None:
    """The email `subscriber` would get today, fully expanded for them, from the same
    templates and picks as the batch — without claiming, recording or sending anything.

    Its moods are the sendable ones (not stopped, paused or suppressed), the oldest
    MAX_MOODS_PER_SUBSCRIBER of them, whether or not today's email went already; picks
    follow the no-repeat rule against everything they had. None when there is nothing to
    show (no sendable mood, no new playlist, an address that cannot be mailed). Raises
    spotify.SpotifyError when a search fails.
    """
    today = today or timezone.localdate()
    # At most the cap's worth (an inbox may have more from before it): the searches run
    # inside the admin's web request.
    subscriptions = list(
        sendable_subscriptions(day=today)
        .filter(subscriber=subscriber)
        .order_by("pk")[: settings.MAX_MOODS_PER_SUBSCRIBER]
    )
    if not subscriptions:
        return None
    composer = Composer(day=today, tracked=False)  # a preview's clicks are nobody's listening
    with Searches(workers=2) as searches:
        picker = Picker(searches=searches, composer=composer, rng=random.Random(seed))
        composed = picker.compose(
            subscriptions,
            {subscriber.pk: subscriber.email},
            {subscriber.pk: subscriber.manage_token},
        )
    if picker.tally.spotify_errors and not composed.messages:
        raise spotify.SpotifyUnavailable("Spotify searches failed for every mood.")
    if not composed.messages:
        return None
    return single_message(composer.layout, composed.messages[0])
