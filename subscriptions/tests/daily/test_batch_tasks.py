"""The batch task is idempotent on top of the claims: delivered twice, it mails nobody twice
and counts its batch once in the run's record."""

from collections import Counter

import pytest

from subscriptions.daily import fanout, tasks
from subscriptions.models import SendRun
from subscriptions.tests.daily_support import TODAY, claims, subscribe_many

pytestmark = pytest.mark.django_db


def test_a_batch_task_delivered_twice_mails_and_counts_once(fake_spotify, fake_mailgun):
    subscriptions = subscribe_many(25, terms=("jazz", "rain"))
    run, _ = fanout.run_open(day=TODAY, slot=None)
    fanout.run_plan(run, today=TODAY, now=run.started_at, batch_size=10)
    run.refresh_from_db()
    assert run.batches_total == 3

    for number in (0, 1, 1, 2, 0):  # batches 0 and 1 delivered a second time
        tasks.send_batch.run(run_id=run.pk, number=number)

    assert Counter(fake_mailgun.recipients) == Counter(
        {s.subscriber.email: 1 for s in subscriptions}
    )
    assert Counter(claims().values()) == {"sent": 25}
    run.refresh_from_db()
    assert (run.batches_done, run.emails, run.mailgun_calls) == (3, 25, 3)
    assert SendRun.objects.count() == 1
