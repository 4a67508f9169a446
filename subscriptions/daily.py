"""The daily email: claim today's addresses, pick a new playlist per subscription, send in batches.

How one run goes (`daily_playlists_send`):

1. Plan and claim. Read the active subscriptions that have not had today's email (today in
   TIME_ZONE), group them by inbox (`addresses.canonical_email`: every spelling of one inbox
   is one key) and insert one pending `DailyEmail` claim per inbox with `ON CONFLICT DO
   NOTHING` on the unique (email, day): concurrent runs agree on the day's work without talking
   to each other. Inboxes go in the order of their search terms.
2. Search. One Spotify search per distinct normalised term, on a small thread pool, started up
   front in that same order, so searching runs ahead of the batches that need the results.
3. Batches of up to `batch_size` claims, taken with `SELECT … FOR UPDATE SKIP LOCKED` (parallel
   runs split the work instead of waiting). Holding those locks, the run picks one new playlist
   per subscription and builds one message per inbox, then marks the claims "unknown" — in
   flight — and writes their picks as unknown `SentPlaylist` rows, and commits, before anything
   is sent. A sender thread makes the API call while the next batch is composed; Mailgun's
   answer is recorded (`daily_records`) in the next batch's transaction, or on its own if that
   transaction fails: accepted → claims and picks sent, subscriptions' "sent today"; an error
   answer or no connection at all → claims failed, picks dropped (a later run retries them
   today, DAILY_MAX_ATTEMPTS times in all); sent but no answer → claims stay unknown, never
   resent, and their picks count as sent until Mailgun's delivery events settle them. A call
   Mailgun refuses over a recipient (400) is split in halves until the refused address is
   alone, so one bad address fails only itself. Progress is reported after the answers are
   committed, and a failing report (a closed stdout) changes nothing that was recorded.

   So the job is at-most-once: a run killed while a batch is on the wire leaves that batch
   "unknown" instead of mailing it twice on the next run, and a run killed before a batch is
   marked in flight leaves its claims pending (PostgreSQL drops the locks) for the next run.

Messages use Mailgun's batch sending as it is meant to be used: the templates (`daily.txt`,
`daily.html`) are rendered once per number of picks, with `%recipient.KEY%` placeholders where
each pick's values go (the playlist's own web and app links among them), and each address
contributes only its values (with HTML-escaped copies for the HTML part: Mailgun inserts values
raw). anymail keys those values by the address as it parses it, so each inbox is sent to in the
one spelling that parsing leaves unchanged (`mail_address`). Rendering per address would cost
more than all the rest together at 100,000 addresses. Backends without batch sending (console,
locmem) get the same messages, expanded here the way Mailgun expands them.
"""

import dataclasses
import logging
import random
import re
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from email.headerregistry import Address
from email.utils import parseaddr
from html import escape as html_escape
from itertools import islice
from types import SimpleNamespace

import requests
from anymail.backends.base import AnymailBaseBackend
from anymail.exceptions import AnymailError, AnymailInvalidAddress, AnymailRequestsAPIError
from anymail.message import AnymailMessage
from anymail.utils import parse_single_address
from django.conf import settings
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.template.loader import get_template, render_to_string
from django.utils import timezone
from urllib3.exceptions import MaxRetryError

from search import spotify

from . import daily_records as records
from . import selectors, services
from .addresses import InvalidAddress, ascii_domain, canonical_email
from .links import manage_url, unsubscribe_url
from .models import DailyEmail, SentPlaylist, Subscription

logger = logging.getLogger(__name__)

SEARCH_WORKERS = 8  # concurrent Spotify searches: enough to hide latency, few enough to be polite
MAX_SEARCH_PAGES = 5  # Spotify's first 50 results, 10 a page
CLAIM_CHUNK = 1000
# Mailgun answers that mean every further batch would fail the same way: stop the run.
MAILGUN_CONFIGURATION_STATUSES = {401, 403, 404}
# What Mailgun's 400 says when a recipient is the trouble (API_CONTRACT.md: "'to' parameter is
# not a valid address. please check documentation"; "Too many recipients; max is 1000").
RECIPIENT_REFUSALS = ("'to' parameter", "recipient")
IN_FLIGHT_NOTE = "Handed to the mail backend; the run stopped before it heard back."
TEMPLATES = "subscriptions/email/daily"
RECIPIENT_VARIABLE = re.compile(r"%recipient\.([A-Za-z0-9_:-]+)%")
# Values of a pick that the layout shows; each also goes in an HTML-escaped copy. The links
# are the playlist's own, the same as its page shows (the demo catalog's are not built from ids).
PICK_TEXT_FIELDS = ("name", "owner_name", "term", "web_url", "uri")
# The dot-atom `local@domain` with a lower-case ASCII domain: anymail parses it into itself.
PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+"
)
TOKEN_MARK = "RECIPIENTTOKEN"  # noqa: S105 - a marker that survives reverse(), unlike "%"
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

    @property
    def term(self) -> str:
        return self.subscription.term


@dataclass(frozen=True)
class DailyLayout:
    """The day's message for addresses with a given number of picks, with `%recipient.KEY%`
    where each address's own values go."""

    subject: str
    text: str
    html: str

    def expand(self, variables: dict[str, str]) -> tuple[str, str]:
        """(text, html) for one address, substituted the way Mailgun does for a batch."""

        def substitute(template):
            return RECIPIENT_VARIABLE.sub(
                lambda match: variables.get(match.group(1), match.group(0)), template
            )

        return substitute(self.text), substitute(self.html)


@dataclass
class DailyMessage:
    """Today's message for one address: one pick per subscription that has something new."""

    address: str  # as the oldest subscription spells it, in the form anymail keys it by
    key: str  # the inbox, as the claim holds it
    picks: list[Pick]
    variables: dict[str, str]  # this address's values for the layout's placeholders
    list_unsubscribe_url: str
    claim_id: int | None = None
    attempt: int = 1  # today's attempts at this claim, this one included

    @property
    def subscription_ids(self) -> list[int]:
        return [pick.subscription.pk for pick in self.picks]


@dataclass
class BatchReport:
    """What happened to one batch; handed to the caller's `progress` callback."""

    number: int
    messages: list[DailyMessage]
    outcome: str  # "sent", "failed", "unknown", "dry run", or "empty" (nothing to send)
    skipped: dict[str, str] = field(default_factory=dict)  # inbox -> why nothing was sent
    released: int = 0  # addresses left for a later run (Spotify errors only)
    message_id: str = ""
    error: str = ""
    status: int | None = None  # Mailgun's HTTP status when it refused the call
    undeliverable: int = 0  # of `skipped`: stored addresses that cannot be mailed (failed)


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
    def skipped(self) -> int:
        return self.no_new_playlist + self.spotify_errors

    @property
    def exit_code(self) -> int:
        """0 when nothing failed; 1 when some mail failed or its fate is unknown."""
        return 1 if self.failed or self.unknown else 0

    def line(self) -> str:
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
    today: date | None = None,
    dry_run: bool = False,
    limit: int | None = None,
    batch_size: int | None = None,
    seed: int | None = None,
    search_workers: int = SEARCH_WORKERS,
    progress: Callable[[BatchReport, DailySendSummary], None] | None = None,
) -> DailySendSummary:
    """Send today's email to every address that is due; return a `DailySendSummary`.

    `limit` caps the addresses this run handles; `batch_size` the addresses per Mailgun call
    (default MAILGUN_BATCH_SIZE, at most 1,000); `seed` makes the random picks repeatable.
    `progress` is called after each call's answer is recorded; if it raises, the run logs that
    and goes on without it. Raises DailyConfigurationError before claiming or sending anything
    if settings are wrong.
    """
    started = time.monotonic()
    today = today or timezone.localdate()
    batch_size = batch_size or settings.MAILGUN_BATCH_SIZE
    if not 1 <= batch_size <= 1000:
        raise DailyConfigurationError("The batch size must be between 1 and 1000 (Mailgun's cap).")
    check_configuration()
    if not dry_run:
        # Sign-ups nobody confirmed in time go with the day's run, so no other job is needed.
        services.pending_subscriptions_expire()
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


def check_configuration() -> None:
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
            backend = mail.get_connection()
        except (AnymailError, ImproperlyConfigured) as error:
            problems.append(f"The mail backend is not configured: {error}")
        else:
            if _is_mailgun(backend) and not backend.api_key:
                problems.append("No mail configuration: MAILGUN_API_KEY is empty.")
            if _is_mailgun(backend) and not _mailgun_domain(backend):
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


def _is_mailgun(backend):
    return type(backend).__module__ == "anymail.backends.mailgun"


def _mailgun_domain(backend):
    """The domain anymail will send from: MAILGUN_DOMAIN, else DEFAULT_FROM_EMAIL's."""
    if backend.sender_domain:
        return backend.sender_domain
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
    undeliverable: dict[str, str] = field(default_factory=dict)  # no address anymail can send


@dataclass
class _Batch:
    """Claims locked by this run's open transaction, with their composed messages."""

    claims: list[DailyEmail]
    composed: _Composed
    claim_ids: dict[str, int]  # inbox (as the claim holds it) -> claim id


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
        self.unknown_counts = set()  # playlists without a track count, logged once each
        self.failed_terms = set()  # terms whose search failed, logged once each
        self.batch_number = 0
        self.batch_sending = isinstance(mail.get_connection(), AnymailBaseBackend)
        # subscriptions.links builds the link; reversing it once per address would cost more
        # than the rest of the address's message.
        self.unsubscribe_pattern = unsubscribe_url(SimpleNamespace(token=TOKEN_MARK))
        self.layouts = {}  # number of picks -> DailyLayout
        self.tracks_labels = {}  # track count -> ", 25 tracks"
        self.tracks_template = get_template(f"{TEMPLATES}_tracks.txt")
        self.members = {}  # inbox -> ids of its due subscriptions, as last read
        self.inbox_of = {}  # subscription id -> inbox
        self.subscriber_of = {}  # inbox -> subscriber id

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
        cursor, remaining = 0, self.limit
        in_flight = answered = None
        # One batch is on the wire while the next is composed, both in order: Mailgun's answers
        # for batch k are recorded in the transaction that holds batch k+1's claims, and batch
        # k+1 is marked in flight (committed) only then, right before it is sent. Should that
        # transaction fail, batch k's answers are recorded on their own (the except below).
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mailgun") as sender:
            try:
                while True:
                    keep_going = True
                    with transaction.atomic():
                        batch = None
                        if remaining is None or remaining > 0:
                            size = min(self.batch_size, remaining or self.batch_size)
                            batch = self._lock_and_compose(after=cursor, size=size)
                        if in_flight is not None:
                            answered, in_flight = self._answers(in_flight), None
                            self._record_all(answered)
                            keep_going = self._keep_going(answered)
                        if batch is not None and keep_going:
                            self._mark_in_flight(batch)
                    # Committed: from here on nothing can undo what Mailgun's answers recorded.
                    recorded, answered = answered, None
                    if recorded:
                        self._tally(recorded)
                    if batch is None or not keep_going:
                        break  # a composed batch is left as it was: its locks ended above
                    cursor = batch.claims[-1].pk
                    if remaining is not None:
                        remaining -= len(batch.claims)
                    in_flight = self._start(sender, batch)
            except BaseException:
                self._record_after_failure(answered, in_flight)
                raise

    def _plan(self):
        """The due inboxes in the order batches take them, and their terms.

        Inboxes go in the order of their terms, and the searches start in that order, so the
        first batches need few terms and searching runs ahead of sending instead of every batch
        waiting on hundreds of fresh terms. Inboxes with a claim today that is done (or out of
        attempts) are left out.
        """
        settled = set(
            DailyEmail.objects.filter(day=self.today)
            .exclude(records.retryable_claims())
            .values_list("subscriber__inbox_key", flat=True)
        )
        terms_of = {}
        for inbox, term in self._read_members(with_terms=True):
            if inbox not in settled:
                terms_of.setdefault(inbox, []).append(spotify.normalize_query(term))
        addresses = list(terms_of)[: self.limit]
        terms = dict.fromkeys(term for address in addresses for term in terms_of[address])
        return addresses, list(terms)

    def _read_members(self, *, with_terms=False):
        """Read the due subscriptions into `members` and `inbox_of`; yields (inbox, term)."""
        self.members = {}
        rows = (
            _due_subscriptions(self.today)
            .order_by(Lower("term"), Lower("email"), "pk")
            .values_list("pk", "subscriber__inbox_key", "term", "subscriber_id")
        )
        for pk, inbox, term, subscriber_id in rows.iterator(chunk_size=5000):
            self.inbox_of[pk] = inbox
            self.subscriber_of[inbox] = subscriber_id
            self.members.setdefault(inbox, []).append(pk)
            if with_terms:
                yield inbox, term

    def _members_of(self, inboxes):
        """inbox -> due subscription ids; read again when a claim is new to this run (another
        run claimed it for a subscription confirmed since this one read them)."""
        if any(inbox not in self.members for inbox in inboxes):
            for _ in self._read_members():
                pass
            for inbox in inboxes:
                self.members.setdefault(inbox, [])  # read once: none is due
        return self.members

    def _claim(self, addresses):
        """One pending claim per inbox for today, ids in `addresses` order; others' stay.

        `INSERT … ON CONFLICT DO NOTHING` on the unique (email, day) is what makes concurrent
        runs agree without talking to each other.
        """
        ops = connection.ops
        day = ops.adapt_datefield_value(self.today)
        now = ops.adapt_datetimefield_value(timezone.now())
        pending = DailyEmail.Status.PENDING.value
        fields = ("subscriber_id", "day", "status", "message_id", "attempts", "error")
        for chunk in _chunks(addresses, CLAIM_CHUNK):
            records.insert_ignoring_conflicts(
                DailyEmail,
                (*fields, "created_at", "updated_at"),
                [
                    (self.subscriber_of[address], day, pending, "", 0, "", now, now)
                    for address in chunk
                ],
            )

    def _lock_and_compose(self, *, after, size):
        """Lock the next claims and compose their messages; None when there are none left.

        Claims are taken in id order past `after`, so a claim this run left alone (Spotify
        errors) is not taken again by this run, without an ever-growing exclusion list.
        """
        claims = list(
            DailyEmail.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("subscriber")
            .only("pk", "attempts", "subscriber__inbox_key")
            .filter(records.retryable_claims(), day=self.today, pk__gt=after)
            .order_by("pk")[:size]
        )
        if not claims:
            return None
        by_inbox = {claim.subscriber.inbox_key: claim for claim in claims}
        composed = self._compose(list(by_inbox))
        for message in composed.messages:
            claim = by_inbox[message.key]
            message.claim_id, message.attempt = claim.pk, claim.attempts + 1
        claim_ids = {inbox: claim.pk for inbox, claim in by_inbox.items()}
        return _Batch(claims=claims, composed=composed, claim_ids=claim_ids)

    def _mark_in_flight(self, batch):
        """Before anything is sent: a run that dies from here on must not send these again,
        and their picks count as sent until Mailgun's answer or events say otherwise."""
        composed, claim_ids, now = batch.composed, batch.claim_ids, timezone.now()
        _update_claims(
            [message.claim_id for message in composed.messages],
            status=DailyEmail.Status.UNKNOWN,
            error=IN_FLIGHT_NOTE,
            attempts=F("attempts") + 1,
            updated_at=now,
        )
        records.picks_hold(
            [
                (message.claim_id, pick.subscription.pk, pick.playlist.id, pick.playlist.name)
                + (pick.playlist.web_url, pick.playlist.uri)
                for message in composed.messages
                for pick in message.picks
            ],
            day=self.today,
        )
        _update_claims(
            [claim_ids[address] for address in composed.skipped],
            status=DailyEmail.Status.SKIPPED,
            error="Nothing new to send today.",
            updated_at=now,
        )
        _update_claims(
            [claim_ids[address] for address in composed.released],
            error="Spotify errors; a later run will try again today.",
            updated_at=now,
        )
        for address, reason in composed.undeliverable.items():
            _update_claims(
                [claim_ids[address]],
                status=DailyEmail.Status.FAILED,
                error=reason,
                attempts=F("attempts") + 1,
                updated_at=now,
            )

    def _rehearse(self, addresses):
        """Dry run of one batch: compose and report, write and send nothing."""
        composed = self._compose(addresses)
        self.batch_number += 1
        report = BatchReport(
            number=self.batch_number,
            messages=composed.messages,
            outcome="dry run",
            skipped={**composed.skipped, **composed.released, **composed.undeliverable},
            released=len(composed.released),
            undeliverable=len(composed.undeliverable),
        )
        self.summary.addresses_done += len(addresses)
        if composed.messages:
            # One API call per number of picks, as a real run makes.
            self.summary.batches += len({len(message.picks) for message in composed.messages})
            self.summary.emails += len(composed.messages)
            self.summary.playlists += sum(len(m.picks) for m in composed.messages)
        self._report(report)

    def _start(self, sender, batch):
        """Hand a marked batch to the sender thread; the future of its answers, None if empty.

        Addresses with the same number of picks share a layout, so they go in one API call.
        """
        composed = batch.composed
        self.summary.addresses_done += len(batch.claims)
        self.summary.failed += len(composed.undeliverable)
        skipped = {**composed.skipped, **composed.released, **composed.undeliverable}
        counts = {"released": len(composed.released), "undeliverable": len(composed.undeliverable)}
        if not composed.messages:
            self.batch_number += 1
            self._report(BatchReport(self.batch_number, [], "empty", skipped, **counts))
            return None
        groups = defaultdict(list)
        for message in composed.messages:
            groups[len(message.picks)].append(message)
        reports = []
        for index, messages in enumerate(groups.values()):
            self.batch_number += 1
            # Reported with the batch's first call, so each address is reported once.
            first = index == 0
            reports.append(
                BatchReport(
                    number=self.batch_number,
                    messages=messages,
                    outcome="",
                    skipped=skipped if first else {},
                    **(counts if first else {}),
                )
            )
        layouts = [self._layout(len(report.messages[0].picks)) for report in reports]
        return sender.submit(self._send_all, reports, layouts)

    def _send_all(self, reports, layouts):
        """In the sender thread: the calls for a batch, stopping at a configuration error.

        Returns (the reports of the calls as answered, number of calls): more reports than it
        was given when Mailgun refused a call over a recipient and it was split.
        """
        answered, calls = [], 0
        for index, (report, layout) in enumerate(zip(reports, layouts, strict=True)):
            parts, made = self._send_splitting(report, layout)
            answered += parts
            calls += made
            if any(part.status in MAILGUN_CONFIGURATION_STATUSES for part in parts):
                for unsent in reports[index + 1 :]:
                    unsent.outcome, unsent.error = "failed", "Not sent: the run stopped."
                    answered.append(unsent)
                break
        return answered, calls

    def _send_splitting(self, report, layout):
        """Send one call; when Mailgun refuses it over a recipient, send each half on its own,
        and so on, until the refused addresses are alone. Returns (reports, calls).

        k bad addresses among n cost at most about 2·k·log2(n) calls more, in this run.
        """
        waiting, answered, calls = [report], [], 0
        while waiting:
            part = waiting.pop()
            calls += 1
            if self._send(part, layout) and len(part.messages) > 1:
                half = len(part.messages) // 2
                logger.info(
                    "Batch %d: Mailgun refused a call of %d addresses over a recipient; "
                    "sending each half on its own.",
                    part.number,
                    len(part.messages),
                )
                # Last in, first out: the first half goes next, so the order is kept.
                waiting.append(_part(part, part.messages[half:], first=False))
                waiting.append(_part(part, part.messages[:half], first=True))
                continue
            if part.outcome != "sent":
                _log_outcome(part)
            answered.append(part)
        return answered, calls

    def _answers(self, in_flight):
        """Wait for the sender thread's answers to a batch (its future); their reports."""
        answered, calls = in_flight.result()
        if self.batch_sending:
            self.summary.mailgun_calls += calls
        return answered

    def _keep_going(self, reports):
        """False when Mailgun's answer means every further call would fail the same way."""
        for report in reports:
            if report.status in MAILGUN_CONFIGURATION_STATUSES:
                self.summary.stopped_early = (
                    f"Mailgun answered {report.status}: check the MAILGUN_* settings."
                )
                logger.error("Stopping the run: %s", self.summary.stopped_early)
                return False
        return True

    def _record_after_failure(self, answered, in_flight):
        """The run is failing: still record the answers Mailgun gave (best effort).

        `answered` were read but their transaction did not commit; `in_flight` is still on the
        wire (its answer is waited for: it may well have been accepted).
        """
        try:
            reports = answered
            if reports is None and in_flight is not None:
                reports = self._answers(in_flight)
            if reports:
                with transaction.atomic():
                    self._record_all(reports)
        except Exception:
            logger.exception("Could not record the last batch sent; it stays 'unknown'.")

    # -- composing ---------------------------------------------------------------------------

    def _compose(self, inboxes):
        """Pick and render today's message for each inbox; reads only."""
        members = self._members_of(inboxes)
        wanted = [pk for inbox in inboxes for pk in members.get(inbox, ())]
        subscriptions = list(
            _due_subscriptions(self.today)
            .select_related("subscriber")
            .only("pk", "email", "term", "token", "subscriber__manage_token")
            .filter(pk__in=wanted)
            .order_by("pk")
        )
        history = defaultdict(set)
        # Picks of a batch whose fate is unknown count too: they may be in the inbox.
        for subscription_id, playlist_id in SentPlaylist.objects.filter(
            subscription__in=[s.pk for s in subscriptions]
        ).values_list("subscription_id", "playlist_id"):
            history[subscription_id].add(playlist_id)
        by_inbox = defaultdict(list)
        for subscription in subscriptions:
            by_inbox[self.inbox_of[subscription.pk]].append(subscription)

        composed = _Composed()
        for inbox in inboxes:
            subscriptions = by_inbox.get(inbox)
            if not subscriptions:
                composed.skipped[inbox] = "no active subscription is due"
                continue
            address = mail_address(subscriptions[0].email)
            if address is None:
                composed.undeliverable[inbox] = (
                    f"The stored address {subscriptions[0].email!r} cannot be mailed."
                )
                continue
            picks, spotify_failed = [], False
            for subscription in subscriptions:
                taken = {pick.playlist.id for pick in picks}
                try:
                    playlist = self._pick(subscription, history[subscription.pk] | taken)
                except spotify.SpotifyError as error:
                    if subscription.term not in self.failed_terms:
                        self.failed_terms.add(subscription.term)
                        logger.warning("Spotify search for %r failed: %s", subscription.term, error)
                    self.summary.spotify_errors += 1
                    spotify_failed = True
                    continue
                if playlist is None:
                    self.summary.no_new_playlist += 1
                    continue
                picks.append(Pick(subscription, playlist))
            if picks:
                composed.messages.append(self._render(inbox, address, picks))
            elif spotify_failed:
                composed.released[inbox] = "Spotify errors"
            else:
                composed.skipped[inbox] = "no new playlist"
        return composed

    def _pick(self, subscription, exclude):
        """A random eligible playlist not in `exclude`, from the first pages; None if none."""
        term = spotify.normalize_query(subscription.term)
        for number in range(1, MAX_SEARCH_PAGES + 1):
            page = self.searches.page(term, number)
            eligible = [
                playlist
                for playlist in page.items
                if playlist.id not in exclude
                and spotify.is_valid_playlist_id(playlist.id)  # the history is keyed by it
                and self._long_enough(playlist)
            ]
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
        """The message for one address: its values for the layout's placeholders."""
        variables = {}
        for number, pick in enumerate(picks, start=1):
            for name in PICK_TEXT_FIELDS:
                value = pick.term if name == "term" else getattr(pick.playlist, name)
                variables[f"p{number}_{name}"] = value
                # What django.utils.html.escape does, without its lazy-string wrapper: these
                # values go to Mailgun, not to a template, 100,000 addresses times five a day.
                variables[f"p{number}_{name}_html"] = html_escape(value)
            # URL-safe tokens read the same in text and HTML: one copy each.
            variables[f"p{number}_token"] = pick.subscription.token
            variables[f"p{number}_tracks"] = self._tracks_label(pick.playlist.track_count)
        variables["manage_token"] = picks[0].subscription.subscriber.manage_token
        return DailyMessage(
            address=address,
            key=key,
            picks=picks,
            variables=variables,
            # The address-wide link: its page offers "unsubscribe from all", and a one-click
            # POST to it unsubscribes every live subscription of the address (RFC 8058).
            list_unsubscribe_url=self.unsubscribe_pattern.replace(
                TOKEN_MARK, picks[0].subscription.token
            ),
        )

    def _tracks_label(self, count):
        if count not in self.tracks_labels:
            label = self.tracks_template.render({"count": count}).strip()
            self.tracks_labels[count] = label
        return self.tracks_labels[count]

    def _layout(self, picks):
        if picks not in self.layouts:
            self.layouts[picks] = _layout(self.today, picks)
        return self.layouts[picks]

    # -- sending and recording ---------------------------------------------------------------

    def _send(self, report, layout):
        """Make one API call and put its answer in `report`; True when Mailgun refused the
        call over a recipient (a 400 that splitting the call can get past)."""
        messages = report.messages
        backend = mail.get_connection()  # a fresh connection: no stale keep-alive socket
        try:
            if isinstance(backend, AnymailBaseBackend):
                message_id = _send_batch(backend, layout, messages, day=self.today)
            else:
                _send_one_by_one(backend, layout, messages)
                message_id = ""
        except AnymailError as error:
            report.outcome = _outcome_of(error)
            report.message_id, report.error = "", str(error)[:2000]
            report.status = getattr(error, "status_code", None)
            return report.status == 400 and _refused_over_a_recipient(error)
        report.outcome, report.message_id, report.error, report.status = (
            "sent",
            str(message_id or ""),
            "",
            None,
        )
        return False

    def _record_all(self, reports):
        """Write what Mailgun answered for each call of a batch (in the caller's transaction)."""
        now = timezone.now()
        for report in reports:
            claim_ids = [message.claim_id for message in report.messages]
            if report.outcome == "sent":
                records.claims_sent(
                    claim_ids,
                    subscription_ids=[
                        pick.subscription.pk
                        for message in report.messages
                        for pick in message.picks
                    ],
                    day=self.today,
                    message_id=report.message_id,
                    sent_at=now,
                )
            elif report.outcome == "failed":
                records.claims_failed(
                    {message.claim_id: message.attempt for message in report.messages},
                    error=report.error,
                )
            else:
                records.claims_unknown(claim_ids, error=report.error)

    def _tally(self, reports):
        """Count recorded answers in the summary, then report them."""
        for report in reports:
            count = len(report.messages)
            if report.outcome == "sent":
                self.summary.batches += 1
                self.summary.emails += count
                self.summary.playlists += sum(len(message.picks) for message in report.messages)
            elif report.outcome == "failed":
                self.summary.failed += count
            else:
                self.summary.unknown += count
        for report in reports:
            self._report(report)

    def _report(self, report):
        """Tell the caller's `progress`; if that fails (a closed stdout), go on without it."""
        if self.progress is None:
            return
        try:
            self.progress(report, self.summary)
        except Exception:
            logger.warning("Reporting progress failed; the run goes on without it.", exc_info=True)
            self.progress = None


def _part(report, messages, *, first):
    """A report for some of `report`'s messages; what it skipped goes with the first part."""
    return dataclasses.replace(
        report,
        messages=messages,
        outcome="",
        message_id="",
        error="",
        status=None,
        skipped=report.skipped if first else {},
        released=report.released if first else 0,
        undeliverable=report.undeliverable if first else 0,
    )


def _log_outcome(report):
    logger.warning(
        "Batch %d (%d addresses) %s: %s",
        report.number,
        len(report.messages),
        "was refused or could not be sent; a later run retries it while attempts remain"
        if report.outcome == "failed"
        else "got no answer; recorded as unknown and not resent",
        report.error.strip().splitlines()[0] if report.error.strip() else "no detail",
    )


def _refused_over_a_recipient(error):
    """A 400 whose message is about recipients: one address may spoil a whole call."""
    try:
        message = str(error.response.json().get("message", ""))
    except (AttributeError, ValueError):
        message = str(error)
    return any(words in message for words in RECIPIENT_REFUSALS)


def mail_address(stored: str) -> str | None:
    """The spelling of a stored address to hand anymail: one that anymail's parsing leaves as
    it is (quotes that add nothing dropped, the domain lower-cased and in ASCII); None when
    anymail cannot send to it, or only to another inbox.

    anymail sends the `to` address with an ASCII domain but keys the recipient variables by
    the address as it parsed it; with another spelling every variable of that recipient comes
    out empty. Plain addresses (nearly all) are returned without being parsed.
    """
    if PLAIN_ADDRESS.fullmatch(stored):
        return stored
    try:
        parsed = parse_single_address(stored)
        domain = ascii_domain(parsed.domain)
        address = str(Address(username=parsed.username, domain=domain))
    except (AnymailInvalidAddress, InvalidAddress, ValueError, IndexError):
        return None
    if parse_single_address(address).addr_spec != address:
        return None
    # Parsing may drop what it cannot read ("ann@exa mple.org" -> "ann@example.org"): never
    # mail another inbox than the one the claim is for.
    if canonical_email(address) != canonical_email(stored):
        return None
    return address


def _due_subscriptions(today):
    """Sendable subscriptions (not stopped, paused or suppressed) without `today`'s email."""
    return selectors.sendable_subscriptions(day=today).filter(
        Q(last_sent_on__isnull=True) | Q(last_sent_on__lt=today)
    )


def _update_claims(claim_ids, **values):
    if claim_ids:
        DailyEmail.objects.filter(pk__in=claim_ids).update(**values)


def _layout(day, picks):
    """Render the message once for addresses with `picks` picks, placeholders for their values."""
    context = {"day": day, "site_url": settings.SITE_URL}
    subject = " ".join(render_to_string(f"{TEMPLATES}_subject.txt", context).split())
    text = render_to_string(f"{TEMPLATES}.txt", {**context, **_placeholders(picks, html=False)})
    html = render_to_string(f"{TEMPLATES}.html", {**context, **_placeholders(picks, html=True)})
    return DailyLayout(subject=subject, text=text, html=html)


def _placeholders(picks, *, html):
    """Template context shaped like real picks, whose values are Mailgun placeholders.

    The placeholders hold no character that HTML escaping changes, so the templates render
    them as they are; in the HTML part they point at the escaped copies of the free text and
    of the playlist's links. Unsubscribe links are built around the subscription token.
    """

    def placeholder(key):
        return f"%recipient.{key}%"

    suffix = "_html" if html else ""
    unsubscribe_pattern = unsubscribe_url(SimpleNamespace(token=TOKEN_MARK))
    slots = []
    for number in range(1, picks + 1):
        text = {name: placeholder(f"p{number}_{name}{suffix}") for name in PICK_TEXT_FIELDS}
        slots.append(
            SimpleNamespace(
                playlist=SimpleNamespace(
                    name=text["name"],
                    owner_name=text["owner_name"],
                    web_url=text["web_url"],
                    uri=text["uri"],
                ),
                term=text["term"],
                unsubscribe_url=unsubscribe_pattern.replace(
                    TOKEN_MARK, placeholder(f"p{number}_token")
                ),
                tracks=placeholder(f"p{number}_tracks"),
            )
        )
    manage_pattern = manage_url(SimpleNamespace(manage_token=TOKEN_MARK))
    return {
        "picks": slots,
        "unsubscribe_all_url": slots[0].unsubscribe_url,
        "manage_url": manage_pattern.replace(TOKEN_MARK, placeholder("manage_token")),
    }


def _send_batch(backend, layout, messages, *, day):
    """One API call for the batch: Mailgun builds each recipient's message from its variables."""
    batch = AnymailMessage(
        subject=layout.subject,
        body=layout.text,
        to=[message.address for message in messages],
        connection=backend,
    )
    batch.attach_alternative(layout.html, "text/html")
    batch.merge_data = {message.address: message.variables for message in messages}
    batch.extra_headers = {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    batch.merge_headers = {
        message.address: {"List-Unsubscribe": f"<{message.list_unsubscribe_url}>"}
        for message in messages
    }
    # Metadata (not tags: a tag makes Mailgun add its own List-Unsubscribe) lets the delivery
    # webhooks find the subscriptions a bounce or complaint is about, and (kind, day and the
    # recipient) the claim a `delivered` or `failed` event settles when the run never heard.
    batch.metadata = {"kind": "daily", "day": day.isoformat()}
    batch.merge_metadata = {
        message.address: {"subscription_ids": ",".join(map(str, message.subscription_ids))}
        for message in messages
    }
    batch.send()
    return batch.anymail_status.message_id


def _send_one_by_one(backend, layout, messages):
    """Backends without batch sending (console, locmem): the same messages, one per address."""
    backend.send_messages([_single_message(layout, message, backend) for message in messages])


def _single_message(layout, message, backend):
    text, html = layout.expand(message.variables)
    single = mail.EmailMultiAlternatives(
        subject=layout.subject,
        body=text,
        to=[message.address],
        connection=backend,
        headers={
            "List-Unsubscribe": f"<{message.list_unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    single.attach_alternative(html, "text/html")
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


def _chunks(items, size):
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
