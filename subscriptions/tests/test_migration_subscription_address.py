"""The address leaves Subscription for the Subscriber, and comes back on the way back."""

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

BEFORE = ("subscriptions", "0021_suppressed_inbox_manage_link")
AFTER = ("subscriptions", "0022_subscription_address_on_subscriber")
DAY = datetime.date(2026, 11, 25)


def fields_of(model):
    return {field.name for field in model._meta.get_fields()}


def test_forward_keeps_every_subscription_and_its_history_on_its_subscriber(migrator):
    state = migrator.apply_initial_migration(BEFORE)
    Subscriber = state.apps.get_model("subscriptions", "Subscriber")
    Subscription = state.apps.get_model("subscriptions", "Subscription")
    SentPlaylist = state.apps.get_model("subscriptions", "SentPlaylist")
    ann = Subscriber.objects.create(email="Ann@example.org", inbox_key="ann@example.org")
    bo = Subscriber.objects.create(
        email="bo@example.org", inbox_key="bo@example.org", state="bounced"
    )
    now = timezone.now()
    made = {
        "ann_happy": Subscription.objects.create(
            subscriber=ann,
            email="Ann@example.org",
            inbox_key="ann@example.org",
            term="happy",
            status="active",
            confirmed_at=now,
        ),
        # Another spelling of the same inbox, as the transitional code kept it.
        "ann_sad": Subscription.objects.create(
            subscriber=ann,
            email="ann+daily@example.org",
            inbox_key="ann@example.org",
            term="sad",
            status="pending",
        ),
        "bo_rain": Subscription.objects.create(
            subscriber=bo,
            email="bo@example.org",
            inbox_key="bo@example.org",
            term="rain",
            status="unsubscribed",
            unsubscribed_at=now,
        ),
    }
    SentPlaylist.objects.create(
        subscription=made["ann_happy"],
        playlist_id="pl-happy",
        name="happy mix",
        web_url="https://open.spotify.com/playlist/pl-happy",
        uri="spotify:playlist:pl-happy",
        sent_on=DAY,
    )
    before = {
        name: (row.pk, row.subscriber_id, row.term, row.status, row.token)
        for name, row in made.items()
    }

    state = migrator.apply_tested_migration(AFTER)

    Subscription = state.apps.get_model("subscriptions", "Subscription")
    assert not {"email", "inbox_key"} & fields_of(Subscription)
    rows = {name: Subscription.objects.get(pk=pk) for name, (pk, *_) in before.items()}
    after = {
        name: (row.pk, row.subscriber_id, row.term, row.status, row.token)
        for name, row in rows.items()
    }
    assert after == before
    history = state.apps.get_model("subscriptions", "SentPlaylist").objects.get()
    assert (history.subscription_id, history.subscription.subscriber.email) == (
        made["ann_happy"].pk,
        "Ann@example.org",
    )
    # One live subscription per subscriber and term is still the database's rule.
    ann = state.apps.get_model("subscriptions", "Subscriber").objects.get(pk=ann.pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscription.objects.create(subscriber=ann, term="HAPPY", status="pending")


def test_backward_writes_each_subscription_its_subscribers_address_and_key(migrator):
    state = migrator.apply_initial_migration(AFTER)
    Subscriber = state.apps.get_model("subscriptions", "Subscriber")
    Subscription = state.apps.get_model("subscriptions", "Subscription")
    ann = Subscriber.objects.create(email="Ann+news@example.org", inbox_key="ann@example.org")
    cy = Subscriber.objects.create(email="cy@example.org", inbox_key="cy@example.org")
    rows = [
        Subscription.objects.create(subscriber=ann, term="happy", status="active"),
        Subscription.objects.create(subscriber=ann, term="sad", status="unsubscribed"),
        Subscription.objects.create(subscriber=cy, term="happy", status="pending"),
    ]

    state = migrator.apply_tested_migration(BEFORE)

    Subscription = state.apps.get_model("subscriptions", "Subscription")
    restored = {
        row.pk: (row.email, row.inbox_key, row.subscriber_id) for row in Subscription.objects.all()
    }
    assert restored == {
        rows[0].pk: ("Ann+news@example.org", "ann@example.org", ann.pk),
        rows[1].pk: ("Ann+news@example.org", "ann@example.org", ann.pk),
        rows[2].pk: ("cy@example.org", "cy@example.org", cy.pk),
    }
    # The per-inbox constraint is back with its column.
    stray = state.apps.get_model("subscriptions", "Subscriber").objects.create(
        email="stray@example.org", inbox_key="stray@example.org"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscription.objects.create(
            subscriber=stray, email="ANN@example.org", inbox_key="ann@example.org", term="happy"
        )
