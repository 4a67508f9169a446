"""The manage page's newest emails, each linking to its web copy (manage/web_copies.py)."""

from django import template

from subscriptions.manage.web_copies import past_emails
from subscriptions.models import DailyEmail, Subscriber

register = template.Library()


@register.simple_tag
def newest_emails(subscriber: Subscriber, count: int = 5) -> list[DailyEmail]:
    """One query, whatever the count."""
    return list(past_emails(subscriber)[:count])
