"""Two subscribe requests for the same pair at the same moment leave one subscription (PostgreSQL).

Each thread has its own database connection, so these are real concurrent transactions; SQLite
serialises writers and cannot show the race, hence the skip there.
"""

import threading

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse

from subscriptions import selectors
from subscriptions.models import Subscriber, Subscription

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]

THREADS = 4


def post_together(payloads):
    """POST each payload from its own thread, all released at once; returns the status codes."""
    barrier = threading.Barrier(len(payloads))
    statuses = [None] * len(payloads)
    errors = []

    def worker(index, payload):
        try:
            client = Client(REMOTE_ADDR=f"192.0.2.{index + 1}")
            barrier.wait(timeout=10)
            statuses[index] = client.post(reverse("subscriptions:subscribe"), payload).status_code
        except Exception as error:  # reported below: an exception in a thread is otherwise lost
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=item) for item in enumerate(payloads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return statuses


def test_simultaneous_posts_for_the_same_pair_leave_one_row(settings):
    settings.SUBSCRIBE_ATTEMPTS_PER_ADDRESS_PER_DAY = THREADS
    payload = {"email": "listener@example.com", "term": "happy", "homepage": ""}
    variants = [payload, {**payload, "email": "Listener@EXAMPLE.com", "term": "HAPPY"}]

    statuses = post_together([variants[n % 2] for n in range(THREADS)])

    assert statuses == [200] * THREADS
    assert Subscription.objects.count() == 1
    assert Subscription.objects.get().status == Subscription.Status.PENDING


def test_when_both_lookups_miss_the_constraint_decides_and_the_loser_carries_on(
    settings, monkeypatch
):
    """Force the worst interleaving: every request looks the pair up, finds nothing, and only
    then inserts. The database's unique constraint lets one insert win; the others must
    answer as usual with the winner's row, not fail."""
    settings.SUBSCRIBE_ATTEMPTS_PER_ADDRESS_PER_DAY = THREADS
    real_lookup = selectors.live_subscription
    all_looked = threading.Barrier(THREADS)
    first_call = threading.local()

    def lookup_then_wait_for_the_others(**kwargs):
        found = real_lookup(**kwargs)
        if not getattr(first_call, "done", False):
            first_call.done = True
            all_looked.wait(timeout=10)
        return found

    monkeypatch.setattr(selectors, "live_subscription", lookup_then_wait_for_the_others)
    payload = {"email": "listener@example.com", "term": "happy", "homepage": ""}

    statuses = post_together([payload] * THREADS)

    assert statuses == [200] * THREADS
    [subscription] = Subscription.objects.all()
    # Every request sent the confirmation for the one row, with its one token.
    assert len(mail.outbox) == THREADS
    assert all(subscription.token in message.body for message in mail.outbox)


def test_simultaneous_posts_for_one_inbox_send_no_more_than_its_limit(settings):
    """The per-inbox limit is counted in the database: six requests at once, for six terms
    and three spellings of one inbox, get at most the limit's two emails. (At least one: a
    refused request's booking may be counted by another before it is withdrawn, so a race
    can refuse one too many, never let one too many through.)"""
    settings.SUBSCRIBE_ATTEMPTS_PER_ADDRESS_PER_DAY = 2
    spellings = ["listener@example.com", "Listener+a@example.com", "LISTENER+b@example.com"]
    payloads = [{"email": spellings[n % 3], "term": f"term {n}", "homepage": ""} for n in range(6)]

    statuses = post_together(payloads)

    assert set(statuses) == {200, 429}
    assert 1 <= statuses.count(200) <= 2
    assert len(mail.outbox) == statuses.count(200)


def test_simultaneous_subscribes_for_one_inbox_in_different_spellings_leave_one_subscriber(
    settings,
):
    """Four spellings of one inbox, four terms, at once: the unique inbox key lets one
    subscriber insert win; the others find it, so every subscription is that person's."""
    settings.SUBSCRIBE_ATTEMPTS_PER_ADDRESS_PER_DAY = THREADS
    spellings = ["ann@example.com", "Ann@Example.com", "ann+a@example.com", "ANN+b@EXAMPLE.com"]
    payloads = [
        {"email": spellings[n], "term": f"term {n}", "homepage": ""} for n in range(THREADS)
    ]

    statuses = post_together(payloads)

    assert statuses == [200] * THREADS
    [subscriber] = Subscriber.objects.all()
    assert subscriber.inbox_key == "ann@example.com"
    assert set(Subscription.objects.values_list("subscriber", flat=True)) == {subscriber.pk}
    assert Subscription.objects.count() == THREADS
