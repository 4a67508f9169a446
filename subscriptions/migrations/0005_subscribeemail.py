# What the subscribe form sent each inbox: the per-inbox daily limit counts it in the database.

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0004_one_live_per_inbox_term"),
    ]

    operations = [
        migrations.CreateModel(
            name="SubscribeEmail",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "inbox_key",
                    models.CharField(
                        editable=False,
                        help_text="The address with case, +tag and spelling removed: one key per inbox.",
                        max_length=512,
                        verbose_name="inbox key",
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("confirmation", "Confirmation"),
                            ("already_subscribed", "Already subscribed"),
                            ("withheld", "Withheld (suppressed address, not delivered)"),
                        ],
                        max_length=24,
                    ),
                ),
                (
                    "sent_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="sent"),
                ),
            ],
            options={
                "verbose_name": "subscribe email",
                "verbose_name_plural": "subscribe emails",
                "ordering": ["-sent_at", "-id"],
                "indexes": [
                    models.Index(fields=["inbox_key", "sent_at"], name="subscribeemail_inbox_idx"),
                    models.Index(fields=["sent_at"], name="subscribeemail_sent_idx"),
                ],
            },
        ),
    ]
