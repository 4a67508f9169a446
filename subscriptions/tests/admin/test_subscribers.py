"""The Subscriber admin: search by any spelling, state filter, inline moods, counts, actions."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from subscriptions.delivery import events
from subscriptions.models import EmailEvent, SentPlaylist, Subscriber, Subscription
from subscriptions.tests import factories

CHANGELIST = reverse("admin:subscriptions_subscriber_changelist")

pytestmark = pytest.mark.django_db


def sent(subscription, number):
    return SentPlaylist.objects.create(
        subscription=subscription,
        playlist_id=f"pl{number:04d}",
        name=f"Playlist {number}",
        web_url=f"https://open.spotify.com/playlist/pl{number:04d}",
        uri=f"spotify:playlist:pl{number:04d}",
        sent_on=datetime.date(2026, 1, 1) + datetime.timedelta(days=number),
    )


def listed(client, **params):
    response = client.get(CHANGELIST, params)
    assert response.status_code == 200
    return response


def emails(response):
    return {subscriber.email for subscriber in response.context["cl"].result_list}


def test_the_list_shows_history_count_and_last_event(admin_client):
    jazz = factories.subscription("ann@example.org", term="jazz")
    calm = factories.subscription("ann@example.org", term="calm")
    for number in range(3):
        sent(jazz, number)
    sent(calm, 9)
    events.email_event_record(
        email="ann@example.org",
        event_type="bounced",
        event_id="b-1",
        occurred_at=timezone.now(),
        reason="550 no such user",
    )

    html = listed(admin_client).content.decode()

    assert "ann@example.org" in html
    assert '<td class="field-playlists_sent">4</td>' in html
    assert "Bounced: 550 no such user" in html


def test_search_finds_the_inbox_by_any_spelling_and_filters_by_state(admin_client):
    factories.subscription("Ann@example.org")
    factories.subscription("bo@example.org")
    factories.subscriber("cy@example.org", state="complained")

    assert emails(listed(admin_client, q="ANN+news@Example.org")) == {"Ann@example.org"}
    assert emails(listed(admin_client, state__exact="complained")) == {"cy@example.org"}
    assert emails(listed(admin_client, state__exact="active")) == {
        "Ann@example.org",
        "bo@example.org",
    }


def test_the_change_page_shows_the_moods_inline_and_not_the_manage_token(admin_client):
    jazz = factories.subscription("ann@example.org", term="jazz")
    factories.subscription("ann@example.org", term="calm", status="unsubscribed")
    subscriber = jazz.subscriber

    url = reverse("admin:subscriptions_subscriber_change", args=[subscriber.pk])
    html = admin_client.get(url).content.decode()

    assert "jazz" in html and "calm" in html
    assert subscriber.manage_token not in html


def test_clear_suppression_action_resumes_the_person_s_active_moods(admin_client, admin_user):
    jazz = factories.subscription("ann@example.org", term="jazz", status="complained")

    response = admin_client.post(
        CHANGELIST,
        {"action": "clear_suppression", "_selected_action": [jazz.subscriber_id]},
        follow=True,
    )

    assert response.status_code == 200
    subscriber = Subscriber.objects.get(pk=jazz.subscriber_id)
    assert subscriber.state == Subscriber.State.ACTIVE
    assert Subscription.objects.get(pk=jazz.pk).status == Subscription.Status.ACTIVE
    cleared = EmailEvent.objects.get(event_type=EmailEvent.Type.SUPPRESSION_CLEARED)
    assert (cleared.subscriber, cleared.staff_user) == (subscriber, admin_user)


def test_unsubscribe_all_action_stops_every_mood_of_the_selected_people(admin_client):
    rows = [factories.subscription("ann@example.org", term=term) for term in ("a", "b")]
    other = factories.subscription("bo@example.org")

    admin_client.post(
        CHANGELIST, {"action": "unsubscribe_all", "_selected_action": [rows[0].subscriber_id]}
    )

    statuses = {row.term: Subscription.objects.get(pk=row.pk).status for row in [*rows, other]}
    assert statuses == {"a": "unsubscribed", "b": "unsubscribed", "happy": "active"}


def _list_queries(client):
    with CaptureQueriesContext(connection) as queries:
        listed(client)
    return len(queries)


def test_the_list_page_query_count_does_not_grow_with_its_rows(admin_client):
    def add(number):
        subscription = factories.subscription(f"p{number}@example.org", term=f"t{number}")
        sent(subscription, number)
        EmailEvent.objects.create(
            recipient=f"p{number}@example.org",
            event_type="bounced",
            event_id=f"e{number}",
            occurred_at=timezone.now(),
        )

    add(0)
    one = _list_queries(admin_client)
    for number in range(1, 30):
        add(number)
    assert _list_queries(admin_client) == one


def test_staff_see_the_schedule_and_filter_by_frequency(admin_client):
    factories.subscription("kiri@example.org", term="jazz")
    factories.subscription("daily@example.org", term="jazz")
    Subscriber.objects.filter(email="kiri@example.org").update(
        time_zone="Pacific/Kiritimati", send_hour=6, frequency="weekly"
    )
    assert emails(listed(admin_client, frequency__exact="weekly")) == {"kiri@example.org"}
    subscriber = Subscriber.objects.get(email="kiri@example.org")
    url = reverse("admin:subscriptions_subscriber_change", args=[subscriber.pk])
    html = admin_client.get(url).content.decode()
    assert "Pacific/Kiritimati" in html and "Once a week" in html
