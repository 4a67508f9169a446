"""System checks for the mail side: sending through Mailgun needs the webhook signing key, and
the daily email needs a site address, a real mail backend and Mailgun's key and domain."""

from collections.abc import Sequence
from email.utils import parseaddr

from anymail.exceptions import AnymailError
from anymail.utils import get_anymail_setting
from django.apps import AppConfig
from django.conf import settings
from django.core import mail
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

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


CONSOLE_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
}
MAIL_TAG = "mail"


def _mailgun_domain(backend) -> str:
    """The domain anymail will send from: MAILGUN_DOMAIN, else DEFAULT_FROM_EMAIL's."""
    if backend.sender_domain:
        return backend.sender_domain
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2]
    return "" if domain in {"", "localhost"} else domain


# Deploy checks, so that `check --deploy` reports them while development (console mail) and
# Heroku's release phase are left alone; send_daily_playlists runs them and exits 2.
@register(MAIL_TAG, deploy=True)
def mail_configuration_check(
    app_configs: Sequence[AppConfig] | None, **kwargs
) -> list[CheckMessage]:
    """The email would be wrong or go nowhere: no SITE_URL, no mail backend, no Mailgun key
    or sending domain."""
    problems: list[CheckMessage] = []
    if not settings.SITE_URL:
        problems.append(
            Error(
                "SITE_URL is not set: the links in the email need the site's address.",
                hint="Set SITE_URL to the site's https:// address.",
                id="subscriptions.E002",
            )
        )
    backend_path = settings.EMAIL_BACKEND
    if backend_path in CONSOLE_BACKENDS and not settings.DEBUG:
        problems.append(
            Error(
                f"No mail configuration: EMAIL_BACKEND is {backend_path} with DEBUG off.",
                hint="Set MAILGUN_API_KEY and MAILGUN_DOMAIN.",
                id="subscriptions.E003",
            )
        )
        return problems
    try:
        backend = mail.get_connection()
    except (AnymailError, ImproperlyConfigured) as error:
        problems.append(
            Error(f"The mail backend is not configured: {error}", id="subscriptions.E004")
        )
        return problems
    if type(backend).__module__ == "anymail.backends.mailgun":
        if not backend.api_key:
            problems.append(
                Error(
                    "No mail configuration: MAILGUN_API_KEY is empty.",
                    hint="Set MAILGUN_API_KEY to the domain's sending key.",
                    id="subscriptions.E005",
                )
            )
        if not _mailgun_domain(backend):
            problems.append(
                Error(
                    "No Mailgun sending domain: set MAILGUN_DOMAIN (or a DEFAULT_FROM_EMAIL "
                    "on the Mailgun domain).",
                    id="subscriptions.E006",
                )
            )
    return problems
