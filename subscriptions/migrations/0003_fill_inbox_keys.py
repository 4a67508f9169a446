# Fill the inbox key of every existing subscription and delivery event, and end the extra live
# subscriptions that the next migration's one-live-per-(inbox, term) constraint would refuse:
# two spellings of one inbox (Listener@x.com, listener+news@x.com) subscribed to one term
# were two emails a day to one person.
#
# Kept in its own migration, without schema changes: PostgreSQL cannot alter a table that has
# pending trigger events from updates in the same transaction.

from django.db import migrations
from django.db.models import Case, IntegerField, Value, When
from django.db.models.functions import Lower
from django.utils import timezone

from subscriptions.addresses import canonical_email

BATCH = 1000
LIVE = ("pending", "active")


def _fill(model):
    batch = []
    for row in model.objects.only("pk", "email").iterator(chunk_size=BATCH):
        row.inbox_key = canonical_email(row.email)
        batch.append(row)
        if len(batch) == BATCH:
            model.objects.bulk_update(batch, ["inbox_key"])
            batch = []
    model.objects.bulk_update(batch, ["inbox_key"])


def _end_duplicate_live_rows(Subscription):
    """Keep one live row per (inbox, term): an active one before a pending one, then the
    oldest (it has the history of what was sent). The others end as unsubscribed; their
    rows and history stay."""
    live = (
        Subscription.objects.filter(status__in=LIVE)
        .annotate(
            term_ci=Lower("term"),
            rank=Case(
                When(status="active", then=Value(0)), default=Value(1), output_field=IntegerField()
            ),
        )
        .order_by("inbox_key", "term_ci", "rank", "created_at", "pk")
        .values_list("pk", "inbox_key", "term_ci")
    )
    seen = set()
    extra = []
    for pk, inbox_key, term_ci in live.iterator(chunk_size=BATCH):
        if (inbox_key, term_ci) in seen:
            extra.append(pk)
        else:
            seen.add((inbox_key, term_ci))
    for start in range(0, len(extra), BATCH):
        Subscription.objects.filter(pk__in=extra[start : start + BATCH]).update(
            status="unsubscribed", unsubscribed_at=timezone.now()
        )


def fill_inbox_keys(apps, schema_editor):
    Subscription = apps.get_model("subscriptions", "Subscription")
    _fill(Subscription)
    _fill(apps.get_model("subscriptions", "EmailEvent"))
    _end_duplicate_live_rows(Subscription)


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0002_inbox_key"),
    ]

    operations = [
        # Backwards, 0002 drops the column; subscriptions ended here stay ended.
        migrations.RunPython(fill_inbox_keys, migrations.RunPython.noop, elidable=False),
    ]
