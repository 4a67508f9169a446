"""The admin's "send me today's email": the staff member gets a marked copy; nothing is kept."""

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.core import mail
from django.test import Client
from django.urls import reverse

from subscriptions.admin.staff_mail import TEST_SUBJECT_PREFIX
from subscriptions.models import DailyEmail, SentPlaylist, Subscriber
from subscriptions.tests import factories

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:subscriptions_subscriber_changelist"
# What stands for every token in a test send's links: a path segment that opens no page.
LINKS_DISABLED = "links-disabled-in-a-test-send"


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


# -- who may, and what the copy carries ------------------------------------------------------


def staff_with(*codenames, email="staff@funky.example"):
    user = User.objects.create_user("staff", email, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def test_view_only_staff_are_not_offered_the_test_send_and_get_no_email():
    subscriber = factories.subscription("ann@example.org", "jazz").subscriber
    viewer = staff_with("view_subscriber")

    assert 'value="send_me_todays_email"' not in viewer.get(reverse(CHANGELIST)).content.decode()
    page = act(viewer, [subscriber]).content.decode()

    assert "No action selected." in page
    assert mail.outbox == []


def test_the_copy_carries_no_working_token_only_placeholder_links():
    ann = factories.subscription("ann@example.org", "jazz").subscriber
    factories.subscription("ann@example.org", "calm jazz")
    editor = staff_with("view_subscriber", "change_subscriber")
    secrets = [ann.manage_token, *ann.subscriptions.values_list("token", flat=True)]

    page = act(editor, [ann]).content.decode()

    assert "Its links are disabled" in page
    [message] = mail.outbox
    html = message.alternatives[0][0]
    everything = "\n".join(
        [message.subject, message.body, html, *map(str, message.extra_headers.values())]
    )
    assert not [secret for secret in secrets if secret in everything]
    assert "Links are disabled in a test send" in message.body
    assert "Links are disabled in a test send" in html
    placeholder = f"{settings.SITE_URL}/subscriptions/manage/{LINKS_DISABLED}/"
    assert placeholder in message.body and placeholder in html
    assert f"/subscriptions/unsubscribe/{LINKS_DISABLED}/" in message.body
    # The placeholders open nothing: no page of anyone's.
    assert Client().get(placeholder.removeprefix(settings.SITE_URL)).status_code == 404


def test_the_test_send_searches_no_more_moods_than_the_cap_allows(
    admin_client, admin_user, settings, fake_spotify
):
    """An inbox with more live moods than the cap (from before it) costs the admin's request
    no more Spotify searches than the cap allows, and its copy no more picks."""
    settings.MAX_MOODS_PER_SUBSCRIBER = 3
    admin_user.email = "staff@funky.example"
    admin_user.save()
    terms = [f"mood {n}" for n in range(30)]
    for term in terms:
        fake_spotify.set_search_results(
            term, [fake_spotify.add_playlist(name=f"For {term}", track_count=20)]
        )
    [subscription, *_] = factories.subscriptions_bulk(("many@example.org", t) for t in terms)
    searched_before = len(fake_spotify.calls("search"))

    act(admin_client, [subscription.subscriber])

    assert len(fake_spotify.calls("search")) - searched_before == 3
    [message] = mail.outbox
    assert message.body.count("For mood ") == 3
