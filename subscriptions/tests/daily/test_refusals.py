"""A call Mailgun refuses over one address fails only that address, a few times a day at most."""

import math
from collections import Counter

import pytest

from subscriptions.daily import daily_playlists_send
from subscriptions.models import SentPlaylist
from subscriptions.tests.daily_support import TODAY, claim_of, claims, old_rows, subscribe_many

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fakes(fake_spotify, fake_mailgun, settings):
    settings.DAILY_MAX_ATTEMPTS = 3


def test_one_refused_address_fails_alone_and_is_left_failed_after_three_runs(fake_mailgun):
    subscriptions = subscribe_many(40, terms=("jazz",))
    bad = subscriptions[17].subscriber.email
    fake_mailgun.refuse_recipient(bad)

    first = daily_playlists_send(today=TODAY)

    # The 39 others went out in this run, once each; only the refused address failed.
    assert Counter(fake_mailgun.recipients) == Counter(
        {s.subscriber.email: 1 for s in subscriptions if s.subscriber.email != bad}
    )
    assert (first.emails, first.failed, first.exit_code) == (39, 1, 1)
    assert first.mailgun_calls <= 2 * math.ceil(math.log2(40)) + 1
    states = claims()
    assert states.pop(bad) == "failed" and set(states.values()) == {"sent"}
    assert not SentPlaylist.objects.filter(subscription__subscriber__email=bad).exists()

    second, third = daily_playlists_send(today=TODAY), daily_playlists_send(today=TODAY)

    assert (second.failed, second.mailgun_calls, third.failed, third.mailgun_calls) == (1, 1, 1, 1)
    claim = claim_of(bad)
    assert (claim.status, claim.attempts) == ("failed", 3)
    assert claim.error.startswith("Gave up after 3 attempts today.")
    assert "'to' parameter is not a valid address" in claim.error

    fourth = daily_playlists_send(today=TODAY)

    assert (fourth.mailgun_calls, fourth.planned, fourth.exit_code) == (0, 0, 0)
    assert claim_of(bad).attempts == 3
    assert len(fake_mailgun.recipients) == 39


def test_a_refusal_that_is_not_about_an_address_is_not_split(fake_mailgun):
    subscribe_many(8, terms=("jazz",))
    fake_mailgun.fail_next(status=400, body={"message": "Message options exceed the limit"})

    summary = daily_playlists_send(today=TODAY)

    assert (summary.mailgun_calls, summary.failed) == (1, 8)
    assert Counter(claims().values()) == {"failed": 8}


def test_a_stored_address_anymail_cannot_send_to_fails_alone(fake_mailgun):
    subscriptions = subscribe_many(5, terms=("jazz",))
    (broken,) = old_rows(["listener-broken@"], term="jazz")  # a row from before validation

    summary = daily_playlists_send(today=TODAY)

    assert Counter(fake_mailgun.recipients) == Counter(
        {s.subscriber.email: 1 for s in subscriptions}
    )
    assert (summary.emails, summary.failed) == (5, 1)
    claim = claim_of(broken.subscriber.email)
    assert claim.status == "failed" and "cannot be mailed" in claim.error
    for _ in range(3):
        daily_playlists_send(today=TODAY)
    assert claim_of(broken.subscriber.email).attempts == 3
    assert len(fake_mailgun.recipients) == 5
