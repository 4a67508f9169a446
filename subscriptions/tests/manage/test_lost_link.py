""" "Lost your link?": the manage link by email, the same answer either way, within the limits;
and the manage link in the footer of every email."""

import datetime
import re

import pytest
import time_machine
from django.apps import apps
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from subscriptions.models import SubscribeEmail, Subscriber

LOST_LINK_URL = reverse("subscriptions:lost_link")
MANAGE_LINK = re.compile(r"https://funky\.example\.com/subscriptions/manage/([\w-]+)/")

pytestmark = pytest.mark.django_db


def ask(client, email):
    return client.post(LOST_LINK_URL, {"email": email})


def ask_from(client, email, ip):
    return client.post(LOST_LINK_URL, {"email": email}, REMOTE_ADDR=ip)


def rows_of_every_model():
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_app_config("subscriptions").get_models()
    }


def shapes(queries):
    """The statements run, with the values they were run with left out."""
    return [query["sql"].split(" WHERE ")[0] for query in queries.captured_queries]


def answer_of(response, email):
    """The page without the address it repeats: what must not tell who is subscribed."""
    return response.content.decode().replace(email, "ADDRESS")


@pytest.fixture
def listener(make_subscription):
    return make_subscription(email="Listener@example.com", term="happy").subscriber


def test_the_home_page_footer_has_the_form_and_it_works_from_the_cached_page(listener):
    browser = Client(enforce_csrf_checks=True)
    browser.get("/")  # the second visit is served from the page cache
    home = browser.get("/").content.decode()
    assert f'action="{LOST_LINK_URL}"' in home
    assert '<label for="lost-link-email">' in home
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', home).group(1)

    response = browser.post(
        LOST_LINK_URL, {"email": "listener@example.com", "csrfmiddlewaretoken": csrf}
    )

    assert response.status_code == 200
    assert len(mail.outbox) == 1


def test_csrf_is_enforced(listener):
    response = Client(enforce_csrf_checks=True).post(
        LOST_LINK_URL, {"email": "listener@example.com"}
    )
    assert response.status_code == 403
    assert not mail.outbox


def test_a_subscriber_gets_the_link_to_their_page_under_any_spelling(client, listener):
    response = ask(client, "LISTENER+whatever@EXAMPLE.com")

    assert response.status_code == 200
    [message] = mail.outbox
    assert message.to == ["Listener@example.com"]
    assert message.subject == "Your link to manage your daily playlists"
    [token] = set(MANAGE_LINK.findall(message.body))
    assert token == listener.manage_token
    assert MANAGE_LINK.search(message.alternatives[0][0])
    assert client.get(reverse("subscriptions:manage", kwargs={"token": token})).status_code == 200


def test_the_answer_is_the_same_for_an_address_we_do_not_know(client, listener, make_subscription):
    known = answer_of(ask(client, "listener@example.com"), "listener@example.com")
    unknown = answer_of(ask(client, "nobody@example.com"), "nobody@example.com")
    # A subscriber row with no subscriptions left has nothing to manage either.
    Subscriber.objects.create(email="empty@example.com")
    empty = answer_of(ask(client, "empty@example.com"), "empty@example.com")

    assert known == unknown == empty
    assert "we have sent it an email with the link" in known
    assert [m.to for m in mail.outbox] == [["Listener@example.com"]]
    assert not Subscriber.objects.filter(inbox_key="nobody@example.com").exists()


@pytest.mark.parametrize("suppression", ["bounced", "complained"])
def test_a_suppressed_inbox_is_not_mailed_and_gets_the_same_answer(
    client, listener, fake_mailgun, suppression
):
    Subscriber.objects.filter(pk=listener.pk).update(state=suppression)
    unknown = answer_of(ask(client, "nobody@example.com"), "nobody@example.com")
    suppressed = answer_of(ask(client, "listener@example.com"), "listener@example.com")

    assert suppressed == unknown
    assert fake_mailgun.messages_to("listener@example.com") == []
    # Both made the same one call to Mailgun, in test mode: the timing tells nothing either.
    assert [send.test_mode for send in fake_mailgun.sends] == [True, True]


def test_the_link_reaches_mailgun_and_a_failure_is_said_and_not_held_against_the_inbox(
    client, listener, fake_mailgun
):
    fake_mailgun.fail_next(status=500)
    failed = ask(client, "listener@example.com")
    assert failed.status_code == 503
    assert "could not send the email" in failed.content.decode()
    assert not SubscribeEmail.objects.exists()

    assert ask(client, "listener@example.com").status_code == 200
    [message] = fake_mailgun.messages_to("Listener@example.com")
    assert listener.manage_token in message["text"]


def test_anyone_asking_again_and_again_never_locks_the_owner_out(
    client, listener, settings, fake_mailgun
):
    """At most one link per LOST_LINK_RESEND_MINUTES, and never a lock-out: whoever asks
    within the interval is answered alike, and the link already went to the owner's inbox."""
    settings.LOST_LINK_RESEND_MINUTES = 10
    start = datetime.datetime(2026, 12, 1, 9, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False) as clock:
        first = answer_of(ask(client, "listener@example.com"), "listener@example.com")
        for n in range(12):  # others, from as many addresses as it takes
            clock.shift(datetime.timedelta(seconds=30))
            response = ask_from(client, "LISTENER@example.com", f"203.0.113.{n}")
            assert answer_of(response, "LISTENER@example.com") == first
        assert len(fake_mailgun.messages_to("Listener@example.com")) == 1

        clock.move_to(start + datetime.timedelta(minutes=10, seconds=1))
        assert ask_from(client, "listener@example.com", "198.51.100.7").status_code == 200

    delivered = fake_mailgun.messages_to("Listener@example.com")
    assert len(delivered) == 2
    assert all(listener.manage_token in message["text"] for message in delivered)
    # Every request made the same one call to Mailgun; those within the interval in test mode.
    assert [send.test_mode for send in fake_mailgun.sends] == [False] + [True] * 12 + [False]


def test_asking_for_the_link_spends_none_of_the_subscribe_forms_budget(client, listener, settings):
    settings.SUBSCRIBE_ATTEMPTS_PER_ADDRESS_PER_DAY = 1
    for n in range(5):
        assert ask_from(client, "listener@example.com", f"203.0.113.{n}").status_code == 200
    subscribed = client.post(
        reverse("subscriptions:subscribe"),
        {"email": "listener@example.com", "term": "calm", "homepage": ""},
    )
    assert subscribed.status_code == 200
    assert len(mail.outbox) == 2  # the link, then the confirmation


def test_an_unknown_address_leaves_no_row_and_costs_the_same_work(client, listener):
    with CaptureQueriesContext(connection) as known:
        known_answer = answer_of(ask(client, "listener@example.com"), "listener@example.com")
    before = rows_of_every_model()
    with CaptureQueriesContext(connection) as unknown:
        unknown_answer = answer_of(ask(client, "nobody@example.com"), "nobody@example.com")

    assert unknown_answer == known_answer
    assert rows_of_every_model() == before
    assert not Subscriber.objects.filter(inbox_key="nobody@example.com").exists()
    # The same statements either way, and none that writes: nothing to time apart.
    assert shapes(unknown) == shapes(known)
    assert not [sql for sql in shapes(known) if not sql.startswith("SELECT")]


def test_the_ip_limit_is_the_subscribe_forms(client, settings, listener):
    settings.SUBSCRIBE_POSTS_PER_IP_PER_HOUR = 2
    client.post(reverse("subscriptions:subscribe"), {"email": "a@example.com", "term": "x"})
    assert ask(client, "b@example.com").status_code == 200
    assert ask(client, "listener@example.com").status_code == 429
    assert [m.to for m in mail.outbox] == [["a@example.com"]]


@pytest.mark.parametrize(
    "email",
    ["", "not an address", "listener@example.com\r\nBcc: x@example.com", "a" * 250 + "@x.io"],
)
def test_a_bad_address_is_a_clear_message_and_sends_nothing(client, listener, email):
    response = ask(client, email)
    assert response.status_code == 400
    assert 'id="lost-link-email-errors"' in response.content.decode()
    assert not mail.outbox
    assert not SubscribeEmail.objects.exists()


def test_the_get_page_shows_the_form_and_sends_nothing(client, listener):
    response = client.get(LOST_LINK_URL, {"email": "listener@example.com"})
    assert response.status_code == 200
    assert "<h1>Lost your link?</h1>" in response.content.decode()
    assert not mail.outbox


# -- the manage link in every email's footer ---------------------------------------------------


@pytest.mark.parametrize("status", ["pending", "active"])
def test_subscribe_emails_carry_the_manage_link_in_their_footer(client, make_subscription, status):
    subscription = make_subscription(term="happy", status=status)
    client.post(
        reverse("subscriptions:subscribe"),
        {"email": subscription.subscriber.email, "term": "happy", "homepage": ""},
    )
    [message] = mail.outbox
    html = message.alternatives[0][0]
    assert "Manage your daily playlists" in message.body and "Manage your daily playlists" in html
    assert MANAGE_LINK.findall(message.body) == [subscription.subscriber.manage_token]
    assert subscription.subscriber.manage_token in html
