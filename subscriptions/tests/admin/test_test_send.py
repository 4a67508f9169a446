"""The admin's "send me today's email": the staff member gets a marked copy; nothing is kept."""

import pytest
from django.core import mail
from django.urls import reverse

from subscriptions.admin.staff_mail import TEST_SUBJECT_PREFIX
from subscriptions.models import DailyEmail, SentPlaylist, Subscriber
from subscriptions.tests import factories

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:subscriptions_subscriber_changelist"


@pytest.fixture(autouse=True)
def _playlists(settings, fake_spotify):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MIN_PLAYLIST_TRACKS = 1
    ids = [fake_spotify.add_playlist(name=f"Jazz {n}", track_count=20) for n in range(2)]
    fake_spotify.set_search_results("jazz", ids)


def act(client, subscribers, *, follow=True):
    return client.post(
        reverse(CHANGELIST),
        {"action": "send_me_todays_email", "_selected_action": [s.pk for s in subscribers]},
        follow=follow,
    )


def test_the_staff_member_gets_the_subscribers_email_marked_as_a_test(admin_client, admin_user):
    admin_user.email = "staff@funky.example"
    admin_user.save()
    subscriber = factories.subscription("ann@example.org", "jazz").subscriber

    page = act(admin_client, [subscriber]).content.decode()

    assert "Sent ann@example.org&#x27;s email of today to staff@funky.example" in page
    [message] = mail.outbox
    assert message.to == ["staff@funky.example"]
    assert message.subject.startswith(TEST_SUBJECT_PREFIX)
    assert "Jazz " in message.body
    assert not any(name.lower().startswith("list-unsubscribe") for name in message.extra_headers)
    assert "X-Funky-Test-Send" in message.extra_headers
    # Recorded nowhere: no claim, no history, the subscriber untouched.
    assert not DailyEmail.objects.exists()
    assert not SentPlaylist.objects.exists()
    assert Subscriber.objects.get(pk=subscriber.pk).last_sent_at is None


def test_without_an_address_on_the_staff_account_nothing_is_sent(admin_client, admin_user):
    admin_user.email = ""
    admin_user.save()
    subscriber = factories.subscription("ann@example.org", "jazz").subscriber

    page = act(admin_client, [subscriber]).content.decode()

    assert "Your user account has no email address" in page
    assert mail.outbox == []


def test_one_subscriber_at_a_time(admin_client, admin_user):
    admin_user.email = "staff@funky.example"
    admin_user.save()
    two = [factories.subscription(f"{n}@example.org", "jazz").subscriber for n in ("a", "b")]

    assert "Choose exactly one subscriber." in act(admin_client, two).content.decode()
    assert mail.outbox == []


def test_a_subscriber_with_nothing_to_send_today_says_so(admin_client, admin_user):
    admin_user.email = "staff@funky.example"
    admin_user.save()
    subscriber = factories.subscription("ann@example.org", "jazz", status="unsubscribed").subscriber

    assert "would get nothing today" in act(admin_client, [subscriber]).content.decode()
    assert mail.outbox == []


def test_a_mail_service_refusal_is_a_message_not_an_error(admin_client, admin_user, settings):
    admin_user.email = "staff@funky.example"
    admin_user.save()
    settings.EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"
    settings.ANYMAIL = {
        **settings.ANYMAIL,
        "MAILGUN_API_KEY": "test-key",
        "MAILGUN_SENDER_DOMAIN": "mg.example.com",
        "MAILGUN_API_URL": "http://127.0.0.1:9/v3",
        "REQUESTS_TIMEOUT": 2,
    }
    subscriber = factories.subscription("ann@example.org", "jazz").subscriber

    response = act(admin_client, [subscriber])

    assert response.status_code == 200
    assert "The mail service refused the test send" in response.content.decode()
