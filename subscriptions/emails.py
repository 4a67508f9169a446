"""What renders and sends the confirmation email: bodies are templates, links come from SITE_URL."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from .links import confirm_url

CONFIRM_TEMPLATES = "subscriptions/email/confirm"


def render_confirmation(subscription):
    """(subject, text, html) of the message that asks `subscription.email` to confirm."""
    context = {
        "subscription": subscription,
        "term": subscription.term,
        "confirm_url": confirm_url(subscription),
        "site_url": settings.SITE_URL,
    }
    # A subject is one line whatever the template's layout.
    subject = " ".join(render_to_string(f"{CONFIRM_TEMPLATES}_subject.txt", context).split())
    text = render_to_string(f"{CONFIRM_TEMPLATES}.txt", context)
    html = render_to_string(f"{CONFIRM_TEMPLATES}.html", context)
    return subject, text, html


def send_confirmation(subscription):
    """Send it now; the mail backend's errors (anymail's, SMTP's) propagate to the caller."""
    subject, text, html = render_confirmation(subscription)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[subscription.email])
    message.attach_alternative(html, "text/html")
    message.send()
