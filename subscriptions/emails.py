"""What renders and sends the subscribe form's emails: bodies are templates, links come from
SITE_URL.

Every subscribe request that is not refused sends one message, whatever the address's state:
the confirmation (new or pending), a short "you are already subscribed" notice (active), a
"you have as many moods as we send" notice (MAX_MOODS_PER_SUBSCRIBER), or, for an address that
bounced or complained, the same notice as a stand-in that Mailgun accepts
in test mode and never delivers. Each answer then waits on the same Mailgun call, so how long
the form takes does not tell who is subscribed.
"""

from anymail.backends.mailgun import EmailBackend as MailgunBackend
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string

from .links import confirm_url, manage_url, subscribe_url, unsubscribe_url
from .models import Subscriber, Subscription

CONFIRM_TEMPLATES = "subscriptions/email/confirm"
ALREADY_SUBSCRIBED_TEMPLATES = "subscriptions/email/already_subscribed"
MANAGE_LINK_TEMPLATES = "subscriptions/email/manage_link"
MOOD_LIMIT_TEMPLATES = "subscriptions/email/mood_limit"
# Mailgun "will accept the message but will not send it" (Mailgun's user manual, "Sending in
# Test Mode"); anymail passes esp_extra fields to the API as they are.
MAILGUN_TEST_MODE = {"o:testmode": "yes"}


def subject_render(template: str, context: dict) -> str:
    """An email's subject from `template`: one line, whatever the template's layout."""
    return " ".join(render_to_string(template, context).split())


def _render(templates, context):
    """(subject, text, html) from `templates`_subject.txt, .txt and .html."""
    context = {**context, "site_url": settings.SITE_URL}
    subject = subject_render(f"{templates}_subject.txt", context)
    text = render_to_string(f"{templates}.txt", context)
    html = render_to_string(f"{templates}.html", context)
    return subject, text, html


def _message(to, rendered, connection=None):
    subject, text, html = rendered
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to], connection=connection)
    message.attach_alternative(html, "text/html")
    return message


def _manage_url_of(subscription):
    """The footer's "Manage your daily playlists" link; none for withheld's unsaved stand-in."""
    if subscription.subscriber_id is None:
        return ""
    return manage_url(subscription.subscriber)


def render_confirmation(
    subscription: Subscription, *, sign_up: int | None = None
) -> tuple[str, str, str]:
    """(subject, text, html) of the message that asks the subscriber's inbox to confirm;
    its link names the sign-up (`sign_up`, a SubscribeEmail id) when there is one."""
    return _render(
        CONFIRM_TEMPLATES,
        {
            "subscription": subscription,
            "term": subscription.term,
            "confirm_url": confirm_url(subscription, sign_up=sign_up),
            "manage_url": _manage_url_of(subscription),
        },
    )


def render_already_subscribed(subscription: Subscription) -> tuple[str, str, str]:
    """(subject, text, html) of the notice to an address that already gets this term."""
    return _render(
        ALREADY_SUBSCRIBED_TEMPLATES,
        {
            "subscription": subscription,
            "term": subscription.term,
            "unsubscribe_url": unsubscribe_url(subscription),
            "subscribe_url": subscribe_url(),
            "manage_url": _manage_url_of(subscription),
        },
    )


def render_manage_link(subscriber: Subscriber) -> tuple[str, str, str]:
    """(subject, text, html) of the "Lost your link?" answer: the subscriber's manage page."""
    return _render(
        MANAGE_LINK_TEMPLATES, {"subscriber": subscriber, "manage_url": manage_url(subscriber)}
    )


def render_mood_limit(subscriber: Subscriber, *, term: str, cap: int) -> tuple[str, str, str]:
    """(subject, text, html) of the answer to a sign-up for one mood more than `cap`."""
    return _render(
        MOOD_LIMIT_TEMPLATES,
        {"subscriber": subscriber, "term": term, "cap": cap, "manage_url": manage_url(subscriber)},
    )


def send_mood_limit(subscriber: Subscriber, *, term: str, cap: int) -> None:
    """Send it now; errors propagate as for send_confirmation."""
    _message(subscriber.email, render_mood_limit(subscriber, term=term, cap=cap)).send()


def send_confirmation(subscription: Subscription, *, sign_up: int | None = None) -> None:
    """Send it now; the mail backend's errors (anymail's, SMTP's) propagate to the caller."""
    rendered = render_confirmation(subscription, sign_up=sign_up)
    _message(subscription.subscriber.email, rendered).send()


def send_already_subscribed(subscription: Subscription) -> None:
    """Send the notice now; errors propagate as for send_confirmation."""
    _message(subscription.subscriber.email, render_already_subscribed(subscription)).send()


def send_manage_link(subscriber: Subscriber) -> None:
    """Send the manage page's link now; errors propagate as for send_confirmation."""
    _message(subscriber.email, render_manage_link(subscriber)).send()


def send_manage_link_withheld(*, email: str) -> None:
    """What send_manage_link does, delivering nothing (see send_withheld): the address has no
    subscriptions, or must get no more mail from us."""
    stand_in = Subscriber(email=email)  # never saved: its token opens no page
    _send_in_test_mode(email, render_manage_link(stand_in))


def _send_in_test_mode(email, rendered):
    connection = get_connection()
    if isinstance(connection, MailgunBackend):
        message = _message(email, rendered, connection=connection)
        message.esp_extra = MAILGUN_TEST_MODE
        message.send()


def send_withheld(*, email: str, term: str) -> None:
    """Do what sending the notice to `email` would do, and deliver nothing: the address
    bounced or complained, and must get no more mail from us.

    Through Mailgun, the notice goes out in test mode (accepted, never delivered). Through any
    other backend (the console in development, SMTP) there is no such mode, so the message is
    rendered and not sent.
    """
    # Never saved: its links lead nowhere.
    stand_in = Subscription(subscriber=Subscriber(email=email), term=term)
    _send_in_test_mode(email, render_already_subscribed(stand_in))
