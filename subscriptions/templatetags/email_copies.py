"""The manage page's newest emails, each linking to its web copy (subscriptions.web_copies)."""

from django import template

from subscriptions.models import DailyEmail, Subscriber
from subscriptions.web_copies import past_emails

register = template.Library()


@register.simple_tag
def newest_emails(subscriber: Subscriber, count: int = 5) -> list[DailyEmail]:
    """One query, whatever the count."""
    return list(past_emails(subscriber)[:count])
