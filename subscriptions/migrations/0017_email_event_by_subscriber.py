from django.db import migrations, models


class Migration(migrations.Migration):
    """Delivery events are found by their subscriber; the address stays, as `recipient`, for
    the record only."""

    dependencies = [
        ("subscriptions", "0016_email_events_attached"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="emailevent",
            name="emailevent_inbox_idx",
        ),
        migrations.RemoveField(
            model_name="emailevent",
            name="inbox_key",
        ),
        migrations.RenameField(
            model_name="emailevent",
            old_name="email",
            new_name="recipient",
        ),
        migrations.AlterField(
            model_name="emailevent",
            name="recipient",
            field=models.EmailField(max_length=254, verbose_name="recipient"),
        ),
        migrations.AddIndex(
            model_name="emailevent",
            index=models.Index(
                fields=["subscriber", "-occurred_at"], name="emailevent_subscriber_idx"
            ),
        ),
    ]
