"""Existing subscribers get the default schedule: the site's zone, 07:00, daily, and back."""

import pytest
from django.utils import timezone

BEFORE = ("subscriptions", "0022_subscription_address_on_subscriber")
AFTER = ("subscriptions", "0023_subscriber_schedule")


@pytest.fixture
def old_subscribers(migrator):
    state = migrator.apply_initial_migration(BEFORE)
    Subscriber = state.apps.get_model("subscriptions", "Subscriber")
    now = timezone.now()
    return [
        Subscriber.objects.create(email=email, inbox_key=email, last_sent_at=now).pk
        for email in ("ann@example.org", "bob@example.org")
    ]


def test_existing_subscribers_keep_their_rows_and_get_the_default_schedule(
    migrator, old_subscribers, settings
):
    state = migrator.apply_tested_migration(AFTER)
    Subscriber = state.apps.get_model("subscriptions", "Subscriber")

    rows = Subscriber.objects.filter(pk__in=old_subscribers).order_by("pk")
    assert [
        (row.email, row.time_zone, row.send_hour, row.frequency, row.weekly_day) for row in rows
    ] == [
        ("ann@example.org", settings.TIME_ZONE, 7, "daily", 0),
        ("bob@example.org", settings.TIME_ZONE, 7, "daily", 0),
    ]
    assert all(row.last_sent_at is not None for row in rows)


def test_the_schedule_migration_reverses(migrator, old_subscribers):
    migrator.apply_tested_migration(AFTER)
    state = migrator.apply_tested_migration(BEFORE)
    Subscriber = state.apps.get_model("subscriptions", "Subscriber")
    assert Subscriber.objects.filter(pk__in=old_subscribers).count() == 2
