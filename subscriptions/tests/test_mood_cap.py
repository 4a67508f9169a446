"""The subscribe form keeps to MAX_MOODS_PER_SUBSCRIBER live moods per inbox, and still answers
alike for everyone: over the cap, the inbox is told why in an email, and nothing is added."""

import pytest
from django.core import mail
from django.urls import reverse

from subscriptions.models import SubscribeEmail, Subscription
from subscriptions.tests import factories

pytestmark = pytest.mark.django_db


def subscribe(client, email, term):
    return client.post(
        reverse("subscriptions:subscribe"), {"email": email, "term": term, "homepage": ""}
    )


def answer_of(response, email):
    return response.content.decode().replace(email, "ADDRESS")


def test_a_sign_up_over_the_cap_adds_nothing_and_the_inbox_is_told_why(client, settings):
    settings.MAX_MOODS_PER_SUBSCRIBER = 2
    factories.subscription("full@example.org", "happy")
    factories.subscription("full@example.org", "sad", status="pending")
    before = list(Subscription.objects.values_list("pk", "term", "status"))

    full = subscribe(client, "Full@example.org", "rock")
    fresh = subscribe(client, "new@example.org", "rock")

    assert full.status_code == fresh.status_code == 200
    assert answer_of(full, "Full@example.org") == answer_of(fresh, "new@example.org")
    assert (
        list(
            Subscription.objects.exclude(subscriber__inbox_key="new@example.org").values_list(
                "pk", "term", "status"
            )
        )
        == before
    )
    notice, confirmation = mail.outbox
    assert notice.to == ["full@example.org"]
    assert "/subscriptions/confirm/" not in notice.body
    assert "2 moods, the most we send to one address" in notice.body
    subscriber = factories.subscriber("full@example.org")
    assert f"/subscriptions/manage/{subscriber.manage_token}/" in notice.body
    assert "rock" in notice.subject
    # Counted in the inbox's limit like any email the form sends.
    assert SubscribeEmail.objects.filter(subscriber=subscriber).count() == 1


def test_a_sign_up_for_a_mood_it_already_has_is_not_refused_at_the_cap(client, settings):
    settings.MAX_MOODS_PER_SUBSCRIBER = 1
    factories.subscription("full@example.org", "happy", status="pending")

    subscribe(client, "full@example.org", "happy")

    [resent] = mail.outbox
    assert "/subscriptions/confirm/" in resent.body
