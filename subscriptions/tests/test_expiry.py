"""Pending confirmations expire after PENDING_CONFIRMATION_DAYS: the link says so and offers to
start again, and `expire_pending_subscriptions` removes the rows."""

import datetime
import re
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from subscriptions import expiry
from subscriptions.models import SubscribeEmail, Subscriber, Subscription
from subscriptions.tests import factories

Status = Subscription.Status

pytestmark = pytest.mark.django_db


def days_ago(days):
    return timezone.now() - datetime.timedelta(days=days)


def confirm_url(subscription):
    return reverse("subscriptions:confirm", kwargs={"token": subscription.token})


@pytest.fixture
def pending(make_subscription):
    def make(sent_days_ago, created_days_ago=None, **extra):
        created = days_ago(created_days_ago if created_days_ago is not None else sent_days_ago)
        return make_subscription(
            status=Status.PENDING,
            created_at=created,
            confirmation_sent_at=days_ago(sent_days_ago),
            **extra,
        )

    return make


# -- the link --------------------------------------------------------------------------------


def test_an_expired_link_says_so_and_offers_to_start_again(client, pending):
    old = pending(sent_days_ago=8, term="rainy day")

    response = client.get(confirm_url(old))

    assert response.status_code == 200
    html = response.content.decode()
    assert "This confirmation link has expired" in html
    assert "work for 7 days" in html
    assert re.search(r'<form [^>]*method="post" action="/subscriptions/">', html)
    assert re.search(r'name="term"[^>]*value="rainy day"', html)
    assert ">Confirm</button>" not in html


def test_posting_an_expired_link_does_not_confirm(client, pending):
    old = pending(sent_days_ago=8)

    response = client.post(confirm_url(old))

    assert "This confirmation link has expired" in response.content.decode()
    old.refresh_from_db()
    assert old.status == Status.PENDING
    assert old.confirmed_at is None


def test_a_link_within_its_days_still_confirms(client, pending):
    recent = pending(sent_days_ago=6)
    client.post(confirm_url(recent))
    recent.refresh_from_db()
    assert recent.status == Status.ACTIVE


def test_the_days_count_from_the_last_confirmation_sent(client, pending):
    resent = pending(sent_days_ago=1, created_days_ago=30)
    client.post(confirm_url(resent))
    resent.refresh_from_db()
    assert resent.status == Status.ACTIVE


def test_the_number_of_days_is_a_setting(client, settings, pending):
    settings.PENDING_CONFIRMATION_DAYS = 2
    old = pending(sent_days_ago=3)
    response = client.post(confirm_url(old))
    assert "work for 2 days" in response.content.decode()
    old.refresh_from_db()
    assert old.status == Status.PENDING


def test_starting_again_sends_a_new_link_and_the_old_one_stays_expired(client, pending):
    old = pending(sent_days_ago=8)

    client.post(
        reverse("subscriptions:subscribe"),
        {"email": old.subscriber.email, "term": old.term, "homepage": ""},
    )

    [message] = mail.outbox
    new_token = re.search(r"/subscriptions/confirm/([\w-]+)/", message.body).group(1)
    assert new_token != old.token
    assert not Subscription.objects.filter(pk=old.pk).exists()
    assert client.get(confirm_url(old)).status_code == 404
    client.post(reverse("subscriptions:confirm", kwargs={"token": new_token}))
    assert Subscription.objects.get(token=new_token).status == Status.ACTIVE


# -- removing them ---------------------------------------------------------------------------


@pytest.fixture
def rows(pending, make_subscription):
    return {
        "expired": pending(sent_days_ago=8, email="a@example.com"),
        "expired_never_sent": make_subscription(
            status=Status.PENDING, created_at=days_ago(9), email="b@example.com"
        ),
        "fresh": pending(sent_days_ago=2, email="c@example.com"),
        "resent": pending(sent_days_ago=1, created_days_ago=20, email="d@example.com"),
        "active": make_subscription(created_at=days_ago(100), email="e@example.com"),
        "ended": make_subscription(
            status=Status.UNSUBSCRIBED, created_at=days_ago(100), email="f@example.com"
        ),
    }


def remaining(rows):
    kept = set(Subscription.objects.values_list("pk", flat=True))
    return {name for name, row in rows.items() if row.pk in kept}


def test_the_command_removes_expired_pending_subscriptions_only(rows):
    out = StringIO()

    call_command("expire_pending_subscriptions", stdout=out)

    assert remaining(rows) == {"fresh", "resent", "active", "ended"}
    assert "removed 2 expired pending subscription(s)" in out.getvalue()


def test_the_command_dry_run_counts_and_removes_nothing(rows):
    out = StringIO()

    call_command("expire_pending_subscriptions", "--dry-run", stdout=out)

    assert remaining(rows) == set(rows)
    assert "would remove 2 expired pending subscription(s)" in out.getvalue()


def test_the_command_is_quiet_at_verbosity_zero(rows):
    out = StringIO()
    call_command("expire_pending_subscriptions", verbosity=0, stdout=out)
    assert out.getvalue() == ""
    assert remaining(rows) == {"fresh", "resent", "active", "ended"}


def test_the_service_also_forgets_old_subscribe_email_records():
    subscriber = factories.subscriber("a@example.com")
    old = SubscribeEmail.objects.create(subscriber=subscriber, kind="confirmation")
    SubscribeEmail.objects.filter(pk=old.pk).update(sent_at=days_ago(8))
    recent = SubscribeEmail.objects.create(subscriber=subscriber, kind="confirmation")

    result = expiry.pending_subscriptions_expire()

    assert result.subscribe_emails == 1
    assert list(SubscribeEmail.objects.values_list("pk", flat=True)) == [recent.pk]


def test_running_it_twice_changes_nothing_more(rows):
    expiry.pending_subscriptions_expire()
    again = expiry.pending_subscriptions_expire()
    assert again.subscriptions == 0
    assert remaining(rows) == {"fresh", "resent", "active", "ended"}


def test_the_daily_run_removes_expired_pending_subscriptions_too(rows, fake_spotify):
    call_command("send_daily_playlists", stdout=StringIO(), stderr=StringIO())

    assert remaining(rows) == {"fresh", "resent", "active", "ended"}


def test_a_dry_run_of_the_daily_email_removes_nothing(rows, fake_spotify):
    call_command("send_daily_playlists", "--dry-run", stdout=StringIO(), stderr=StringIO())

    assert remaining(rows) == set(rows)


def test_subscribers_left_with_nothing_are_removed_but_never_a_suppressed_one():
    expired = factories.subscription("gone@example.com", term="x", status="pending")
    Subscription.objects.filter(pk=expired.pk).update(created_at=days_ago(8))
    kept = factories.subscription("kept@example.com")
    factories.subscriber("spam@example.com", state="complained")
    limited = factories.subscriber("limited@example.com")
    SubscribeEmail.objects.create(subscriber=limited, kind="confirmation")
    Subscriber.objects.update(created_at=days_ago(8))

    dry = expiry.pending_subscriptions_expire(dry_run=True)
    result = expiry.pending_subscriptions_expire()

    assert (dry.subscribers, result.subscribers) == (1, 1)
    assert set(Subscriber.objects.values_list("inbox_key", flat=True)) == {
        kept.subscriber.inbox_key,
        "spam@example.com",  # a stop is never forgotten
        "limited@example.com",  # its emails still count towards today's limit
    }
