"""The models' invariants, as the database enforces them."""

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from subscriptions.models import EmailEvent, SentPlaylist, Subscriber, Subscription

Status = Subscription.Status

pytestmark = pytest.mark.django_db


def of(email):
    return Subscriber.for_address(email)


def test_save_normalises_email_domain_and_term():
    subscription = Subscription.objects.create(
        subscriber=of(" Mixed.Case@EXAMPLE.Com "), term=" a   b "
    )
    subscription.refresh_from_db()
    assert subscription.subscriber.email == "Mixed.Case@example.com"
    assert subscription.term == "a b"


def test_tokens_are_long_random_and_unique():
    tokens = {
        Subscription.objects.create(subscriber=of(f"p{n}@example.com"), term="x").token
        for n in range(20)
    }
    assert len(tokens) == 20
    assert all(len(token) >= 43 for token in tokens)  # 32 random bytes, base64url


@pytest.mark.parametrize("second_status", [Status.PENDING, Status.ACTIVE])
def test_one_live_subscription_per_email_and_term_whatever_the_case(second_status):
    Subscription.objects.create(
        subscriber=of("listener@example.com"), term="Happy", status=Status.ACTIVE
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscription.objects.create(
            subscriber=of("LISTENER@example.com"), term="happy", status=second_status
        )


def test_ended_subscriptions_do_not_block_a_new_live_one():
    for _ in range(2):
        Subscription.objects.create(
            subscriber=of("listener@example.com"), term="happy", status=Status.UNSUBSCRIBED
        )
    Subscription.objects.create(
        subscriber=of("listener@example.com"), term="happy", status=Status.PENDING
    )
    assert Subscription.objects.count() == 3


def test_empty_term_is_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscription.objects.create(subscriber=of("listener@example.com"), term="   ")


def test_a_playlist_is_recorded_once_per_subscription():
    subscription = Subscription.objects.create(subscriber=of("listener@example.com"), term="happy")
    fields = {
        "playlist_id": "abc",
        "name": "Happy hits",
        "web_url": "https://open.spotify.com/playlist/abc",
        "uri": "spotify:playlist:abc",
    }
    SentPlaylist.objects.create(
        subscription=subscription, sent_on=datetime.date(2025, 1, 1), **fields
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        SentPlaylist.objects.create(
            subscription=subscription, sent_on=datetime.date(2025, 1, 2), **fields
        )


def test_an_email_event_is_recorded_once():
    fields = {"recipient": "a@example.com", "event_type": "bounced", "occurred_at": timezone.now()}
    EmailEvent.objects.create(event_id="evt-1", **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        EmailEvent.objects.create(event_id="evt-1", **fields)


def test_str_reads_well_in_the_admin():
    listener = Subscriber(email="listener@example.com")
    subscription = Subscription(subscriber=listener, term="happy", status=Status.PENDING)
    assert str(subscription) == "listener@example.com — “happy” (pending confirmation)"


def test_spellings_of_one_inbox_are_one_subscriber_spelled_as_typed_first():
    first = Subscription.objects.create(subscriber=of("Ann@example.org"), term="jazz")
    second = Subscription.objects.create(subscriber=of("ann+music@example.org"), term="calm")
    assert first.subscriber == second.subscriber
    assert first.subscriber.email == "Ann@example.org"


def test_subscriber_tokens_are_long_and_unique_and_pause_covers_its_last_day():
    ann = Subscriber.for_address("ann@example.org")
    bo = Subscriber.for_address("bo@example.org")
    assert ann.manage_token != bo.manage_token and len(ann.manage_token) >= 43  # 256 bits
    assert Subscriber.for_address("ANN+x@example.org") == ann
    ann.paused_until = datetime.date(2026, 12, 24)
    assert ann.is_paused(datetime.date(2026, 12, 24))
    assert not ann.is_paused(datetime.date(2026, 12, 25))
    assert str(ann) == "ann@example.org" and not ann.is_suppressed


def test_a_subscriber_gets_the_sites_zone_and_seven_oclock_daily_by_default(settings):
    subscriber = Subscriber.objects.create(email="new@example.org")
    subscriber.refresh_from_db()
    assert (subscriber.time_zone, subscriber.send_hour, subscriber.frequency) == (
        settings.TIME_ZONE,
        7,
        "daily",
    )


@pytest.mark.parametrize(
    "field, value",
    [("time_zone", "Mars/Olympus"), ("time_zone", ""), ("send_hour", 24), ("weekly_day", 7)],
)
def test_a_schedule_outside_the_known_zones_and_hours_is_refused(field, value):
    from django.core.exceptions import ValidationError

    subscriber = Subscriber(email="odd@example.org", **{field: value})
    subscriber.normalize_fields()
    with pytest.raises(ValidationError) as raised:
        subscriber.full_clean()
    assert field in raised.value.message_dict


@pytest.mark.parametrize("field, value", [("send_hour", 24), ("weekly_day", 9)])
def test_the_database_refuses_an_hour_or_weekday_out_of_range(field, value):
    subscriber = Subscriber.objects.create(email="range@example.org")
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscriber.objects.filter(pk=subscriber.pk).update(**{field: value})
