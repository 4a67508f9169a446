"""Subscribing: the double opt-in, the same answer for every state, limits, and mail failures."""

import re

import pytest
from django.core import mail
from django.core.cache import caches
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from subscriptions import selectors, services
from subscriptions.models import EmailEvent, SubscribeEmail, Subscriber, Subscription
from subscriptions.tests import factories

SUBSCRIBE_URL = reverse("subscriptions:subscribe")
Status = Subscription.Status

pytestmark = pytest.mark.django_db


def subscribe(client, email="listener@example.com", term="happy", **extra):
    return client.post(SUBSCRIBE_URL, {"email": email, "term": term, "homepage": "", **extra})


def confirm_url_in(text):
    match = re.search(r"https://funky\.example\.com/subscriptions/confirm/([\w-]+)/", text)
    assert match, text
    return match.group(0), match.group(1)


def csrf_post(client, url, data=None):
    """A POST as a browser makes it: fetch the page for the CSRF cookie, send the token back."""
    page = client.get(url)
    assert page.status_code == 200
    token = client.cookies["csrftoken"].value
    return client.post(url, {**(data or {}), "csrfmiddlewaretoken": token})


# -- the form page ---------------------------------------------------------------------------


def test_get_shows_the_form_with_the_term_prefilled(client):
    response = client.get(SUBSCRIBE_URL, {"term": "rainy day"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'value="rainy day"' in html
    assert re.search(r'<input[^>]*name="homepage"[^>]*tabindex="-1"[^>]*autocomplete="off"', html)
    assert 'aria-hidden="true"' in html


def test_post_without_csrf_token_is_forbidden():
    response = subscribe(Client(enforce_csrf_checks=True))
    assert response.status_code == 403
    assert not Subscription.objects.exists()


def test_post_with_csrf_token_from_the_page_is_accepted():
    client = Client(enforce_csrf_checks=True)
    response = csrf_post(
        client, SUBSCRIBE_URL, {"email": "listener@example.com", "term": "happy", "homepage": ""}
    )
    assert response.status_code == 200
    assert Subscription.objects.get().status == Status.PENDING


def test_invalid_form_answers_400_with_the_errors_and_does_nothing(client):
    response = subscribe(client, email="not-an-email", term="happy\r\nBcc: x@example.org")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter an email address like name@example.com." in html
    assert "Please remove line breaks and other control characters." in html
    assert not Subscription.objects.exists()
    assert mail.outbox == []


# -- double opt-in ---------------------------------------------------------------------------


def test_subscribe_creates_a_pending_subscription_and_sends_the_confirmation(client):
    response = subscribe(client, email="Listener@Example.COM", term="  happy   days ")

    assert response.status_code == 200
    assert "Check your inbox to confirm" in response.content.decode()
    subscription = Subscription.objects.get()
    assert subscription.subscriber.email == "Listener@example.com"
    assert subscription.term == "happy days"
    assert subscription.status == Status.PENDING
    assert subscription.confirmed_at is None
    assert subscription.confirmation_sent_at is not None
    assert len(subscription.token) >= 43  # 256 bits, URL-safe base64


def test_confirmation_email_has_subject_text_html_and_absolute_link(client):
    subscribe(client, term="<b>rock</b> & roll")
    subscription = Subscription.objects.get()

    [message] = mail.outbox
    assert message.to == ["listener@example.com"]
    assert message.subject == "Confirm your daily playlist for '<b>rock</b> & roll'"
    link, token = confirm_url_in(message.body)
    assert token == subscription.token
    assert link == f"https://funky.example.com/subscriptions/confirm/{subscription.token}/"
    # The link names its sign-up: confirming through it takes the schedule asked for there.
    sign_up = SubscribeEmail.objects.get(subscriber=subscription.subscriber)
    assert f"{link}?sign_up={sign_up.pk}\n" in message.body
    assert "'<b>rock</b> & roll'" in message.body  # plain text is not HTML-escaped
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert f'href="{link}?sign_up={sign_up.pk}"' in html
    assert "&lt;b&gt;rock&lt;/b&gt; &amp; roll" in html
    assert "<b>rock</b>" not in html


def test_confirmation_email_reaches_mailgun_through_anymail(client, fake_mailgun):
    subscribe(client, email="listener@example.com", term="happy")
    subscription = Subscription.objects.get()

    [message] = fake_mailgun.messages_to("listener@example.com")
    assert message["subject"] == "Confirm your daily playlist for 'happy'"
    assert f"/subscriptions/confirm/{subscription.token}/" in message["text"]
    assert f"/subscriptions/confirm/{subscription.token}/" in message["html"]


def test_get_on_the_confirm_link_does_not_confirm(client):
    subscribe(client)
    link, _ = confirm_url_in(mail.outbox[0].body)

    response = client.get(link)

    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'<form method="post" action="/subscriptions/confirm/[\w-]+/">', html)
    assert 'name="csrfmiddlewaretoken"' in html
    assert ">Confirm</button>" in html
    assert Subscription.objects.get().status == Status.PENDING


def test_post_on_the_confirm_link_activates():
    client = Client(enforce_csrf_checks=True)
    subscribe(Client())
    link, _ = confirm_url_in(mail.outbox[0].body)

    response = csrf_post(client, link)

    assert response.status_code == 200
    assert "You&rsquo;re subscribed" in response.content.decode()
    # ...and the way on is the playlists for what they just subscribed to.
    assert 'href="/search/?q=happy"' in response.content.decode()
    subscription = Subscription.objects.get()
    assert subscription.status == Status.ACTIVE
    assert subscription.confirmed_at is not None


def test_confirm_post_needs_the_csrf_token():
    subscribe(Client())
    link, _ = confirm_url_in(mail.outbox[0].body)
    response = Client(enforce_csrf_checks=True).post(link)
    assert response.status_code == 403
    assert Subscription.objects.get().status == Status.PENDING


def test_confirming_twice_is_harmless(client):
    subscribe(client)
    link, _ = confirm_url_in(mail.outbox[0].body)
    client.post(link)
    first_confirmed_at = Subscription.objects.get().confirmed_at

    response = client.post(link)

    assert response.status_code == 200
    subscription = Subscription.objects.get()
    assert subscription.status == Status.ACTIVE
    assert subscription.confirmed_at == first_confirmed_at


def test_token_of_another_address_cannot_confirm_this_one(client):
    subscribe(client, email="alice@example.com")
    subscribe(client, email="bob@example.com")
    alice_link, _ = confirm_url_in(mail.outbox[0].body)

    client.post(alice_link)

    assert Subscription.objects.get(subscriber__email="alice@example.com").status == Status.ACTIVE
    assert Subscription.objects.get(subscriber__email="bob@example.com").status == Status.PENDING


@pytest.mark.parametrize("token", ["unknown-token", "x" * 500, "a" * 43])
def test_unknown_or_malformed_token_is_a_404_that_names_nobody(client, make_subscription, token):
    make_subscription(email="secret@example.com", status=Status.PENDING)
    for response in (
        client.get(reverse("subscriptions:confirm", kwargs={"token": token})),
        client.post(reverse("subscriptions:confirm", kwargs={"token": token})),
    ):
        assert response.status_code == 404
        assert b"secret@example.com" not in response.content
    assert Subscription.objects.get().status == Status.PENDING


def test_confirm_link_of_an_ended_subscription_does_not_revive_it(client, make_subscription):
    ended = make_subscription(status=Status.UNSUBSCRIBED, unsubscribed_at=timezone.now())
    response = client.post(reverse("subscriptions:confirm", kwargs={"token": ended.token}))
    assert response.status_code == 200
    assert "This link is no longer valid" in response.content.decode()
    ended.refresh_from_db()
    assert ended.status == Status.UNSUBSCRIBED


# -- the same answer whatever the state ------------------------------------------------------


def _arrange(state, make_subscription):
    if state == "new":
        return
    if state == "complained_event_only":
        # A complaint that arrived when the inbox had no subscription left.
        factories.subscriber("listener@example.com", state="complained")
        return
    make_subscription(email="listener@example.com", term="happy", status=state)


STATES = ["new", "pending", "active", "unsubscribed", "bounced", "complained"]


def test_every_state_gets_the_same_answer(client, make_subscription):
    answers = {}
    for state in [*STATES, "complained_event_only"]:
        Subscriber.objects.all().delete()  # their subscriptions and events with them
        EmailEvent.objects.all().delete()
        SubscribeEmail.objects.all().delete()  # each state's first attempt, not the eighth
        caches["ratelimit"].clear()
        _arrange(state, make_subscription)
        response = subscribe(client)
        answers[state] = (response.status_code, response.content)
    assert len(set(answers.values())) == 1, {state: code for state, (code, _) in answers.items()}
    assert answers["new"][0] == 200


CONFIRM_SUBJECT = "Confirm your daily playlist for 'Happy'"
ALREADY_SUBJECT = "You already get a daily playlist for 'happy'"


@pytest.mark.parametrize(
    "state, subjects, live_rows",
    [
        ("new", [CONFIRM_SUBJECT], 1),
        ("pending", ["Confirm your daily playlist for 'happy'"], 1),  # same row and token
        ("active", [ALREADY_SUBJECT], 1),  # how to stop or change it; nothing new
        ("unsubscribed", [CONFIRM_SUBJECT], 1),  # a new pending row next to the old one
        # The bounce stops the inbox, not the subscription: it is still what they chose (a
        # new term's confirmation lifts the bounce; test_webhooks).
        ("bounced", [ALREADY_SUBJECT], 1),
        ("complained", [], 1),  # never mail someone who marked us as spam (their row stays)
        ("complained_event_only", [], 0),
    ],
)
def test_what_each_state_does(client, make_subscription, state, subjects, live_rows):
    _arrange(state, make_subscription)
    before = Subscription.objects.first()

    subscribe(client, email="LISTENER@example.com", term="Happy")

    assert [message.subject for message in mail.outbox] == subjects
    live = Subscription.objects.filter(status__in=Subscription.LIVE_STATUSES)
    assert live.count() == live_rows
    if state == "pending":
        assert confirm_url_in(mail.outbox[0].body)[1] == before.token
    if state == "unsubscribed":
        before.refresh_from_db()
        assert before.status == state  # history kept
        assert live.get().token != before.token


def test_honeypot_gets_the_same_answer_and_creates_and_sends_nothing(client):
    genuine = subscribe(Client(REMOTE_ADDR="192.0.2.1"), email="other@example.com")
    Subscription.objects.all().delete()
    mail.outbox.clear()

    bot = subscribe(client, email="other@example.com", homepage="https://spam.example")

    assert bot.status_code == genuine.status_code == 200
    assert bot.content == genuine.content
    assert not Subscription.objects.exists()
    assert mail.outbox == []


# -- rate limits -----------------------------------------------------------------------------


def test_too_many_posts_from_one_ip_get_429(settings):
    settings.SUBSCRIBE_POSTS_PER_IP_PER_HOUR = 3
    client = Client(REMOTE_ADDR="198.51.100.7")
    for number in range(3):
        assert subscribe(client, email=f"person{number}@example.com").status_code == 200

    response = subscribe(client, email="person3@example.com")

    assert response.status_code == 429
    assert "Too many requests" in response.content.decode()
    assert not Subscription.objects.filter(subscriber__email="person3@example.com").exists()
    assert subscribe(Client(REMOTE_ADDR="198.51.100.8"), email="x@example.com").status_code == 200


def test_an_ipv6_client_counts_as_its_64_network(settings):
    # One IPv6 client usually holds a /64: rotating addresses inside it gets no new allowance.
    settings.SUBSCRIBE_POSTS_PER_IP_PER_HOUR = 2
    for number, address in enumerate(["2001:db8::1", "2001:db8::2:3"]):
        response = subscribe(Client(REMOTE_ADDR=address), email=f"p{number}@example.com")
        assert response.status_code == 200
    rotated = subscribe(Client(REMOTE_ADDR="2001:db8::ffff:1"), email="p2@example.com")
    assert rotated.status_code == 429
    neighbour = subscribe(Client(REMOTE_ADDR="2001:db8:0:1::1"), email="p3@example.com")
    assert neighbour.status_code == 200


def test_invalid_posts_count_towards_the_ip_limit(settings):
    settings.SUBSCRIBE_POSTS_PER_IP_PER_HOUR = 2
    client = Client(REMOTE_ADDR="198.51.100.7")
    subscribe(client, email="bad")
    subscribe(client, email="bad")
    assert subscribe(client).status_code == 429


def test_too_many_attempts_for_one_address_get_429_and_send_nothing_more(settings):
    settings.SUBSCRIBE_ATTEMPTS_PER_ADDRESS_PER_DAY = 3
    for number in range(3):
        response = subscribe(Client(REMOTE_ADDR=f"203.0.113.{number}"), email="a@example.com")
        assert response.status_code == 200
    assert len(mail.outbox) == 3

    response = subscribe(Client(REMOTE_ADDR="203.0.113.9"), email="A@EXAMPLE.com")

    assert response.status_code == 429
    assert len(mail.outbox) == 3


def test_address_limit_answers_alike_for_active_and_new_addresses(settings, make_subscription):
    settings.SUBSCRIBE_ATTEMPTS_PER_ADDRESS_PER_DAY = 2
    make_subscription(email="active@example.com", status=Status.ACTIVE)
    statuses = {}
    for email in ("active@example.com", "new@example.com"):
        statuses[email] = [
            subscribe(Client(REMOTE_ADDR=f"203.0.113.{n}"), email=email).status_code
            for n in range(3)
        ]
    assert statuses["active@example.com"] == statuses["new@example.com"] == [200, 200, 429]


def test_behind_herokus_router_the_last_forwarded_hop_is_the_client(settings):
    settings.TRUST_X_FORWARDED_FOR = True
    settings.SUBSCRIBE_POSTS_PER_IP_PER_HOUR = 2
    # The router's address is the same for everyone; the client may put anything first.
    router = {"REMOTE_ADDR": "10.1.2.3"}
    for spoof in ("1.1.1.1", "2.2.2.2"):
        forwarded = f"{spoof}, 198.51.100.7"
        assert subscribe(Client(HTTP_X_FORWARDED_FOR=forwarded, **router)).status_code == 200
    spoofed = Client(HTTP_X_FORWARDED_FOR="3.3.3.3, 198.51.100.7", **router)
    assert subscribe(spoofed).status_code == 429
    other = Client(HTTP_X_FORWARDED_FOR="198.51.100.8", **router)
    assert subscribe(other, email="other@example.com").status_code == 200


def test_forwarded_header_is_ignored_unless_trusted(settings):
    settings.TRUST_X_FORWARDED_FOR = False
    settings.SUBSCRIBE_POSTS_PER_IP_PER_HOUR = 1
    assert subscribe(Client(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="1.1.1.1"))
    rotated = Client(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="2.2.2.2")
    assert subscribe(rotated, email="b@example.com").status_code == 429


# -- mail failures ---------------------------------------------------------------------------


def test_send_failure_says_try_later_and_leaves_nothing_that_blocks_a_retry(
    client, settings, closed_port_mailgun
):
    response = subscribe(client)

    assert response.status_code == 503
    assert "could not send the confirmation email" in response.content.decode()
    assert not Subscription.objects.exists()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    retry = subscribe(client)

    assert retry.status_code == 200
    assert Subscription.objects.get().status == Status.PENDING
    assert len(mail.outbox) == 1


def test_failed_resend_keeps_the_pending_subscription_resendable(
    client, settings, make_subscription, closed_port_mailgun
):
    pending = make_subscription(status=Status.PENDING)
    assert subscribe(client).status_code == 503
    pending.refresh_from_db()
    assert pending.status == Status.PENDING

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert subscribe(client).status_code == 200
    assert confirm_url_in(mail.outbox[0].body)[1] == pending.token


def test_mailgun_server_error_is_reported_the_same_way(client, fake_mailgun):
    fake_mailgun.fail_next(status=500)
    assert subscribe(client).status_code == 503
    assert not Subscription.objects.exists()
    assert subscribe(client).status_code == 200
    assert len(fake_mailgun.messages_to("listener@example.com")) == 1


# -- races -----------------------------------------------------------------------------------


def test_insert_that_loses_a_race_uses_the_winners_row(monkeypatch, make_subscription):
    """Another request inserted the pair between our lookup and our insert: the unique
    constraint refuses ours, and we carry on with theirs instead of failing."""
    real_lookup = selectors.live_subscription
    calls = []

    def lookup_that_misses_the_first_time(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            make_subscription(email="listener@example.com", term="HAPPY", status=Status.PENDING)
            return None
        return real_lookup(**kwargs)

    monkeypatch.setattr(selectors, "live_subscription", lookup_that_misses_the_first_time)

    outcome = services.subscription_request(email="listener@example.com", term="happy")

    assert outcome is services.SubscribeOutcome.RESENT
    assert Subscription.objects.count() == 1
    assert len(mail.outbox) == 1
