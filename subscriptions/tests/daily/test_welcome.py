"""The first playlist at once: confirming an inbox's first mood sends that local day's email.

Everything goes through the site as a visitor uses it (the subscribe form, the confirmation
link's button) and is read where a subscriber or an operator would see it: the loopback fake
Mailgun's deliveries, the confirmed page, the hourly run, the rows it leaves.
"""

import datetime
import re
import threading
from urllib.parse import urlsplit

import pytest
import time_machine
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse

from subscriptions.daily import daily_playlists_send
from subscriptions.models import DailyEmail, EmailEvent, SentPlaylist, Subscriber, Subscription

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
ZONE = "Pacific/Auckland"  # UTC+13 in November: its date is a day ahead of UTC's in the evening
# 09:00 on Wednesday 25 November in Auckland (send hour 07:00: today's time has come).
CONFIRMED_AT = datetime.datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
LOCAL_DAY = datetime.date(2026, 11, 25)
SAME_DAY_RUN = datetime.datetime(2026, 11, 24, 22, 5, tzinfo=UTC)  # 11:05 there
NEXT_DAY_RUN = datetime.datetime(2026, 11, 25, 18, 5, tzinfo=UTC)  # 07:05 on the 26th there
EMAIL = "newcomer@example.org"


@pytest.fixture(autouse=True)
def _fakes(fake_spotify, fake_mailgun, settings):
    settings.MIN_PLAYLIST_TRACKS = 1
    settings.SPOTIFY_ATTEMPTS = 1  # one failed answer is a failed search: no retry to schedule


@pytest.fixture
def jazz(fake_spotify):
    """Spotify's results for 'jazz': two playlists, so the next day has a new one to pick."""
    ids = [fake_spotify.add_playlist(name=f"Jazz for mornings {n}") for n in (1, 2)]
    fake_spotify.set_search_results("jazz", ids)
    return ids


def subscribe(client, term, email=EMAIL):
    response = client.post(
        reverse("subscriptions:subscribe"),
        {"email": email, "term": term, "time_zone": ZONE, "homepage": ""},
    )
    assert response.status_code == 200, response.content.decode()


def confirm_path(fake_mailgun, term, email=EMAIL):
    """The confirmation link the inbox got for `term`, as a path for the test client (with the
    sign-up it names: confirming through it takes that sign-up's time zone)."""
    [message] = [
        message
        for message in fake_mailgun.messages_to(email)
        if message["subject"] == f"Confirm your daily playlist for '{term}'"
    ]
    return re.search(
        r"https://funky\.example\.com(/subscriptions/confirm/[\w-]+/(?:\?sign_up=\d+)?)",
        message["text"],
    )[1]


def subscribe_and_confirm(client, fake_mailgun, term, email=EMAIL):
    """Subscribe and press the confirmation page's button; the page it answers with."""
    subscribe(client, term, email)
    response = client.post(confirm_path(fake_mailgun, term, email))
    assert response.status_code == 200
    return response.content.decode()


def daily_emails(fake_mailgun, email=EMAIL):
    """The daily emails Mailgun delivered to the inbox (not the confirmations)."""
    return [
        message
        for message in fake_mailgun.messages_to(email)
        if message["user_variables"].get("kind") == "daily"
    ]


def run_at(moment):
    with time_machine.travel(moment, tick=False):
        return daily_playlists_send()


def picked_name(message):
    return re.search(r"Jazz for mornings \d", message["text"])[0]


def test_confirming_the_first_mood_sends_todays_email_at_once_and_shows_its_pick(
    client, fake_mailgun, jazz
):
    with time_machine.travel(CONFIRMED_AT, tick=False):
        page = subscribe_and_confirm(client, fake_mailgun, "jazz")

    [email] = daily_emails(fake_mailgun)
    name = picked_name(email)
    playlist_id = jazz[int(name[-1]) - 1]
    # The same templates and links as the daily run's email, for the subscriber's own date;
    # the pick's link goes through our /go/ redirect to the playlist (subscriptions.listening).
    assert email["subject"] == "Your playlists for Wednesday 25 November"
    (web,) = re.findall(r"Open on the web: (\S+)", email["text"])
    opened = client.get(urlsplit(web).path)
    assert opened["Location"] == f"https://open.spotify.com/playlist/{playlist_id}"
    assert email["headers"]["List-Unsubscribe"].startswith("<https://funky.example.com/")
    # The confirmed page shows that pick, with Spotify's player.
    assert "Your first playlist is on its way" in page
    assert name in page
    assert f'src="https://open.spotify.com/embed/playlist/{playlist_id}"' in page
    # Recorded exactly as the daily run records an email: the day's claim, the pick, the dates.
    subscriber = Subscriber.objects.get(email=EMAIL)
    claim = DailyEmail.objects.get(subscriber=subscriber)
    assert (claim.day, claim.status, claim.attempts) == (LOCAL_DAY, "sent", 1)
    assert claim.message_id == email["message_id"]
    assert list(
        SentPlaylist.objects.values_list("playlist_id", "status", "sent_on", "daily_email")
    ) == [(playlist_id, "sent", LOCAL_DAY, claim.pk)]
    assert subscriber.last_sent_at == CONFIRMED_AT
    assert Subscription.objects.get().last_sent_on == LOCAL_DAY
    # Its "view in your browser" link is the email's web copy.
    assert f"/subscriptions/manage/{subscriber.manage_token}/emails/{claim.pk}/" in email["text"]


def test_the_hourly_run_sends_nothing_more_that_local_day_and_the_next_day_it_does(
    client, fake_mailgun, jazz
):
    with time_machine.travel(CONFIRMED_AT, tick=False):
        subscribe_and_confirm(client, fake_mailgun, "jazz")

    same_day = run_at(SAME_DAY_RUN)

    assert same_day.emails == 0
    assert len(daily_emails(fake_mailgun)) == 1

    next_day = run_at(NEXT_DAY_RUN)

    assert next_day.emails == 1
    first, second = daily_emails(fake_mailgun)
    assert second["subject"] == "Your playlists for Thursday 26 November"
    assert picked_name(first) != picked_name(second)  # the no-repeat rule holds across both


def test_spotify_down_at_confirmation_confirms_and_the_next_run_sends_the_email(
    client, fake_mailgun, fake_spotify, jazz
):
    with time_machine.travel(CONFIRMED_AT, tick=False):
        subscribe(client, "jazz")
        fake_spotify.fail_next("search", status=503)
        response = client.post(confirm_path(fake_mailgun, "jazz"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>You&rsquo;re subscribed</h1>" in page
    assert "comes with our next round of emails" in page
    assert Subscription.objects.get().status == "active"
    assert daily_emails(fake_mailgun) == []

    assert run_at(SAME_DAY_RUN).emails == 1
    [email] = daily_emails(fake_mailgun)
    assert email["subject"] == "Your playlists for Wednesday 25 November"


@pytest.mark.parametrize("outage", ["503", "no connection"])
def test_mailgun_failing_at_confirmation_confirms_and_the_next_run_sends_the_email(
    client, fake_mailgun, settings, jazz, outage
):
    with time_machine.travel(CONFIRMED_AT, tick=False):
        subscribe(client, "jazz")
        path = confirm_path(fake_mailgun, "jazz")
        if outage == "503":
            fake_mailgun.fail_next(status=503)
            response = client.post(path)
        else:
            closed_port = {**settings.ANYMAIL, "MAILGUN_API_URL": "http://127.0.0.1:9/v3"}
            with override_settings(ANYMAIL=closed_port):
                response = client.post(path)

    assert response.status_code == 200
    assert "comes with our next round of emails" in response.content.decode()
    assert Subscription.objects.get().status == "active"
    assert daily_emails(fake_mailgun) == []
    # The claim is left for the hourly run, its pick not counted as sent. No connection at all
    # is Mailgun's settings (or the network), not the subscriber's: no attempt is charged.
    claim = DailyEmail.objects.get()
    assert (claim.status, claim.attempts) == (("failed", 1) if outage == "503" else ("pending", 0))
    assert not SentPlaylist.objects.exists()

    assert run_at(SAME_DAY_RUN).emails == 1
    assert len(daily_emails(fake_mailgun)) == 1
    assert DailyEmail.objects.get().status == "sent"


def test_a_later_mood_of_a_verified_inbox_sends_nothing_at_once_and_joins_the_next_email(
    client, fake_mailgun, fake_spotify, jazz
):
    fake_spotify.set_search_results("rain", [fake_spotify.add_playlist(name="Rain on glass")])
    with time_machine.travel(CONFIRMED_AT, tick=False):
        subscribe_and_confirm(client, fake_mailgun, "jazz")
    # The next local day at 05:00, before the send hour: today's email is not due yet.
    with time_machine.travel(datetime.datetime(2026, 11, 25, 16, 0, tzinfo=UTC), tick=False):
        page = subscribe_and_confirm(client, fake_mailgun, "rain")

    assert len(daily_emails(fake_mailgun)) == 1
    assert "Your first playlist" not in page

    run_at(NEXT_DAY_RUN)

    _, next_email = daily_emails(fake_mailgun)
    assert "Rain on glass" in next_email["text"]
    assert re.search(r"Jazz for mornings \d", next_email["text"])


def test_no_welcome_while_the_complaint_breaker_is_on(client, fake_mailgun, jazz):
    EmailEvent.objects.create(
        recipient="angry@example.net",
        event_type=EmailEvent.Type.COMPLAINED,
        event_id="complaint-1",
        occurred_at=CONFIRMED_AT - datetime.timedelta(days=1),
    )
    with time_machine.travel(CONFIRMED_AT, tick=False):
        page = subscribe_and_confirm(client, fake_mailgun, "jazz")

    assert Subscription.objects.get().status == "active"
    assert daily_emails(fake_mailgun) == []
    assert "comes with our next round of emails" in page


def test_opening_the_link_sends_nothing_and_pressing_twice_sends_once(client, fake_mailgun, jazz):
    with time_machine.travel(CONFIRMED_AT, tick=False):
        subscribe(client, "jazz")
        path = confirm_path(fake_mailgun, "jazz")
        client.get(path)
        client.post(path)
        client.post(path)  # pressed twice: the second changes nothing
        client.get(path)

    assert len(daily_emails(fake_mailgun)) == 1


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_first_moods_confirmed_at_once_send_one_welcome_email(fake_mailgun, fake_spotify):
    fake_spotify.set_search_results("jazz", [fake_spotify.add_playlist(name="Jazz at once")])
    fake_spotify.set_search_results("rain", [fake_spotify.add_playlist(name="Rain at once")])
    client = Client()
    for term in ("jazz", "rain"):
        subscribe(client, term)
    paths = [confirm_path(fake_mailgun, term) for term in ("jazz", "rain")]
    barrier = threading.Barrier(len(paths))
    statuses, errors = [], []

    def press(path):
        try:
            barrier.wait(timeout=10)
            statuses.append(Client().post(path).status_code)
        except Exception as error:  # reported below: an exception in a thread is otherwise lost
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=(path,)) for path in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors, errors
    assert statuses == [200, 200]
    assert set(Subscription.objects.values_list("status", flat=True)) == {"active"}
    assert len(daily_emails(fake_mailgun)) == 1
    assert DailyEmail.objects.get().status == "sent"
