"""Batches over real HTTP to the fake Mailgun: chunking, errors, timeouts, what gets recorded."""

import json
from collections import Counter

import pytest

from subscriptions.daily import MailgunUnusable, daily_playlists_send
from subscriptions.models import DailyEmail, SentPlaylist, Subscription
from subscriptions.tests.daily_support import TODAY, claims, subscribe_many

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fakes(fake_spotify, fake_mailgun):
    pass


def addresses_of(send):
    return [address.lower() for address in send.recipients]


def test_2500_addresses_go_out_in_three_calls(fake_mailgun):
    subscriptions = subscribe_many(2500, terms=("jazz", "rain", "focus"))

    summary = daily_playlists_send(today=TODAY, batch_size=1000)

    assert [len(send.recipients) for send in fake_mailgun.sends] == [1000, 1000, 500]
    assert Counter(fake_mailgun.recipients) == Counter(
        {s.subscriber.email: 1 for s in subscriptions}
    )
    assert all(send.is_batch for send in fake_mailgun.sends)
    assert summary.emails == 2500 and summary.batches == 3 and summary.mailgun_calls == 3
    assert summary.exit_code == 0
    assert set(claims().values()) == {"sent"}
    assert SentPlaylist.objects.count() == 2500
    assert not Subscription.objects.exclude(last_sent_on=TODAY).exists()
    sent_ids = dict(DailyEmail.objects.values_list("subscriber__inbox_key", "message_id"))
    for send in fake_mailgun.sends:
        assert {sent_ids[address] for address in addresses_of(send)} == {send.message_id}


def test_each_recipient_gets_only_their_own_message(fake_mailgun, fake_spotify):
    playlist = fake_spotify.add_playlist(name="Rock <b>&</b> Roll", track_count=40)
    fake_spotify.set_search_results("rock", [playlist])
    ann, bo = subscribe_many(2, terms=("rock",))

    daily_playlists_send(today=TODAY)

    (message,) = fake_mailgun.messages_to(ann.subscriber.email)
    assert message["to"] == ann.subscriber.email
    assert message["subject"] == "Your playlists for Wednesday 25 November"
    assert "Rock &lt;b&gt;&amp;&lt;/b&gt; Roll" in message["html"]
    assert "Rock <b>&</b> Roll" in message["text"]
    assert f"/subscriptions/unsubscribe/{ann.token}/" in message["text"]
    assert bo.token not in message["text"] + message["html"]
    assert message["headers"]["List-Unsubscribe"] == (
        f"<https://funky.example.com/subscriptions/unsubscribe/{ann.token}/>"
    )
    assert message["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["user_variables"] == {
        "kind": "daily",
        "day": "2026-11-25",
        "subscription_ids": str(ann.pk),
    }
    assert message["tags"] == []


def test_mailgun_error_on_batch_two_records_one_and_three_and_the_next_run_retries(fake_mailgun):
    subscribe_many(2500, terms=("jazz", "rain"))
    fake_mailgun.fail_next(status=500, after=1)

    first = daily_playlists_send(today=TODAY, batch_size=1000)

    assert [r["outcome"] for r in fake_mailgun.requests] == [200, 500, 200]
    assert (first.emails, first.failed, first.unknown, first.exit_code) == (1500, 1000, 0, 1)
    refused = {address.lower() for address in fake_mailgun.requests[1]["recipients"]}
    states = claims()
    assert {states[address] for address in refused} == {"failed"}
    assert Counter(states.values()) == {"sent": 1500, "failed": 1000}
    assert not SentPlaylist.objects.filter(subscription__subscriber__email__in=refused).exists()
    assert not Subscription.objects.filter(
        subscriber__email__in=refused, last_sent_on=TODAY
    ).exists()
    assert "failed 1000; unknown 0" in first.line()

    second = daily_playlists_send(today=TODAY, batch_size=1000)

    assert (second.emails, second.failed, second.mailgun_calls) == (1000, 0, 1)
    assert set(addresses_of(fake_mailgun.sends[-1])) == refused
    assert Counter(fake_mailgun.recipients).most_common(1)[0][1] == 1
    assert set(claims().values()) == {"sent"}
    assert (
        DailyEmail.objects.filter(subscriber__inbox_key__in=refused).values_list(
            "attempts", flat=True
        )[0]
        == 2
    )


def test_timeout_is_unknown_and_never_resent(fake_mailgun, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "REQUESTS_TIMEOUT": (2, 0.3)}
    subscribe_many(30, terms=("jazz",))
    fake_mailgun.hang_next(seconds=2, after=1)

    first = daily_playlists_send(today=TODAY, batch_size=10)

    assert (first.emails, first.unknown, first.failed, first.exit_code) == (20, 10, 0, 1)
    hung = {a.lower() for a in fake_mailgun.requests[1]["recipients"]}
    assert {claims()[address] for address in hung} == {"unknown"}
    assert (
        "Read timed out" in DailyEmail.objects.filter(subscriber__inbox_key__in=hung).first().error
    )
    # Their picks stay as unknown history: they may be in the inbox, so they count as sent.
    held = SentPlaylist.objects.filter(subscription__subscriber__email__in=hung)
    assert set(held.values_list("status", flat=True)) == {"unknown"} and held.count() == 10

    second = daily_playlists_send(today=TODAY, batch_size=10)

    assert (second.emails, second.mailgun_calls) == (0, 0)
    assert Counter(fake_mailgun.recipients).most_common(1)[0][1] == 1  # queued once, never again


def test_connection_dropped_after_sending_is_unknown(fake_mailgun):
    subscribe_many(5, terms=("jazz",))
    fake_mailgun.drop_next()

    summary = daily_playlists_send(today=TODAY)

    assert (summary.unknown, summary.failed) == (5, 0)
    assert set(claims().values()) == {"unknown"}
    assert daily_playlists_send(today=TODAY).mailgun_calls == 0


def test_no_connection_at_all_stops_the_run_and_charges_nothing(
    closed_port_mailgun, fake_mailgun, settings
):
    subscribe_many(5, terms=("jazz",))
    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_API_URL": "http://127.0.0.1:9/v3"}

    with pytest.raises(MailgunUnusable, match="Could not connect to Mailgun") as caught:
        daily_playlists_send(today=TODAY)

    assert (caught.value.summary.failed, caught.value.summary.unknown) == (0, 0)
    assert set(claims().values()) == {"pending"}
    assert set(DailyEmail.objects.values_list("attempts", flat=True)) == {0}

    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_API_URL": fake_mailgun.api_url}
    retried = daily_playlists_send(today=TODAY)

    assert retried.emails == 5 and set(claims().values()) == {"sent"}


def test_rate_limited_batch_is_released_for_a_later_run(fake_mailgun):
    subscribe_many(4, terms=("jazz",))
    fake_mailgun.fail_next(status=429)

    assert daily_playlists_send(today=TODAY).failed == 4
    assert daily_playlists_send(today=TODAY).emails == 4
    assert Counter(fake_mailgun.recipients).most_common(1)[0][1] == 1


def test_a_wrong_api_key_stops_the_run_after_one_call(fake_mailgun, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_API_KEY": "wrong"}
    subscribe_many(30, terms=("jazz",))

    with pytest.raises(MailgunUnusable, match="401") as caught:
        daily_playlists_send(today=TODAY, batch_size=10)

    summary = caught.value.summary
    assert summary.mailgun_calls == 1 and summary.failed == 0
    assert "401" in summary.stopped_early
    assert Counter(claims().values()) == {"pending": 30}  # no attempt charged to anyone


def body_values(send, address):
    """What one recipient's message adds to the call: its values for the layout."""
    values = send.recipient_variables[address]
    return {key: value for key, value in values.items() if not key.startswith(("h:", "v:"))}


def test_the_layout_goes_once_per_call_and_each_address_adds_about_a_kilobyte_per_mood(
    fake_mailgun,
):
    subscribe_many(3, terms=("jazz",))
    subscribe_many(3, terms=("rainy day",))  # the same three addresses: two moods each
    subscribe_many(3, terms=("jazz",), start=3)

    daily_playlists_send(today=TODAY)

    (send,) = fake_mailgun.sends
    assert "You should listen to:" in send.first("html")
    for message in send.messages():
        moods = message["text"].count("Open on the web:")
        values = body_values(send, message["to"])
        assert moods in {1, 2}
        # About 1 KB a mood as anymail sends it (JSON, non-ASCII escaped): its text and HTML
        # blocks, with the fake catalog's longest names (~100 characters) among them.
        assert len(json.dumps(values).encode()) <= 1100 * moods, values
        assert "You should listen to:" not in "".join(values.values())  # the layout: once
        if moods == 1:
            assert "<" not in "".join(values.values())  # one mood: values only, no markup


def test_one_call_per_1000_addresses_whatever_their_numbers_of_moods(fake_mailgun):
    subscribe_many(1200, terms=("jazz",))
    subscribe_many(200, terms=("rainy day",))  # the first 200 have two moods: mixed in batch 1

    summary = daily_playlists_send(today=TODAY, batch_size=1000)

    assert summary.mailgun_calls == 2 and len(fake_mailgun.sends) == 2
    assert (summary.emails, summary.playlists) == (1200, 1400)
    assert Counter(fake_mailgun.recipients) == Counter(
        {f"listener{number:05d}@example.org": 1 for number in range(1200)}
    )
    moods = Counter(
        message["text"].count("Open on the web:")
        for send in fake_mailgun.sends
        for message in send.messages()
    )
    assert moods == {1: 1000, 2: 200}


def test_an_answer_mailgun_queued_but_anymail_cannot_read_is_unknown(fake_mailgun):
    subscribe_many(2, terms=("jazz",))
    fake_mailgun.fail_next(status=200, body={"id": "<x@mg.example.com>", "message": "Odd"})

    summary = daily_playlists_send(today=TODAY)

    assert (summary.unknown, summary.failed) == (2, 0)
    assert set(claims().values()) == {"unknown"}


def test_calls_not_made_after_a_wrong_key_leave_their_addresses_for_a_later_run(
    fake_mailgun, settings, make_subscription
):
    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_API_KEY": "wrong"}
    make_subscription(email="ann@example.org", term="jazz")
    make_subscription(email="ann@example.org", term="rain")
    make_subscription(email="bo@example.org", term="jazz")

    with pytest.raises(MailgunUnusable) as caught:
        daily_playlists_send(today=TODAY)

    # One call for both addresses (two numbers of picks); its 401 stops the run.
    assert caught.value.summary.mailgun_calls == 1
    assert claims() == {"ann@example.org": "pending", "bo@example.org": "pending"}
    assert len(fake_mailgun.requests) == 1
