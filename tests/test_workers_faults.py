"""Faults of the daily run on real workers and a real broker: a worker killed mid-batch, the
broker down at the start or lost mid-run, a worker without its database, no worker at all,
two schedulers in the same hour. Every time: nobody mailed twice, nothing lost for good."""

import threading
from collections import Counter

import pytest

from search import spotify
from subscriptions.models import DailyEmail, SendRun
from subscriptions.tests.daily.processes import needs_postgres, wait_until
from subscriptions.tests.daily_support import TODAY, claims, mark_already_sent, subscribe_many

from .workers import PrivateRedis, run_finished

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, needs_postgres]

DATE = ("--date", TODAY.isoformat())


def once_each(subscriptions):
    return Counter({s.subscriber.email: 1 for s in subscriptions})


def test_a_worker_killed_mid_batch_leaves_its_batch_to_another_and_nobody_twice(
    make_workers, fake_spotify, fake_mailgun
):
    subscriptions = subscribe_many(30, terms=("jazz",))
    # Everyone had the first page of "jazz" already: composing a batch asks Spotify for page 2.
    first_page = [playlist.id for playlist in spotify.search_playlists("jazz").items]
    for subscription in subscriptions:
        mark_already_sent(subscription, first_page)
    composing, release = threading.Event(), threading.Event()

    def hold_the_first_page_two(call):
        if call.route == "search" and call.params.get("offset") == "10" and not composing.is_set():
            composing.set()
            release.wait(60)

    fake_spotify.serve_with(hold_the_first_page_two)
    workers = make_workers()
    workers.start("doomed")

    enqueued = workers.command(*DATE, "--batch-size", "10")
    assert enqueued.returncode == 0, enqueued.stderr
    assert composing.wait(60), workers.log("doomed")[-3000:]
    workers.kill("doomed")  # mid-batch: its claims were held, none marked or sent
    release.set()
    workers.start("heir")

    run = run_finished(SendRun, timeout=60)

    assert (run.outcome, run.batches_done, run.batches_total) == ("sent", 3, 3), run.error
    assert Counter(fake_mailgun.recipients) == once_each(subscriptions)
    assert Counter(claims().values()) == {"sent": 30}
    assert DailyEmail.objects.filter(attempts=1).count() == 30


def test_the_broker_down_at_the_start_is_exit_one_with_one_line_and_nothing_claimed(
    make_workers, fake_spotify, fake_mailgun
):
    subscribe_many(5, terms=("jazz",))
    workers = make_workers()

    result = workers.command(*DATE, CELERY_BROKER_URL="redis://:secret@127.0.0.1:9/0")

    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "Cannot reach the task broker at redis://:**@127.0.0.1:9/0" in line
    assert "secret" not in line
    assert not DailyEmail.objects.exists() and fake_mailgun.requests == []
    assert SendRun.objects.get().outcome == "crashed"


def test_no_worker_running_is_said_and_nothing_is_claimed(make_workers, fake_mailgun):
    subscribe_many(5, terms=("jazz",))
    workers = make_workers()  # and none started

    result = workers.command(*DATE)

    assert result.returncode == 1
    assert "No worker is running" in result.stderr and "ps:scale worker=1" in result.stderr
    assert not DailyEmail.objects.exists() and fake_mailgun.requests == []


def test_the_broker_lost_mid_run_leaves_the_rest_to_the_next_hourly_run(
    make_workers, fake_spotify, fake_mailgun
):
    subscriptions = subscribe_many(30, terms=("jazz",))
    broker = PrivateRedis().start()
    try:
        workers = make_workers(broker.url)
        fake_mailgun.serve_with(lambda _recipients: broker.stop())  # gone after the first call
        workers.start("one")

        first = workers.command("--now", "2026-11-25T08:00:00+00:00", "--batch-size", "10")
        assert first.returncode == 0, first.stderr
        assert fake_mailgun.wait_for_requests(1, timeout=60)
        assert wait_until(lambda: Counter(claims().values())["sent"] == 10, timeout=30)
        workers.stop_all()

        fake_mailgun.serve_with(None)
        broker = PrivateRedis(broker.port).start()  # the broker is back, empty
        workers.start("two")
        second = workers.command("--now", "2026-11-25T09:00:00+00:00", "--batch-size", "10")
        assert second.returncode == 0, second.stderr
        latest = SendRun.objects.order_by("-started_at").first()
        assert wait_until(lambda: SendRun.objects.get(pk=latest.pk).finished_at, timeout=60)
    finally:
        broker.stop()

    assert Counter(fake_mailgun.recipients) == once_each(subscriptions)
    assert Counter(claims().values()) == {"sent": 30}
    earlier, later = SendRun.objects.order_by("started_at")
    assert (earlier.outcome, later.outcome) == ("crashed", "sent")
    assert f"run {later.pk} took the claims it left" in earlier.error
    assert later.emails == 20


def test_a_worker_that_cannot_reach_postgresql_retries_and_loses_nothing(
    make_workers, fake_spotify, fake_mailgun
):
    subscriptions = subscribe_many(30, terms=("jazz", "rain"))
    workers = make_workers()
    workers.start("cut-off", DATABASE_URL="postgres://postgres@127.0.0.1:9/funky_celery")

    enqueued = workers.command(*DATE, "--batch-size", "10")
    assert enqueued.returncode == 0, enqueued.stderr
    assert wait_until(lambda: "Retry in" in workers.log("cut-off"), timeout=30)
    assert fake_mailgun.requests == []
    workers.kill("cut-off")  # what it held goes back to the queue
    workers.start("connected")

    run = run_finished(SendRun, timeout=60)

    assert (run.outcome, run.batches_done, run.batches_total) == ("sent", 3, 3)
    assert Counter(fake_mailgun.recipients) == once_each(subscriptions)
    assert Counter(claims().values()) == {"sent": 30}


def test_two_schedulers_in_the_same_hour_make_one_run(make_workers, fake_spotify, fake_mailgun):
    subscriptions = subscribe_many(40, terms=("jazz", "rain"))
    workers = make_workers()
    workers.start("one", concurrency=2)
    now = ("--now", "2026-11-25T08:00:00+00:00", "--batch-size", "10")

    schedulers = [workers.start_command(*now) for _ in range(2)]
    results = [scheduler.communicate(timeout=120) for scheduler in schedulers]

    assert [scheduler.returncode for scheduler in schedulers] == [0, 0], results
    outputs = "".join(out for out, _ in results)
    assert outputs.count("batches enqueued for the workers") == 1
    assert outputs.count("already with the workers") == 1
    run = run_finished(SendRun, timeout=60)
    assert SendRun.objects.count() == 1 and run.emails == 40
    assert Counter(fake_mailgun.recipients) == once_each(subscriptions)
