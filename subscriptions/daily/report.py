"""The run's report: what happened to each batch (for `progress`) and the run's counts."""

import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from .composing import DailyMessage

logger = logging.getLogger(__name__)  # under "subscriptions.daily"


class Outcome(StrEnum):
    """What became of one batch (or part of one): the sender's word for it, printed as is."""

    PENDING = ""  # not sent yet
    SENT = "sent"  # Mailgun accepted the call
    FAILED = "failed"  # Mailgun refused it: the claims may be retried
    UNKNOWN = "unknown"  # sent, but no answer: never resent
    RETURNED = "returned"  # Mailgun's settings are wrong: back to pending, nothing charged
    DRY_RUN = "dry run"
    EMPTY = "empty"  # nothing left to send once the picks were made


@dataclass
class BatchReport:
    """What happened to one batch; handed to the caller's `progress` callback."""

    number: int
    messages: list[DailyMessage]
    outcome: Outcome
    skipped: dict[str, str] = field(default_factory=dict)  # address -> why nothing was sent
    released: int = 0  # addresses left for a later run (Spotify errors only)
    message_id: str = ""
    error: str = ""
    status: int | None = None  # Mailgun's HTTP status when it refused the call
    undeliverable: int = 0  # of `skipped`: stored addresses that cannot be mailed (failed)

    def part(self, messages: list[DailyMessage], *, first: bool) -> "BatchReport":
        """A report for some of the messages; what the batch skipped goes with the first part."""
        return dataclasses.replace(
            self,
            messages=messages,
            outcome=Outcome.PENDING,
            message_id="",
            error="",
            status=None,
            skipped=self.skipped if first else {},
            released=self.released if first else 0,
            undeliverable=self.undeliverable if first else 0,
        )


@dataclass
class DailySendSummary:
    """A run's counts: emails, failed and unknown count addresses; skipped, subscriptions."""

    day: date
    dry_run: bool = False
    planned: int = 0  # addresses due when the run started
    addresses_done: int = 0  # claims this run finished with (sent, failed, unknown, skipped, left)
    emails: int = 0  # one per address: an address gets one email with all its picks
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

    def add(self, part: "DailySendSummary") -> None:
        """Count one local date's run (subscriptions.daily.schedule) in the whole run's summary."""
        for name in (
            "planned",
            "addresses_done",
            "emails",
            "playlists",
            "batches",
            "no_new_playlist",
            "spotify_errors",
            "failed",
            "unknown",
            "mailgun_calls",
        ):
            setattr(self, name, getattr(self, name) + getattr(part, name))
        self.stopped_early = self.stopped_early or part.stopped_early

    def count_answers(self, reports: list[BatchReport]) -> None:
        """Count a batch's recorded answers (returned ones are pending again: not counted)."""
        for report in reports:
            count = len(report.messages)
            if report.outcome == Outcome.SENT:
                self.batches += 1
                self.emails += count
                self.playlists += sum(len(message.picks) for message in report.messages)
            elif report.outcome == Outcome.FAILED:
                self.failed += count
            elif report.outcome != Outcome.RETURNED:
                self.unknown += count

    @property
    def exit_code(self) -> int:
        """0 when nothing failed; 1 when some mail failed or its fate is unknown."""
        return 1 if self.failed or self.unknown else 0

    def line(self) -> str:
        text = (
            f"sent {self.emails} emails with {self.playlists} playlists "
            f"in {self.batches} batches; skipped {self.skipped} (no new playlist: "
            f"{self.no_new_playlist}, Spotify errors: {self.spotify_errors}); "
            f"failed {self.failed}; unknown {self.unknown}; Spotify calls {self.spotify_calls}; "
            f"Mailgun calls {self.mailgun_calls}; {self.seconds:.1f} s"
        )
        return f"dry run, nothing sent or written: would have {text}" if self.dry_run else text


def log_outcome(report: BatchReport) -> None:
    if report.outcome == Outcome.RETURNED:
        logger.error(
            "Batch %d (%d addresses) went back untouched: %s",
            report.number,
            len(report.messages),
            report.error,
        )
        return
    logger.warning(
        "Batch %d (%d addresses) %s: %s",
        report.number,
        len(report.messages),
        "was refused or could not be sent; a later run retries it while attempts remain"
        if report.outcome == Outcome.FAILED
        else "got no answer; recorded as unknown and not resent",
        report.error.strip().splitlines()[0] if report.error.strip() else "no detail",
    )
