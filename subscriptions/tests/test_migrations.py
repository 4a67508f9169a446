"""The inbox-key migrations carry existing rows over, and back (django-test-migrations)."""

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

BEFORE = ("subscriptions", "0001_initial")
AFTER = ("subscriptions", "0005_subscribeemail")


@pytest.fixture
def old_rows(migrator):
    """Rows as the old code stored them: addresses as typed, events lower-cased."""
    state = migrator.apply_initial_migration(BEFORE)
    subscription = state.apps.get_model("subscriptions", "Subscription")
    event = state.apps.get_model("subscriptions", "EmailEvent")
    long_ago = timezone.now() - datetime.timedelta(days=30)

    def make(email, term="happy", status="active", days_old=0):
        return subscription.objects.create(
            email=email,
            term=term,
            status=status,
            created_at=long_ago + datetime.timedelta(days=days_old),
        ).pk

    rows = {
        "plain": make("Listener@example.com"),
        "quoted": make('"bomb"@x.com', term="sad"),
        "escaped": make('"bo\\mb"@x.com', term="calm"),
        "idn": make("Someone@BÜCHER.de"),
        # Three live spellings of one inbox for one term: one email each a day until now.
        "dup_pending": make("victim+news@x.com", status="pending", days_old=1),
        "dup_active_old": make("Victim@x.com", days_old=2),
        "dup_active_new": make("victim+daily@X.com", term="HAPPY", days_old=3),
        "dup_ended": make("VICTIM+old@x.com", status="unsubscribed"),
    }
    event.objects.create(
        email='"victim"@x.com',
        event_type="complained",
        event_id="evt-1",
        occurred_at=long_ago,
    )
    return rows


def test_forward_fills_every_key_and_leaves_one_live_row_per_inbox_and_term(migrator, old_rows):
    state = migrator.apply_tested_migration(AFTER)
    subscription = state.apps.get_model("subscriptions", "Subscription")
    event = state.apps.get_model("subscriptions", "EmailEvent")
    rows = {name: subscription.objects.get(pk=pk) for name, pk in old_rows.items()}

    assert {name: row.inbox_key for name, row in rows.items()} == {
        "plain": "listener@example.com",
        "quoted": "bomb@x.com",
        "escaped": "bomb@x.com",
        "idn": "someone@xn--bcher-kva.de",
        "dup_pending": "victim@x.com",
        "dup_active_old": "victim@x.com",
        "dup_active_new": "victim@x.com",
        "dup_ended": "victim@x.com",
    }
    assert event.objects.get().inbox_key == "victim@x.com"
    # Nothing typed is rewritten, and nothing is deleted.
    assert rows["quoted"].email == '"bomb"@x.com'
    assert subscription.objects.count() == len(old_rows)
    # The oldest active row of the inbox and term stays; the other live ones end.
    assert {name: row.status for name, row in rows.items() if name.startswith("dup")} == {
        "dup_pending": "unsubscribed",
        "dup_active_old": "active",
        "dup_active_new": "unsubscribed",
        "dup_ended": "unsubscribed",
    }
    assert rows["dup_pending"].unsubscribed_at is not None
    # ...and the database now refuses a second live row for the inbox and term.
    with pytest.raises(IntegrityError), transaction.atomic():
        subscription.objects.create(
            email="victim+again@x.com", term="Happy", inbox_key="victim@x.com"
        )
    assert state.apps.get_model("subscriptions", "SubscribeEmail").objects.count() == 0


def test_backward_keeps_every_row_and_drops_the_key(migrator, old_rows):
    migrator.apply_tested_migration(AFTER)
    state = migrator.apply_tested_migration(BEFORE)
    subscription = state.apps.get_model("subscriptions", "Subscription")

    assert set(subscription.objects.values_list("pk", flat=True)) == set(old_rows.values())
    assert subscription.objects.get(pk=old_rows["quoted"]).email == '"bomb"@x.com'
    assert "inbox_key" not in {field.name for field in subscription._meta.get_fields()}
    # The old constraint is back: one live row per LOWER(email), LOWER(term).
    with pytest.raises(IntegrityError), transaction.atomic():
        subscription.objects.create(email="LISTENER@example.com", term="HAPPY", status="pending")


def test_staff_clearing_keeps_existing_events(migrator):
    old = migrator.apply_initial_migration(("subscriptions", "0006_webhook_signatures"))
    occurred = datetime.datetime(2026, 11, 1, 12, 0, tzinfo=datetime.UTC)
    old.apps.get_model("subscriptions", "EmailEvent").objects.create(
        email="victim@example.org",
        inbox_key="victim@example.org",
        event_type="complained",
        event_id="ncV2XwymRUKbPek_MIM-Gw",
        occurred_at=occurred,
        reason="marked as spam",
    )
    new = migrator.apply_tested_migration(("subscriptions", "0007_emailevent_staff_clearing"))
    [event] = new.apps.get_model("subscriptions", "EmailEvent").objects.all()
    assert (event.email, event.event_type, event.event_id, event.occurred_at) == (
        "victim@example.org",
        "complained",
        "ncV2XwymRUKbPek_MIM-Gw",
        occurred,
    )
    assert event.staff_user_id is None
