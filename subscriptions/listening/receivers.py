"""Mailgun's `delivered` event, as anymail's tracking signal brings it: when the daily email
reached the inbox, which the scanner rules count from (connected in SubscriptionsConfig)."""

from datetime import date

from django.utils import timezone

from . import services


def handle_delivered(sender, event, esp_name, **kwargs):
    """Webhooks checked the signature, age and shape first; a retry changes nothing more."""
    metadata = event.metadata if isinstance(event.metadata, dict) else {}
    if event.event_type != "delivered" or metadata.get("kind") != "daily":
        return
    if not isinstance(event.recipient, str) or not event.recipient:
        return
    try:
        day = date.fromisoformat(str(metadata.get("day")))
    except ValueError:
        return
    services.delivery_record(
        recipient=event.recipient, day=day, delivered_at=event.timestamp or timezone.now()
    )
