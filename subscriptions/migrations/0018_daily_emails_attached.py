"""Before claims lose their address (0019): a claim without a subscriber goes.

0011 gave each inbox's claim of a day its subscriber; what is left is an old spelling's
duplicate claim for a day its inbox's claim already covers (0009 gave that one the furthest
status), or a claim of an inbox with no subscription left. Their picks stay in the history
(SentPlaylist.daily_email is SET_NULL). Reverse: nothing to restore (0019's reverse writes the
address back from the subscriber).
"""

from django.db import migrations


def drop_unattached_claims(apps, schema_editor):
    DailyEmail = apps.get_model("subscriptions", "DailyEmail")
    DailyEmail.objects.filter(subscriber__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0017_email_event_by_subscriber"),
    ]

    operations = [
        migrations.RunPython(drop_unattached_claims, migrations.RunPython.noop),
    ]
