"""The schedule page behind the manage token: GET shows, POST with CSRF changes."""

import datetime

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from subscriptions.daily import daily_playlists_send
from subscriptions.models import DailyEmail, Subscriber
from subscriptions.tests import factories
from subscriptions.tests.daily_support import use_anymail_test_backend

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann():
    factories.subscription("ann@example.org", term="jazz")
    return Subscriber.objects.get()


def url(subscriber):
    return reverse("subscriptions:schedule", kwargs={"token": subscriber.manage_token})


def post(client, subscriber, **data):
    page = client.get(url(subscriber))
    token = client.cookies["csrftoken"].value
    values = {"time_zone": "UTC", "send_hour": "7", "frequency": "daily", "weekly_day": "0"}
    return client.post(url(subscriber), {**values, **data, "csrfmiddlewaretoken": token}), page


def test_get_shows_the_schedule_with_a_searchable_zone_list_and_changes_nothing(client, ann):
    response = client.get(url(ann))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'list="time-zones"' in html and '<option value="Pacific/Kiritimati">' in html
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    assert "noindex" in response["X-Robots-Tag"]
    ann.refresh_from_db()
    assert (ann.time_zone, ann.send_hour) == ("UTC", 7)


def test_post_changes_zone_hour_frequency_and_weekday():
    factories.subscription("ann@example.org", term="jazz")
    ann = Subscriber.objects.get()
    client = Client(enforce_csrf_checks=True)
    response, _ = post(
        client,
        ann,
        time_zone="America/New_York",
        send_hour="18",
        frequency="weekly",
        weekly_day="4",
    )
    assert response.status_code == 200
    assert "Saved." in response.content.decode()
    ann.refresh_from_db()
    assert (ann.time_zone, ann.send_hour, ann.frequency, ann.weekly_day) == (
        "America/New_York",
        18,
        "weekly",
        4,
    )


@pytest.mark.parametrize(
    "field, value",
    [
        ("time_zone", "Mars/Olympus"),
        ("time_zone", "Europe/London\x00"),
        ("send_hour", "24"),
        ("send_hour", "seven"),
        ("frequency", "hourly"),
        ("weekly_day", "7"),
    ],
)
def test_bad_values_are_a_clear_message_and_nothing_changes(client, ann, field, value):
    response, _ = post(client, ann, **{field: value})
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    ann.refresh_from_db()
    assert (ann.time_zone, ann.send_hour, ann.frequency, ann.weekly_day) == ("UTC", 7, "daily", 0)


def test_a_post_without_csrf_is_refused(ann):
    response = Client(enforce_csrf_checks=True).post(url(ann), {"time_zone": "Asia/Tokyo"})
    assert response.status_code == 403


def test_a_wrong_token_is_a_404(client):
    for token in ["x" * 43, "x" * 300]:
        assert (
            client.get(reverse("subscriptions:schedule", kwargs={"token": token})).status_code
            == 404
        )


def test_a_change_after_todays_email_takes_effect_the_next_period(
    client, ann, settings, fake_spotify
):
    use_anymail_test_backend(settings)
    settings.MIN_PLAYLIST_TRACKS = 1
    fake_spotify.set_search_results(
        "jazz", [fake_spotify.add_playlist(name=f"Jazz {n}") for n in range(3)]
    )
    morning = datetime.datetime(2026, 11, 25, 7, 30, tzinfo=datetime.UTC)
    with time_machine.travel(morning, tick=False):
        daily_playlists_send()
    # Later hour the same day: no second email today; tomorrow at the new hour.
    post(client, ann, send_hour="9")
    for hour, day_count in [(9, 1), (23, 1), (24 + 8, 1), (24 + 9, 2)]:
        with time_machine.travel(morning.replace(minute=0) + datetime.timedelta(hours=hour - 7)):
            daily_playlists_send()
        assert DailyEmail.objects.filter(status="sent").count() == day_count, hour
