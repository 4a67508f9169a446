"""Mailgun's tracking webhook, as anymail receives it, hardened against malformed bodies."""

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.webhooks.mailgun import MailgunTrackingWebhookView as AnymailMailgunTrackingView


class MailgunTrackingWebhookView(AnymailMailgunTrackingView):
    """anymail's view, but JSON of the wrong shape is a 400 like any other bad payload.

    anymail 15.2 catches KeyError and ValueError while it reads the signature block, not the
    TypeError of a JSON array or a null "signature", which would otherwise answer 500.
    """

    def run_validators(self, request):
        try:
            super().run_validators(request)
        except (TypeError, AttributeError) as error:
            raise AnymailWebhookValidationFailure(
                "Mailgun webhook called with invalid payload format"
            ) from error
