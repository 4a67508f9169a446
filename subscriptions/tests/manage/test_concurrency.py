"""The manage page under concurrent posts (PostgreSQL): one live subscription per mood."""

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from subscriptions import selectors
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
