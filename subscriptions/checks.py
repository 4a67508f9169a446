"""System check for Mailgun's webhooks: sending through Mailgun needs the webhook signing key."""

from collections.abc import Sequence

from anymail.utils import get_anymail_setting
from django.apps import AppConfig
from django.core.checks import CheckMessage, Error, Tags, register

from .webhooks import signing_key


def mailgun_sending_configured() -> bool:
    """A Mailgun API key as anymail's backend reads it (ANYMAIL or the bare setting)."""
    return bool(get_anymail_setting("api_key", esp_name="Mailgun", allow_bare=True, default=""))


# A deploy check: without the key the webhook refuses every event, which is safe but leaves
# bounces and complaints unrecorded; `check --deploy` says so, while `migrate` (Heroku's release
# phase) still runs.
@register(Tags.security, deploy=True)
def mailgun_webhook_signing_key_check(
    app_configs: Sequence[AppConfig] | None, **kwargs
) -> list[CheckMessage]:
    if not mailgun_sending_configured() or signing_key():
        return []
    return [
        Error(
            "Mail goes out through Mailgun (MAILGUN_API_KEY is set) but "
            "MAILGUN_WEBHOOK_SIGNING_KEY is not: every bounce, complaint and unsubscribe "
            "webhook is refused, so bounced and complaining addresses keep being mailed.",
            hint="Set MAILGUN_WEBHOOK_SIGNING_KEY to the HTTP webhook signing key from "
            "Mailgun's dashboard (Sending > Webhooks).",
            id="subscriptions.E001",
        )
    ]
