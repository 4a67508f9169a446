"""The mail side's system checks: Mailgun sending comes with the webhook signing key, and the
daily email has a site address, a mail backend, Mailgun's key and domain."""

import io

import pytest
from django.core.checks import ERROR, run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from subscriptions.delivery.checks import mailgun_webhook_signing_key_check


@pytest.fixture
def mailgun(settings):
    """Mailgun sending configured as settings.py does it, with no webhook signing key."""
    settings.MAILGUN_API_KEY = "key-live"
    anymail = {**settings.ANYMAIL, "MAILGUN_API_KEY": "key-live"}
    anymail.pop("MAILGUN_WEBHOOK_SIGNING_KEY", None)
    settings.ANYMAIL = anymail
    return settings


def test_mailgun_sending_without_the_signing_key_is_an_error(mailgun):
    [message] = mailgun_webhook_signing_key_check(None)

    assert message.level == ERROR
    assert message.id == "subscriptions.E001"
    assert "MAILGUN_WEBHOOK_SIGNING_KEY" in message.msg
    assert "Sending > Webhooks" in message.hint


def test_an_empty_signing_key_is_no_key(mailgun):
    mailgun.ANYMAIL = {**mailgun.ANYMAIL, "MAILGUN_WEBHOOK_SIGNING_KEY": ""}
    [message] = mailgun_webhook_signing_key_check(None)
    assert message.id == "subscriptions.E001"


def test_with_the_signing_key_there_is_nothing_to_report(mailgun):
    mailgun.ANYMAIL = {**mailgun.ANYMAIL, "MAILGUN_WEBHOOK_SIGNING_KEY": "signing-key"}
    assert mailgun_webhook_signing_key_check(None) == []


def test_without_mailgun_sending_there_is_nothing_to_report(settings):
    settings.MAILGUN_API_KEY = ""
    settings.ANYMAIL = {
        key: value for key, value in settings.ANYMAIL.items() if not key.startswith("MAILGUN_")
    }
    assert mailgun_webhook_signing_key_check(None) == []


def test_it_is_a_deploy_check(mailgun):
    # `check --deploy` reports it; a plain `check` (and so `migrate`, Heroku's release phase)
    # does not stop on it: without the key the webhook refuses everything, which is safe.
    deploy_ids = {message.id for message in run_checks(include_deployment_checks=True)}
    plain_ids = {message.id for message in run_checks()}
    assert "subscriptions.E001" in deploy_ids
    assert "subscriptions.E001" not in plain_ids


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param({"SITE_URL": ""}, "subscriptions.E002", id="no SITE_URL"),
        pytest.param(
            {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend", "DEBUG": False},
            "subscriptions.E003",
            id="console mail in production",
        ),
        pytest.param(
            {"ANYMAIL": {"MAILGUN_API_KEY": "", "MAILGUN_SENDER_DOMAIN": "mg.example.com"}},
            "subscriptions.E005",
            id="empty API key",
        ),
        pytest.param(
            {
                "ANYMAIL": {"MAILGUN_API_KEY": "k"},
                "MAILGUN_DOMAIN": "",
                "DEFAULT_FROM_EMAIL": "x <a@localhost>",
            },
            "subscriptions.E006",
            id="no Mailgun domain",
        ),
    ],
)
def test_check_deploy_reports_what_would_stop_the_daily_email(settings, change, expected):
    settings.EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"
    settings.ANYMAIL = {"MAILGUN_API_KEY": "k", "MAILGUN_SENDER_DOMAIN": "mg.example.com"}
    settings.SITE_URL = "https://funky.example.com"
    assert [m.id for m in run_checks(include_deployment_checks=True, tags=["mail"])] == []
    for name, value in change.items():
        setattr(settings, name, value)

    with pytest.raises(SystemCheckError) as caught:
        call_command("check", "--deploy", "--tag", "mail", stdout=io.StringIO())

    assert expected in str(caught.value)
