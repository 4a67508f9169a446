"""One run of the daily sender: plan, claim, and the batch loop that keeps the protocol.

One batch is on the wire (in the sender thread) while the next is composed, both in order,
and no transaction is open across either network call (`batches`): the next batch's claims
are held by advisory locks while it is composed; Mailgun's answers for batch k are recorded in
a short transaction once they come, and batch k+1 is marked in flight (committed) only then,
right before it is sent. Progress is reported after the answers are committed, and a failing
report (a closed stdout) changes nothing recorded.
"""

import logging
import random
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date

from anymail.backends.base import AnymailBaseBackend
from django.core import mail

from search import spotify

from ..models import Subscriber
from . import claims
from .batches import BatchSteps, skipped_reasons
from .composing import Composer
from .errors import MailgunUnusable
from .picking import Due, Picker
from .report import BatchReport, DailySendSummary, Outcome
from .sending import Mailer

logger = logging.getLogger(__name__)  # under "subscriptions.daily"

Progress = Callable[[BatchReport, DailySendSummary], None]


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
        self.steps = BatchSteps(
            today=today, picker=picker, mailer=mailer, due=self.due, subscribers=subscribers
        )
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
        in_flight: Future | None = None
        answered = batch = None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mailgun") as sender:
            try:
                while True:
                    batch = None
                    if remaining is None or remaining > 0:
                        size = min(self.batch_size, remaining or self.batch_size)
                        batch, cursor = self.steps.take(after=cursor, size=size)
                    if in_flight is not None:
                        answered, in_flight = self._answers(in_flight), None
                        self._record(answered)
                        answered = None
                    if batch is None:
                        break
                    self.steps.mark(batch)
                    self.steps.let_go(batch)
                    if remaining is not None:
                        remaining -= batch.size
                    in_flight = self._start(sender, batch)
            except MailgunUnusable:  # its batch is recorded (back to pending); nothing more
                self.steps.let_go(batch)
                raise
            except BaseException:
                self.steps.let_go(batch)  # a composed batch is left as it was
                self._record_after_failure(answered, in_flight)
                raise

    def _record(self, answered):
        """Record a batch's answers, count them, report them; stop at wrong settings."""
        try:
            self.steps.record(answered)
        except MailgunUnusable as error:
            self.summary.stopped_early = error.reason
            logger.error("Stopping the run: %s", error.reason)
            raise
        finally:
            self._tally(answered)

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

    def _rehearse(self, subscriber_ids):
        """Dry run of one batch: compose and report, write and send nothing."""
        stored = dict(Subscriber.objects.filter(pk__in=subscriber_ids).values_list("pk", "email"))
        emails = {s: stored[s] for s in subscriber_ids if s in stored}
        composed = self.steps.compose(emails)
        self.batch_number += 1
        report = BatchReport(
            number=self.batch_number,
            messages=composed.messages,
            outcome=Outcome.DRY_RUN,
            skipped=skipped_reasons(composed, emails),
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
            skipped=skipped_reasons(composed, batch.emails),
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
                claims.answers_record(reports, day=self.today)
        except Exception:
            logger.exception("Could not record the last batch sent; it stays 'unknown'.")

    def _tally(self, reports):
        """Count recorded answers in the summary, then report them."""
        self.summary.count_answers(reports)
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
