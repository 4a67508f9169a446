from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def write_addresses_back(apps, schema_editor):
    """Reverse: each subscription gets its subscriber's address and inbox key again (the
    transitional columns held just that, kept in step by save())."""
    Subscription = apps.get_model("subscriptions", "Subscription")
    Subscriber = apps.get_model("subscriptions", "Subscriber")
    subscriber = Subscriber.objects.filter(pk=OuterRef("subscriber_id"))
    Subscription.objects.update(
        email=Subquery(subscriber.values("email")[:1]),
        inbox_key=Subquery(subscriber.values("inbox_key")[:1]),
    )


class Migration(migrations.Migration):
    """The address lives on the Subscriber only: Subscription's copy of it, its inbox key and
    the per-inbox constraint go (the per-subscriber one says the same)."""

    # Each step commits on its own: PostgreSQL refuses ALTER TABLE after an UPDATE in one
    # transaction, which migrating back would do.
    atomic = False

    dependencies = [
        ("subscriptions", "0021_suppressed_inbox_manage_link"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="subscription",
            name="subscription_one_live_per_inbox_term",
        ),
        migrations.RemoveIndex(
            model_name="subscription",
            name="subscription_inbox_idx",
        ),
        # A default for the way back, which adds the columns to rows that exist.
        migrations.AlterField(
            model_name="subscription",
            name="email",
            field=models.EmailField(default="", max_length=254, verbose_name="email address"),
        ),
        migrations.AlterField(
            model_name="subscription",
            name="inbox_key",
            field=models.CharField(
                default="", editable=False, max_length=512, verbose_name="inbox key"
            ),
        ),
        migrations.RunPython(migrations.RunPython.noop, write_addresses_back),
        migrations.RemoveField(
            model_name="subscription",
            name="email",
        ),
        migrations.RemoveField(
            model_name="subscription",
            name="inbox_key",
        ),
    ]
