"""The daily email: claim today's addresses, pick a new playlist per subscription, send in batches.

How one run goes (`daily_playlists_send`):

1. Plan. Read the active subscriptions that have not had today's email (today in TIME_ZONE) and
   insert one `DailyEmail` claim per address (`ON CONFLICT DO NOTHING` on the unique
   (email, day)): concurrent runs agree on the day's work without talking to each other.
2. Search. One Spotify search per distinct normalised term, on a small thread pool, started up
   front in the order the batches will need them, so searching overlaps sending.
3. Batches, each in two short transactions:
   - claim: lock up to `batch_size` claims (`SELECT … FOR UPDATE SKIP LOCKED`, so parallel runs
     split the work), pick one new playlist per subscription, render one message per address,
     then mark the claims "unknown" (in flight) and commit — before anything is sent;
   - send one Mailgun API call for the whole batch (outside any transaction), then record the
     answer: accepted → claims sent, `SentPlaylist` rows, subscriptions' "sent today";
     an error answer or no connection at all → claims failed (a later run retries them today);
     sent but no answer → claims stay unknown and are never retried automatically.

   Marking claims in flight before the send makes the job at-most-once: a run killed while a batch
   is on the wire leaves that batch "unknown" instead of mailing it twice on the next run; a run
   killed before it commits the claim leaves the claims pending for the next run.
"""

import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from email.utils import parseaddr
from itertools import islice

import requests
from anymail.backends.base import AnymailBaseBackend
from anymail.exceptions import AnymailError, AnymailRequestsAPIError
from anymail.message import AnymailMessage
from django.conf import settings
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Lower
from django.template.loader import get_template, render_to_string
from django.utils import timezone
from urllib3.exceptions import MaxRetryError

from search import spotify

from .links import unsubscribe_url
from .models import DailyEmail, SentPlaylist, Subscription

logger = logging.getLogger(__name__)

SEARCH_WORKERS = 8  # concurrent Spotify searches: enough to hide latency, few enough to be polite
MAX_SEARCH_PAGES = 5  # Spotify's first 50 results, 10 a page
CLAIM_CHUNK = 1000
# Mailgun answers that mean every further batch would fail the same way: stop the run.
MAILGUN_CONFIGURATION_STATUSES = {401, 403, 404}
RETRYABLE = (DailyEmail.Status.PENDING, DailyEmail.Status.FAILED)
DONE = (DailyEmail.Status.SENT, DailyEmail.Status.UNKNOWN, DailyEmail.Status.SKIPPED)
IN_FLIGHT_NOTE = "Handed to the mail backend; the run stopped before it heard back."
TEMPLATES = "subscriptions/email/daily"
CONSOLE_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
}


class DailyConfigurationError(ImproperlyConfigured):
    """The run cannot send correct mail with these settings; nothing was claimed or sent."""


@dataclass(frozen=True)
class Pick:
    """One playlist for one subscription in today's message."""

    subscription: Subscription
    playlist: spotify.Playlist
    unsubscribe_url: str

    @property
    def term(self):
        return self.subscription.term


@dataclass
class DailyMessage:
    """Today's message for one address: one pick per subscription that has something new."""

    address: str  # spelled as the subscriber typed it
    key: str  # the address as the claim holds it (lower-cased by the database)
    picks: list[Pick]
    subject: str
    text: str
    html: str
    list_unsubscribe_url: str
    claim_id: int | None = None

    @property
    def subscription_ids(self):
        return [pick.subscription.pk for pick in self.picks]


@dataclass
class BatchReport:
    """What happened to one batch; handed to the caller's `progress` callback."""

    number: int
    messages: list[DailyMessage]
    outcome: str  # "sent", "failed", "unknown", "dry run", or "empty" (nothing to send)
    skipped: dict[str, str] = field(default_factory=dict)  # address -> why nothing was sent
    released: int = 0  # addresses left for a later run (Spotify errors only)
    message_id: str = ""
    error: str = ""


@dataclass
class DailySendSummary:
    """A run's counts: emails, failed and unknown count addresses; skipped, subscriptions."""

    day: date
    dry_run: bool = False
    planned: int = 0  # addresses due when the run started
    addresses_done: int = 0  # claims this run finished with (sent, failed, unknown, skipped, left)
    emails: int = 0
    playlists: int = 0
    batches: int = 0
    no_new_playlist: int = 0
    spotify_errors: int = 0
    failed: int = 0
    unknown: int = 0
    spotify_calls: int = 0
    mailgun_calls: int = 0
    seconds: float = 0.0
    stopped_early: str = ""  # why the run stopped before the work was done

    @property
    def skipped(self):
        return self.no_new_playlist + self.spotify_errors

    @property
    def exit_code(self):
        """0 when nothing failed; 1 when some mail failed or its fate is unknown."""
        return 1 if self.failed or self.unknown else 0

    def line(self):
        text = (
            f"sent {self.emails} emails ({self.playlists} playlists) to {self.emails} addresses "
            f"in {self.batches} batches; skipped {self.skipped} (no new playlist: "
            f"{self.no_new_playlist}, Spotify errors: {self.spotify_errors}); "
            f"failed {self.failed}; unknown {self.unknown}; Spotify calls {self.spotify_calls}; "
            f"Mailgun calls {self.mailgun_calls}; {self.seconds:.1f} s"
        )
        return f"dry run, nothing sent or written: would have {text}" if self.dry_run else text


def daily_playlists_send(
    *,
    today=None,
    dry_run=False,
    limit=None,
    batch_size=None,
    seed=None,
    search_workers=SEARCH_WORKERS,
    progress: Callable[[BatchReport, DailySendSummary], None] | None = None,
):
    """Send today's email to every address that is due; return a `DailySendSummary`.

    `limit` caps the addresses this run handles; `batch_size` the addresses per Mailgun call
    (default MAILGUN_BATCH_SIZE, at most 1,000); `seed` makes the random picks repeatable.
    Raises DailyConfigurationError before claiming or sending anything if settings are wrong.
    """
    started = time.monotonic()
    today = today or timezone.localdate()
    batch_size = batch_size or settings.MAILGUN_BATCH_SIZE
    if not 1 <= batch_size <= 1000:
        raise DailyConfigurationError("The batch size must be between 1 and 1000 (Mailgun's cap).")
    check_configuration()
    client = spotify.get_client()
    spotify_calls_before = client.api_calls

    run = _Run(
        today=today,
        dry_run=dry_run,
        limit=limit,
        batch_size=batch_size,
        rng=random.Random(seed),
        progress=progress,
    )
    with _Searches(workers=search_workers) as searches:
        run.searches = searches
        try:
            run.execute()
        finally:
            run.summary.spotify_calls = client.api_calls - spotify_calls_before
            run.summary.seconds = time.monotonic() - started
    if run.unknown_counts:
        logger.info(
            "Spotify gave no track count for %d playlists; they were counted eligible.",
            len(run.unknown_counts),
        )
    return run.summary


def check_configuration():
    """Raise DailyConfigurationError when the email would be wrong or go nowhere."""
    problems = []
    if not settings.SITE_URL:
        problems.append("SITE_URL is not set: the links in the email need the site's address.")
    backend = settings.EMAIL_BACKEND
    if backend in CONSOLE_BACKENDS and not settings.DEBUG:
        problems.append(
            f"No mail configuration: EMAIL_BACKEND is {backend} with DEBUG off. "
            "Set MAILGUN_API_KEY and MAILGUN_DOMAIN."
        )
    else:
        try:
            connection = mail.get_connection()
        except (AnymailError, ImproperlyConfigured) as error:
            problems.append(f"The mail backend is not configured: {error}")
        else:
            if _is_mailgun(connection) and not connection.api_key:
                problems.append("No mail configuration: MAILGUN_API_KEY is empty.")
            if _is_mailgun(connection) and not _mailgun_domain(connection):
                problems.append(
                    "No Mailgun sending domain: set MAILGUN_DOMAIN (or a DEFAULT_FROM_EMAIL "
                    "on the Mailgun domain)."
                )
    try:
        spotify.get_client()
    except spotify.SpotifyNotConfigured as error:
        problems.append(str(error))
    if problems:
        raise DailyConfigurationError(" ".join(problems))


def _is_mailgun(connection):
    return type(connection).__module__ == "anymail.backends.mailgun"


def _mailgun_domain(connection):
    """The domain anymail will send from: MAILGUN_DOMAIN, else DEFAULT_FROM_EMAIL's."""
    if connection.sender_domain:
        return connection.sender_domain
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2]
    return "" if domain in {"", "localhost"} else domain


class _Searches:
    """One Spotify search per (term, page) per run, on a small thread pool.

    The workers only call the cached Spotify client (Django's cache and the client are
    thread-safe) and never touch the database.
    """

    def __init__(self, *, workers):
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="spotify")
        self._futures = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._executor.shutdown(wait=True, cancel_futures=True)

    def prefetch(self, terms):
        for term in terms:
            self._future(term, 1)

    def page(self, term, number):
        """The `number`th page of results for `term`; raises spotify.SpotifyError."""
        return self._future(term, number).result()

    def _future(self, term, number):
        key = (term, number)
        if key not in self._futures:
            self._futures[key] = self._executor.submit(spotify.search_playlists, term, page=number)
        return self._futures[key]


@dataclass
class _Composed:
    """A batch's addresses sorted into what happens to them, before any write."""

    messages: list[DailyMessage] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # nothing new for any term
    released: dict[str, str] = field(default_factory=dict)  # only Spotify errors: later run


class _Run:
    def __init__(self, *, today, dry_run, limit, batch_size, rng, progress):
        self.today = today
        self.dry_run = dry_run
        self.limit = limit
        self.batch_size = batch_size
        self.rng = rng
        self.progress = progress
        self.summary = DailySendSummary(day=today, dry_run=dry_run)
        self.searches = None
        self.min_tracks = settings.MIN_PLAYLIST_TRACKS
        self.unknown_counts = set()
        self.batch_number = 0
        self.text_template = get_template(f"{TEMPLATES}.txt")
        self.html_template = get_template(f"{TEMPLATES}.html")
        context = {"day": today}
        self.subject = " ".join(render_to_string(f"{TEMPLATES}_subject.txt", context).split())

    # -- the run -----------------------------------------------------------------------------

    def execute(self):
        addresses, terms = self._plan()
        self.summary.planned = len(addresses)
        if not addresses:
            return
        self.searches.prefetch(terms)
        if self.dry_run:
            for chunk in _chunks(addresses, self.batch_size):
                self._rehearse(chunk)
            return
        self._claim(addresses)
        cursor = ""
        remaining = self.limit
        while remaining is None or remaining > 0:
            size = self.batch_size if remaining is None else min(self.batch_size, remaining)
            batch = self._take_batch(after=cursor, size=size)
            if batch is None:
                break
            cursor, claims, composed = batch
            if remaining is not None:
                remaining -= len(claims)
            if not self._send_and_record(claims, composed):
                break

    def _plan(self):
        """The due addresses (lower-cased, in the order batches take them) and their terms."""
        already_done = DailyEmail.objects.filter(
            day=self.today, status__in=DONE, email=OuterRef("email_key")
        )
        rows = (
            _due_subscriptions(self.today)
            .annotate(email_key=Lower("email"))
            .exclude(Exists(already_done))
            .order_by("email_key", "pk")
            .values_list("email_key", "term")
        )
        addresses, terms = [], {}
        for address, term in rows.iterator(chunk_size=5000):
            if not addresses or addresses[-1] != address:
                if self.limit is not None and len(addresses) >= self.limit:
                    break
                addresses.append(address)
            terms.setdefault(spotify.normalize_query(term), None)
        return addresses, list(terms)

    def _claim(self, addresses):
        """One pending claim per address for today; existing claims (another run's) stay."""
        for chunk in _chunks(addresses, CLAIM_CHUNK):
            DailyEmail.objects.bulk_create(
                [DailyEmail(email=address, day=self.today) for address in chunk],
                ignore_conflicts=True,
            )

    def _take_batch(self, *, after, size):
        """Lock, compose and mark in flight the next claims; None when there are none left.

        Claims are taken in address order past `after`, so a claim this run left alone
        (Spotify errors) is not taken again by this run, without an ever-growing exclusion list.
        """
        with transaction.atomic():
            claims = list(
                DailyEmail.objects.select_for_update(skip_locked=True)
                .filter(day=self.today, status__in=RETRYABLE, email__gt=after)
                .order_by("email")[:size]
            )
            if not claims:
                return None
            by_address = {claim.email: claim for claim in claims}
            composed = self._compose(list(by_address))
            now = timezone.now()
            for message in composed.messages:
                message.claim_id = by_address[message.key].pk
            _update_claims(
                [m.claim_id for m in composed.messages],
                status=DailyEmail.Status.UNKNOWN,
                error=IN_FLIGHT_NOTE,
                attempts=F("attempts") + 1,
                updated_at=now,
            )
            _update_claims(
                [by_address[a].pk for a in composed.skipped],
                status=DailyEmail.Status.SKIPPED,
                error="Nothing new to send today.",
                updated_at=now,
            )
            _update_claims(
                [by_address[a].pk for a in composed.released],
                error="Spotify errors; a later run will try again today.",
                updated_at=now,
            )
        return claims[-1].email, claims, composed

    def _rehearse(self, addresses):
        """Dry run of one batch: compose and report, write and send nothing."""
        composed = self._compose(addresses)
        self.batch_number += 1
        report = BatchReport(
            number=self.batch_number,
            messages=composed.messages,
            outcome="dry run",
            skipped={**composed.skipped, **composed.released},
            released=len(composed.released),
        )
        self.summary.addresses_done += len(addresses)
        if composed.messages:
            self.summary.batches += 1
            self.summary.emails += len(composed.messages)
            self.summary.playlists += sum(len(m.picks) for m in composed.messages)
        self._report(report)

    def _send_and_record(self, claims, composed):
        """Send one batch and record what Mailgun said; False when the run should stop."""
        self.batch_number += 1
        self.summary.addresses_done += len(claims)
        report = BatchReport(
            number=self.batch_number,
            messages=composed.messages,
            outcome="empty",
            skipped={**composed.skipped, **composed.released},
            released=len(composed.released),
        )
        keep_going = True
        if composed.messages:
            report.outcome, report.message_id, report.error, status = self._send(composed.messages)
            self._record(report)
            if status in MAILGUN_CONFIGURATION_STATUSES:
                self.summary.stopped_early = f"Mailgun answered {status}: check MAILGUN_* settings."
                logger.error("Stopping the run: %s", self.summary.stopped_early)
                keep_going = False
        self._report(report)
        return keep_going

    # -- composing ---------------------------------------------------------------------------

    def _compose(self, addresses):
        """Pick and render today's message for each address (lower-cased); reads only."""
        subscriptions = list(
            _due_subscriptions(self.today)
            .annotate(email_key=Lower("email"))
            .filter(email_key__in=addresses)
            .order_by("email_key", "pk")
        )
        history = defaultdict(set)
        for subscription_id, playlist_id in SentPlaylist.objects.filter(
            subscription__in=[s.pk for s in subscriptions]
        ).values_list("subscription_id", "playlist_id"):
            history[subscription_id].add(playlist_id)
        by_address = defaultdict(list)
        for subscription in subscriptions:
            by_address[subscription.email_key].append(subscription)

        composed = _Composed()
        for address in addresses:
            subscriptions = by_address.get(address)
            if not subscriptions:
                composed.skipped[address] = "no active subscription is due"
                continue
            picks, spotify_failed = [], False
            for subscription in subscriptions:
                taken = {pick.playlist.id for pick in picks}
                try:
                    playlist = self._pick(subscription, history[subscription.pk] | taken)
                except spotify.SpotifyError as error:
                    logger.warning("Spotify search for %r failed: %s", subscription.term, error)
                    self.summary.spotify_errors += 1
                    spotify_failed = True
                    continue
                if playlist is None:
                    self.summary.no_new_playlist += 1
                    continue
                picks.append(Pick(subscription, playlist, unsubscribe_url(subscription)))
            if picks:
                composed.messages.append(self._render(address, subscriptions[0].email, picks))
            elif spotify_failed:
                composed.released[address] = "Spotify errors"
            else:
                composed.skipped[address] = "no new playlist"
        return composed

    def _pick(self, subscription, exclude):
        """A random eligible playlist not in `exclude`, from the first pages; None if none."""
        term = spotify.normalize_query(subscription.term)
        for number in range(1, MAX_SEARCH_PAGES + 1):
            page = self.searches.page(term, number)
            eligible = [p for p in page.items if p.id not in exclude and self._long_enough(p)]
            if eligible:
                return self.rng.choice(eligible)
            if not page.has_next:
                break
        return None

    def _long_enough(self, playlist):
        if playlist.track_count is None:
            if playlist.id not in self.unknown_counts:
                self.unknown_counts.add(playlist.id)
                logger.debug("No track count for playlist %s; counted eligible.", playlist.id)
            return True
        return playlist.track_count >= self.min_tracks

    def _render(self, key, address, picks):
        # The address-wide link: its page offers "unsubscribe from all", and a one-click POST
        # to it unsubscribes every live subscription of the address (RFC 8058).
        everything_url = picks[0].unsubscribe_url
        context = {
            "day": self.today,
            "picks": picks,
            "site_url": settings.SITE_URL,
            "unsubscribe_all_url": everything_url,
        }
        return DailyMessage(
            address=address,
            key=key,
            picks=picks,
            subject=self.subject,
            text=self.text_template.render(context),
            html=self.html_template.render(context),
            list_unsubscribe_url=everything_url,
        )

    # -- sending and recording ---------------------------------------------------------------

    def _send(self, messages):
        """Send one batch; return (outcome, message id, error text, HTTP status or None)."""
        connection = mail.get_connection()
        try:
            if isinstance(connection, AnymailBaseBackend):
                self.summary.mailgun_calls += 1
                message_id = _send_batch(connection, messages, day=self.today)
            else:
                _send_one_by_one(connection, messages)
                message_id = ""
        except AnymailError as error:
            outcome = _outcome_of(error)
            status = getattr(error, "status_code", None)
            logger.warning(
                "Batch %d (%d addresses) %s: %s",
                self.batch_number,
                len(messages),
                "was refused or could not be sent; a later run retries it"
                if outcome == "failed"
                else "got no answer; recorded as unknown and not retried",
                _first_line(error),
            )
            return outcome, "", str(error)[:2000], status
        return "sent", str(message_id or ""), "", None

    def _record(self, report):
        claim_ids = [message.claim_id for message in report.messages]
        now = timezone.now()
        count = len(report.messages)
        if report.outcome == "sent":
            with transaction.atomic():
                _update_claims(
                    claim_ids,
                    status=DailyEmail.Status.SENT,
                    message_id=report.message_id,
                    error="",
                    updated_at=now,
                )
                picks = [pick for message in report.messages for pick in message.picks]
                SentPlaylist.objects.bulk_create(
                    [
                        SentPlaylist(
                            subscription=pick.subscription,
                            playlist_id=pick.playlist.id,
                            name=pick.playlist.name[:300],
                            web_url=pick.playlist.web_url[:500],
                            uri=pick.playlist.uri[:200],
                            sent_on=self.today,
                            message_id=report.message_id,
                        )
                        for pick in picks
                    ],
                    # The mail is gone: a history row that somehow exists must not undo that.
                    ignore_conflicts=True,
                )
                Subscription.objects.filter(pk__in=[p.subscription.pk for p in picks]).update(
                    last_sent_on=self.today, last_sent_at=now
                )
            self.summary.batches += 1
            self.summary.emails += count
            self.summary.playlists += len(picks)
        elif report.outcome == "failed":
            _update_claims(
                claim_ids, status=DailyEmail.Status.FAILED, error=report.error, updated_at=now
            )
            self.summary.failed += count
        else:
            _update_claims(claim_ids, error=report.error, updated_at=now)  # stays unknown
            self.summary.unknown += count

    def _report(self, report):
        if self.progress is not None:
            self.progress(report, self.summary)


def _due_subscriptions(today):
    """Active subscriptions that have not had `today`'s email."""
    return Subscription.objects.filter(status=Subscription.Status.ACTIVE).filter(
        Q(last_sent_on__isnull=True) | Q(last_sent_on__lt=today)
    )


def _update_claims(claim_ids, **values):
    if claim_ids:
        DailyEmail.objects.filter(pk__in=claim_ids).update(**values)


def _send_batch(connection, messages, *, day):
    """One API call for the batch: Mailgun builds each recipient's message from its variables.

    The bodies are rendered (and HTML-escaped) here by the templates; Mailgun inserts
    recipient variables raw, so the message's text and HTML are just the placeholders.
    """
    batch = AnymailMessage(
        subject=messages[0].subject,
        body="%recipient.body_text%",
        to=[message.address for message in messages],
        connection=connection,
    )
    batch.attach_alternative("%recipient.body_html%", "text/html")
    batch.merge_data = {
        message.address: {"body_text": message.text, "body_html": message.html}
        for message in messages
    }
    batch.extra_headers = {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    batch.merge_headers = {
        message.address: {"List-Unsubscribe": f"<{message.list_unsubscribe_url}>"}
        for message in messages
    }
    # Metadata (not tags: a tag makes Mailgun add its own List-Unsubscribe) lets the delivery
    # webhooks find the subscriptions a bounce or complaint is about.
    batch.metadata = {"kind": "daily", "day": day.isoformat()}
    batch.merge_metadata = {
        message.address: {"subscription_ids": ",".join(map(str, message.subscription_ids))}
        for message in messages
    }
    batch.send()
    return batch.anymail_status.message_id


def _send_one_by_one(connection, messages):
    """Backends without batch sending (console, locmem): the same messages, one per address."""
    connection.send_messages([_single_message(message, connection) for message in messages])


def _single_message(message, connection):
    single = mail.EmailMultiAlternatives(
        subject=message.subject,
        body=message.text,
        to=[message.address],
        connection=connection,
        headers={
            "List-Unsubscribe": f"<{message.list_unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    single.attach_alternative(message.html, "text/html")
    return single


def _outcome_of(error):
    """'failed' when Mailgun surely did not take the batch, 'unknown' when it may have.

    anymail raises one error type for everything; for network trouble it is also the
    requests exception, which tells whether the request went out.
    """
    if not isinstance(error, AnymailRequestsAPIError):
        return "failed"  # anymail refused before any request (configuration, payload)
    if error.status_code is not None:
        # An error status is Mailgun saying no. A 200 that anymail could not read may be queued.
        return "failed" if error.status_code >= 400 else "unknown"
    if isinstance(error, requests.ConnectTimeout):
        return "failed"  # never connected
    if isinstance(error, requests.ConnectionError):
        cause = error.__cause__ if error.__cause__ is not None else error
        reason = cause.args[0] if getattr(cause, "args", None) else None
        # requests wraps "could not connect" (refused, DNS, TLS handshake) in MaxRetryError;
        # a connection that dropped after the request went out is a bare ProtocolError.
        if isinstance(reason, MaxRetryError):
            return "failed"
        return "unknown"
    return "unknown"  # read timeout, broken chunked answer: the request went out


def _first_line(error):
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _chunks(items, size):
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
