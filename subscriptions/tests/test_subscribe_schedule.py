"""The subscribe form's time zone (from the browser) and frequency."""

import pytest
from django.urls import reverse

from subscriptions.models import Subscriber, Subscription
from subscriptions.tests import factories

SUBSCRIBE_URL = reverse("subscriptions:subscribe")

pytestmark = pytest.mark.django_db


def subscribe(client, email="new@example.org", **extra):
    data = {"email": email, "term": "happy", "homepage": "", **extra}
    return client.post(SUBSCRIBE_URL, data)


def test_the_form_offers_daily_preselected_and_a_hidden_time_zone_for_the_script(client, settings):
    html = client.get(SUBSCRIBE_URL).content.decode()
    assert '<option value="daily" selected>' in html
    assert '<option value="weekly">' in html
    assert f'name="time_zone" value="{settings.TIME_ZONE}" data-time-zone' in html
    assert "<script>" not in html  # the zone is filled by static/js/site.js (CSP: no inline)


def test_a_new_subscriber_starts_with_the_browsers_zone_and_the_chosen_frequency(client):
    response = subscribe(client, time_zone="Asia/Tokyo", frequency="weekly", weekly_day="4")
    assert response.status_code == 200
    subscriber = Subscriber.objects.get(email="new@example.org")
    assert (subscriber.time_zone, subscriber.frequency, subscriber.weekly_day) == (
        "Asia/Tokyo",
        "weekly",
        4,
    )
    assert subscriber.send_hour == 7


@pytest.mark.parametrize("zone", ["", "Mars/Olympus", "x" * 64, "Europe/London\x00", "../etc"])
def test_a_missing_or_unknown_zone_is_the_sites_and_no_error(client, settings, zone):
    settings.TIME_ZONE = "Europe/Paris"
    assert subscribe(client, time_zone=zone).status_code == 200
    assert Subscriber.objects.get(email="new@example.org").time_zone == "Europe/Paris"


def test_without_the_new_fields_the_subscriber_gets_daily_in_the_sites_zone(client, settings):
    assert subscribe(client).status_code == 200
    subscriber = Subscriber.objects.get(email="new@example.org")
    assert (subscriber.time_zone, subscriber.frequency) == (settings.TIME_ZONE, "daily")


@pytest.mark.parametrize("field, value", [("frequency", "hourly"), ("weekly_day", "9")])
def test_a_frequency_or_weekday_not_offered_is_a_clear_message_and_nothing_changes(
    client, field, value
):
    response = subscribe(client, **{field: value})
    assert response.status_code == 400
    assert "Please choose" in response.content.decode()
    assert not Subscription.objects.exists()


def test_the_public_form_never_changes_an_existing_subscribers_schedule(client):
    factories.subscription("known@example.org", term="jazz")
    Subscriber.objects.update(time_zone="Europe/London", frequency="daily")
    subscribe(client, email="known@example.org", time_zone="Asia/Tokyo", frequency="weekly")
    subscriber = Subscriber.objects.get(email="known@example.org")
    assert (subscriber.time_zone, subscriber.frequency) == ("Europe/London", "daily")
