"""Staff download subscribers as CSV: selected rows or all, streamed a chunk at a time."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from subscriptions.admin import exports
from subscriptions.models import Subscriber, Subscription
from subscriptions.tests import factories

pytestmark = pytest.mark.django_db


def rows_of(response):
    assert response.streaming
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_every_subscriber_with_state_moods_and_last_sent(admin_client):
    factories.subscription("ann@example.org", "jazz")
    factories.subscription("Ann@example.org", "rain", status="pending")
    factories.subscription("ann@example.org", "old", status="unsubscribed")
    factories.subscription("bo@example.org", "calm", status="complained")

    response = admin_client.get(reverse("admin-subscribers-csv"))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="subscribers-')
    rows = {row["email"]: row for row in rows_of(response)}
    assert rows["ann@example.org"]["active moods"] == "jazz"
    assert rows["ann@example.org"]["pending moods"] == "rain"
    assert rows["ann@example.org"]["stopped moods"] == "old"
    assert rows["ann@example.org"]["state"] == "active"
    assert rows["bo@example.org"]["state"] == "complained"
    assert len(rows) == 2


def test_the_admin_action_exports_only_the_selected_rows(admin_client):
    chosen = factories.subscription("chosen@example.org", "jazz").subscriber
    factories.subscription("other@example.org", "jazz")

    response = admin_client.post(
        reverse("admin:subscriptions_subscriber_changelist"),
        {"action": "export_csv", "_selected_action": [chosen.pk]},
    )

    assert [row["email"] for row in rows_of(response)] == ["chosen@example.org"]


def test_a_mood_a_spreadsheet_would_run_as_a_formula_is_defused(admin_client):
    factories.subscription("eve@example.org", '=HYPERLINK("http://evil.example","x")')

    row = rows_of(admin_client.get(reverse("admin-subscribers-csv")))[0]

    assert row["active moods"].startswith("'=")


def test_rows_are_read_a_chunk_at_a_time(db):
    count = exports.CHUNK * 2 + 5
    subscribers = Subscriber.objects.bulk_create(
        Subscriber(email=f"l{n}@example.org", inbox_key=f"l{n}@example.org") for n in range(count)
    )
    Subscription.objects.bulk_create(
        Subscription(subscriber=s, term="jazz", status="active") for s in subscribers
    )
    rows = exports.subscriber_rows(Subscriber.objects.all())

    with CaptureQueriesContext(connection) as first:
        next(rows)  # the first row costs one chunk's queries, not the whole table's
    assert len(first) == 2
    with CaptureQueriesContext(connection) as rest:
        remaining = sum(1 for _ in rows)
    assert remaining == count - 1
    assert len(rest) == 2 * 2 + 1  # two more chunks, then the empty read that ends it


def test_staff_without_view_permission_get_nothing(client, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", password="pw-clerk-123", is_staff=True)
    client.force_login(clerk)
    assert client.get(reverse("admin-subscribers-csv")).status_code == 403
    client.logout()
    assert client.get(reverse("admin-subscribers-csv")).status_code == 302  # to the login page
