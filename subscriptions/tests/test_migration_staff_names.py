"""0027 moves staff names out of what the person sees ("Cleared by staff"), and back."""

import pytest
from django.utils import timezone

BEFORE = ("subscriptions", "0026_emailevent_staff_name")
AFTER = ("subscriptions", "0027_staff_names_out_of_reasons")


@pytest.fixture
def cleared_by_kim(migrator):
    state = migrator.apply_initial_migration(BEFORE)
    Subscriber = state.apps.get_model("subscriptions", "Subscriber")
    EmailEvent = state.apps.get_model("subscriptions", "EmailEvent")
    ann = Subscriber.objects.create(
        email="ann@example.org", inbox_key="ann@example.org", state_reason="Cleared by kim"
    )
    bounced = Subscriber.objects.create(
        email="bob@example.org", inbox_key="bob@example.org", state="bounced", state_reason="550"
    )
    common = {"recipient": "ann@example.org", "subscriber": ann, "occurred_at": timezone.now()}
    EmailEvent.objects.create(event_type="bounced", event_id="b", reason="550", **common)
    EmailEvent.objects.create(
        event_type="cleared", event_id="staff:1", reason="Cleared by kim", **common
    )
    return ann.pk, bounced.pk


def test_the_names_move_to_staff_name_and_the_reasons_say_staff(migrator, cleared_by_kim):
    ann, bob = cleared_by_kim
    state = migrator.apply_tested_migration(AFTER)
    Subscriber = state.apps.get_model("subscriptions", "Subscriber")
    EmailEvent = state.apps.get_model("subscriptions", "EmailEvent")

    assert Subscriber.objects.get(pk=ann).state_reason == "Cleared by staff"
    assert Subscriber.objects.get(pk=bob).state_reason == "550"
    events = EmailEvent.objects.order_by("event_id").values_list("reason", "staff_name")
    assert list(events) == [("550", ""), ("Cleared by staff", "kim")]


def test_back_again_the_names_return(migrator, cleared_by_kim):
    ann, bob = cleared_by_kim
    migrator.apply_tested_migration(AFTER)
    state = migrator.apply_tested_migration(BEFORE)
    Subscriber = state.apps.get_model("subscriptions", "Subscriber")
    EmailEvent = state.apps.get_model("subscriptions", "EmailEvent")

    assert Subscriber.objects.get(pk=ann).state_reason == "Cleared by kim"
    assert EmailEvent.objects.get(event_id="staff:1").reason == "Cleared by kim"
    assert Subscriber.objects.get(pk=bob).state_reason == "550"
