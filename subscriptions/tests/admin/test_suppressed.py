"""The SuppressedInbox admin: found by any spelling of the address, shows no address, and
deleting a row lets the inbox subscribe again."""

import pytest
from django.core import mail
from django.urls import reverse

from subscriptions import services
from subscriptions.manage import services as manage
from subscriptions.models import SuppressedInbox
from subscriptions.tests import factories

CHANGELIST = reverse("admin:subscriptions_suppressedinbox_changelist")

pytestmark = pytest.mark.django_db


@pytest.fixture
def erased():
    ann = factories.subscription("Ann@example.org", term="jazz", status="complained")
    bo = factories.subscription("bo@example.org", term="jazz", status="bounced")
    for subscription in (ann, bo):
        assert manage.subscriber_erase(subscriber=subscription.subscriber)
    return SuppressedInbox.objects.get(reason="complained")


def test_staff_find_the_row_by_any_spelling_and_the_list_names_nobody(admin_client, erased):
    every = admin_client.get(CHANGELIST)
    assert every.status_code == 200
    assert len(every.context["cl"].result_list) == 2
    assert "ann@" not in every.content.decode().lower()

    for query in ("ANN+later@Example.org", "ann@example.org"):
        found = admin_client.get(CHANGELIST, {"q": query})
        assert list(found.context["cl"].result_list) == [erased], query
    for query in ("nobody@example.org", "not an address@", "<script>@x"):
        assert list(admin_client.get(CHANGELIST, {"q": query}).context["cl"].result_list) == []


def test_deleting_the_row_lets_the_inbox_subscribe_again(admin_client, erased):
    url = reverse("admin:subscriptions_suppressedinbox_delete", args=[erased.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302

    outcome = services.subscription_request(email="ann@example.org", term="jazz")

    assert outcome is services.SubscribeOutcome.CREATED
    assert len(mail.outbox) == 1
