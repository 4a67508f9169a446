"""The daily run on real Celery workers over a real broker (Redis and RabbitMQ): the command
plans and enqueues, the workers search and send, the last batch closes the run's record."""

import re
import threading
from collections import Counter

import pytest
from django.urls import reverse

from subscriptions.models import DailyEmail, SendRun
from subscriptions.tests.daily.processes import needs_postgres, wait_until
from subscriptions.tests.daily_support import TODAY, claims, subscribe_many

from .workers import RABBITMQ_BROKER, REDIS_BROKER, run_finished

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, needs_postgres]


def once_each(subscriptions):
    return Counter({s.subscriber.email: 1 for s in subscriptions})


@pytest.mark.parametrize("broker_url", [REDIS_BROKER, RABBITMQ_BROKER], ids=["redis", "rabbitmq"])
def test_the_workers_send_the_days_email_once_each_and_close_the_run(
    make_workers, broker_url, fake_spotify, fake_mailgun
):
    subscriptions = subscribe_many(250, terms=[f"mood {n}" for n in range(5)])
    workers = make_workers(broker_url)
    workers.start("one", concurrency=2)

    result = workers.command("--date", TODAY.isoformat(), "--batch-size", "100", "--wait")

    assert result.returncode == 0, result.stdout + result.stderr + workers.log("one")[-3000:]
    assert "3 batches enqueued for the workers" in result.stdout
    assert Counter(fake_mailgun.recipients) == once_each(subscriptions)
    assert Counter(claims().values()) == {"sent": 250}
    run = SendRun.objects.get()
    assert (run.workers, run.outcome, run.exit_status) == (True, "sent", 0)
    assert (run.batches_done, run.batches_total, run.emails, run.mailgun_calls) == (3, 3, 250, 3)
    assert run.spotify_calls == len(fake_spotify.calls("search")) == 5  # one per term
    assert run.summary.startswith("sent 250 emails in 3 batches")
    assert DailyEmail.objects.filter(attempts=1).count() == 250


def test_the_admin_shows_a_run_on_the_workers_while_it_goes_and_its_totals_after(
    make_workers, fake_spotify, fake_mailgun, admin_client
):
    subscribe_many(30, terms=("jazz",))
    calls, release = [], threading.Event()

    def hold_the_second_call(_recipients):
        calls.append(1)
        if len(calls) == 2:
            release.wait(60)

    fake_mailgun.serve_with(hold_the_second_call)
    workers = make_workers(visibility_timeout=60)  # the held task is not given to another
    workers.start("one")
    changelist = reverse("admin:subscriptions_sendrun_changelist")
    try:
        result = workers.command("--date", TODAY.isoformat(), "--batch-size", "10")
        assert result.returncode == 0, result.stderr
        assert wait_until(lambda: len(calls) == 2, timeout=60)
        during = admin_client.get(changelist).content.decode()
    finally:
        release.set()
    run = run_finished(SendRun, timeout=60)
    after = admin_client.get(changelist).content.decode()

    assert "1 / 3" in text_of(during) and "Running" in text_of(during)
    assert "3 / 3" in text_of(after) and f"{run.emails}" == "30"
    assert "Sent" in text_of(after) and " 30 " in text_of(after)


def text_of(page):
    return " ".join(re.sub(r"<[^>]+>", " ", page).split()) + " "
