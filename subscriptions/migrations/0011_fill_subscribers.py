"""One Subscriber per inbox, made from today's rows; every row gets its subscriber.

- Spellings of one inbox (case, +tag, quotes: the same inbox_key) become ONE subscriber. Its
  address is the one of the inbox's newest live subscription (else its newest subscription).
- Its suppression wins: a bounced or complained subscription, or a complaint event that staff
  have not cleared since, makes the subscriber bounced or complained (complained wins over
  bounced). An inbox known only from such an event gets a subscriber too, so it is never mailed.
- A bounced or complained subscription keeps what it was before the stop: "unsubscribed" if it
  had been unsubscribed, "pending" if never confirmed, else "active" — or "unsubscribed" when
  another live subscription of the inbox already has its term. The subscriber's state stops
  the mail; clearing the suppression resumes these subscriptions.
- Every subscription keeps its pk and token (links in inboxes keep working) and its history.
- Claims (DailyEmail): the claim keyed by the inbox (migration 0009) takes the subscriber; an
  old spelling's claim for the same day keeps none (one claim per subscriber per day).
- Delivery events and subscribe emails take the subscriber of their inbox, if there is one.

Reverse: subscriptions of a suppressed subscriber that are live get its state back as their
status (the old model's way of saying "stopped"); the schema migration then drops the links.
"""

from django.db import migrations
from django.db.models import Max
from django.utils import timezone

from subscriptions.addresses import canonical_email

LIVE = ("pending", "active")
SUPPRESSED = ("bounced", "complained")
EMAIL_MAX_LENGTH = 254


def _uncleared_complaints(EmailEvent):
    """{inbox_key: latest complaint event} for complaints staff have not cleared since."""
    cleared = dict(
        EmailEvent.objects.filter(event_type="cleared")
        .values("inbox_key")
        .annotate(last=Max("received_at"))
        .values_list("inbox_key", "last")
    )
    complaints = {}
    for event in EmailEvent.objects.filter(event_type="complained").order_by("occurred_at", "pk"):
        last_cleared = cleared.get(event.inbox_key)
        if last_cleared is None or event.received_at > last_cleared:
            complaints[event.inbox_key] = event
    return complaints


def _latest_event(EmailEvent, key, types):
    return (
        EmailEvent.objects.filter(inbox_key=key, event_type__in=types)
        .order_by("-occurred_at", "-pk")
        .first()
    )


def fill_subscribers(apps, schema_editor):
    Subscriber = apps.get_model("subscriptions", "Subscriber")
    Subscription = apps.get_model("subscriptions", "Subscription")
    DailyEmail = apps.get_model("subscriptions", "DailyEmail")
    EmailEvent = apps.get_model("subscriptions", "EmailEvent")
    SubscribeEmail = apps.get_model("subscriptions", "SubscribeEmail")
    now = timezone.now()

    by_inbox = {}
    for subscription in Subscription.objects.order_by("created_at", "pk").iterator():
        key = subscription.inbox_key or canonical_email(subscription.email)
        by_inbox.setdefault(key, []).append(subscription)
    complaints = _uncleared_complaints(EmailEvent)

    for key in sorted(set(by_inbox) | set(complaints)):
        rows = by_inbox.get(key, [])
        live = [row for row in rows if row.status in LIVE]
        statuses = {row.status for row in rows}
        if rows:
            email = (live or rows)[-1].email
        else:
            email = complaints[key].email
        state, changed_at, reason = "active", None, ""
        if "complained" in statuses or key in complaints:
            state = "complained"
        elif "bounced" in statuses:
            state = "bounced"
        if state != "active":
            types = ("complained",) if state == "complained" else ("bounced", "rejected")
            event = complaints.get(key) or _latest_event(EmailEvent, key, types)
            changed_at = event.occurred_at if event else now
            reason = event.reason if event else "Carried over from the subscriptions' status."
        subscriber = Subscriber.objects.create(
            email=email,
            inbox_key=key,
            state=state,
            state_changed_at=changed_at,
            state_reason=reason,
            created_at=rows[0].created_at if rows else now,
            last_sent_at=max((row.last_sent_at for row in rows if row.last_sent_at), default=None),
        )
        live_terms = {row.term.lower() for row in live}
        for row in rows:
            row.subscriber = subscriber
            fields = ["subscriber"]
            if row.status in SUPPRESSED:
                if row.unsubscribed_at is not None or row.term.lower() in live_terms:
                    row.status = "unsubscribed"
                    row.unsubscribed_at = row.unsubscribed_at or now
                    fields.append("unsubscribed_at")
                elif row.confirmed_at is None:
                    row.status = "pending"
                else:
                    row.status = "active"
                if row.status in LIVE:
                    live_terms.add(row.term.lower())
                fields.append("status")
            row.save(update_fields=fields)

    subscribers = dict(Subscriber.objects.values_list("inbox_key", "pk"))
    for model in (EmailEvent, SubscribeEmail):
        for key in model.objects.values_list("inbox_key", flat=True).distinct():
            if key in subscribers:
                model.objects.filter(inbox_key=key).update(subscriber_id=subscribers[key])

    # Claims: the one keyed by the inbox itself first, then old spellings for other days.
    taken = set()
    claims = sorted(
        DailyEmail.objects.all(),
        key=lambda claim: (
            claim.email != canonical_email(claim.email)[:EMAIL_MAX_LENGTH],
            claim.pk,
        ),
    )
    for claim in claims:
        subscriber_id = subscribers.get(canonical_email(claim.email))
        if subscriber_id is None or (subscriber_id, claim.day) in taken:
            continue
        taken.add((subscriber_id, claim.day))
        claim.subscriber_id = subscriber_id
        claim.save(update_fields=["subscriber"])


def restore_statuses(apps, schema_editor):
    Subscription = apps.get_model("subscriptions", "Subscription")
    Subscriber = apps.get_model("subscriptions", "Subscriber")
    for subscriber in Subscriber.objects.filter(state__in=SUPPRESSED):
        Subscription.objects.filter(subscriber=subscriber, status__in=LIVE).update(
            status=subscriber.state
        )


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0010_subscriber"),
    ]

    operations = [
        migrations.RunPython(fill_subscribers, restore_statuses),
    ]
