"""Mailgun's tracking webhook: only a fresh signature made with our key, used once, on a body of
the shape Mailgun sends, reaches the tracking signal (and so receivers.py).

anymail 15.2 checks basic auth and the HMAC of timestamp + token, nothing more: it falls back
to the API key, or to an empty key, when no signing key is set; it has no limit on a
signature's age; and its parser answers 500 to JSON of the wrong shape. Mailgun signs nothing
of the body, so a signature is good for one body within MAILGUN_WEBHOOK_MAX_AGE_SECONDS of
now, and `events.webhook_signature_use` remembers the tokens already used.
"""

import hashlib
import json
import logging
import math
import re
from datetime import UTC, datetime, timedelta

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.utils import get_anymail_setting
from anymail.webhooks.mailgun import MailgunTrackingWebhookView as AnymailMailgunTrackingView
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from . import events

logger = logging.getLogger(__name__)

# Mailgun's token is 50 random characters; anymail encodes timestamp + token as ASCII.
_TOKEN = re.compile(r"[\x21-\x7e]{1,255}")
_SIGNATURE_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_LATEST_TIMESTAMP = datetime(9999, 12, 31, tzinfo=UTC).timestamp()
_ABSENT = object()

# What anymail's parser and our receivers read from "event-data", and the JSON type each must
# have when present (parents before children). Mailgun's event structure:
# https://documentation.mailgun.com/docs/mailgun/user-manual/events/ and webhook_samples/.
EVENT_DATA_SHAPE: dict[tuple[str, ...], tuple[type, ...]] = {
    ("event",): (str,),
    ("timestamp",): (int, float),
    ("id",): (str,),
    ("recipient",): (str,),
    ("severity",): (str,),
    ("reason",): (str,),
    ("tags",): (list,),
    ("user-variables",): (dict,),
    ("client-info",): (dict,),
    ("reject",): (dict,),
    ("reject", "reason"): (str,),
    ("delivery-status",): (dict, type(None)),
    ("delivery-status", "description"): (str, type(None)),
    ("delivery-status", "message"): (str, type(None)),
    ("message",): (dict,),
    ("message", "headers"): (dict,),
    ("message", "headers", "message-id"): (str,),
    ("message", "headers", "to"): (str,),
}
REQUIRED = {("event",), ("timestamp",)}
# The columns these land in (EmailEvent): longer values would be a database error.
MAX_EVENT_ID = 255
MAX_RECIPIENT = 254
MAX_MESSAGE_ID = 255


def signing_key() -> str:
    """MAILGUN_WEBHOOK_SIGNING_KEY as anymail reads it, "" when unset: never the API key."""
    return get_anymail_setting("webhook_signing_key", esp_name="Mailgun", default="") or ""


def signature_window() -> timedelta:
    """How far from now a signature's timestamp may be, either way."""
    return timedelta(seconds=settings.MAILGUN_WEBHOOK_MAX_AGE_SECONDS)


def refused(reason: str) -> AnymailWebhookValidationFailure:
    """Django answers this (a SuspiciousOperation) with 400 and logs it as a security event."""
    return AnymailWebhookValidationFailure(f"Mailgun webhook refused: {reason}")


def _has_type(value: object, types: tuple[type, ...]) -> bool:
    # JSON's true and false are not numbers, though Python's bool is an int.
    return isinstance(value, types) and (bool in types or not isinstance(value, bool))


def event_data_problem(event_data: object) -> str | None:
    """Why `event_data` is not the shape Mailgun sends, or None when it is."""
    if not isinstance(event_data, dict):
        return "event-data is not an object"
    for path, types in EVENT_DATA_SHAPE.items():
        node: object = event_data
        for key in path:
            node = node.get(key, _ABSENT) if isinstance(node, dict) else _ABSENT
        if node is _ABSENT:
            if path in REQUIRED:
                return f"event-data has no {'.'.join(path)}"
            continue
        if not _has_type(node, types):
            return f"event-data {'.'.join(path)} has the wrong type"
    timestamp = event_data["timestamp"]
    if not (math.isfinite(timestamp) and 0 <= timestamp <= _LATEST_TIMESTAMP):
        return "event-data timestamp is not a time"
    if len(event_data.get("id", "")) > MAX_EVENT_ID:
        return "event-data id is too long"
    return None


def signature_block_problem(payload: object) -> str | None:
    """Why the body has no well-formed signature block, or None when it has one."""
    if not isinstance(payload, dict):
        return "the body is not a JSON object"
    block = payload.get("signature")
    if not isinstance(block, dict):
        return "no signature block"
    token, timestamp = block.get("token"), block.get("timestamp")
    if not (isinstance(token, str) and _TOKEN.fullmatch(token)):
        return "the signature token is malformed"
    # A string in Mailgun's samples, an integer in its documentation: anymail signs either.
    if isinstance(timestamp, bool) or not isinstance(timestamp, str | int):
        return "the signature timestamp is malformed"
    if not _SIGNATURE_TIMESTAMP.fullmatch(str(timestamp)):
        return "the signature timestamp is malformed"
    if not isinstance(block.get("signature"), str):
        return "the signature is malformed"
    return None


def body_digest(payload: dict) -> str:
    """The same for every serialisation of the same JSON (Mailgun's retries carry the same)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class MailgunTrackingWebhookView(AnymailMailgunTrackingView):
    """anymail's view, refusing with 400 (and changing nothing) whatever Mailgun did not send."""

    def __init__(self, **kwargs):
        # anymail's own lookup would fall back to the API key, and raise (a 500) without one.
        super().__init__(webhook_signing_key=signing_key(), **kwargs)
        self.payload: dict = {}

    def run_validators(self, request: HttpRequest) -> None:
        if not self.webhook_signing_key:
            logger.error(
                "Mailgun webhook refused: MAILGUN_WEBHOOK_SIGNING_KEY is not set, so no event "
                "can be verified. Set it to the HTTP webhook signing key from Mailgun's "
                "dashboard (Sending > Webhooks)."
            )
            raise refused("no signing key is configured")
        if request.content_type != "application/json":
            # Mailgun's legacy form-encoded webhooks (before 2018) are not accepted.
            raise refused("not a JSON body")
        try:
            payload = json.loads(request.body.decode("utf-8"))
        except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
            raise refused("the body is not JSON") from error
        problem = signature_block_problem(payload)
        if problem:
            raise refused(problem)
        super().run_validators(request)  # basic auth (when configured), then the HMAC
        age = timezone.now().timestamp() - int(payload["signature"]["timestamp"])
        if abs(age) > signature_window().total_seconds():
            logger.warning("Mailgun webhook signed %d s from now refused (clock or replay).", age)
            raise refused("the signature is too old or too new")
        problem = event_data_problem(payload.get("event-data"))
        if problem:
            logger.warning("Signed Mailgun webhook refused: %s.", problem)
            raise refused(problem)
        self.payload = payload

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.run_validators(request)
        tracking_events = self.parse_events(request)
        for event in tracking_events:
            if len(event.recipient or "") > MAX_RECIPIENT:
                raise refused("the recipient is too long")
            if len(event.message_id or "") > MAX_MESSAGE_ID:
                raise refused("the message id is too long")

        def send_signals() -> None:
            for event in tracking_events:
                self.signal.send(sender=self.__class__, event=event, esp_name=self.esp_name)

        block = self.payload["signature"]
        use = events.webhook_signature_use(
            token=block["token"],
            signed_at=datetime.fromtimestamp(int(block["timestamp"]), tz=UTC),
            body_digest=body_digest(self.payload),
            window=signature_window(),
            handle=send_signals,
        )
        if use is events.SignatureUse.CONFLICT:
            logger.warning(
                "Mailgun webhook refused: its signature was already used on another body."
            )
            raise refused("this signature was already used")
        if use is events.SignatureUse.REPEAT:
            logger.info("Mailgun webhook retried a delivery already handled; nothing to do.")
        return HttpResponse()
