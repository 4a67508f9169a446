"""Staff can act on a whole changelist page: every row ticked, then an action (issue 21, item 14).

A browser posts the admin's action form with one `_selected_action` per ticked row plus the
CSRF token, the action, `index` and `select_across`; DATA_UPLOAD_MAX_NUMBER_FIELDS must leave
room for that on a page of `list_per_page` rows.
"""

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from subscriptions.models import Subscriber, Subscription
from subscriptions.tests import factories

pytestmark = pytest.mark.django_db


def full_page(model):
    """How many rows one changelist page of `model` shows."""
    return admin.site.get_model_admin(model).list_per_page


def action_post(client, url, action, ids):
    # The token a browser would post (the test client does not need it, but counts it).
    page = client.get(url)
    assert page.status_code == 200
    return client.post(
        url,
        {
            "csrfmiddlewaretoken": page.context["csrf_token"],
            "action": action,
            "select_across": "0",
            "index": "0",
            "_selected_action": [str(pk) for pk in ids],
        },
    )


def test_export_as_csv_of_a_whole_page_of_subscribers(admin_client):
    rows = full_page(Subscriber)
    assert rows >= 100
    factories.subscriptions_bulk((f"listener{n}@example.com", "happy") for n in range(rows))
    ids = Subscriber.objects.values_list("pk", flat=True)

    response = action_post(
        admin_client,
        reverse("admin:subscriptions_subscriber_changelist"),
        "export_csv",
        ids,
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    assert body.count("@example.com") == rows


def test_unsubscribing_a_whole_page_of_subscriptions(admin_client):
    rows = full_page(Subscription)
    assert rows >= 100
    made = factories.subscriptions_bulk((f"listener{n}@example.com", "happy") for n in range(rows))

    response = action_post(
        admin_client,
        reverse("admin:subscriptions_subscription_changelist"),
        "unsubscribe",
        [row.pk for row in made],
    )

    assert response.status_code == 302
    assert not Subscription.objects.filter(status=Subscription.Status.ACTIVE).exists()
    assert Subscription.objects.filter(status=Subscription.Status.UNSUBSCRIBED).count() == rows


def test_a_body_of_thousands_of_fields_is_still_refused(admin_user):
    browser = Client(raise_request_exception=False)
    browser.force_login(admin_user)

    response = browser.post(
        reverse("admin:subscriptions_subscriber_changelist"),
        {"action": "export_csv", "_selected_action": [str(n) for n in range(5000)]},
    )

    assert response.status_code == 400
