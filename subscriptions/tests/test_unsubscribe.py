"""Unsubscribing by token: the page, "all", RFC 8058 one-click, idempotency, bad tokens."""

import datetime
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from subscriptions.models import Subscription

Status = Subscription.Status

pytestmark = pytest.mark.django_db


def url_of(subscription_or_token):
    token = getattr(subscription_or_token, "token", subscription_or_token)
    return reverse("subscriptions:unsubscribe", kwargs={"token": token})


def csrf_client_with_page(url):
    """A browser that has opened the unsubscribe page: it holds the CSRF cookie."""
    client = Client(enforce_csrf_checks=True)
    assert client.get(url).status_code == 200
    return client, client.cookies["csrftoken"].value


def one_click(url, content_type="urlencoded"):
    """What Gmail or Yahoo send: no cookie, no CSRF token, nothing but the body."""
    client = Client(enforce_csrf_checks=True)
    if content_type == "urlencoded":
        return client.post(
            url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
        )
    return client.post(url, {"List-Unsubscribe": "One-Click"})  # multipart/form-data


LONG_AGO = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


@pytest.fixture
def listener(make_subscription):
    """One address with two active terms, another address, and an older ended row."""
    return {
        "happy": make_subscription(email="Listener@example.com", term="happy"),
        "sad": make_subscription(email="listener@EXAMPLE.com", term="sad"),
        "pending": make_subscription(email="LISTENER@example.com", term="calm", status="pending"),
        "old": make_subscription(
            email="listener@example.com",
            term="jazz",
            status="unsubscribed",
            unsubscribed_at=LONG_AGO,
        ),
        "other": make_subscription(email="someone-else@example.com", term="happy"),
    }


def statuses(subscriptions):
    return {key: Subscription.objects.get(pk=s.pk).status for key, s in subscriptions.items()}


# -- the page --------------------------------------------------------------------------------


def test_get_names_the_term_offers_both_choices_and_changes_nothing(client, listener):
    before = statuses(listener)
    response = client.get(url_of(listener["happy"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Unsubscribe from &lsquo;happy&rsquo;?" in html
    assert re.search(r'<button type="submit" name="scope" value="one">Unsubscribe</button>', html)
    assert 'value="all">Unsubscribe from all my playlists</button>' in html
    assert client.head(url_of(listener["happy"])).status_code == 200
    assert statuses(listener) == before


def test_page_post_unsubscribes_that_one_and_offers_to_resubscribe(listener):
    url = url_of(listener["happy"])
    client, csrf = csrf_client_with_page(url)

    response = client.post(url, {"scope": "one", "csrfmiddlewaretoken": csrf})

    assert response.status_code == 200
    after = statuses(listener)
    assert after["happy"] == Status.UNSUBSCRIBED
    assert after["sad"] == after["other"] == Status.ACTIVE
    assert after["pending"] == Status.PENDING
    assert Subscription.objects.get(pk=listener["happy"].pk).unsubscribed_at is not None
    html = response.content.decode()
    assert "You are unsubscribed" in html
    assert f'action="{reverse("subscriptions:subscribe")}"' in html
    assert 'value="Listener@example.com"' in html
    assert 'name="term" required maxlength="100"\n             value="happy"' in html


def test_resubscribing_from_the_page_goes_through_the_confirmation(client, listener):
    client.post(url_of(listener["happy"]), {"scope": "one"})
    response = client.post(
        reverse("subscriptions:subscribe"),
        {"email": "Listener@example.com", "term": "happy", "homepage": ""},
    )
    assert response.status_code == 200
    [message] = mail.outbox
    assert message.subject == "Confirm your daily playlist for 'happy'"
    newest = Subscription.objects.filter(
        term="happy", subscriber__email="Listener@example.com"
    ).first()
    assert newest.status == Status.PENDING
    assert newest.pk != listener["happy"].pk


def test_page_post_all_unsubscribes_every_live_subscription_of_the_address(listener):
    url = url_of(listener["sad"])
    client, csrf = csrf_client_with_page(url)

    response = client.post(url, {"scope": "all", "csrfmiddlewaretoken": csrf})

    assert response.status_code == 200
    assert "will get no more daily playlists" in response.content.decode()
    assert statuses(listener) == {
        "happy": Status.UNSUBSCRIBED,
        "sad": Status.UNSUBSCRIBED,
        "pending": Status.UNSUBSCRIBED,
        "old": Status.UNSUBSCRIBED,
        "other": Status.ACTIVE,
    }


def test_page_post_needs_the_csrf_token(listener):
    response = Client(enforce_csrf_checks=True).post(url_of(listener["happy"]), {"scope": "all"})
    assert response.status_code == 403
    assert statuses(listener)["happy"] == Status.ACTIVE


def test_page_post_twice_changes_nothing_the_second_time(client, listener):
    url = url_of(listener["happy"])
    client.post(url, {"scope": "one"})
    first = Subscription.objects.get(pk=listener["happy"].pk).unsubscribed_at

    response = client.post(url, {"scope": "one"})

    assert response.status_code == 200
    assert Subscription.objects.get(pk=listener["happy"].pk).unsubscribed_at == first


# -- RFC 8058 one-click ----------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["urlencoded", "multipart"])
def test_one_click_post_unsubscribes_the_whole_address_without_cookie_or_csrf(
    listener, content_type
):
    response = one_click(url_of(listener["happy"]), content_type)

    assert response.status_code == 200  # not a redirect
    assert response["Content-Type"].startswith("text/plain")
    assert statuses(listener) == {
        "happy": Status.UNSUBSCRIBED,
        "sad": Status.UNSUBSCRIBED,
        "pending": Status.UNSUBSCRIBED,
        "old": Status.UNSUBSCRIBED,
        "other": Status.ACTIVE,
    }


def test_one_click_exactly_as_the_shared_sample_sends_it(listener):
    """The raw request in ../shared/mailgun/rfc8058_oneclick_post_sample.http."""
    body = b"List-Unsubscribe=One-Click"
    response = Client(enforce_csrf_checks=True).generic(
        "POST",
        url_of(listener["happy"]),
        body,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert statuses(listener)["happy"] == Status.UNSUBSCRIBED


def test_one_click_is_idempotent(listener):
    url = url_of(listener["happy"])
    one_click(url)
    first = {s.pk: s.unsubscribed_at for s in Subscription.objects.all()}

    response = one_click(url)

    assert response.status_code == 200
    assert {s.pk: s.unsubscribed_at for s in Subscription.objects.all()} == first


def test_csrf_exemption_is_only_for_the_one_click_body(listener):
    response = Client(enforce_csrf_checks=True).post(
        url_of(listener["happy"]),
        "List-Unsubscribe=Something-Else&scope=all",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 403
    assert statuses(listener)["happy"] == Status.ACTIVE


# -- bad tokens ------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["nope", "x" * 300, "A" * 43])
def test_unknown_or_malformed_token_is_a_404_that_names_nobody(client, listener, token):
    before = statuses(listener)
    responses = [
        client.get(url_of(token)),
        client.post(url_of(token), {"scope": "all"}),
        one_click(url_of(token)),
    ]
    for response in responses:
        assert response.status_code == 404
        assert b"example.com" not in response.content
    assert statuses(listener) == before
