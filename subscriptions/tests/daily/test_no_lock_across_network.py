"""No row lock outlives a network call: the sender claims, composes, sends and records in short
transactions, so a subscriber erasing themselves mid-batch is neither blocked nor mailed."""

import threading
import time
from collections import Counter

import psycopg
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from subscriptions.daily import daily_playlists_send
from subscriptions.models import DailyEmail, SentPlaylist, Subscriber
from subscriptions.tests.daily_support import TODAY, claims, subscribe_many

from .processes import command_environment, needs_postgres, start_command, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, needs_postgres]

# Transactions of other sessions that hold row locks in the app's tables: a locking SELECT
# (RowShareLock) or a write (RowExclusiveLock) keeps its table lock until the transaction ends.
LOCK_HOLDERS = """
    SELECT DISTINCT activity.pid, activity.xact_start
    FROM pg_locks AS locks JOIN pg_stat_activity AS activity ON activity.pid = locks.pid
    WHERE locks.locktype = 'relation'
      AND locks.mode IN ('RowShareLock', 'RowExclusiveLock')
      AND locks.relation::regclass::text LIKE 'subscriptions\\_%%'
      AND activity.datname = current_database()
      AND activity.pid <> pg_backend_pid()
"""


def lock_holders():
    """(pid, transaction start) of every other transaction holding row locks right now."""
    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        autocommit=True,
    ) as watcher:
        return set(watcher.execute(LOCK_HOLDERS).fetchall())


def test_no_transaction_holds_row_locks_while_spotify_or_mailgun_answers(
    fake_spotify, fake_mailgun
):
    subscribe_many(30, terms=("jazz", "rain", "focus"))
    served, spanned = Counter(), []

    def watch(service):
        def hook(_request):
            before = lock_holders()
            time.sleep(0.3)  # the client is waiting for this answer all along
            held = before & lock_holders()
            served[service] += 1
            if held:
                spanned.append((service, held))

        return hook

    fake_spotify.serve_with(watch("spotify"))
    fake_mailgun.serve_with(watch("mailgun"))

    summary = daily_playlists_send(today=TODAY, batch_size=10)

    assert summary.emails == 30
    assert served["spotify"] >= 3 and served["mailgun"] == 3  # the watch saw every call
    assert spanned == []


def post_erase(token, answers):
    """The manage page's erase, as the subscriber's browser posts it (in its own thread)."""
    try:
        response = Client().post(
            reverse("subscriptions:manage", args=[token]), {"action": "erase", "confirm": "on"}
        )
        answers.append(response.status_code)
    finally:
        connection.close()


def test_an_erase_mid_batch_answers_at_once_and_the_run_mails_everyone_else(
    fake_spotify, fake_mailgun
):
    subscriptions = subscribe_many(30, terms=("slow mood",))  # one batch, one search
    victim = subscriptions[7].subscriber
    searching, release = threading.Event(), threading.Event()

    def hold_the_search(call):
        if call.route == "search":
            searching.set()
            release.wait(50)

    fake_spotify.serve_with(hold_the_search)
    # Spotify may take its time: the run waits for the search rather than give up on it.
    environment = command_environment(
        fake_spotify, fake_mailgun, SPOTIFY_TIMEOUT="3,60", SPOTIFY_DEADLINE="60"
    )
    run = start_command(environment, "--date", TODAY.isoformat(), "--batch-size", "30")
    try:
        assert searching.wait(60), run.communicate(timeout=5)
        # The run has claimed the day's work and is composing its one batch.
        assert wait_until(lambda: DailyEmail.objects.filter(day=TODAY).count() == 30)
        time.sleep(0.5)
        answers = []
        erase = threading.Thread(target=post_erase, args=(victim.manage_token, answers))
        erase.start()
        erase.join(timeout=10)
        erased_while_composing = not erase.is_alive() and not release.is_set()
    finally:
        release.set()
    erase.join(timeout=120)
    out, err = run.communicate(timeout=120)

    assert erased_while_composing  # the erase did not wait for the run
    assert answers == [200]
    assert run.returncode == 0, out + err
    others = {s.subscriber.email for s in subscriptions if s.subscriber_id != victim.pk}
    assert Counter(fake_mailgun.recipients) == Counter(dict.fromkeys(others, 1))
    assert not Subscriber.objects.filter(pk=victim.pk).exists()
    assert Counter(claims().values()) == {"sent": 29}
    assert SentPlaylist.objects.count() == 29
