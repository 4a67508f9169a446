"""`send_daily_playlists` with a broker: plan and enqueue for the Celery workers (--wait: stay).

Exit status: 0 enqueued (or, with --wait, all sent); 1 the broker cannot be reached or no worker
listens (nothing claimed), or (--wait) some mail failed or is unknown; 2 configuration error;
3 the complaint breaker. A second scheduler in the same hour finds the first's run and enqueues
nothing more.
"""

import logging

from django.core.management.base import CommandError
from kombu.exceptions import KombuError

from subscriptions.daily import ComplaintBreakerOn, DailyConfigurationError, broker, fanout
from subscriptions.daily.runs import BREAKER_EXIT_STATUS
from subscriptions.models import SendRun

logger = logging.getLogger(__name__)
Outcome = SendRun.Outcome


def send_on_workers(command, *, today, now, options) -> None:
    """Run the day's email on the workers; raises CommandError or SystemExit for a status."""
    try:
        command.preconditions(options)
        _check_workers()
    except CommandError as error:
        outcome = Outcome.CONFIGURATION_ERROR if error.returncode == 2 else Outcome.CRASHED
        fanout.run_failed(day=today, outcome=outcome, exit_status=error.returncode, error=error)
        raise
    run, new = fanout.run_open(day=today, slot=None if options["date"] else fanout.hour_slot(now))
    if not new:
        _say(
            command,
            f"Run {run.pk} for this hour is already with the workers; nothing more was enqueued.",
        )
    else:
        _plan_and_enqueue(command, run, now=now, options=options)
    if options["wait"]:
        _wait(command, run, verbosity=options["verbosity"])


def _check_workers():
    if problem := broker.broker_problem():
        raise CommandError(
            f"Cannot reach the task broker at {broker.broker_name()} ({problem}); nothing was "
            "claimed.",
            returncode=1,
        )
    if not broker.workers_listening():
        raise CommandError(
            "No worker is running to send the day's email (start one: heroku ps:scale "
            "worker=1); nothing was claimed.",
            returncode=1,
        )


def _plan_and_enqueue(command, run, *, now, options):
    try:
        terms = fanout.run_plan(
            run,
            today=options["date"],
            now=now,
            limit=options["limit"],
            batch_size=options["batch_size"],
            seed=options["seed"],
        )
        fanout.run_enqueue(run, terms)
    except DailyConfigurationError as error:
        _fail(run, Outcome.CONFIGURATION_ERROR, 2, str(error), cause=error)
    except ComplaintBreakerOn as error:
        logger.error("%s Nothing was sent.", error)
        message = f"{error} Nothing was sent; staff can clear it for today on the admin dashboard."
        _fail(run, Outcome.BREAKER, BREAKER_EXIT_STATUS, message, cause=error)
    except KombuError as error:
        message = (
            f"Lost the task broker at {broker.broker_name()} while enqueueing "
            f"({' '.join(str(error).split())}); the next run sends what is left."
        )
        _fail(run, Outcome.CRASHED, 1, message, cause=error)
    run.refresh_from_db()
    _say(
        command,
        f"Run {run.pk}: {run.batches_total} batches enqueued for the workers "
        f"({run.searches_total} search tasks first).",
    )


def _fail(run, outcome, exit_status, message, *, cause):
    fanout.run_failed(run=run, outcome=outcome, exit_status=exit_status, error=message)
    raise CommandError(message, returncode=exit_status) from cause


def _wait(command, run, *, verbosity):
    def progress(current):
        if verbosity >= 1:
            done = f"{current.batches_done}/{current.batches_total}"
            _say(command, f"run {current.pk}: {done} batches done")

    run = fanout.run_wait(run, progress=progress)
    if run.exit_status == 0:
        _say(command, run.summary)
        return
    command.stderr.write(run.summary or run.error)
    raise SystemExit(run.exit_status)


def _say(command, line):
    try:
        command.stdout.write(line)
    except OSError:
        logger.warning("Could not print: %s", line)
