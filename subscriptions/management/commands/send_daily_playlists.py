"""`manage.py send_daily_playlists`: the playlist email of every subscriber whose hour has come.

Schedule it hourly (Heroku Scheduler): each run mails the subscribers whose local send time
has come today and who have not had this period's email (subscriptions.daily.schedule). Safe to run
several at once: the work is claimed in the database. Exit status: 0 all sent, 1 some mail
failed or its fate is unknown, 2 configuration error (nothing was sent), 3 the complaint breaker
stopped the run (nothing was sent; see subscriptions/runs.py). The status holds even when stdout
is gone (a closed pipe): what was sent is recorded before anything is printed. Every run, dry
runs included, is recorded as a `SendRun` (the admin's "Daily runs" and the dashboard).
"""

import argparse
import logging
from datetime import date, datetime

from django.core.management.base import BaseCommand, CommandError, SystemCheckError
from django.utils import timezone

from subscriptions.daily import (
    ComplaintBreakerOn,
    DailyConfigurationError,
    MailgunUnusable,
    Outcome,
    broker,
    daily_playlists_send,
)
from subscriptions.daily.batch_size import batch_size_problem
from subscriptions.daily.runs import BREAKER_EXIT_STATUS, complaint_breaker_state, send_run_recorded
from subscriptions.delivery.checks import MAIL_TAG
from subscriptions.models import SendRun

from . import _on_workers as on_workers

BAR_WIDTH = 30
logger = logging.getLogger(__name__)
ADDRESS_VERBS = {
    Outcome.SENT: "got",
    Outcome.FAILED: "failed",
    Outcome.UNKNOWN: "unknown",
    Outcome.EMPTY: "got",
    Outcome.RETURNED: "left for the next run",
}


def _positive_int(value):
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def _aware_moment(value):
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone offset, e.g. 2026-11-25T07:00+00:00")
    return moment


def _batch_size(value):
    number = int(value)
    if problem := batch_size_problem(number):
        raise argparse.ArgumentTypeError(problem)
    return number


class Command(BaseCommand):
    help = (
        "Email every subscriber whose local send hour has come one new Spotify playlist per "
        "search term: one email per period (day, weekday or week), through Mailgun in batches. "
        "Run it hourly."
    )
    # The system checks run in handle(), so that a failing one exits with 2 like any other
    # configuration error, not 1 like a failed send.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print who would get what; send and write nothing.",
        )
        parser.add_argument(
            "--limit", type=_positive_int, metavar="N", help="Handle at most N addresses this run."
        )
        parser.add_argument(
            "--batch-size",
            type=_batch_size,
            metavar="N",
            help="Addresses per Mailgun call, 1-1000 (default: the MAILGUN_BATCH_SIZE setting).",
        )
        parser.add_argument(
            "--seed", type=int, metavar="N", help="Seed the random picks to repeat a run."
        )
        # For tests and for finishing an earlier day's run by hand; not for everyday use.
        parser.add_argument("--date", type=date.fromisoformat, help=argparse.SUPPRESS)
        # For tests: the moment the run takes as now (ISO 8601 with an offset).
        parser.add_argument("--now", type=_aware_moment, help=argparse.SUPPRESS)
        parser.add_argument(
            "--wait",
            action="store_true",
            help="With workers: stay until they have finished the run; exit with its status.",
        )

    def handle(self, *args, **options):
        now = options["now"] or timezone.now()
        # The site's day (TIME_ZONE): the run's record and the breaker's. Each subscriber's
        # email is for their own local day (subscriptions.daily.schedule).
        today = options["date"] or timezone.localdate(now)
        if broker.broker_configured() and not options["dry_run"]:
            on_workers.send_on_workers(self, today=today, now=now, options=options)
            return
        with send_run_recorded(day=today, dry_run=options["dry_run"]) as record:
            try:
                summary = self._send(today, now, options)
            except CommandError as error:
                outcome = (
                    SendRun.Outcome.BREAKER
                    if error.returncode == BREAKER_EXIT_STATUS
                    else SendRun.Outcome.CONFIGURATION_ERROR
                )
                record.finish(
                    outcome=outcome,
                    exit_status=error.returncode,
                    error=str(error),
                    summary=getattr(error.__cause__, "summary", None),
                )
                raise
            record.finish(
                outcome=SendRun.Outcome.SOME_FAILED if summary.exit_code else SendRun.Outcome.SENT,
                exit_status=summary.exit_code,
                summary=summary,
            )
        if options["verbosity"] >= 1:
            style = self.style.SUCCESS if summary.exit_code == 0 else self.style.WARNING
            try:
                self.stdout.write(style(summary.line()))
            except OSError:
                logger.warning("Could not print the summary (%s)", summary.line())
        if summary.exit_code:
            raise SystemExit(summary.exit_code)

    def preconditions(self, options):
        """The system checks; a failing one is a CommandError with exit status 2."""
        try:
            if not options.get("skip_checks"):
                self.check()
            # The mail settings (deploy checks in subscriptions.delivery.checks) are this command's
            # preconditions: always checked, even when the other checks are skipped.
            self.check(tags=[MAIL_TAG], include_deployment_checks=True)
        except SystemCheckError as error:
            raise CommandError(str(error), returncode=2) from error

    def _send(self, today, now, options):
        verbosity = options["verbosity"]
        self.preconditions(options)
        if verbosity >= 3:
            for name in ("subscriptions.daily", "search.spotify"):
                logging.getLogger(name).setLevel(logging.DEBUG)
        progress = _Progress(self, verbosity=verbosity)
        try:
            return daily_playlists_send(
                today=options["date"],
                now=now,
                dry_run=options["dry_run"],
                limit=options["limit"],
                batch_size=options["batch_size"],
                seed=options["seed"],
                progress=progress,
            )
        except MailgunUnusable as error:
            raise CommandError(
                f"{error.reason}. The run stopped; no attempt was charged: what it had not "
                "sent is left for the next run.",
                returncode=2,
            ) from error
        except DailyConfigurationError as error:
            raise CommandError(str(error), returncode=2) from error
        except ComplaintBreakerOn as error:
            logger.error("%s Nothing was sent.", error)
            raise CommandError(
                f"{error} Nothing was sent; staff can clear it for today on the admin dashboard.",
                returncode=BREAKER_EXIT_STATUS,
            ) from error
        finally:
            progress.finish()
            if options["dry_run"] and (breaker := complaint_breaker_state(day=today)).tripped:
                self.stderr.write(
                    f"The complaint breaker is on: {breaker.describe()}. "
                    "A real run would send nothing."
                )


class _Progress:
    """A bar on a terminal; a line per batch otherwise (logs); a line per address with -v 2."""

    def __init__(self, command, *, verbosity):
        self.command = command
        self.verbosity = verbosity
        self.bar = verbosity >= 1 and command.stderr.isatty()
        self.drawn = False

    def __call__(self, report, summary):
        if self.verbosity >= 2 or (summary.dry_run and self.verbosity >= 1):
            self._clear()
            for line in _address_lines(report, dry_run=summary.dry_run):
                self.command.stdout.write(line)
        if self.bar:
            self._draw(summary)
        elif self.verbosity >= 1:
            self.command.stdout.write(_batch_line(report, summary))

    def finish(self):
        if self.drawn:
            self.command.stderr.write("")
            self.drawn = False

    def _draw(self, summary):
        total = max(summary.planned, summary.addresses_done, 1)
        filled = BAR_WIDTH * summary.addresses_done // total
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.command.stderr.write(
            f"\r[{bar}] {summary.addresses_done}/{total} addresses, {summary.emails} sent",
            ending="",
        )
        self.command.stderr.flush()
        self.drawn = True

    def _clear(self):
        if self.drawn:
            self.command.stderr.write("\r\033[K", ending="")


def _batch_line(report, summary):
    count = len(report.messages)
    done = f"{summary.addresses_done}/{max(summary.planned, summary.addresses_done)} addresses"
    nothing = len(report.skipped) - report.undeliverable
    skipped = f", {nothing} addresses with nothing to send" if nothing else ""
    if report.undeliverable:
        skipped += f", {report.undeliverable} stored addresses that cannot be mailed (failed)"
    if report.outcome in {Outcome.SENT, Outcome.DRY_RUN}:
        verb = "would send" if report.outcome == Outcome.DRY_RUN else "sent"
        playlists = sum(len(message.picks) for message in report.messages)
        what = f"{verb} {count} emails ({playlists} playlists)"
    elif report.outcome == Outcome.FAILED:
        what = f"FAILED for {count} addresses (retried later while attempts remain)"
    elif report.outcome == Outcome.UNKNOWN:
        what = f"no answer for {count} addresses (recorded as unknown, never resent)"
    elif report.outcome == Outcome.RETURNED:
        what = f"NOT SENT to {count} addresses: {report.error} (left for the next run)"
    else:
        what = "nothing to send"
    return f"batch {report.number}: {what}{skipped}; {done}"


def _address_lines(report, *, dry_run):
    verb = "would get" if dry_run else ADDRESS_VERBS[report.outcome]
    for message in report.messages:
        picks = "; ".join(
            f"'{pick.term}' -> {pick.playlist.name} ({pick.playlist.web_url})"
            for pick in message.picks
        )
        yield f"{message.address} {verb}: {picks}"
    for address, reason in report.skipped.items():
        yield f"{address} skipped: {reason}"
