"""The daily email on the Subscriber model: who gets nothing, and one email per person."""

import datetime

import pytest

from subscriptions import services
from subscriptions.daily import daily_playlists_send
from subscriptions.models import DailyEmail, Subscriber, Subscription
from subscriptions.tests import factories
from subscriptions.tests.daily_support import TODAY, outbox_messages, use_anymail_test_backend

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _backend(settings, fake_spotify):
    use_anymail_test_backend(settings)
    settings.MIN_PLAYLIST_TRACKS = 10
    for term in ("jazz", "rainy day", "calm"):
        fake_spotify.set_search_results(
            term, [fake_spotify.add_playlist(name=f"{term} mix", track_count=20)]
        )


def test_a_subscriber_with_three_moods_gets_one_email_with_three_picks():
    for term in ("jazz", "rainy day", "calm"):
        factories.subscription("ann@example.org", term=term)

    summary = daily_playlists_send(today=TODAY, seed=1)

    messages = outbox_messages()
    assert list(messages) == ["ann@example.org"]
    assert messages["ann@example.org"]["text"].count("Open on the web:") == 3
    assert (summary.emails, summary.playlists) == (1, 3)
    ann = Subscriber.objects.get(inbox_key="ann@example.org")
    assert DailyEmail.objects.get(day=TODAY).subscriber == ann  # the claim is the person's
    assert ann.last_sent_at is not None


@pytest.mark.parametrize(
    "until, mailed", [(TODAY, False), (TODAY - datetime.timedelta(days=1), True)]
)
def test_nothing_is_sent_on_the_days_a_subscriber_paused(until, mailed):
    factories.subscription("ann@example.org", term="jazz")
    Subscriber.objects.update(paused_until=until)

    daily_playlists_send(today=TODAY, seed=1)

    assert ("ann@example.org" in outbox_messages()) is mailed


def test_stopped_subscriptions_get_nothing_while_the_others_still_come():
    factories.subscription("ann@example.org", term="jazz")
    stopped = factories.subscription("ann@example.org", term="calm")
    services.subscription_unsubscribe(subscription=stopped, via=Subscription.Via.LINK)
    factories.subscription("bo@example.org", term="calm", status="unsubscribed")

    daily_playlists_send(today=TODAY, seed=1)

    messages = outbox_messages()
    assert list(messages) == ["ann@example.org"]
    assert "jazz mix" in messages["ann@example.org"]["text"]
    assert "calm mix" not in messages["ann@example.org"]["text"]


@pytest.mark.parametrize("state", ["bounced", "complained"])
def test_a_suppressed_inbox_gets_nothing_under_any_spelling(state):
    factories.subscription("Ann@example.org", term="jazz")
    factories.subscription("ann+music@example.org", term="calm")
    factories.subscriber("ann@example.org", state=state)
    factories.subscription("bo@example.org", term="jazz")

    daily_playlists_send(today=TODAY, seed=1)

    assert list(outbox_messages()) == ["bo@example.org"]
    assert not DailyEmail.objects.filter(subscriber__inbox_key="ann@example.org").exists()


def test_the_email_goes_to_the_subscribers_address_not_a_subscriptions_copy():
    jazz = factories.subscription("ann@example.org", term="jazz")
    factories.subscription("ANN@example.org", term="calm")
    subscriber = jazz.subscriber
    subscriber.email = "Ann@example.org"  # as they spell it now, on their manage page
    subscriber.save(update_fields=["email"])

    summary = daily_playlists_send(today=TODAY)

    assert list(outbox_messages()) == ["Ann@example.org"]
    assert (summary.emails, summary.playlists) == (1, 2)
