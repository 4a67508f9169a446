"""The manage page keeps to MAX_MOODS_PER_SUBSCRIBER live moods, and counts adds and restarts
in the limits: per client IP (the subscribe form's) and per inbox (in the database)."""

import pytest
from django.core import mail
from django.utils import timezone

from subscriptions.models import Subscription
from subscriptions.tests.manage.test_pages import browser, manage_url, state

Status = Subscription.Status

pytestmark = pytest.mark.django_db

FULL = "You have 3 moods, the most we send to one address: stop one to add another."


@pytest.fixture
def capped(settings):
    settings.MAX_MOODS_PER_SUBSCRIBER = 3


@pytest.fixture
def verified(make_subscription):
    """Two active moods and a stopped one."""
    happy = make_subscription(email="listener@example.com", term="happy")
    make_subscription(email="listener@example.com", term="sad")
    jazz = make_subscription(
        email="listener@example.com",
        term="jazz",
        status=Status.UNSUBSCRIBED,
        confirmed_at=timezone.now(),
        unsubscribed_at=timezone.now(),
    )
    return happy.subscriber, jazz


def live(subscriber):
    return subscriber.subscriptions.filter(status__in=Subscription.LIVE_STATUSES).count()


def test_adding_stops_at_the_cap_with_a_clear_message_and_nothing_changed(capped, verified):
    subscriber, jazz = verified
    page = browser(manage_url(subscriber))
    assert page.post_form({"action": "add", "term": "calm"}).status_code == 303
    before = state(subscriber)

    added = page.post_form({"action": "add", "term": "rock"})
    restarted = page.post_form({"action": "restart", "subscription": jazz.pk})

    for response in (added, restarted):
        assert response.status_code == 409
        assert FULL in response.content.decode()
    assert state(subscriber) == before
    assert live(subscriber) == 3


def test_an_unverified_inbox_at_the_cap_is_told_so_and_gets_no_email(capped, make_subscription):
    for term in ("happy", "sad", "calm"):
        subscriber = make_subscription(term=term, status=Status.PENDING).subscriber

    response = browser(manage_url(subscriber)).post_form({"action": "add", "term": "rock"})

    assert response.status_code == 409
    assert FULL in response.content.decode()
    assert live(subscriber) == 3
    assert not mail.outbox


def test_adds_and_restarts_count_against_the_ip_limit(settings, verified):
    settings.SUBSCRIBE_POSTS_PER_IP_PER_HOUR = 2
    subscriber, jazz = verified
    page = browser(manage_url(subscriber))
    assert page.post_form({"action": "add", "term": "calm"}).status_code == 303
    assert page.post_form({"action": "restart", "subscription": jazz.pk}).status_code == 303
    before = state(subscriber)

    limited = page.post_form({"action": "add", "term": "rock"})

    assert limited.status_code == 429
    assert "as many changes as we take in an hour" in limited.content.decode()
    assert state(subscriber) == before
    # Stopping is never limited.
    assert page.post_form({"action": "stop", "subscription": jazz.pk}).status_code == 303


def test_an_inbox_adds_or_restarts_at_most_the_cap_in_a_day_however_often_it_stops(
    capped, verified
):
    """Add, stop, add, stop...: the live count stays low, the adds are still counted."""
    subscriber, jazz = verified
    page = browser(manage_url(subscriber))
    for _ in range(3):
        assert page.post_form({"action": "restart", "subscription": jazz.pk}).status_code == 303
        assert page.post_form({"action": "stop", "subscription": jazz.pk}).status_code == 303
    before = state(subscriber)

    limited = page.post_form({"action": "restart", "subscription": jazz.pk})

    assert limited.status_code == 429
    assert "added as many moods as we take in a day" in limited.content.decode()
    assert state(subscriber) == before
