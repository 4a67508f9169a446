"""The subscribe form's time zone (from the browser) and frequency."""

import re

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
    assert '<option value="daily" data-phrase="every day" selected>' in html
    assert '<option value="weekly" data-phrase="every week">' in html
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


@pytest.mark.parametrize(
    "fields",
    [{"frequency": "hourly"}, {"frequency": "weekly", "weekly_day": "9"}],
    ids=["frequency", "weekday of a weekly email"],
)
def test_a_frequency_or_weekday_not_offered_is_a_clear_message_and_nothing_changes(client, fields):
    response = subscribe(client, **fields)
    assert response.status_code == 400
    assert "Please choose" in response.content.decode()
    assert not Subscription.objects.exists()


def test_the_public_form_never_changes_an_existing_subscribers_schedule(client):
    factories.subscription("known@example.org", term="jazz")
    Subscriber.objects.update(time_zone="Europe/London", frequency="daily")
    subscribe(client, email="known@example.org", time_zone="Asia/Tokyo", frequency="weekly")
    subscriber = Subscriber.objects.get(email="known@example.org")
    assert (subscriber.time_zone, subscriber.frequency) == ("Europe/London", "daily")


def button_and_heading(html):
    """The words of the subscribe form's button and heading."""
    form = html[html.index('<section class="subscribe"') :]
    button = re.search(r'<button type="submit"[^>]*>(.*?)</button>', form, re.S)[1]
    heading = re.search(r'<h2 id="subscribe-heading"[^>]*>(.*?)</h2>', html, re.S)[1]
    return words(button), words(heading)


def words(html):
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize(
    "frequency, phrase",
    [("daily", "every day"), ("weekdays", "every weekday"), ("weekly", "every week")],
)
def test_the_form_says_how_often_as_chosen_when_it_comes_back_with_an_error(
    client, frequency, phrase
):
    response = subscribe(client, email="not an address", frequency=frequency, weekly_day="4")

    assert response.status_code == 400
    html = response.content.decode()
    button, heading = button_and_heading(html)
    assert button == f"Send me a playlist {phrase}"
    assert heading == f"Get a playlist for &lsquo;happy&rsquo; in your inbox {phrase}"
    assert f'<option value="{frequency}" data-phrase="{phrase}" selected>' in html


def test_a_fresh_form_says_every_day_and_offers_each_phrase_to_the_script(client):
    html = client.get(SUBSCRIBE_URL).content.decode()

    assert button_and_heading(html) == (
        "Send me a playlist every day",
        "Get a playlist for your mood in your inbox every day",
    )
    assert '<option value="weekdays" data-phrase="every weekday">' in html
    assert '<option value="weekly" data-phrase="every week">' in html


def test_without_script_the_weekday_is_there_to_choose(client):
    html = client.get(SUBSCRIBE_URL).content.decode()

    weekday = re.search(r'<p class="subscribe__field subscribe__weekday"[^>]*>', html)
    assert weekday and "hidden" not in weekday[0]
    assert '<select id="subscribe-weekly-day" name="weekly_day"' in html


@pytest.mark.parametrize("frequency", ["daily", "weekdays"])
@pytest.mark.parametrize("weekly_day", ["4", "9", "Friday"])
def test_the_weekday_is_ignored_unless_the_email_is_weekly(client, frequency, weekly_day):
    response = subscribe(client, frequency=frequency, weekly_day=weekly_day)

    assert response.status_code == 200
    subscriber = Subscriber.objects.get(email="new@example.org")
    assert (subscriber.frequency, subscriber.weekly_day) == (frequency, 0)
    assert Subscription.objects.get().status == "pending"
