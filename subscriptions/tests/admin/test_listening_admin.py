"""Staff see listening on the subscribers' list: a filter, and a column saying who was paused
for not listening and when each last listened."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from subscriptions.models import Goodbye, ListeningEvent, Subscriber
from subscriptions.tests import factories

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:subscriptions_subscriber_changelist")
DAY = datetime.timedelta(days=1)


@pytest.fixture
def people(db):
    now = timezone.now()
    ann = factories.subscription("ann@example.org", "jazz").subscriber  # listens
    ListeningEvent.objects.create(
        subscriber=ann, link="web", verdict="listener", occurred_at=now - 2 * DAY
    )
    bo = factories.subscription("bo@example.org", "jazz").subscriber  # only scanners
    ListeningEvent.objects.create(subscriber=bo, link="web", verdict="agent", occurred_at=now)
    cy = factories.subscription("cy@example.org", "jazz").subscriber  # asked
    claim = cy.daily_emails.create(day=timezone.localdate(), status="sent")
    Goodbye.objects.create(subscriber=cy, daily_email=claim)
    factories.subscription("dan@example.org", "jazz")
    Subscriber.objects.filter(email="dan@example.org").update(sunset_at=now - 3 * DAY)


def listed(admin_client, query=""):
    page = admin_client.get(f"{CHANGELIST}{query}").content.decode()
    return page, {
        address for address in ("ann", "bo", "cy", "dan") if f">{address}@example.org</a>" in page
    }


@pytest.mark.parametrize(
    "query, who",
    [
        ("?listening=listened", {"ann"}),
        ("?listening=quiet", {"bo", "cy", "dan"}),
        ("?listening=asked", {"cy"}),
        ("?listening=sunset", {"dan"}),
        ("", {"ann", "bo", "cy", "dan"}),
    ],
)
def test_the_list_filters_by_listening(admin_client, people, query, who):
    _, shown = listed(admin_client, query)
    assert shown == who


def test_the_list_says_who_listened_when_and_who_was_paused(admin_client, people):
    page, _ = listed(admin_client)
    assert "Paused for not listening since" in page
    assert "Last listened" in page or "last listened" in page
    row = page.split(">ann@example.org</a>")[1].split("</tr>")[0]
    assert (timezone.localdate() - 2 * DAY).strftime("%b") in row


def test_a_sunset_subscribers_page_shows_it(admin_client, people):
    dan = Subscriber.objects.get(email="dan@example.org")
    page = admin_client.get(
        reverse("admin:subscriptions_subscriber_change", args=[dan.pk])
    ).content.decode()
    assert "Sunset" in page or "sunset" in page
