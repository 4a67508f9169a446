"""The manage page under concurrent posts (PostgreSQL): one live subscription per mood, and
no more live moods than the cap."""

import contextlib
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from subscriptions import moods, selectors
from subscriptions.models import Subscription

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]

THREADS = 4


def test_simultaneous_adds_of_one_mood_leave_one_live_subscription(make_subscription, monkeypatch):
    """The worst interleaving: every request finds no live row, then inserts. The database's
    constraint lets one insert win; the others answer "already", never a 500."""
    subscriber = make_subscription(term="happy").subscriber
    url = reverse("subscriptions:manage", kwargs={"token": subscriber.manage_token})
    real_lookup = selectors.live_subscription
    all_looked = threading.Barrier(THREADS)

    def lookup_then_wait_for_the_others(**kwargs):
        found = real_lookup(**kwargs)
        if kwargs["term"].lower() == "calm":
            all_looked.wait(timeout=10)
        return found

    monkeypatch.setattr(selectors, "live_subscription", lookup_then_wait_for_the_others)
    statuses, errors = [None] * THREADS, []

    def worker(index):
        try:
            term = "calm" if index % 2 else "CALM"
            statuses[index] = Client().post(url, {"action": "add", "term": term}).status_code
        except Exception as error:  # reported below: an exception in a thread is otherwise lost
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors, errors
    assert sorted(statuses) == [200] * (THREADS - 1) + [303]
    live = Subscription.objects.filter(term__iexact="calm", status__in=Subscription.LIVE_STATUSES)
    assert live.count() == 1


def test_simultaneous_adds_cannot_pass_the_mood_cap(make_subscription, monkeypatch, settings):
    """Two adds for one inbox with room for one more: each counts the live moods and waits
    for the other before it inserts. The subscriber's row lock makes the second count wait
    for the first add's commit, so it sees no room; without it both would add."""
    settings.MAX_MOODS_PER_SUBSCRIBER = 3
    subscriber = make_subscription(term="happy").subscriber
    make_subscription(term="sad")
    url = reverse("subscriptions:manage", kwargs={"token": subscriber.manage_token})
    real_count = moods.live_mood_count
    counted = threading.Barrier(2)

    def count_then_wait_for_the_other(**kwargs):
        found = real_count(**kwargs)
        # Broken: the other is waiting on the row lock (or has counted already).
        with contextlib.suppress(threading.BrokenBarrierError):
            counted.wait(timeout=3)
        return found

    monkeypatch.setattr(moods, "live_mood_count", count_then_wait_for_the_other)
    statuses, errors = {}, []

    def worker(term):
        try:
            statuses[term] = Client().post(url, {"action": "add", "term": term}).status_code
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(term,)) for term in ("calm", "rock")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors, errors
    assert sorted(statuses.values()) == [303, 409]
    live = Subscription.objects.filter(subscriber=subscriber, status__in=Subscription.LIVE_STATUSES)
    assert live.count() == 3
