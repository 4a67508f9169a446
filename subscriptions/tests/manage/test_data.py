"""The manage page's data actions: download my data, and erase me (with what a suppressed
inbox leaves behind)."""

import datetime
import json
import re
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from subscriptions import services
from subscriptions.delivery import events
from subscriptions.manage import services as manage
from subscriptions.models import (
    DailyEmail,
    EmailEvent,
    SentPlaylist,
    SubscribeEmail,
    Subscriber,
    Subscription,
    SuppressedInbox,
)
from subscriptions.tests.manage.test_pages import browser, manage_url

Status = Subscription.Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def listener(make_subscription):
    """An inbox with two moods, a playlist sent, a day's claim, a delivery event and a
    subscribe-form email, some recorded under other spellings before it had a subscriber."""
    happy = make_subscription(email="Listener@example.com", term="happy")
    subscriber = happy.subscriber
    make_subscription(email="listener@example.com", term="calm", status=Status.PENDING)
    claim = DailyEmail.objects.create(subscriber=subscriber, day=datetime.date(2026, 11, 30))
    SentPlaylist.objects.create(
        subscription=happy,
        daily_email=claim,
        playlist_id="pl1",
        name="Sunny Day",
        web_url="https://open.spotify.com/playlist/pl1",
        uri="spotify:playlist:pl1",
        sent_on=datetime.date(2026, 11, 30),
    )
    EmailEvent.objects.create(
        recipient="listener@example.com",
        event_type=EmailEvent.Type.UNSUBSCRIBED,
        event_id="evt-1",
        occurred_at=timezone.now(),
        reason="Unsubscribed at Mailgun",
    )
    # From while the inbox had no subscriber row: the address Mailgun reported, and no more.
    EmailEvent.objects.filter(event_id="evt-1").update(subscriber=None)
    SubscribeEmail.objects.create(subscriber=subscriber, kind="confirmation")
    other = make_subscription(email="someone-else@example.com", term="happy")
    return subscriber, other


def rows_of_every_model():
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_app_config("subscriptions").get_models()
    }


# -- download ----------------------------------------------------------------------------------


def test_download_is_a_json_attachment_of_everything_about_the_inbox(listener):
    subscriber, other = listener
    before = rows_of_every_model()

    response = browser(manage_url(subscriber)).post_form({"action": "export"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Referrer-Policy"] == "same-origin"
    data = json.loads(response.content)
    assert data["subscriber"]["email"] == "Listener@example.com"
    assert data["subscriber"]["delivery_state"] == "active"
    assert sorted((s["term"], s["status"]) for s in data["subscriptions"]) == [
        ("calm", "pending"),
        ("happy", "active"),
    ]
    [sent] = data["history"]
    assert sent == {
        "sent_on": "2026-11-30",
        "term": "happy",
        "playlist_id": "pl1",
        "name": "Sunny Day",
        "web_url": "https://open.spotify.com/playlist/pl1",
        "uri": "spotify:playlist:pl1",
        "status": "sent",
    }
    assert [claim["day"] for claim in data["daily_emails"]] == ["2026-11-30"]
    [event] = data["delivery_events"]
    assert event["event"] == "unsubscribed" and event["reason"] == "Unsubscribed at Mailgun"
    text = response.content.decode()
    assert "someone-else" not in text
    # The file holds data, not the keys to the pages.
    assert subscriber.manage_token not in text
    assert all(s.token not in text for s in Subscription.objects.all())
    assert rows_of_every_model() == before


def test_download_by_get_is_impossible(client, listener):
    subscriber, _ = listener
    response = client.get(manage_url(subscriber), {"action": "export"})
    assert response["Content-Type"].startswith("text/html")
    assert "Content-Disposition" not in response


# -- erase -------------------------------------------------------------------------------------


def test_erase_needs_the_box_ticked(listener):
    subscriber, _ = listener
    before = rows_of_every_model()
    response = browser(manage_url(subscriber)).post_form({"action": "erase"})
    assert response.status_code == 400
    assert "Tick the box" in response.content.decode()
    assert rows_of_every_model() == before


def test_erase_removes_every_row_about_the_inbox_and_nothing_else(client, listener):
    subscriber, other = listener
    page = browser(manage_url(subscriber))
    html = page.get(manage_url(subscriber)).content.decode()
    assert "Had our emails to this address bounced or been marked as spam" in html

    response = page.post_form({"action": "erase", "confirm": "on"})

    assert response.status_code == 200
    assert "Your data is erased" in response.content.decode()
    assert "one-way fingerprint" not in response.content.decode()
    counts = rows_of_every_model()
    # What is left is the other inbox's: its subscriber and its subscription.
    assert counts == {
        **dict.fromkeys(counts, 0),
        "subscriptions.Subscriber": 1,
        "subscriptions.Subscription": 1,
    }
    assert Subscription.objects.get() == other
    assert client.get(manage_url(subscriber)).status_code == 404


@pytest.mark.parametrize("event_type", [EmailEvent.Type.BOUNCED, EmailEvent.Type.COMPLAINED])
def test_a_suppressed_inbox_leaves_only_a_one_way_hash_that_blocks_any_new_subscribe(
    listener, event_type, fake_mailgun
):
    subscriber, other = listener
    events.email_event_record(
        email="LISTENER@example.com",
        event_type=event_type,
        event_id="evt-suppression",
        occurred_at=timezone.now(),
    )
    page = browser(manage_url(subscriber))
    assert (
        "we keep one thing: a one-way fingerprint"
        in page.get(manage_url(subscriber)).content.decode()
    )

    response = page.post_form({"action": "erase", "confirm": "on"})

    assert "we keep only a one-way fingerprint" in response.content.decode()
    counts = rows_of_every_model()
    assert counts == {
        **dict.fromkeys(counts, 0),
        "subscriptions.Subscriber": 1,
        "subscriptions.Subscription": 1,
        "subscriptions.SuppressedInbox": 1,
    }
    [kept] = SuppressedInbox.objects.values_list("digest", "reason")
    assert kept[1] == event_type
    assert re.fullmatch(r"[0-9a-f]{64}", kept[0])

    # Any spelling of the inbox: nothing is created and nothing delivered.
    outcome = services.subscription_request(email="LISTENER+again@Example.com", term="happy")
    assert outcome is services.SubscribeOutcome.SUPPRESSED
    assert not Subscription.objects.filter(subscriber__inbox_key=subscriber.inbox_key).exists()
    assert fake_mailgun.messages_to("listener+again@example.com") == []
    assert fake_mailgun.messages_to("listener@example.com") == []
    assert not mail.outbox


def test_a_new_subscribe_after_a_plain_erase_works_as_for_anyone(client, listener):
    subscriber, _ = listener
    browser(manage_url(subscriber)).post_form({"action": "erase", "confirm": "on"})
    outcome = services.subscription_request(email="listener@example.com", term="happy")
    assert outcome is services.SubscribeOutcome.CREATED
    assert len(mail.outbox) == 1


def test_erase_reads_the_inbox_state_as_it_is_when_it_runs(listener):
    subscriber, _ = listener  # as the page read it: active
    events.email_event_record(
        email="listener@example.com",
        event_type=EmailEvent.Type.COMPLAINED,
        event_id="evt-meanwhile",
        occurred_at=timezone.now(),
    )

    assert manage.subscriber_erase(subscriber=subscriber) is True
    assert SuppressedInbox.objects.get().reason == "complained"


def test_the_download_and_the_page_name_no_member_of_staff(listener):
    """Staff clearing a bounce is the person's business; who among staff did it is not."""
    subscriber, _ = listener
    events.email_event_record(
        email="listener@example.com",
        event_type=EmailEvent.Type.BOUNCED,
        event_id="evt-bounce",
        occurred_at=timezone.now(),
    )
    staff = Client()
    staff.force_login(User.objects.create_superuser("kim-from-support", "kim@funky.example"))
    staff.post(
        reverse("admin:subscriptions_subscriber_changelist"),
        {"action": "clear_suppression", "_selected_action": [subscriber.pk]},
    )
    cleared = EmailEvent.objects.get(event_type=EmailEvent.Type.SUPPRESSION_CLEARED)
    assert cleared.staff_user.username == "kim-from-support"  # the admin still knows

    page = browser(manage_url(subscriber))
    response = page.post_form({"action": "export"})

    data = json.loads(response.content)
    assert data["subscriber"]["delivery_state_reason"] == "Cleared by staff"
    assert [e["reason"] for e in data["delivery_events"] if e["event"] == "cleared"] == [
        "Cleared by staff"
    ]
    assert "kim" not in response.content.decode()
    assert "kim" not in page.get(manage_url(subscriber)).content.decode()


class _FormFields(HTMLParser):
    """The hidden inputs of an admin change page: its inline management forms and row ids."""

    def __init__(self):
        super().__init__()
        self.values = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") == "hidden" and attrs.get("name"):
            self.values[attrs["name"]] = attrs.get("value") or ""


def admin_edit(staff, url, **changes):
    """Save an admin change form as a person would: the page's own fields, some changed."""
    fields = _FormFields()
    fields.feed(staff.get(url).content.decode())
    fields.values.pop("csrfmiddlewaretoken", None)
    response = staff.post(url, {**fields.values, **changes})
    assert response.status_code == 302, response.content.decode()


def test_erase_leaves_nothing_in_the_admin_log_that_names_the_person(listener):
    subscriber, other = listener
    happy = subscriber.subscriptions.get(term="happy")
    staff = Client()
    admin_user = User.objects.create_superuser("kim", "kim@funky.example")
    staff.force_login(admin_user)
    admin_edit(
        staff,
        reverse("admin:subscriptions_subscriber_change", args=[subscriber.pk]),
        paused_until="2027-01-31",
    )
    admin_edit(
        staff,
        reverse("admin:subscriptions_subscription_change", args=[happy.pk]),
        email=subscriber.email,
        term="happy songs",
        status="active",
    )
    admin_edit(
        staff,
        reverse("admin:subscriptions_subscription_change", args=[other.pk]),
        email=other.subscriber.email,
        term="happy songs",
        status="active",
    )
    mine = [
        (ContentType.objects.get_for_model(Subscriber), str(subscriber.pk)),
        (ContentType.objects.get_for_model(Subscription), str(happy.pk)),
    ]

    def logged():
        return [(entry.content_type, entry.object_id) for entry in LogEntry.objects.all()]

    assert set(mine) <= set(logged())
    assert LogEntry.objects.filter(object_repr__icontains="listener@example.com").exists()

    browser(manage_url(subscriber)).post_form({"action": "erase", "confirm": "on"})

    assert not set(mine) & set(logged())
    for entry in LogEntry.objects.all():
        text = f"{entry.object_id} {entry.object_repr} {entry.change_message}".lower()
        assert "listener@example.com" not in text
    # What staff did stays on record (who and when), with nothing about whom.
    assert LogEntry.objects.filter(user=admin_user).count() == 3
    recent_actions = staff.get(reverse("admin:index")).content.decode()
    assert "(erased)" in recent_actions and "listener@example.com" not in recent_actions
    assert LogEntry.objects.filter(object_repr__icontains="someone-else@example.com").exists()
