"""Mailgun's delivery events, as anymail's tracking signal delivers them, applied to subscriptions.

Connected in SubscriptionsConfig.ready(). Before the signal is sent, webhooks.py has checked
the signature (and basic auth when ANYMAIL WEBHOOK_SECRET is set), its age and the body's
shape, and events.webhook_signature_use lets each signature through once.
"""

import hashlib
import logging

from django.utils import timezone

from ..models import EmailEvent
from . import events, records

logger = logging.getLogger(__name__)

# anymail's normalised event types that stop mail to an address. Temporary failures arrive as
# "deferred" (anymail maps Mailgun's severity=temporary so) and, like delivered, opened,
# clicked and queued, change nothing.
STOPPING_EVENTS = {
    "bounced": EmailEvent.Type.BOUNCED,
    "rejected": EmailEvent.Type.REJECTED,
    "complained": EmailEvent.Type.COMPLAINED,
    "unsubscribed": EmailEvent.Type.UNSUBSCRIBED,
}


# anymail's normalised event types that settle a daily email whose run never heard Mailgun's
# answer: delivered, or failed for good ("failed" with severity permanent arrives as bounced;
# temporary failures, "deferred", are retried by Mailgun and settle nothing yet).
DAILY_OUTCOMES = {"delivered": True, "bounced": False, "rejected": False}


def event_id_of(event):
    """A stable id for one Mailgun event, the same on every retry of its webhook.

    Mailgun's own event id when the payload has one. Otherwise a digest of what identifies
    the event: the signature's token and timestamp (fixed for one webhook), the event name and
    the recipient. anymail's event.event_id is only the signature token, which is not enough
    on its own.
    """
    payload = event.esp_event if isinstance(event.esp_event, dict) else {}
    event_data = payload.get("event-data") or {}
    if event_data.get("id"):
        return str(event_data["id"])
    signature = payload.get("signature") or {}
    parts = (
        signature.get("token") or event.event_id or "",
        signature.get("timestamp") or "",
        event_data.get("event") or event.event_type,
        event.recipient or "",
    )
    return "sha256:" + hashlib.sha256("\n".join(map(str, parts)).encode()).hexdigest()


def reason_of(event):
    """Why the mail stopped, in words an admin can act on."""
    parts = [event.reject_reason, event.description, event.mta_response]
    return "; ".join(str(part) for part in parts if part)


def handle_tracking_event(sender, event, esp_name, **kwargs):
    event_type = STOPPING_EVENTS.get(event.event_type)
    if event_type is None:
        return
    if not event.recipient:
        logger.warning("%s %s event without a recipient; ignored.", esp_name, event.event_type)
        return
    events.email_event_record(
        email=event.recipient,
        event_type=event_type,
        event_id=event_id_of(event),
        occurred_at=event.timestamp or timezone.now(),
        reason=reason_of(event),
        message_id=event.message_id or "",
    )


def handle_daily_outcome(sender, event, esp_name, **kwargs):
    """A delivered or failed event for a daily email still "unknown": settle its claim."""
    delivered = DAILY_OUTCOMES.get(event.event_type)
    metadata = event.metadata
    if delivered is None or not isinstance(metadata, dict):
        return
    if not isinstance(event.recipient, str) or not event.recipient:
        return
    settled = records.daily_email_resolve(
        recipient=event.recipient,
        metadata=metadata,
        delivered=delivered,
        message_id=event.message_id or "",
        reason=reason_of(event),
        occurred_at=event.timestamp or timezone.now(),
    )
    if settled:
        logger.info(
            "%s %s event settled the daily email of %s.",
            esp_name,
            event.event_type,
            event.recipient,
        )
