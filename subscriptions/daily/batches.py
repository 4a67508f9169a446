"""One batch's steps of the at-most-once protocol, each in a short transaction or in none.

take (claims held, committed) -> compose (Spotify; no transaction) -> mark in flight (short
transaction) -> send (Mailgun; no transaction) -> record the answers (short transaction).
The in-process run (`run`) pipelines them, one batch on the wire while the next is composed;
a batch task (`tasks`) runs them one after the other for its range of claims.
"""

import logging
from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet

from ..models import Subscriber
from . import claims, locks
from .errors import MailgunUnusable
from .picking import Composed, Due, Picker, due_subscriptions
from .report import BatchReport, Outcome
from .sending import Mailer

logger = logging.getLogger(__name__)  # under "subscriptions.daily"


@dataclass
class Batch:
    """Claims a run holds (advisory locks; no transaction open), with their messages."""

    last_claim_id: int
    size: int
    composed: Composed
    claim_ids: dict[int, int]  # subscriber id -> claim id; erased ones leave at marking
    emails: dict[int, str]  # subscriber id -> address, for the report
    held: list[int]  # the claims whose advisory locks this batch holds until `let_go`


class BatchSteps:
    """The steps, for one local date's claims."""

    def __init__(
        self,
        *,
        today: date,
        picker: Picker,
        mailer: Mailer,
        due: Due | None = None,
        subscribers: QuerySet[Subscriber] | None = None,
    ):
        self.today = today
        self.picker = picker
        self.mailer = mailer
        self.subscribers = subscribers  # whose email is due now (schedule); None: the claims'
        self.due = due  # the run's reading of who is due; None: read per batch
        self.held_elsewhere = 0  # claims passed over because another run or task held them

    def take(self, *, after: int, size: int, upto: int | None = None) -> tuple[Batch | None, int]:
        """Hold and compose the next claims past `after`: (the batch, where the next starts);
        (None, after) when there are none left."""
        while True:
            taken = claims.claims_take(day=self.today, after=after, size=size, upto=upto)
            if taken is None:
                return None, after
            after = taken.last_seen
            self.held_elsewhere += taken.candidates - len(taken.claims)
            if taken.claims:
                break  # else every claim looked at was held elsewhere: look further
        held = [claim.pk for claim in taken.claims]
        try:
            return self._compose_taken(taken.claims, held), after
        except BaseException:
            self.let_go_ids(held)
            raise

    def _compose_taken(self, taken, held) -> Batch:
        by_subscriber = {claim.subscriber_id: claim for claim in taken}
        emails = {s: claim.subscriber.email for s, claim in by_subscriber.items()}
        composed = self.compose(emails)
        for message in composed.messages:
            claim = by_subscriber[message.subscriber_id]
            message.claim_id, message.attempt = claim.pk, claim.attempts + 1
            # The email's web copy is the claim's: only known now. URL-safe, so one copy
            # serves the text and the HTML.
            message.variables["web_copy_url"] = self.picker.composer.web_copy_url(
                message.variables["manage_token"], claim.pk
            )
        return Batch(
            last_claim_id=taken[-1].pk,
            size=len(taken),
            composed=composed,
            claim_ids={s: claim.pk for s, claim in by_subscriber.items()},
            emails=emails,
            held=held,
        )

    def compose(self, emails: dict[int, str]) -> Composed:
        """Compose the messages of `emails` (subscriber id -> address), in that order."""
        wanted = list(emails)
        subscriptions = due_subscriptions(self.today, self.subscribers).only(
            "pk", "term", "token", "subscriber_id"
        )
        if self.due is not None:
            members = self.due.of(wanted)
            subscriptions = subscriptions.filter(pk__in=[pk for s in wanted for pk in members[s]])
        else:
            subscriptions = subscriptions.filter(subscriber__in=wanted)
        manage_tokens = dict(
            Subscriber.objects.filter(pk__in=wanted).values_list("pk", "manage_token")
        )
        return self.picker.compose(list(subscriptions.order_by("pk")), emails, manage_tokens)

    def mark(self, batch: Batch) -> None:
        """Mark the batch in flight (short transaction); those erased meanwhile drop out."""
        claims.batch_mark_in_flight(batch.composed, batch.claim_ids, day=self.today)

    def let_go(self, batch: Batch | None) -> None:
        if batch is not None:
            self.let_go_ids(batch.held)
            batch.held = []

    def let_go_ids(self, held: list[int]) -> None:
        try:
            locks.claims_let_go(held)
        except Exception:  # the session is gone, and its locks with it
            logger.warning("Could not release the claims of a batch.", exc_info=True)

    def record(self, answered: list[BatchReport]) -> None:
        """Write Mailgun's answers (short transaction); raises MailgunUnusable when one says
        the settings are wrong (the batch went back to pending as it was)."""
        claims.answers_record(answered, day=self.today)
        returned = [report for report in answered if report.outcome == Outcome.RETURNED]
        if returned:
            raise MailgunUnusable(returned[0].error)


def skipped_reasons(composed: Composed, emails: dict[int, str]) -> dict[str, str]:
    """address -> why nothing was sent to it, for the report."""
    reasons = {**composed.skipped, **composed.released, **composed.undeliverable}
    return {emails[subscriber]: reason for subscriber, reason in reasons.items()}
