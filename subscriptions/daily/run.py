"""One run of the daily sender: plan, claim, and the batch loop that keeps the protocol.

One batch is on the wire (in the sender thread) while the next is composed, both in order:
Mailgun's answers for batch k are recorded in the transaction that holds batch k+1's claims,
and batch k+1 is marked in flight (committed) only then, right before it is sent. Should that
transaction fail, batch k's answers are recorded on their own. Progress is reported after the
answers are committed, and a failing report (a closed stdout) changes nothing recorded.
"""

import logging
import random
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

from anymail.backends.base import AnymailBaseBackend
from django.core import mail
from django.db import transaction

from search import spotify

from ..models import Subscriber
from . import claims
from .composing import Composer
from .picking import Composed, Due, Picker, due_subscriptions
from .report import BatchReport, DailySendSummary, Outcome
from .sending import MAILGUN_CONFIGURATION_STATUSES, Mailer

logger = logging.getLogger(__name__)  # under "subscriptions.daily"

Progress = Callable[[BatchReport, DailySendSummary], None]


@dataclass
class _Batch:
    """Claims locked by this run's open transaction, with their composed messages."""

    last_claim_id: int
    size: int
    composed: Composed
    claim_ids: dict[int, int]  # subscriber id -> claim id
    emails: dict[int, str]  # subscriber id -> address, for the report


class Run:
    def __init__(
        self, *, today, dry_run, limit, batch_size, picker, mailer, progress, subscribers=None
    ):
        self.today = today
        self.subscribers = subscribers  # the Subscriber queryset due today; None: everyone
        self.dry_run = dry_run
        self.limit = limit
        self.batch_size = batch_size
        self.picker: Picker = picker
        self.mailer: Mailer = mailer
        self.progress: Progress | None = progress
        self.summary = DailySendSummary(day=today, dry_run=dry_run)
        self.due = Due(day=today, subscribers=subscribers)
        self.batch_number = 0
        self.batch_sending = isinstance(mail.get_connection(), AnymailBaseBackend)

    def execute(self) -> None:
        subscriber_ids, terms = self._plan()
        self.summary.planned = len(subscriber_ids)
        try:
            if not subscriber_ids:
                return
            self.picker.searches.prefetch(terms)
            if self.dry_run:
                for start in range(0, len(subscriber_ids), self.batch_size):
                    self._rehearse(subscriber_ids[start : start + self.batch_size])
                return
            claims.claims_insert(subscriber_ids, day=self.today)
            self._loop()
        finally:
            self.summary.no_new_playlist = self.picker.tally.no_new_playlist
            self.summary.spotify_errors = self.picker.tally.spotify_errors

    def _loop(self):
        cursor, remaining = 0, self.limit
        in_flight = answered = None
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
                            claims.answers_record(answered, day=self.today)
                            keep_going = self._keep_going(answered)
                        if batch is not None and keep_going:
                            claims.batch_mark_in_flight(
                                batch.composed, batch.claim_ids, day=self.today
                            )
                    # Committed: from here on nothing can undo what Mailgun's answers recorded.
                    recorded, answered = answered, None
                    if recorded:
                        self._tally(recorded)
                    if batch is None or not keep_going:
                        break  # a composed batch is left as it was: its locks ended above
                    cursor = batch.last_claim_id
                    if remaining is not None:
                        remaining -= batch.size
                    in_flight = self._start(sender, batch)
            except BaseException:
                self._record_after_failure(answered, in_flight)
                raise

    def _plan(self):
        """The due subscribers in the order batches take them (by term), and their terms;
        those with a claim today that is done (or out of attempts) are left out."""
        settled = claims.settled_subscribers(self.today)
        terms_of = {}
        for subscriber_id, term in self.due.read():
            if subscriber_id not in settled:
                terms_of.setdefault(subscriber_id, []).append(spotify.normalize_query(term))
        subscriber_ids = list(terms_of)[: self.limit]
        terms = dict.fromkeys(term for s in subscriber_ids for term in terms_of[s])
        return subscriber_ids, list(terms)

    def _compose(self, emails):
        """Compose the messages of `emails` (subscriber id -> address), in that order."""
        members = self.due.of(list(emails))
        wanted = [pk for s in emails for pk in members.get(s, ())]
        subscriptions = list(
            due_subscriptions(self.today, self.subscribers)
            .only("pk", "term", "token", "subscriber_id")
            .filter(pk__in=wanted)
            .order_by("pk")
        )
        manage_tokens = dict(
            Subscriber.objects.filter(pk__in=list(emails)).values_list("pk", "manage_token")
        )
        return self.picker.compose(subscriptions, emails, manage_tokens)

    def _lock_and_compose(self, *, after, size):
        """Lock the next claims and compose their messages; None when there are none left."""
        locked = claims.claims_lock(day=self.today, after=after, size=size)
        if not locked:
            return None
        by_subscriber = {claim.subscriber_id: claim for claim in locked}
        emails = {s: claim.subscriber.email for s, claim in by_subscriber.items()}
        composed = self._compose(emails)
        for message in composed.messages:
            claim = by_subscriber[message.subscriber_id]
            message.claim_id, message.attempt = claim.pk, claim.attempts + 1
            # The email's web copy is the claim's: only known now. URL-safe, so one copy
            # serves the text and the HTML.
            message.variables["web_copy_url"] = self.picker.composer.web_copy_url(
                message.variables["manage_token"], claim.pk
            )
        return _Batch(
            last_claim_id=locked[-1].pk,
            size=len(locked),
            composed=composed,
            claim_ids={s: claim.pk for s, claim in by_subscriber.items()},
            emails=emails,
        )

    def _rehearse(self, subscriber_ids):
        """Dry run of one batch: compose and report, write and send nothing."""
        stored = dict(Subscriber.objects.filter(pk__in=subscriber_ids).values_list("pk", "email"))
        emails = {s: stored[s] for s in subscriber_ids if s in stored}
        composed = self._compose(emails)
        self.batch_number += 1
        report = BatchReport(
            number=self.batch_number,
            messages=composed.messages,
            outcome=Outcome.DRY_RUN,
            skipped=_skipped(composed, emails),
            released=len(composed.released),
            undeliverable=len(composed.undeliverable),
        )
        self.summary.addresses_done += len(subscriber_ids)
        if composed.messages:
            self.summary.batches += 1  # one API call, as a real run makes
            self.summary.emails += len(composed.messages)
            self.summary.playlists += sum(len(m.picks) for m in composed.messages)
        self._report(report)

    def _start(self, sender, batch) -> Future | None:
        """Hand a marked batch to the sender thread: the future of its answers, None if empty."""
        composed = batch.composed
        self.summary.addresses_done += batch.size
        self.summary.failed += len(composed.undeliverable)
        self.batch_number += 1
        report = BatchReport(
            number=self.batch_number,
            messages=composed.messages,
            outcome=Outcome.PENDING,
            skipped=_skipped(composed, batch.emails),
            released=len(composed.released),
            undeliverable=len(composed.undeliverable),
        )
        if not composed.messages:
            report.outcome = Outcome.EMPTY
            self._report(report)
            return None
        return sender.submit(self.mailer.send, report, self.picker.composer.layout)

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
                    claims.answers_record(reports, day=self.today)
        except Exception:
            logger.exception("Could not record the last batch sent; it stays 'unknown'.")

    def _tally(self, reports):
        """Count recorded answers in the summary, then report them."""
        for report in reports:
            count = len(report.messages)
            if report.outcome == Outcome.SENT:
                self.summary.batches += 1
                self.summary.emails += count
                self.summary.playlists += sum(len(message.picks) for message in report.messages)
            elif report.outcome == Outcome.FAILED:
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


def _skipped(composed: Composed, emails: dict[int, str]) -> dict[str, str]:
    """address -> why nothing was sent to it, for the report."""
    reasons = {**composed.skipped, **composed.released, **composed.undeliverable}
    return {emails[subscriber]: reason for subscriber, reason in reasons.items()}


def new_run(
    *,
    today: date,
    dry_run: bool,
    limit,
    batch_size,
    rng: random.Random,
    searches,
    progress,
    sender,
    subscribers=None,
):
    picker = Picker(searches=searches, composer=Composer(day=today), rng=rng)
    return Run(
        subscribers=subscribers,
        today=today,
        dry_run=dry_run,
        limit=limit,
        batch_size=batch_size,
        picker=picker,
        mailer=Mailer(day=today, sender=sender),
        progress=progress,
    )
