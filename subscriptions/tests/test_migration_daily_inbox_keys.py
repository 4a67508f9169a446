"""Migrating claims from lower-cased addresses to inbox keys keeps every row and the day's state."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("subscriptions", "0008_sent_playlist_status_and_claim")]
AFTER = [("subscriptions", "0009_daily_email_inbox_keys")]
DAY = datetime.date(2026, 11, 25)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_claims_take_the_inbox_key_and_the_furthest_status_of_its_spellings():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes("subscriptions")
    old = migrate(BEFORE).get_model("subscriptions", "DailyEmail")
    rows = [
        ("ann+daily@example.org", DAY, "sent", "<1@mg>"),  # the old keys of one inbox
        ("ann@example.org", DAY, "pending", ""),
        ('"bo"@example.org', DAY, "unknown", ""),
        ("zoe@bücher.example", DAY - datetime.timedelta(days=1), "failed", ""),
        ("plain@example.org", DAY, "sent", "<2@mg>"),
    ]
    for email, day, status, message_id in rows:
        old.objects.create(email=email, day=day, status=status, message_id=message_id)
    try:
        new = migrate(AFTER).get_model("subscriptions", "DailyEmail")

        claims = {(c.email, c.day): (c.status, c.message_id) for c in new.objects.all()}
        assert new.objects.count() == len(rows)  # nothing deleted
        # The key now says what the inbox had today: sent, so no run sends it again.
        assert claims[("ann@example.org", DAY)] == ("sent", "<1@mg>")
        assert claims[("ann+daily@example.org", DAY)] == ("sent", "<1@mg>")
        assert claims[("bo@example.org", DAY)] == ("unknown", "")
        assert claims[("zoe@xn--bcher-kva.example", DAY - datetime.timedelta(days=1))] == (
            "failed",
            "",
        )
        assert claims[("plain@example.org", DAY)] == ("sent", "<2@mg>")
    finally:
        migrate(leaves)
