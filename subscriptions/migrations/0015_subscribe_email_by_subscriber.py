import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """SubscribeEmail keyed by its subscriber only (0014 gave every row one)."""

    dependencies = [
        ("subscriptions", "0014_subscribe_email_bookings_attached"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="subscribeemail",
            name="subscribeemail_inbox_idx",
        ),
        migrations.RemoveField(
            model_name="subscribeemail",
            name="inbox_key",
        ),
        migrations.AlterField(
            model_name="subscribeemail",
            name="subscriber",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="subscribe_emails",
                to="subscriptions.subscriber",
            ),
        ),
        migrations.AddIndex(
            model_name="subscribeemail",
            index=models.Index(
                fields=["subscriber", "sent_at"], name="subscribeemail_subscriber_idx"
            ),
        ),
    ]
