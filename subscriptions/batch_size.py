"""The one rule for a Mailgun batch's size, read by the settings, the command and the sender.

Imports nothing of Django's, so that musicsite/settings.py can use it.
"""

MAILGUN_MAX_RECIPIENTS = 1000  # Mailgun's cap on the recipients of one API call


def batch_size_problem(size: int) -> str | None:
    """Why `size` cannot be a batch size, or None when it can."""
    if not 1 <= size <= MAILGUN_MAX_RECIPIENTS:
        return f"must be between 1 and {MAILGUN_MAX_RECIPIENTS} (Mailgun's cap per call)"
    return None
