"""The one rule for a Mailgun batch's size, read by the command and the sender.

Mailgun's cap is `settings.MAILGUN_MAX_RECIPIENTS`; settings bound MAILGUN_BATCH_SIZE by it.
"""

from django.conf import settings


def batch_size_problem(size: int) -> str | None:
    """Why `size` cannot be a batch size, or None when it can."""
    cap = settings.MAILGUN_MAX_RECIPIENTS
    if not 1 <= size <= cap:
        return f"must be between 1 and {cap} (Mailgun's cap per call)"
    return None
