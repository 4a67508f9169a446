"""The admin's list of daily runs: a run on the workers shows its batches while it goes, and
its totals when it ends."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from subscriptions.models import SendRun
from subscriptions.tests.daily_support import TODAY

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    user = User.objects.create_user("watcher", "watcher@example.com", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_sendrun"))
    client = Client()
    client.force_login(user)
    return client


def row_of(page, run):
    """The text of the changelist row of `run`, tags stripped."""
    rows = re.findall(r"<tr[^>]*>.*?</tr>", page, flags=re.S)
    (row,) = [row for row in rows if f"/sendrun/{run.pk}/" in row]
    return " ".join(re.sub(r"<[^>]+>", " ", row).split())


def test_a_run_on_the_workers_shows_batches_done_then_its_totals(staff):
    started = timezone.now() - timedelta(minutes=2)
    running = SendRun.objects.create(
        day=TODAY, workers=True, started_at=started, batches_total=5, batches_done=2, emails=2000
    )
    ended = SendRun.objects.create(
        day=TODAY,
        workers=True,
        started_at=started - timedelta(hours=1),
        finished_at=started,
        outcome=SendRun.Outcome.SOME_FAILED,
        exit_status=1,
        batches_total=4,
        batches_done=4,
        emails=3990,
        failed=10,
        mailgun_calls=4,
    )
    in_process = SendRun.objects.create(day=TODAY, started_at=started - timedelta(hours=2))

    page = staff.get(reverse("admin:subscriptions_sendrun_changelist")).content.decode()

    assert "Batches done" in page
    assert "2 / 5" in row_of(page, running) and "Running" in row_of(page, running)
    finished = row_of(page, ended)
    assert "4 / 4" in finished and "3990" in finished and " 10 " in f" {finished} "
    assert "in-process" in row_of(page, in_process)
