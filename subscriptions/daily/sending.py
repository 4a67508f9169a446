"""Sending: one anymail call per batch, what each answer means, and the 400 bisection.

A batch is one call, whatever its addresses' numbers of picks: the layout is the run's one
layout and each address brings its own part in its recipient variables. A call Mailgun
refuses over a recipient (400) is split in halves until the refused address is alone, so one
bad address fails only itself.
"""

import logging
from collections.abc import Callable

import requests
from anymail.backends.base import AnymailBaseBackend
from anymail.exceptions import AnymailConfigurationError, AnymailError, AnymailRequestsAPIError
from anymail.message import AnymailMessage
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from urllib3.exceptions import MaxRetryError

from ..links import ONE_CLICK_HEADERS, list_unsubscribe_header
from .composing import DailyLayout, DailyMessage
from .report import BatchReport, Outcome, log_outcome

logger = logging.getLogger(__name__)  # under "subscriptions.daily"

# Mailgun answers that mean every further batch would fail the same way: the settings are
# wrong (API_CONTRACT.md: 401 for a key it does not know, 403 for one it will not let send,
# 404 for a domain or URL it does not have). The batch goes back untouched; the run stops.
MAILGUN_CONFIGURATION_STATUSES = {
    401: "Mailgun refused the API key (401): check MAILGUN_API_KEY",
    403: "Mailgun does not let this key send for the domain (403): check MAILGUN_API_KEY "
    "and MAILGUN_DOMAIN",
    404: "Mailgun has no such domain or URL (404): check MAILGUN_DOMAIN and MAILGUN_API_URL",
}
# What Mailgun's 400 says when a recipient is the trouble (API_CONTRACT.md: "'to' parameter is
# not a valid address. please check documentation"; "Too many recipients; max is 1000").
RECIPIENT_REFUSALS = ("'to' parameter", "recipient")

# Sends one batch's messages with the layout through a connection; returns Mailgun's message
# id ("" when the backend has none). The run's default is `batch_send`; a caller may pass its own.
BatchSender = Callable[[DailyLayout, list[DailyMessage], "SendContext"], str]


class SendContext:
    """What a batch send needs besides its messages: the connection and the day."""

    def __init__(self, *, connection, day):
        self.connection = connection
        self.day = day


def batch_send(layout: DailyLayout, messages: list[DailyMessage], context: SendContext) -> str:
    """One API call for the batch (Mailgun builds each recipient's message from its values);
    one message per address for backends without batch sending (console, locmem)."""
    backend = context.connection
    if not isinstance(backend, AnymailBaseBackend):
        backend.send_messages([single_message(layout, message) for message in messages])
        return ""
    batch = AnymailMessage(
        subject=layout.subject,
        body=layout.text,
        to=[message.address for message in messages],
        connection=backend,
    )
    batch.attach_alternative(layout.html, "text/html")
    batch.merge_data = {message.address: message.variables for message in messages}
    batch.extra_headers = dict(ONE_CLICK_HEADERS)
    batch.merge_headers = {
        message.address: list_unsubscribe_header(message.list_unsubscribe_url)
        for message in messages
    }
    # Metadata (not tags: a tag makes Mailgun add its own List-Unsubscribe) lets the delivery
    # webhooks find the subscriptions a bounce or complaint is about, and (kind, day and the
    # recipient) the claim a `delivered` or `failed` event settles when the run never heard.
    batch.metadata = {"kind": "daily", "day": context.day.isoformat()}
    batch.merge_metadata = {
        message.address: {"subscription_ids": ",".join(map(str, message.subscription_ids))}
        for message in messages
    }
    batch.send()
    return str(batch.anymail_status.message_id or "")


def single_message(layout: DailyLayout, message: DailyMessage) -> EmailMultiAlternatives:
    """One address's message, expanded here the way Mailgun expands a batch."""
    layout = message.layout or layout
    text, html = layout.expand(message.variables)
    single = EmailMultiAlternatives(
        subject=layout.subject,
        body=text,
        to=[message.address],
        headers={**list_unsubscribe_header(message.list_unsubscribe_url), **ONE_CLICK_HEADERS},
    )
    single.attach_alternative(html, "text/html")
    return single


class Mailer:
    """Makes a batch's calls (in the run's sender thread) and reads Mailgun's answers."""

    def __init__(self, *, day, sender: BatchSender | None = None):
        self.day = day
        self.sender = sender or batch_send

    def send(self, report: BatchReport, layout: DailyLayout) -> tuple[list[BatchReport], int]:
        """Send one batch's call, or one per layout when some of its messages go with another
        (the goodbye: subscriptions.listening.sunset); when Mailgun refuses a call over a
        recipient, send each half on its own, and so on, until the refused addresses are
        alone. Returns (reports, calls).

        k bad addresses among n cost at most about 2·k·log2(n) calls more, in this run.
        """
        waiting, answered, calls = _by_layout(report, layout)[::-1], [], 0
        while waiting:
            part, layout = waiting.pop()
            calls += 1
            if self._send(part, layout) and len(part.messages) > 1:
                half = len(part.messages) // 2
                logger.info(
                    "Batch %d: Mailgun refused a call of %d addresses over a recipient; "
                    "sending each half on its own.",
                    part.number,
                    len(part.messages),
                )
                # Last in, first out: the first half goes next, so the order is kept.
                waiting.append((part.part(part.messages[half:], first=False), layout))
                waiting.append((part.part(part.messages[:half], first=True), layout))
                continue
            if part.outcome != Outcome.SENT:
                log_outcome(part)
            answered.append(part)
            if part.outcome == Outcome.RETURNED:  # every further call would be refused too
                for unsent, _ in reversed(waiting):
                    unsent.outcome, unsent.error = Outcome.RETURNED, "Not sent: the run stopped."
                    answered.append(unsent)
                break
        return answered, calls

    def _send(self, report, layout):
        """Make one API call and put its answer in `report`; True when Mailgun refused the
        call over a recipient (a 400 that splitting the call can get past)."""
        context = SendContext(connection=mail.get_connection(), day=self.day)  # no stale socket
        try:
            message_id = self.sender(layout, report.messages, context)
        except AnymailError as error:
            report.message_id, report.error = "", str(error)[:2000]
            report.status = getattr(error, "status_code", None)
            if reason := unusable_reason(error):
                report.outcome, report.error = Outcome.RETURNED, reason
                return False
            report.outcome = outcome_of(error)
            return report.status == 400 and _refused_over_a_recipient(error)
        report.outcome, report.message_id, report.error, report.status = (
            Outcome.SENT,
            str(message_id or ""),
            "",
            None,
        )
        return False


def _by_layout(report: BatchReport, layout: DailyLayout) -> list[tuple[BatchReport, DailyLayout]]:
    """A report's messages by the layout they go with, a call each: the run's layout, and the
    goodbye's for those who get it today (most batches have the one)."""
    groups: dict[int, tuple[DailyLayout, list[DailyMessage]]] = {}
    for message in report.messages:
        its_layout = message.layout or layout
        groups.setdefault(id(its_layout), (its_layout, []))[1].append(message)
    if len(groups) <= 1:
        return [(report, next(iter(groups.values()))[0] if groups else layout)]
    return [
        (report.part(messages, first=number == 0), its_layout)
        for number, (its_layout, messages) in enumerate(groups.values())
    ]


def _refused_over_a_recipient(error):
    """A 400 whose message is about recipients: one address may spoil a whole call."""
    try:
        message = str(error.response.json().get("message", ""))
    except (AttributeError, ValueError):
        message = str(error)
    return any(words in message for words in RECIPIENT_REFUSALS)


def unusable_reason(error: AnymailError) -> str | None:
    """Why no call can succeed with these settings, in one line; None when the answer is
    about this call only (a bad recipient, a busy Mailgun, no answer)."""
    if isinstance(error, AnymailConfigurationError):
        return f"anymail cannot call Mailgun with these settings: {_one_line(error)}"
    if not isinstance(error, AnymailRequestsAPIError):
        return None
    if error.status_code in MAILGUN_CONFIGURATION_STATUSES:
        return MAILGUN_CONFIGURATION_STATUSES[error.status_code]
    if error.status_code is None and outcome_of(error) == Outcome.FAILED:
        # Never connected: a wrong MAILGUN_API_URL, DNS, TLS, or the network itself.
        return (
            "Could not connect to Mailgun: check MAILGUN_API_URL and the network "
            f"({_one_line(error)})"
        )
    return None


def _one_line(error: Exception) -> str:
    """The error's text on one line (a log line, the command's one line of output)."""
    text = " ".join(str(error).split())
    return text[:300] if text else type(error).__name__


def outcome_of(error: AnymailError) -> Outcome:
    """'failed' when Mailgun surely did not take the batch, 'unknown' when it may have.

    anymail raises one error type for everything; for network trouble it is also the
    requests exception, which tells whether the request went out.
    """
    if not isinstance(error, AnymailRequestsAPIError):
        return Outcome.FAILED  # anymail refused before any request (configuration, payload)
    if error.status_code is not None:
        # An error status is Mailgun saying no. A 200 that anymail could not read may be queued.
        return Outcome.FAILED if error.status_code >= 400 else Outcome.UNKNOWN
    if isinstance(error, requests.ConnectTimeout):
        return Outcome.FAILED  # never connected
    if isinstance(error, requests.ConnectionError):
        cause = error.__cause__ if error.__cause__ is not None else error
        reason = cause.args[0] if getattr(cause, "args", None) else None
        # requests wraps "could not connect" (refused, DNS, TLS handshake) in MaxRetryError;
        # a connection that dropped after the request went out is a bare ProtocolError.
        if isinstance(reason, MaxRetryError):
            return Outcome.FAILED
        return Outcome.UNKNOWN
    return Outcome.UNKNOWN  # read timeout, broken chunked answer: the request went out
