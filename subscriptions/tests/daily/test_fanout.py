"""The run on the workers, driven here task by task (an in-memory broker takes what the command
and the tasks enqueue): its record from plan to close, one run per hour, wrong Mailgun settings,
and the command when the broker cannot be reached. Real workers: tests/test_workers*.py."""

import io
from collections import Counter

import pytest
from celery import current_app
from django.core.management import CommandError, call_command

from subscriptions.daily import fanout, tasks
from subscriptions.models import DailyEmail, SendRun
from subscriptions.tests.daily_support import TODAY, claims, subscribe_many

pytestmark = pytest.mark.django_db


@pytest.fixture
def memory_broker(settings):
    """What is enqueued goes to kombu's in-memory transport, where nobody takes it."""
    saved = current_app.conf.broker_url
    current_app.conf.broker_url = "memory://"
    yield
    current_app.conf.broker_url = saved


def drive(run, terms):
    """Run the tasks the workers would, in order: the searches, then every batch."""
    for start in range(0, len(terms), fanout.SEARCH_CHUNK):
        tasks.search_terms.run(run_id=run.pk, terms=terms[start : start + fanout.SEARCH_CHUNK])
    run.refresh_from_db()
    for number in range(run.batches_total):
        tasks.send_batch.run(run_id=run.pk, number=number)
    run.refresh_from_db()


def test_a_run_on_the_workers_is_recorded_from_its_plan_to_its_close(
    memory_broker, fake_spotify, fake_mailgun
):
    subscriptions = subscribe_many(25, terms=("jazz", "rain"))
    run, new = fanout.run_open(day=TODAY, slot=None)
    terms = fanout.run_plan(run, today=TODAY, now=run.started_at, batch_size=10)
    fanout.run_enqueue(run, terms)
    run.refresh_from_db()
    assert new and sorted(terms) == ["jazz", "rain"]
    assert (run.batches_total, run.searches_total, run.finished_at) == (3, 1, None)
    assert Counter(claims().values()) == {"pending": 25}  # claimed, not yet sent

    drive(run, terms)

    assert (run.outcome, run.exit_status, run.batches_done, run.searches_done) == ("sent", 0, 3, 1)
    assert (run.emails, run.mailgun_calls, run.spotify_calls) == (25, 3, 2)
    assert run.summary.startswith("sent 25 emails in 3 batches on the workers")
    assert fanout.run_wait(run, poll=0.01).finished_at == run.finished_at
    assert Counter(fake_mailgun.recipients) == Counter(
        {s.subscriber.email: 1 for s in subscriptions}
    )


def test_nobody_due_closes_the_run_at_once(memory_broker, fake_spotify, fake_mailgun):
    run, _ = fanout.run_open(day=TODAY, slot=None)

    fanout.run_enqueue(run, fanout.run_plan(run, today=TODAY, now=run.started_at))

    run.refresh_from_db()
    assert (run.outcome, run.batches_total, run.emails) == ("sent", 0, 0)
    assert fake_mailgun.requests == []


def test_a_second_scheduler_in_the_same_hour_joins_the_first_run(memory_broker):
    moment = fanout.hour_slot(SendRun(day=TODAY).started_at)

    first, first_new = fanout.run_open(day=TODAY, slot=moment)
    second, second_new = fanout.run_open(day=TODAY, slot=moment)

    assert (first_new, second_new) == (True, False) and first.pk == second.pk


def test_wrong_mailgun_settings_stop_the_run_on_the_workers_and_charge_nobody(
    memory_broker, fake_spotify, fake_mailgun, settings
):
    subscribe_many(30, terms=("jazz",))
    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_API_KEY": "revoked"}
    run, _ = fanout.run_open(day=TODAY, slot=None)
    terms = fanout.run_plan(run, today=TODAY, now=run.started_at, batch_size=10)
    fanout.run_enqueue(run, terms)

    drive(run, terms)

    assert (run.outcome, run.exit_status) == ("configuration", 2)
    assert "401" in run.error and "no attempt was charged" in run.error
    assert len(fake_mailgun.requests) == 1  # the later batches sent nothing
    assert Counter(claims().values()) == {"pending": 30}
    assert set(DailyEmail.objects.values_list("attempts", flat=True)) == {0}


def test_the_command_with_the_broker_down_exits_one_and_claims_nothing(
    fake_spotify, fake_mailgun, settings
):
    subscribe_many(3, terms=("jazz",))
    down = "redis://127.0.0.1:9/0"
    settings.CELERY_BROKER_URL = down
    saved = current_app.conf.broker_url
    current_app.conf.broker_url = down
    try:
        with pytest.raises(CommandError) as caught:
            call_command("send_daily_playlists", stdout=io.StringIO(), stderr=io.StringIO())
    finally:
        current_app.conf.broker_url = saved

    assert caught.value.returncode == 1
    assert str(caught.value).startswith("Cannot reach the task broker at redis://127.0.0.1:9/0")
    assert not DailyEmail.objects.exists()
    assert SendRun.objects.get().outcome == "crashed"
