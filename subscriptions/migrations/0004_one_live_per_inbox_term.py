# One live subscription per (inbox, term), and lookups by inbox key instead of LOWER(email).

import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0003_fill_inbox_keys"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="subscription",
            name="subscription_one_live_per_email_term",
        ),
        migrations.AddConstraint(
            model_name="subscription",
            constraint=models.UniqueConstraint(
                models.F("inbox_key"),
                django.db.models.functions.text.Lower("term"),
                condition=models.Q(("status__in", ["pending", "active"])),
                name="subscription_one_live_per_inbox_term",
                violation_error_message=(
                    "This address already has a pending or active subscription for this term."
                ),
            ),
        ),
        migrations.RemoveIndex(
            model_name="subscription",
            name="subscription_email_ci_idx",
        ),
        migrations.AddIndex(
            model_name="subscription",
            index=models.Index(fields=["inbox_key"], name="subscription_inbox_idx"),
        ),
        migrations.RemoveIndex(
            model_name="emailevent",
            name="emailevent_email_idx",
        ),
        migrations.AddIndex(
            model_name="emailevent",
            index=models.Index(fields=["inbox_key", "-occurred_at"], name="emailevent_inbox_idx"),
        ),
    ]
