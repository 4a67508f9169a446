"""Mailgun's tracking webhook, as anymail receives it, hardened against malformed bodies and
against running without a signing key."""

import logging

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.utils import get_anymail_setting
from anymail.webhooks.mailgun import MailgunTrackingWebhookView as AnymailMailgunTrackingView

logger = logging.getLogger(__name__)


def signing_key() -> str:
    """MAILGUN_WEBHOOK_SIGNING_KEY as anymail reads it, "" when unset: never the API key."""
    return get_anymail_setting("webhook_signing_key", esp_name="Mailgun", default="") or ""


class MailgunTrackingWebhookView(AnymailMailgunTrackingView):
    """anymail's view, but JSON of the wrong shape is a 400 like any other bad payload, and
    without a signing key every post is refused.

    anymail 15.2 catches KeyError and ValueError while it reads the signature block, not the
    TypeError of a JSON array or a null "signature", which would otherwise answer 500. Without
    a signing key it verifies against the API key, or against "" (anyone can sign with that).
    """

    def __init__(self, **kwargs):
        # anymail's own lookup would fall back to the API key, and raise (a 500) without one.
        super().__init__(webhook_signing_key=signing_key(), **kwargs)

    def run_validators(self, request):
        if not self.webhook_signing_key:
            logger.error(
                "Mailgun webhook refused: MAILGUN_WEBHOOK_SIGNING_KEY is not set, so no event "
                "can be verified. Set it to the HTTP webhook signing key from Mailgun's "
                "dashboard (Sending > Webhooks)."
            )
            raise AnymailWebhookValidationFailure(
                "Mailgun webhook refused: no signing key is configured"
            )
        try:
            super().run_validators(request)
        except (TypeError, AttributeError) as error:
            raise AnymailWebhookValidationFailure(
                "Mailgun webhook called with invalid payload format"
            ) from error
