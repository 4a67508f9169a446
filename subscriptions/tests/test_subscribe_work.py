"""Every subscribe answer does the same work, so its timing does not tell who is subscribed.

Issue 10 measured ~60 ms for an already-active (email, term) and ~350 ms for a new one (it
waits on Mailgun). Now every path that is not refused makes exactly one Mailgun call: the
confirmation (new, pending, ended), an "already subscribed" notice (active), or for an address
that complained the same notice in Mailgun's test mode, which Mailgun accepts and never
delivers. These tests count the calls and read what each path delivered, through the fake.
"""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from subscriptions.models import SubscribeEmail, Subscription
from subscriptions.tests import factories

Status = Subscription.Status
SUBSCRIBE_URL = reverse("subscriptions:subscribe")
ADDRESS = "listener@example.com"

pytestmark = pytest.mark.django_db


def subscribe(email=ADDRESS, term="happy", ip="203.0.113.1"):
    return Client(REMOTE_ADDR=ip).post(
        SUBSCRIBE_URL, {"email": email, "term": term, "homepage": ""}
    )


def arrange(state, make_subscription):
    if state == "complained_event_only":
        # A complaint that arrived when the inbox had no subscription left.
        factories.subscriber(ADDRESS, state="complained")
    elif state != "new":
        return make_subscription(email=ADDRESS, term="happy", status=state)


STATES = ["new", "pending", "active", "unsubscribed", "bounced", "complained"]


@pytest.mark.parametrize("state", [*STATES, "complained_event_only"])
def test_every_state_makes_one_mailgun_call(fake_mailgun, make_subscription, state):
    arrange(state, make_subscription)

    response = subscribe()

    assert response.status_code == 200
    assert [request["recipients"] for request in fake_mailgun.requests] == [[ADDRESS]]
    assert SubscribeEmail.objects.filter(subscriber__inbox_key=ADDRESS).count() == 1


def test_the_active_path_delivers_how_to_stop_or_change_it(fake_mailgun, make_subscription):
    active = make_subscription(email=ADDRESS, term="happy", status=Status.ACTIVE)

    subscribe()

    [message] = fake_mailgun.messages_to(ADDRESS)
    assert message["subject"] == "You already get a daily playlist for 'happy'"
    unsubscribe = f"https://funky.example.com/subscriptions/unsubscribe/{active.token}/"
    for body in (message["text"], message["html"]):
        assert "already gets one, so nothing has changed" in body
        assert unsubscribe in body
        assert "https://funky.example.com/subscriptions/" in body.replace(unsubscribe, "")
    assert "/confirm/" not in message["text"] + message["html"]
    active.refresh_from_db()
    assert active.status == Status.ACTIVE


def test_the_notice_links_work(client, make_subscription):
    active = make_subscription(email=ADDRESS, term="happy", status=Status.ACTIVE)
    subscribe()
    [message] = mail.outbox
    links = re.findall(r"https://funky\.example\.com(/\S*)", message.body)
    assert links
    for path in links:
        assert client.get(path).status_code == 200, path
    active.refresh_from_db()
    assert active.status == Status.ACTIVE  # opening the links changed nothing


@pytest.mark.parametrize("state", ["complained", "complained_event_only"])
def test_a_complained_address_gets_a_call_mailgun_never_delivers(
    fake_mailgun, make_subscription, state
):
    arrange(state, make_subscription)

    subscribe()

    [send] = fake_mailgun.sends
    assert send.test_mode
    assert send.recipients == [ADDRESS]
    assert fake_mailgun.messages_to(ADDRESS) == []
    assert not Subscription.objects.filter(status=Subscription.Status.PENDING).exists()


def test_without_mailgun_a_complained_address_is_sent_nothing(make_subscription):
    # The console in development, SMTP anywhere: no test mode, so nothing leaves at all.
    arrange("complained", make_subscription)
    assert subscribe().status_code == 200
    assert mail.outbox == []


def test_the_notice_is_within_the_same_limit(settings, make_subscription):
    settings.SUBSCRIBE_ATTEMPTS_PER_ADDRESS_PER_DAY = 2
    make_subscription(email=ADDRESS, term="happy", status=Status.ACTIVE)
    statuses = [subscribe(ip=f"203.0.113.{n}").status_code for n in range(3)]
    assert statuses == [200, 200, 429]
    assert len(mail.outbox) == 2


def test_a_failed_notice_says_try_later_and_is_not_held_against_the_limit(
    settings, make_subscription, fake_mailgun
):
    settings.SUBSCRIBE_ATTEMPTS_PER_ADDRESS_PER_DAY = 1
    make_subscription(email=ADDRESS, term="happy", status=Status.ACTIVE)
    fake_mailgun.fail_next(status=500)

    assert subscribe().status_code == 503
    assert subscribe(ip="203.0.113.2").status_code == 200
    assert len(fake_mailgun.messages_to(ADDRESS)) == 1
