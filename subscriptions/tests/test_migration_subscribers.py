"""Today's rows become one Subscriber per inbox, and links already in inboxes keep working."""

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

BEFORE = ("subscriptions", "0009_daily_email_inbox_keys")
AFTER = ("subscriptions", "0012_subscriber_required")
DAY = datetime.date(2026, 11, 25)


@pytest.fixture
def old_rows(migrator):
    """Rows as the code before Subscriber stored them."""
    state = migrator.apply_initial_migration(BEFORE)
    Subscription = state.apps.get_model("subscriptions", "Subscription")
    SentPlaylist = state.apps.get_model("subscriptions", "SentPlaylist")
    DailyEmail = state.apps.get_model("subscriptions", "DailyEmail")
    EmailEvent = state.apps.get_model("subscriptions", "EmailEvent")
    SubscribeEmail = state.apps.get_model("subscriptions", "SubscribeEmail")
    now = timezone.now()
    long_ago = now - datetime.timedelta(days=30)

    def make(email, key, term, status, **extra):
        if status in ("active", "bounced", "complained"):
            extra.setdefault("confirmed_at", long_ago)
        extra.setdefault("created_at", long_ago)
        return Subscription.objects.create(
            email=email, inbox_key=key, term=term, status=status, **extra
        )

    rows = {
        # One inbox in three spellings; one of them complained.
        "ann_happy": make("Ann@example.org", "ann@example.org", "happy", "active"),
        "ann_sad": make("ann+daily@example.org", "ann@example.org", "sad", "complained"),
        "ann_calm": make("ANN@Example.org", "ann@example.org", "calm", "pending"),
        # A bounced inbox, one row unsubscribed before it bounced.
        "bo_rain": make("bo@example.org", "bo@example.org", "rain", "bounced"),
        "bo_sun": make(
            "bo@example.org", "bo@example.org", "sun", "bounced", unsubscribed_at=long_ago
        ),
        # A plain listener, pending and active.
        "cy_jazz": make("cy@example.org", "cy@example.org", "jazz", "pending", created_at=now),
        "cy_soul": make("cy@example.org", "cy@example.org", "soul", "active"),
    }
    for name, key in (("happy", "ann_happy"), ("rain", "bo_rain")):
        SentPlaylist.objects.create(
            subscription=rows[key],
            playlist_id=f"pl-{name}",
            name=f"{name} mix",
            web_url=f"https://open.spotify.com/playlist/pl-{name}",
            uri=f"spotify:playlist:pl-{name}",
            sent_on=DAY,
        )
    DailyEmail.objects.create(email="ann@example.org", day=DAY, status="sent")
    DailyEmail.objects.create(email="ann+daily@example.org", day=DAY, status="sent")
    DailyEmail.objects.create(email="cy@example.org", day=DAY, status="unknown")
    EmailEvent.objects.create(
        email="ann+daily@example.org",
        inbox_key="ann@example.org",
        event_type="complained",
        event_id="evt-ann",
        occurred_at=long_ago,
        reason="marked as spam",
    )
    EmailEvent.objects.create(
        email="gone@example.org",
        inbox_key="gone@example.org",
        event_type="complained",
        event_id="evt-gone",
        occurred_at=long_ago,
    )
    # A complaint staff cleared: no suppression.
    EmailEvent.objects.create(
        email="cy@example.org",
        inbox_key="cy@example.org",
        event_type="complained",
        event_id="evt-cy",
        occurred_at=long_ago,
    )
    EmailEvent.objects.create(
        email="cy@example.org",
        inbox_key="cy@example.org",
        event_type="cleared",
        event_id="evt-cy-cleared",
        occurred_at=now,
    )
    SubscribeEmail.objects.create(inbox_key="cy@example.org", kind="confirmation")
    return {name: (row.pk, row.token) for name, row in rows.items()}


def test_each_inbox_becomes_one_subscriber_with_its_suppression(migrator, old_rows):
    state = migrator.apply_tested_migration(AFTER)
    Subscriber = state.apps.get_model("subscriptions", "Subscriber")
    Subscription = state.apps.get_model("subscriptions", "Subscription")

    subscribers = {s.inbox_key: s for s in Subscriber.objects.all()}
    assert {key: s.state for key, s in subscribers.items()} == {
        "ann@example.org": "complained",
        "bo@example.org": "bounced",
        "cy@example.org": "active",
        "gone@example.org": "complained",  # known only from its complaint: still never mailed
    }
    assert subscribers["ann@example.org"].state_reason == "marked as spam"
    assert len({s.manage_token for s in subscribers.values()}) == 4

    # Every subscription survives with its token, under its inbox's one subscriber.
    rows = {name: Subscription.objects.get(pk=pk) for name, (pk, _) in old_rows.items()}
    assert {name: row.token for name, row in rows.items()} == {
        name: token for name, (_, token) in old_rows.items()
    }
    assert {name: row.subscriber.inbox_key for name, row in rows.items()} == {
        "ann_happy": "ann@example.org",
        "ann_sad": "ann@example.org",
        "ann_calm": "ann@example.org",
        "bo_rain": "bo@example.org",
        "bo_sun": "bo@example.org",
        "cy_jazz": "cy@example.org",
        "cy_soul": "cy@example.org",
    }
    # The stop moved to the subscriber; each subscription says what the person last chose.
    assert {name: row.status for name, row in rows.items()} == {
        "ann_happy": "active",
        "ann_sad": "active",
        "ann_calm": "pending",
        "bo_rain": "active",
        "bo_sun": "unsubscribed",
        "cy_jazz": "pending",
        "cy_soul": "active",
    }


def test_history_claims_events_and_limits_point_at_the_subscriber(migrator, old_rows):
    state = migrator.apply_tested_migration(AFTER)
    get = state.apps.get_model
    SentPlaylist, DailyEmail = (
        get("subscriptions", "SentPlaylist"),
        get("subscriptions", "DailyEmail"),
    )
    EmailEvent, SubscribeEmail = (
        get("subscriptions", "EmailEvent"),
        get("subscriptions", "SubscribeEmail"),
    )

    history = {p.playlist_id: p.subscription_id for p in SentPlaylist.objects.all()}
    assert history == {"pl-happy": old_rows["ann_happy"][0], "pl-rain": old_rows["bo_rain"][0]}
    claims = {
        (c.email, c.day): c.subscriber and c.subscriber.inbox_key for c in DailyEmail.objects.all()
    }
    assert claims == {
        ("ann@example.org", DAY): "ann@example.org",
        ("ann+daily@example.org", DAY): None,  # the inbox already has the day's claim
        ("cy@example.org", DAY): "cy@example.org",
    }
    assert {e.event_id: e.subscriber.inbox_key for e in EmailEvent.objects.all()} == {
        "evt-ann": "ann@example.org",
        "evt-gone": "gone@example.org",
        "evt-cy": "cy@example.org",
        "evt-cy-cleared": "cy@example.org",
    }
    assert SubscribeEmail.objects.get().subscriber.inbox_key == "cy@example.org"
    # The database now refuses a second claim, or a second live term, for one subscriber.
    ann = get("subscriptions", "Subscriber").objects.get(inbox_key="ann@example.org")
    with pytest.raises(IntegrityError), transaction.atomic():
        DailyEmail.objects.create(email="x@example.org", subscriber=ann, day=DAY)
    with pytest.raises(IntegrityError), transaction.atomic():
        get("subscriptions", "Subscription").objects.create(
            subscriber=ann, email="other@example.org", inbox_key="other@example.org", term="HAPPY"
        )


def test_backward_gives_live_rows_of_a_suppressed_inbox_their_stop_again(migrator, old_rows):
    migrator.apply_tested_migration(AFTER)
    state = migrator.apply_tested_migration(BEFORE)
    Subscription = state.apps.get_model("subscriptions", "Subscription")
    statuses = {name: Subscription.objects.get(pk=pk).status for name, (pk, _) in old_rows.items()}
    assert statuses == {
        "ann_happy": "complained",
        "ann_sad": "complained",
        "ann_calm": "complained",
        "bo_rain": "bounced",
        "bo_sun": "unsubscribed",
        "cy_jazz": "pending",
        "cy_soul": "active",
    }


# -- links minted under the old schema ---------------------------------------------------------


def _latest():
    """The app's newest migration: the views below run on today's models, not 0012's."""
    from django.db.migrations.loader import MigrationLoader

    return MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes("subscriptions")[0]


def test_old_tokens_still_confirm_and_unsubscribe_by_page_and_one_click(migrator, old_rows):
    migrator.apply_tested_migration(_latest())
    from subscriptions.models import Subscription

    client = Client(enforce_csrf_checks=True)
    confirm = reverse("subscriptions:confirm", args=[old_rows["cy_jazz"][1]])
    assert client.get(confirm).status_code == 200
    csrf = Client()  # the page forms (CSRF is not what this test is about)
    assert csrf.post(confirm).status_code == 200
    assert Subscription.objects.get(pk=old_rows["cy_jazz"][0]).status == "active"

    page = reverse("subscriptions:unsubscribe", args=[old_rows["cy_soul"][1]])
    assert csrf.get(page).status_code == 200
    assert csrf.post(page, {"scope": "one"}).status_code == 200
    assert Subscription.objects.get(pk=old_rows["cy_soul"][0]).status == "unsubscribed"

    one_click = reverse("subscriptions:unsubscribe", args=[old_rows["ann_happy"][1]])
    response = client.post(one_click, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    ann = Subscription.objects.filter(subscriber__inbox_key="ann@example.org")
    assert set(ann.values_list("status", flat=True)) == {"unsubscribed"}


def test_a_booking_of_an_inbox_without_subscriptions_still_counts_after_migrating(migrator):
    state = migrator.apply_initial_migration(BEFORE)
    state.apps.get_model("subscriptions", "SubscribeEmail").objects.create(
        inbox_key="lone@example.org", kind="confirmation"
    )
    state = migrator.apply_tested_migration(("subscriptions", "0015_subscribe_email_by_subscriber"))
    [booking] = state.apps.get_model("subscriptions", "SubscribeEmail").objects.all()
    assert booking.subscriber.inbox_key == "lone@example.org"
    assert booking.subscriber.state == "active"


def test_bookings_migrate_back_to_their_inbox_key(migrator):
    state = migrator.apply_initial_migration(
        ("subscriptions", "0015_subscribe_email_by_subscriber")
    )
    subscriber = state.apps.get_model("subscriptions", "Subscriber").objects.create(
        email="Ann@example.org", inbox_key="ann@example.org"
    )
    state.apps.get_model("subscriptions", "SubscribeEmail").objects.create(
        subscriber=subscriber, kind="confirmation"
    )
    state = migrator.apply_tested_migration(
        ("subscriptions", "0013_subscription_status_without_suppression")
    )
    [booking] = state.apps.get_model("subscriptions", "SubscribeEmail").objects.all()
    assert booking.inbox_key == "ann@example.org"


def test_events_are_found_by_subscriber_and_keep_their_recipient_both_ways(migrator):
    state = migrator.apply_initial_migration(
        ("subscriptions", "0015_subscribe_email_by_subscriber")
    )
    ann = state.apps.get_model("subscriptions", "Subscriber").objects.create(
        email="Ann@example.org", inbox_key="ann@example.org"
    )
    state.apps.get_model("subscriptions", "EmailEvent").objects.create(
        email="ann+news@example.org",
        inbox_key="ann@example.org",
        event_type="bounced",
        event_id="late",
        occurred_at=timezone.now(),
    )

    state = migrator.apply_tested_migration(("subscriptions", "0017_email_event_by_subscriber"))
    [event] = state.apps.get_model("subscriptions", "EmailEvent").objects.all()
    assert (event.recipient, event.subscriber_id) == ("ann+news@example.org", ann.pk)

    state = migrator.apply_tested_migration(("subscriptions", "0015_subscribe_email_by_subscriber"))
    [event] = state.apps.get_model("subscriptions", "EmailEvent").objects.all()
    assert (event.email, event.inbox_key) == ("ann+news@example.org", "ann@example.org")


def test_claims_become_one_per_subscriber_and_day_and_get_their_key_back(migrator, old_rows):
    migrator.apply_tested_migration(AFTER)
    state = migrator.apply_tested_migration(("subscriptions", "0019_daily_email_by_subscriber"))
    DailyEmail = state.apps.get_model("subscriptions", "DailyEmail")
    # The old spelling's duplicate of ann's claim for the day went; ann's own stays, sent.
    assert {(c.subscriber.inbox_key, c.day, c.status) for c in DailyEmail.objects.all()} == {
        ("ann@example.org", DAY, "sent"),
        ("cy@example.org", DAY, "unknown"),
    }

    state = migrator.apply_tested_migration(("subscriptions", "0017_email_event_by_subscriber"))
    DailyEmail = state.apps.get_model("subscriptions", "DailyEmail")
    assert {(c.email, c.day) for c in DailyEmail.objects.all()} == {
        ("ann@example.org", DAY),
        ("cy@example.org", DAY),
    }
