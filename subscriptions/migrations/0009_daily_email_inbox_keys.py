"""Claims were keyed by the lower-cased address; they are keyed by the inbox now.

Only rows whose key changes are touched (a `+tag`, quotes, a backslash or a non-ASCII domain:
lower-casing already did the rest). When several spellings of one inbox had a claim on the same
day, the row that takes the key carries the furthest status of them (sent over unknown over
skipped over failed over pending), so a run on the day of the deploy cannot mail that inbox a
second time; the other rows keep their spelling and nothing is deleted.
"""

from django.db import migrations

# The inbox rule itself, not a frozen copy: claims must agree with the code that reads them.
from subscriptions.addresses import canonical_email

FURTHEST = {"pending": 0, "failed": 1, "skipped": 2, "unknown": 3, "sent": 4}
MAY_CHANGE = r'[+"\\]|[^\x00-\x7f]'
EMAIL_MAX_LENGTH = 254


def key_claims_by_inbox(apps, schema_editor):
    DailyEmail = apps.get_model("subscriptions", "DailyEmail")
    groups = {}
    for claim in DailyEmail.objects.filter(email__regex=MAY_CHANGE).order_by("pk").iterator():
        key = canonical_email(claim.email)[:EMAIL_MAX_LENGTH]
        if key != claim.email:
            groups.setdefault((key, claim.day), []).append(claim)
    for (key, day), spellings in groups.items():
        furthest = max(spellings, key=lambda claim: FURTHEST.get(claim.status, 0))
        holder = DailyEmail.objects.filter(email=key, day=day).first()
        if holder is None:
            furthest.email = key
            furthest.save(update_fields=["email"])
        elif FURTHEST.get(furthest.status, 0) > FURTHEST.get(holder.status, 0):
            for name in ("status", "message_id", "attempts", "error"):
                setattr(holder, name, getattr(furthest, name))
            holder.save(update_fields=["status", "message_id", "attempts", "error"])


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0008_sent_playlist_status_and_claim"),
    ]

    operations = [
        migrations.RunPython(key_claims_by_inbox, migrations.RunPython.noop),
    ]
