"""Logging filters: the subscribers' link tokens are credentials and never reach a log line.

Django logs every 4xx/5xx answer with its path ("Not Found: /subscriptions/manage/<token>/"), and
CSRF refusals the same way; a log drain is read by more people than the admin is.
"""

import logging
import re

REDACTED = "<redacted>"
# Every path under /subscriptions/ (alone or inside an absolute URL), up to its query string.
_SUBSCRIPTIONS_PATH = re.compile(r"/subscriptions/[^\s?#'\"<>]*")
# A whole path segment as long as a token could be: tokens are secrets.token_urlsafe(32), 43
# characters of its alphabet; a cut or mistyped one is still most of somebody's secret. The
# route words under /subscriptions/ (confirm, manage, schedule, emails...) are all shorter.
_TOKEN_SEGMENT = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{16,}(?![A-Za-z0-9_-])")
_plain = logging.Formatter()


def redact_tokens(text: str) -> str:
    """`text` with every token-like segment of a /subscriptions/ path replaced by REDACTED."""
    return _SUBSCRIPTIONS_PATH.sub(lambda path: _TOKEN_SEGMENT.sub(REDACTED, path.group()), text)


class RedactTokenPaths(logging.Filter):
    """Redacts token segments in a record's message, its arguments and its traceback.

    Put it on every handler (settings.LOGGING): a filter on a logger would miss the records
    its children propagate. A record that names no token is left exactly as it was."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # malformed arguments: leave the error to the handler, as logging does
            return True
        redacted = redact_tokens(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            # Formatted here (as Formatter.format would, and caches) so it can be redacted.
            record.exc_text = _plain.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_tokens(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_tokens(record.stack_info)
        return True
