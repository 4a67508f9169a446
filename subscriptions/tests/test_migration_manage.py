"""0020 (SuppressedInbox, the manage-link email kind) keeps every row, both ways."""

import pytest
from django.db import IntegrityError, transaction

BEFORE = ("subscriptions", "0020_send_runs_breaker_unsubscribe_via")
AFTER = ("subscriptions", "0021_suppressed_inbox_manage_link")


@pytest.fixture
def old_rows(migrator):
    state = migrator.apply_initial_migration(BEFORE)
    subscriber = state.apps.get_model("subscriptions", "Subscriber").objects.create(
        email="Listener@example.com", inbox_key="listener@example.com", manage_token="t" * 43
    )
    state.apps.get_model("subscriptions", "Subscription").objects.create(
        subscriber=subscriber,
        email="Listener@example.com",
        inbox_key="listener@example.com",
        term="happy",
        status="active",
        token="s" * 43,
    )
    state.apps.get_model("subscriptions", "SubscribeEmail").objects.create(
        subscriber=subscriber, kind="withheld"
    )
    return subscriber.pk


def test_forward_and_back_keep_the_rows_and_the_digest_is_unique(migrator, old_rows):
    state = migrator.apply_tested_migration(AFTER)
    subscriber = state.apps.get_model("subscriptions", "Subscriber").objects.get(pk=old_rows)
    assert subscriber.manage_token == "t" * 43
    assert [s.token for s in subscriber.subscriptions.all()] == ["s" * 43]
    assert [e.kind for e in subscriber.subscribe_emails.all()] == ["withheld"]
    suppressed = state.apps.get_model("subscriptions", "SuppressedInbox")
    suppressed.objects.create(digest="a" * 64, reason="complained")
    with pytest.raises(IntegrityError), transaction.atomic():
        suppressed.objects.create(digest="a" * 64, reason="bounced")

    state = migrator.apply_tested_migration(BEFORE)
    subscriber = state.apps.get_model("subscriptions", "Subscriber").objects.get(pk=old_rows)
    assert subscriber.subscriptions.count() == subscriber.subscribe_emails.count() == 1
    with pytest.raises(LookupError):
        state.apps.get_model("subscriptions", "SuppressedInbox")
