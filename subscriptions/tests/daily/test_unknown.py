"""Daily emails whose fate the run never learned: counted as sent, settled by Mailgun's events.

A run that loses Mailgun's answer (the fake drops the connection after queueing the call) leaves
its claims unknown. Mailgun's `delivered` and `failed` webhooks (the samples in webhook_samples/,
addressed to the recipient and carrying the metadata Mailgun echoes back) settle them; until
then their picks count as sent, so tomorrow's email cannot repeat them.
"""

import copy
import hashlib
import hmac
import json
import secrets
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from subscriptions.daily import daily_playlists_send
from subscriptions.models import SentPlaylist, Subscription
from subscriptions.tests.daily_support import TODAY, TOMORROW, claim_of, claims, subscribe_many

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).parent.parent / "webhook_samples"
WEBHOOK_URL = "/anymail/mailgun/tracking/"
SIGNING_KEY = "TEST_WEBHOOK_SIGNING_KEY"
DAILY_EMAILS = reverse("admin:subscriptions_dailyemail_changelist")


@pytest.fixture(autouse=True)
def _setup(fake_spotify, fake_mailgun, settings):
    anymail = {**settings.ANYMAIL, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}
    anymail.pop("WEBHOOK_SECRET", None)
    settings.ANYMAIL = anymail
    # One playlist per term: a repeat would be the only thing left to send tomorrow.
    fake_spotify.set_search_results("jazz", [fake_spotify.add_playlist(name="Only Jazz")])


def post_event(sample_name, message):
    """POST Mailgun's `sample_name` event about the delivered `message`, freshly signed."""
    payload = json.loads((SAMPLES / f"mailgun_{sample_name}.json").read_text())
    data = copy.deepcopy(payload["event-data"])
    data.update(
        id=secrets.token_urlsafe(16),
        timestamp=time.time(),
        recipient=message["to"],
        **{"user-variables": message["user_variables"]},
    )
    data.pop("tags", None)  # the daily email has none
    data["message"]["headers"].update(to=message["to"], **{"message-id": message["message_id"]})
    token, timestamp = secrets.token_hex(25), str(int(time.time()))
    signature = hmac.new(
        SIGNING_KEY.encode(), (timestamp + token).encode(), hashlib.sha256
    ).hexdigest()
    body = {
        "event-data": data,
        "signature": {"token": token, "timestamp": timestamp, "signature": signature},
    }
    client = Client(enforce_csrf_checks=True)
    return client.post(WEBHOOK_URL, json.dumps(body), content_type="application/json")


def run_that_never_hears_back(fake_mailgun):
    subscriptions = subscribe_many(3, terms=("jazz",))
    fake_mailgun.drop_next()  # queued by Mailgun, the answer lost
    summary = daily_playlists_send(today=TODAY)
    assert summary.unknown == 3 and set(claims().values()) == {"unknown"}
    return {
        s.subscriber.email: m
        for s in subscriptions
        for m in fake_mailgun.messages_to(s.subscriber.email)
    }


@pytest.fixture
def staff_client():
    user = User.objects.create_user("editor", "editor@example.com", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_dailyemail"))
    client = Client()
    client.force_login(user)
    return client


def test_delivered_and_failed_events_settle_unknown_claims(fake_mailgun):
    messages = run_that_never_hears_back(fake_mailgun)
    ann, bo, cy = sorted(messages)

    for name, address in [("delivered", ann), ("failed_permanent_bounce", bo)]:
        assert post_event(name, messages[address]).status_code == 200
    assert post_event("failed_temporary", messages[cy]).status_code == 200  # Mailgun retries

    assert claims() == {ann: "sent", bo: "failed", cy: "unknown"}
    settled = claim_of(ann)
    assert settled.message_id == messages[ann]["message_id"]
    assert SentPlaylist.objects.get(subscription__subscriber__email=ann).status == "sent"
    assert Subscription.objects.get(subscriber__email=ann).last_sent_on == TODAY
    assert "undelivered" in claim_of(bo).error
    assert not SentPlaylist.objects.filter(subscription__subscriber__email=bo).exists()
    assert SentPlaylist.objects.get(subscription__subscriber__email=cy).status == "unknown"
    # Nothing is sent again today: not the settled ones, not the one still unknown.
    assert daily_playlists_send(today=TODAY).mailgun_calls == 0
    assert len(fake_mailgun.recipients) == 3


def test_an_event_for_another_day_or_another_inbox_settles_nothing(fake_mailgun):
    messages = run_that_never_hears_back(fake_mailgun)
    ann, bo, _ = sorted(messages)
    other_day = {**messages[ann], "user_variables": {"kind": "daily", "day": "2026-11-24"}}
    not_daily = {**messages[ann], "user_variables": {"day": TODAY.isoformat()}}
    stranger = {**messages[bo], "to": "stranger@example.org"}

    for message in (other_day, not_daily, stranger):
        assert post_event("delivered", message).status_code == 200

    assert set(claims().values()) == {"unknown"}


def test_an_unknown_pick_is_not_sent_again_the_next_day(fake_mailgun):
    messages = run_that_never_hears_back(fake_mailgun)
    ann, *_ = sorted(messages)
    post_event("delivered", messages[ann])

    tomorrow = daily_playlists_send(today=TOMORROW)

    # The only playlist went out yesterday, settled or not: nobody gets it twice.
    assert (tomorrow.emails, tomorrow.no_new_playlist) == (0, 3)
    assert set(claims(TOMORROW).values()) == {"skipped"}


def test_the_admin_shows_what_is_still_unknown(fake_mailgun, staff_client):
    messages = run_that_never_hears_back(fake_mailgun)
    ann, *_ = sorted(messages)
    post_event("delivered", messages[ann])

    page = staff_client.get(DAILY_EMAILS).content.decode()
    unknown = staff_client.get(DAILY_EMAILS, {"fate": "unknown"}).content.decode()

    assert "2 daily email(s) are still unknown" in page
    assert 'href="?fate=unknown"' in page
    assert unknown.count('<td class="field-status">Unknown') == 2
    assert ann not in unknown
    local, domain = ann.split("@")
    found = staff_client.get(DAILY_EMAILS, {"q": f"{local.upper()}+daily@{domain}"})
    assert found.content.decode().count('<td class="field-status">') == 1  # any spelling
