"""Mailgun's webhook samples, and signing them afresh as Mailgun would (tests decide "now").

The samples in webhook_samples/ are ../shared/mailgun/webhook_samples/ as Mailgun sends them,
signed in 2024 with the key TEST_WEBHOOK_SIGNING_KEY. Mailgun signs only `timestamp + token`
(HMAC-SHA256, hex; "Securing Webhooks" in Mailgun's docs), so `signed()` can give any body a
signature that is current, or as old or as new as a test needs.
"""

import copy
import hashlib
import hmac
import json
import secrets
import threading
import time
from pathlib import Path

from django.test import Client

SAMPLES = Path(__file__).parent / "webhook_samples"
WEBHOOK_URL = "/anymail/mailgun/tracking/"
SIGNING_KEY = "TEST_WEBHOOK_SIGNING_KEY"


def sample(name):
    return json.loads((SAMPLES / f"mailgun_{name}.json").read_text())


def signature_of(timestamp, token, key=SIGNING_KEY):
    return hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()


def signed(payload, *, key=SIGNING_KEY, age=0, token=None):
    """A copy of `payload` with a new signature block: signed `age` seconds ago (negative: in
    the future) with a fresh token, or with `token` when given."""
    payload = copy.deepcopy(payload)
    timestamp = str(int(time.time()) - age)
    token = token or secrets.token_hex(25)  # 50 characters, like Mailgun's
    payload["signature"] = {
        "token": token,
        "timestamp": timestamp,
        "signature": signature_of(timestamp, token, key),
    }
    return payload


_clients = threading.local()


def post(payload, **extra):
    """POST as Mailgun does: JSON, no cookie, no CSRF token, against a client that checks CSRF.
    `payload` may be a ready-made body (str or bytes) for shapes json.dumps cannot make."""
    # One client per thread: a new one loads the middleware again (WhiteNoise then rescans
    # every static file), which made the generated-body test slow. Webhooks set no cookies.
    if not hasattr(_clients, "client"):
        _clients.client = Client(enforce_csrf_checks=True)
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    return _clients.client.post(WEBHOOK_URL, body, content_type="application/json", **extra)
