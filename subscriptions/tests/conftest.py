"""Fixtures for the subscriptions tests: subscriptions in any state, a staff client."""

import pytest

from subscriptions.tests import factories


@pytest.fixture
def make_subscription(db):
    """factories.subscription: status "bounced"/"complained" suppresses the subscriber."""
    return factories.subscription


@pytest.fixture
def closed_port_mailgun(settings):
    """anymail's Mailgun backend pointed at a port nobody listens on: every send fails."""
    settings.EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"
    settings.ANYMAIL = {
        **settings.ANYMAIL,
        "MAILGUN_API_KEY": "test-key",
        "MAILGUN_SENDER_DOMAIN": "mg.example.com",
        "MAILGUN_API_URL": "http://127.0.0.1:9/v3",
        "REQUESTS_TIMEOUT": 2,
    }
