"""Staff see a subscriber's email of today in their own inbox: a test send, recorded nowhere."""

import logging

from anymail.exceptions import AnymailError
from django.contrib.auth.models import AbstractBaseUser

from search import spotify

from ..daily import daily_email_preview
from ..models import Subscriber

logger = logging.getLogger(__name__)

TEST_SUBJECT_PREFIX = "[Test] "


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
