"""Every delivery event of a known inbox points at its subscriber, before 0017 drops the key.

Events recorded since 0011 already do (save() attaches them); this catches any other. Reverse:
the key is the inbox of the recorded address again. Data only (PostgreSQL refuses ALTER TABLE
after an UPDATE in one transaction: the schema changes are 0017).
"""

from django.db import migrations, models

from subscriptions.addresses import canonical_email


def attach_events(apps, schema_editor):
    EmailEvent = apps.get_model("subscriptions", "EmailEvent")
    Subscriber = apps.get_model("subscriptions", "Subscriber")
    subscribers = dict(Subscriber.objects.values_list("inbox_key", "pk"))
    orphans = EmailEvent.objects.filter(subscriber__isnull=True)
    for key in orphans.values_list("inbox_key", flat=True).distinct():
        if key in subscribers:
            orphans.filter(inbox_key=key).update(subscriber_id=subscribers[key])


def restore_inbox_keys(apps, schema_editor):
    EmailEvent = apps.get_model("subscriptions", "EmailEvent")
    for event in EmailEvent.objects.only("pk", "email").iterator():
        EmailEvent.objects.filter(pk=event.pk).update(inbox_key=canonical_email(event.email))


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0015_subscribe_email_by_subscriber"),
    ]

    operations = [
        # A default, so that migrating back can add the column to existing rows again.
        migrations.AlterField(
            model_name="emailevent",
            name="inbox_key",
            field=models.CharField(
                default="",
                editable=False,
                help_text="The address with case, +tag and spelling removed: one key per inbox.",
                max_length=512,
                verbose_name="inbox key",
            ),
        ),
        migrations.RunPython(attach_events, restore_inbox_keys),
    ]
