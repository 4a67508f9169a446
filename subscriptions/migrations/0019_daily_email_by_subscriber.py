import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Left

EMAIL_MAX_LENGTH = 254


def write_addresses_back(apps, schema_editor):
    """Reverse: the old key of a claim was its inbox key (migration 0009)."""
    DailyEmail = apps.get_model("subscriptions", "DailyEmail")
    Subscriber = apps.get_model("subscriptions", "Subscriber")
    key = Subscriber.objects.filter(pk=OuterRef("subscriber_id")).values("inbox_key")[:1]
    DailyEmail.objects.update(email=Left(Subquery(key), EMAIL_MAX_LENGTH))


class Migration(migrations.Migration):
    """One claim per subscriber and day: the address column goes."""

    # Each step commits on its own: PostgreSQL refuses ALTER TABLE after an UPDATE in one
    # transaction, which migrating back would do.
    atomic = False

    dependencies = [
        ("subscriptions", "0018_daily_emails_attached"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="dailyemail",
            options={
                "ordering": ["-day", "subscriber"],
                "verbose_name": "daily email",
                "verbose_name_plural": "daily emails",
            },
        ),
        migrations.RemoveConstraint(
            model_name="dailyemail",
            name="dailyemail_once_per_address_day",
        ),
        migrations.AlterField(
            model_name="dailyemail",
            name="email",
            field=models.EmailField(default="", max_length=254, verbose_name="inbox"),
        ),
        migrations.RunPython(migrations.RunPython.noop, write_addresses_back),
        migrations.RemoveField(
            model_name="dailyemail",
            name="email",
        ),
        migrations.AlterField(
            model_name="dailyemail",
            name="subscriber",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="daily_emails",
                to="subscriptions.subscriber",
            ),
        ),
    ]
