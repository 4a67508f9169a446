"""daily_email_preview: one subscriber's email of today, built like the batch's, nothing kept."""

import datetime
import re

import pytest
from django.core import mail

from subscriptions.daily import daily_email_preview, daily_playlists_send
from subscriptions.models import DailyEmail, SentPlaylist, Subscription
from subscriptions.tests import factories
from subscriptions.tests.daily_support import (
    TODAY,
    mark_already_sent,
    outbox_messages,
    use_anymail_test_backend,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _backend(settings, fake_spotify):
    use_anymail_test_backend(settings)
    settings.MIN_PLAYLIST_TRACKS = 1


def playlists(fake_spotify, term, count):
    ids = [fake_spotify.add_playlist(name=f"{term} {n}", track_count=20) for n in range(count)]
    fake_spotify.set_search_results(term, ids)
    return ids


def test_preview_picks_what_is_new_for_each_mood_and_writes_and_sends_nothing(fake_spotify):
    jazz_ids = playlists(fake_spotify, "jazz", 3)
    rain_ids = playlists(fake_spotify, "rain", 1)
    jazz = factories.subscription(email="Ann@Example.org", term="jazz")
    factories.subscription(email="ann@example.org", term="rain")
    mark_already_sent(jazz, jazz_ids[:2])
    history = SentPlaylist.objects.count()

    message = daily_email_preview(subscriber=jazz.subscriber, today=TODAY)

    assert message.to == [jazz.subscriber.email]
    assert message.subject == "Your playlists for Wednesday 25 November"
    html = message.alternatives[0][0]
    for part in (message.body, html):
        assert f"https://open.spotify.com/playlist/{jazz_ids[2]}" in part  # the one not had
        assert f"https://open.spotify.com/playlist/{rain_ids[0]}" in part
        assert f"https://open.spotify.com/playlist/{jazz_ids[0]}" not in part
        assert "%recipient." not in part
    assert jazz.token in message.extra_headers["List-Unsubscribe"]
    assert not DailyEmail.objects.exists()
    assert SentPlaylist.objects.count() == history
    assert not Subscription.objects.filter(last_sent_on__isnull=False).exists()
    assert mail.outbox == []


def test_preview_is_the_email_the_batch_sends(fake_spotify, settings):
    # A preview's links are always the plain ones (its clicks are nobody's listening): the
    # batch's are too without click recording.
    settings.CLICK_RECORDING = False
    playlists(fake_spotify, "jazz", 1)
    playlists(fake_spotify, "rain", 1)
    jazz = factories.subscription(email="ann@example.org", term="jazz")
    factories.subscription(email="ann@example.org", term="rain")

    preview = daily_email_preview(subscriber=jazz.subscriber, today=TODAY)
    daily_playlists_send(today=TODAY)

    sent = outbox_messages()["ann@example.org"]
    # Only the "View in your browser" link differs: a sent email's web copy is its claim's,
    # which a preview has not got, so the preview links to the manage page (its past emails).
    copy = re.search(r"https://\S+/emails/\d+/", sent["text"]).group(0)
    manage = copy.rsplit("emails/", 1)[0]
    assert manage in preview.body and copy not in preview.body
    assert (preview.subject, preview.body) == (sent["subject"], sent["text"].replace(copy, manage))
    assert preview.alternatives[0][0] == sent["html"].replace(copy, manage)
    assert preview.extra_headers["List-Unsubscribe"] == sent["headers"]["List-Unsubscribe"]


def test_preview_leaves_out_stopped_moods_and_has_nothing_for_a_paused_subscriber(fake_spotify):
    playlists(fake_spotify, "jazz", 1)
    playlists(fake_spotify, "rain", 1)
    jazz = factories.subscription(email="ann@example.org", term="jazz")
    factories.subscription(email="ann@example.org", term="rain", status="unsubscribed")
    subscriber = jazz.subscriber

    message = daily_email_preview(subscriber=subscriber, today=TODAY)

    assert message.body.count("Open on the web:") == 1 and "'rain'" not in message.body
    subscriber.paused_until = TODAY + datetime.timedelta(days=3)
    subscriber.save(update_fields=["paused_until"])
    assert daily_email_preview(subscriber=subscriber, today=TODAY) is None
