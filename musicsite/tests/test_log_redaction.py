"""A working token never reaches the log output (issue 21, item 10).

Django logs every 4xx and 5xx answer with its path (`django.request`: "Not Found: /subscriptions/
manage/<token>/"), CSRF refusals too (`django.security.csrf`); whoever reads the log drain would
get working links. Real requests go through the test client, and the test reads what the
configured `console` handler writes.
"""

import io
import logging

import pytest
from django.test import Client

from subscriptions.tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_output():
    """What the site's configured console handler writes during the test."""
    handlers = {
        handler
        for name in ("", "django")
        for handler in logging.getLogger(name).handlers
        if handler.name == "console"
    }
    assert handlers, "settings.LOGGING has no console handler"
    stream = io.StringIO()
    previous = {handler: handler.setStream(stream) for handler in handlers}
    yield stream
    for handler, old in previous.items():
        handler.setStream(old)


def tokens_of(subscription):
    return {subscription.token, subscription.subscriber.manage_token}


def test_4xx_answers_under_token_paths_log_no_token(client, settings, log_output):
    settings.SUBSCRIBE_ATTEMPTS_PER_ADDRESS_PER_DAY = 1
    pending = factories.subscription("pending@example.com", "happy", status="pending")
    active = factories.subscription("active@example.com", "rain")
    manage = f"/subscriptions/manage/{pending.subscriber.manage_token}/"
    answers = [
        # 404: a web copy that is not there, behind a valid manage token
        client.get(f"/subscriptions/manage/{active.subscriber.manage_token}/emails/999999/"),
        client.get(f"/subscriptions/manage/{active.subscriber.manage_token}/nothing-here/"),
        # 400: something the manage page does not do
        client.post(manage, {"action": "teleport"}),
        # 429: an inbox that has not confirmed asks for a second confirmation today
        client.post(manage, {"action": "add", "term": "jazz"}),
        client.post(manage, {"action": "add", "term": "blues"}),
        # 404: a token that is not (or no longer) valid is still somebody's secret
        client.get("/subscriptions/confirm/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"),
    ]
    # 403: a post without its CSRF token (django.security.csrf)
    answers.append(
        Client(enforce_csrf_checks=True).post(
            f"/subscriptions/unsubscribe/{active.token}/", {"confirm": "1"}
        )
    )

    statuses = [answer.status_code for answer in answers]
    assert statuses == [404, 404, 400, 303, 429, 404, 403]
    logged = log_output.getvalue()
    assert logged.count("WARNING django") >= 6, logged
    assert "/subscriptions/manage/<redacted>/emails/999999/" in logged
    assert "/subscriptions/confirm/<redacted>/" in logged
    for token in tokens_of(pending) | tokens_of(active) | {"a" * 43}:
        assert token not in logged


def test_a_traceback_naming_a_token_path_is_redacted(log_output):
    active = factories.subscription("active@example.com", "rain")
    path = f"/subscriptions/manage/{active.subscriber.manage_token}/schedule/"
    try:
        raise RuntimeError(f"could not render {path}")
    except RuntimeError:
        logging.getLogger("django.request").exception("Internal Server Error: %s", path)

    logged = log_output.getvalue()
    assert "RuntimeError: could not render /subscriptions/manage/<redacted>/schedule/" in logged
    assert "Internal Server Error: /subscriptions/manage/<redacted>/schedule/" in logged
    assert active.subscriber.manage_token not in logged


def test_paths_without_tokens_are_left_alone(client, log_output):
    client.get("/subscriptions/no-such-page/")
    client.get("/no-such-page/subscriptions/")

    logged = log_output.getvalue()
    assert "Not Found: /subscriptions/no-such-page/" in logged
    assert "Not Found: /no-such-page/subscriptions/" in logged
