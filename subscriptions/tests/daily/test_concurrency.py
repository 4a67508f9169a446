"""Runs that overlap or die half-way: every address still gets at most one email a day."""

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection

from subscriptions.daily import IN_FLIGHT_NOTE, batch_send, daily_playlists_send
from subscriptions.models import DailyEmail, SentPlaylist
from subscriptions.tests.daily_support import TODAY, claims, subscribe_many

PROJECT = Path(__file__).resolve().parents[3]
needs_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")


def command_environment(fake_spotify, fake_mailgun):
    """The environment of a `manage.py` process that uses the test database and the fakes."""
    database = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
            f"{database['NAME']}"
        ),
        "DEBUG": "0",
        "SITE_URL": "https://funky.example.com",
        "REDIS_URL": "",
        **fake_mailgun.environment(),
        **fake_spotify.environment(),
        "LOG_LEVEL": "WARNING",
    }


def start_command(environment, *args):
    return subprocess.Popen(
        [sys.executable, "manage.py", "send_daily_playlists", "--date", TODAY.isoformat(), *args],
        cwd=PROJECT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
@needs_postgres
def test_three_runs_at_once_send_every_address_exactly_once(fake_spotify, fake_mailgun):
    subscriptions = subscribe_many(3000, terms=[f"mood {n}" for n in range(30)])
    fake_mailgun.latency = 0.05  # batches take a while, so the runs really overlap
    environment = command_environment(fake_spotify, fake_mailgun)

    runs = [start_command(environment, "--batch-size", "100") for _ in range(3)]
    results = [run.communicate(timeout=180) for run in runs]

    assert [run.returncode for run in runs] == [0, 0, 0], [err for _, err in results]
    assert Counter(fake_mailgun.recipients) == Counter(
        {s.subscriber.email: 1 for s in subscriptions}
    )
    sent_by_run = [int(out.splitlines()[-1].split()[1]) for out, _ in results]
    assert sum(sent_by_run) == 3000
    assert sum(1 for sent in sent_by_run if sent) >= 2, sent_by_run  # the work was shared
    assert Counter(claims().values()) == {"sent": 3000}
    assert SentPlaylist.objects.count() == 3000
    assert DailyEmail.objects.filter(attempts=1).count() == 3000


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
@needs_postgres
def test_a_run_killed_between_batches_is_finished_by_the_next_without_duplicates(
    fake_spotify, fake_mailgun
):
    subscriptions = subscribe_many(300, terms=("jazz", "rain"))
    fake_mailgun.hang_next(seconds=60, after=1)  # the second batch never gets its answer
    run = start_command(command_environment(fake_spotify, fake_mailgun), "--batch-size", "100")
    assert fake_mailgun.wait_for_requests(2, timeout=60), run.communicate(timeout=5)

    os.kill(run.pid, signal.SIGKILL)
    run.wait(timeout=10)
    fake_mailgun.release()

    first, second = (
        {a.lower() for a in request["recipients"]} for request in fake_mailgun.requests[:2]
    )
    states = claims()
    assert {states[a] for a in first} == {"sent"}
    assert {states[a] for a in second} == {"unknown"}  # may have been queued: never resent
    assert Counter(states.values()) == {"sent": 100, "unknown": 100, "pending": 100}
    assert set(DailyEmail.objects.filter(status="unknown").values_list("error", flat=True)) == {
        IN_FLIGHT_NOTE
    }
    held = SentPlaylist.objects.filter(subscription__subscriber__email__in=second)
    assert set(held.values_list("status", flat=True)) == {"unknown"}  # counted, not sent

    rerun = daily_playlists_send(today=TODAY, batch_size=100)

    assert (rerun.emails, rerun.mailgun_calls) == (100, 1)
    assert Counter(fake_mailgun.recipients) == Counter(
        {s.subscriber.email: 1 for s in subscriptions}
    )
    states = claims()
    assert Counter(states.values()) == {"sent": 200, "unknown": 100}
    sent = {address for address, status in states.items() if status == "sent"}
    assert sent <= set(fake_mailgun.recipients)  # nothing marked sent that was not sent


class Killed(BaseException):
    """Stands in for SIGKILL in-process: nothing catches it, the stack unwinds."""


@pytest.mark.django_db
def test_interrupted_before_the_claim_commits_leaves_the_batch_for_the_next_run(
    fake_spotify, fake_mailgun
):
    subscriptions = subscribe_many(30, terms=("jazz",))
    history_reads = []

    def die_composing_the_second_batch(execute, sql, params, many, context):
        # Composing a batch reads its subscriptions' history; the second batch dies there,
        # after its claims are locked and before they are marked in flight.
        if sql.startswith("SELECT") and 'FROM "subscriptions_sentplaylist"' in sql:
            history_reads.append(sql)
            if len(history_reads) == 2:
                raise Killed
        return execute(sql, params, many, context)

    with connection.execute_wrapper(die_composing_the_second_batch), pytest.raises(Killed):
        daily_playlists_send(today=TODAY, batch_size=10)

    assert Counter(claims().values()) == {"sent": 10, "pending": 20}
    assert daily_playlists_send(today=TODAY, batch_size=10).emails == 20
    assert Counter(fake_mailgun.recipients) == Counter(
        {s.subscriber.email: 1 for s in subscriptions}
    )


@pytest.mark.django_db
def test_interrupted_while_a_batch_is_on_the_wire_leaves_it_unknown(fake_spotify, fake_mailgun):
    subscribe_many(30, terms=("jazz",))
    calls = []

    def send_then_die_on_second_batch(layout, messages, context):
        calls.append(messages)
        message_id = batch_send(layout, messages, context)
        if len(calls) == 2:
            raise Killed  # Mailgun has it; we never hear back
        return message_id

    with pytest.raises(Killed):
        daily_playlists_send(today=TODAY, batch_size=10, sender=send_then_die_on_second_batch)

    assert Counter(claims().values()) == {"sent": 10, "unknown": 10, "pending": 10}
    rerun = daily_playlists_send(today=TODAY, batch_size=10)
    assert rerun.emails == 10
    assert Counter(fake_mailgun.recipients).most_common(1)[0][1] == 1
    assert len(fake_mailgun.recipients) == 30
