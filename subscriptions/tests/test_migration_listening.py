"""Listening's migration: existing subscribers and claims come through as they were (nobody is
paused for not listening, no delivery time is made up), and it reverses."""

import datetime

import pytest

BEFORE = ("subscriptions", "0030_sendrun_on_workers")
AFTER = ("subscriptions", "0031_listening")


@pytest.fixture
def old_rows(migrator):
    state = migrator.apply_initial_migration(BEFORE)
    Subscriber = state.apps.get_model("subscriptions", "Subscriber")
    DailyEmail = state.apps.get_model("subscriptions", "DailyEmail")
    paused = Subscriber.objects.create(
        email="ann@example.org", inbox_key="ann@example.org", paused_until=datetime.date(2027, 1, 1)
    )
    mailed = Subscriber.objects.create(email="bo@example.org", inbox_key="bo@example.org")
    claim = DailyEmail.objects.create(
        subscriber=mailed, day=datetime.date(2026, 11, 25), status="sent"
    )
    return paused.pk, mailed.pk, claim.pk


def test_existing_rows_come_through_unpaused_and_without_made_up_times(migrator, old_rows):
    state = migrator.apply_tested_migration(AFTER)
    Subscriber = state.apps.get_model("subscriptions", "Subscriber")
    DailyEmail = state.apps.get_model("subscriptions", "DailyEmail")
    paused, mailed, claim = old_rows

    rows = Subscriber.objects.filter(pk__in=[paused, mailed]).order_by("pk")
    assert [(row.email, row.paused_until, row.sunset_at) for row in rows] == [
        ("ann@example.org", datetime.date(2027, 1, 1), None),
        ("bo@example.org", None, None),
    ]
    email = DailyEmail.objects.get(pk=claim)
    assert (email.status, email.delivered_at) == ("sent", None)
    assert not state.apps.get_model("subscriptions", "ListeningPeriod").objects.exists()


def test_the_listening_migration_reverses(migrator, old_rows):
    migrator.apply_tested_migration(AFTER)
    state = migrator.apply_tested_migration(BEFORE)
    Subscriber = state.apps.get_model("subscriptions", "Subscriber")
    assert Subscriber.objects.filter(pk__in=old_rows[:2]).count() == 2
