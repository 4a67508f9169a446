"""Why a run sends nothing (more): the settings, Mailgun's answer to them, the breaker."""

from django.core.exceptions import ImproperlyConfigured

from .runs import BreakerState


class DailyConfigurationError(ImproperlyConfigured):
    """The run cannot send correct mail with these settings; nothing was claimed or sent."""


class MailgunUnusable(DailyConfigurationError):
    """Mailgun answered a call in a way every further call would share (a wrong key, domain or
    URL, or no connection at all). The run stopped there; the batch went back to pending with
    no attempt charged, and what was sent before it stays sent (`summary`, when known)."""

    def __init__(self, reason: str, *, summary=None):
        super().__init__(reason)
        self.reason = reason
        self.summary = summary


class ComplaintBreakerOn(Exception):
    """Complaints over the last days reached DAILY_COMPLAINT_BREAKER_RATE (daily.runs):
    nothing was claimed or sent."""

    def __init__(self, state: BreakerState):
        super().__init__(f"The complaint breaker is on: {state.describe()}.")
        self.state = state
