"""Absolute links that go out in emails: built from settings.SITE_URL, never from a request."""

from django.conf import settings
from django.urls import reverse
from django.utils.http import urlencode

# The confirmation link's query parameter naming the sign-up it was sent for.
SIGN_UP_PARAMETER = "sign_up"


def absolute_url(path):
    """SITE_URL + path: mail is rendered outside any request (the daily command)."""
    return f"{settings.SITE_URL}{path}"


def confirm_url(subscription, *, sign_up=None):
    """`sign_up`: the id of the sign-up's SubscribeEmail, whose schedule confirming takes."""
    path = reverse("subscriptions:confirm", kwargs={"token": subscription.token})
    return absolute_url(f"{path}?{urlencode({SIGN_UP_PARAMETER: sign_up})}" if sign_up else path)


def unsubscribe_url(subscription):
    """The page link and the RFC 8058 one-click target (a POST with List-Unsubscribe=One-Click)."""
    return absolute_url(reverse("subscriptions:unsubscribe", kwargs={"token": subscription.token}))


# RFC 8058: mail that offers one-click unsubscribing says so in a header of its own.
ONE_CLICK_HEADERS = {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def list_unsubscribe_header(url: str) -> dict[str, str]:
    """RFC 2369's List-Unsubscribe for the one-click target `url` (with ONE_CLICK_HEADERS)."""
    return {"List-Unsubscribe": f"<{url}>"}


def manage_url(subscriber):
    """The page where a subscriber sees and changes every subscription of their inbox."""
    return absolute_url(reverse("subscriptions:manage", kwargs={"token": subscriber.manage_token}))


def email_copy_url(*, manage_token: str, daily_email_id: int) -> str:
    """The web copy of one daily email, behind its subscriber's manage token."""
    return absolute_url(
        reverse("subscriptions:email_copy", kwargs={"token": manage_token, "pk": daily_email_id})
    )


def subscribe_url(term=None):
    """The subscribe page, with the term filled in when given."""
    path = reverse("subscriptions:subscribe")
    return absolute_url(f"{path}?{urlencode({'term': term})}" if term else path)
