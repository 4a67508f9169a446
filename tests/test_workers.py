"""The daily run on real Celery workers over a real broker (Redis and RabbitMQ): the command
plans and enqueues, the workers search and send, the last batch closes the run's record."""

from collections import Counter

import pytest

from subscriptions.models import DailyEmail, SendRun
from subscriptions.tests.daily.processes import needs_postgres
from subscriptions.tests.daily_support import TODAY, claims, subscribe_many

from .workers import RABBITMQ_BROKER, REDIS_BROKER

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
