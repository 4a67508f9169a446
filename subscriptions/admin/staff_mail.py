"""Staff see a subscriber's email of today in their own inbox: a test send, recorded nowhere,
whose links carry no token of the subscriber's."""

import logging
import re

from anymail.exceptions import AnymailError
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import EmailMultiAlternatives
from django.utils.html import escape

from search import spotify

from ..daily import daily_email_preview
from ..models import Subscriber

logger = logging.getLogger(__name__)

TEST_SUBJECT_PREFIX = "[Test] "
# Stands for every token in the copy's links: a path segment that opens nobody's page. The
# manage and unsubscribe links are credentials, and staff who may only look must not hold them.
LINKS_DISABLED = "links-disabled-in-a-test-send"
LINKS_NOTE = "Links are disabled in a test send: they open no one's page."


class TestSendRefused(Exception):
    """Nothing was sent; the message says why, in words for the admin."""


def daily_email_test_send(*, subscriber: Subscriber, staff_user: AbstractBaseUser) -> str:
    """Mail `staff_user`, at the address on their account, the email `subscriber` would get
    today, marked as a test (subject prefix, a header, Mailgun metadata), without claiming,
    recording history or touching the subscriber. Returns the address it went to."""
    address = getattr(staff_user, "email", "")
    if not address:
        raise TestSendRefused("Your user account has no email address to send the test to.")
    try:
        message = daily_email_preview(subscriber=subscriber)
    except spotify.SpotifyError as error:
        raise TestSendRefused(f"Spotify could not be searched just now ({error}).") from error
    if message is None:
        raise TestSendRefused(
            f"{subscriber.email} would get nothing today: no sendable mood, or no new playlist."
        )
    message.to, message.cc, message.bcc = [address], [], []
    message.subject = TEST_SUBJECT_PREFIX + message.subject
    message.extra_headers = {
        **{
            name: value
            for name, value in message.extra_headers.items()
            # The subscriber's own one-click unsubscribe must not ride on a copy to staff.
            if not name.lower().startswith("list-unsubscribe")
        },
        "X-Funky-Test-Send": f"copy of {subscriber.email}'s email, for {address}",
    }
    _disable_links(message, tokens=_tokens_of(subscriber))
    message.metadata = {"test_send": "1"}  # type: ignore[attr-defined]  # anymail: not a daily email
    try:
        message.send()
    except (AnymailError, OSError) as error:
        raise TestSendRefused(f"The mail service refused the test send ({error}).") from error
    logger.info(
        "Test send of %s's daily email to %s by %s",
        subscriber.pk,
        address,
        staff_user.get_username(),
    )
    return address


def _tokens_of(subscriber: Subscriber) -> list[str]:
    """Every secret a link of theirs may carry: the manage token and each mood's token."""
    return [subscriber.manage_token, *subscriber.subscriptions.values_list("token", flat=True)]


def _disable_links(message: EmailMultiAlternatives, *, tokens: list[str]) -> None:
    """Put LINKS_DISABLED where any of `tokens` is, in the subject, the headers and both
    bodies, and say so at the top of each body. The tokens are random and 43 characters
    long, so a plain replacement cannot touch anything else."""

    def disabled(text: str) -> str:
        for token in tokens:
            text = text.replace(token, LINKS_DISABLED)
        return text

    message.subject = disabled(str(message.subject))
    message.extra_headers = {name: disabled(value) for name, value in message.extra_headers.items()}
    message.body = f"{LINKS_NOTE}\n\n{disabled(str(message.body))}"
    alternatives, message.alternatives = message.alternatives, []
    for content, mimetype in alternatives:
        if mimetype == "text/html":
            content = _html_with_note(disabled(str(content)))
        message.attach_alternative(content, mimetype)


def _html_with_note(html: str) -> str:
    """The note as the first paragraph of the body (the document's own <body> tag kept)."""
    note = f'<p style="font-weight:bold;">{escape(LINKS_NOTE)}</p>'
    opening = re.search(r"<body[^>]*>", html)
    if opening is None:
        return note + html
    return f"{html[: opening.end()]}\n  {note}{html[opening.end() :]}"
