"""Staff names out of what the person sees: "Cleared by <username>" becomes "Cleared by staff"
on the events (the name moves to staff_name) and on the subscribers' state reason."""

from django.db import migrations

PREFIX = "Cleared by "
CLEARED_BY_STAFF = "Cleared by staff"
CLEARED = "cleared"  # EmailEvent.Type.SUPPRESSION_CLEARED


def names_out(apps, schema_editor):
    EmailEvent = apps.get_model("subscriptions", "EmailEvent")
    Subscriber = apps.get_model("subscriptions", "Subscriber")
    events = EmailEvent.objects.filter(event_type=CLEARED, reason__startswith=PREFIX)
    for event in events.exclude(reason=CLEARED_BY_STAFF).iterator():
        event.staff_name = event.staff_name or event.reason.removeprefix(PREFIX)[:150]
        event.reason = CLEARED_BY_STAFF
        event.save(update_fields=["staff_name", "reason"])
    Subscriber.objects.filter(state_reason__startswith=PREFIX).update(state_reason=CLEARED_BY_STAFF)


def names_back(apps, schema_editor):
    EmailEvent = apps.get_model("subscriptions", "EmailEvent")
    Subscriber = apps.get_model("subscriptions", "Subscriber")
    cleared = EmailEvent.objects.filter(event_type=CLEARED, reason=CLEARED_BY_STAFF)
    for subscriber in Subscriber.objects.filter(state_reason=CLEARED_BY_STAFF).iterator():
        latest = (
            cleared.filter(subscriber=subscriber)
            .exclude(staff_name="")
            .order_by("-occurred_at", "-id")
            .first()
        )
        if latest is not None:
            subscriber.state_reason = f"{PREFIX}{latest.staff_name}"
            subscriber.save(update_fields=["state_reason"])
    # The events last: the subscribers' names are read from them as they are now.
    for event in cleared.exclude(staff_name="").iterator():
        event.reason = f"{PREFIX}{event.staff_name}"
        event.save(update_fields=["reason"])


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0026_emailevent_staff_name"),
    ]

    operations = [migrations.RunPython(names_out, names_back)]
