"""Loopback fake of Mailgun's send API, as django-anymail's Mailgun backend speaks to it.

Faithful to ../shared/mailgun/API_CONTRACT.md: `POST /v3/<domain>/messages` with basic auth
`api:<key>` (401 text/plain "Forbidden" otherwise), 404 JSON for an unknown domain, 400 for
more than 1,000 recipients, a missing field or a recipient it will not take (`refuse_recipient`,
for the whole call), urlencoded and multipart bodies, and the only
success answer anymail accepts. Accepted calls are kept in `sends`; `messages_to(address)`
expands Mailgun's `%recipient.KEY%` substitution the way Mailgun does for a batch send, so a
test reads exactly what one recipient would get.

As a pytest plugin it provides the `fake_mailgun` fixture. It also runs on its own, for the
benchmark or a development server: `python -m tests.fakes.mailgun --port 8002 --latency 0.05`.
"""

import argparse
import base64
import email.parser
import email.policy
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import getaddresses
from http.server import BaseHTTPRequestHandler
from urllib.parse import unquote

import pytest

from tests.fakes.server import LoopbackServer

MAX_RECIPIENTS = 1000
MAX_OPTIONS_BYTES = 16 * 1024  # o:, h: and v: fields together
SUBSTITUTED_FIELDS = ("subject", "text", "html", "amp-html")
# API_CONTRACT.md, "Error responses": Mailgun's answer to a recipient it will not take.
REFUSED_RECIPIENT = "'to' parameter is not a valid address. please check documentation"
RECIPIENT_VARIABLE = re.compile(r"%recipient\.([^%]+)%")
ERROR_MESSAGES = {
    400: "Bad request",
    401: "Forbidden",
    404: "Not found",
    429: "Too many requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@dataclass
class Send:
    """One API call Mailgun accepted (queued)."""

    message_id: str
    domain: str
    fields: dict  # field name -> list of values, in request order (repeated keys kept)
    files: list  # (field, filename, content type, bytes) for attachments and inline images
    recipient_variables: dict | None  # parsed `recipient-variables`, None when not a batch send
    content_type: str
    answered: bool = True  # False when the client never got the answer (hang or drop)

    def first(self, name, default=None):
        values = self.fields.get(name)
        return values[0] if values else default

    @property
    def recipients(self):
        """Every to/cc/bcc address (addr-spec only, as given)."""
        return [
            addr
            for kind in ("to", "cc", "bcc")
            for _, addr in getaddresses(self.fields.get(kind, []))
        ]

    @property
    def is_batch(self):
        return self.recipient_variables is not None

    @property
    def test_mode(self):
        # "Mailgun will accept the message but will not send it" (Mailgun's user manual,
        # "Sending in Test Mode": o:testmode set to yes or true; anymail passes it through
        # esp_extra, API_CONTRACT.md).
        return self.first("o:testmode", "").lower() in {"yes", "true"}

    def messages(self):
        """The individual messages Mailgun builds from this call, one per `to` address;
        none in test mode, which Mailgun accepts and never delivers."""
        if self.test_mode:
            return []
        if not self.is_batch:
            # One message that every recipient sees with the whole `to` list.
            return [self._expand(None, address) for address in self.recipients]
        return [
            self._expand(address, address) for _, address in getaddresses(self.fields.get("to", []))
        ]

    def _expand(self, batch_address, address):
        variables = (self.recipient_variables or {}).get(batch_address, {}) if batch_address else {}

        def substitute(value):
            if batch_address is None:
                return value
            return RECIPIENT_VARIABLE.sub(
                lambda match: (
                    _as_text(variables[match.group(1)])
                    if match.group(1) in variables
                    else match.group(0)
                ),
                value,
            )

        headers = {}
        custom_data = {}
        for name, values in self.fields.items():
            if name.startswith("h:"):
                headers[name[2:]] = substitute(values[-1])
            elif name.startswith("v:"):
                custom_data[name[2:]] = substitute(values[-1])
        message = {
            "message_id": self.message_id,
            "from": self.first("from"),
            "to": address if batch_address else ", ".join(self.fields.get("to", [])),
            "headers": headers,
            "user_variables": custom_data,
            "tags": list(self.fields.get("o:tag", [])),
            "options": {k: v[-1] for k, v in self.fields.items() if k.startswith("o:")},
        }
        for name in SUBSTITUTED_FIELDS:
            if name in self.fields:
                message[name] = substitute(self.first(name))
        return message


def _form_decode(raw):
    """One urlencoded name or value, as parse_qsl would decode it, at C speed.

    parse_qsl undoes escapes one by one in Python: about a second for the megabytes of
    recipient variables a 1,000-address batch carries, which the benchmark would count as
    Mailgun's time. Turning "%XX" into "\\xXX" (after doubling any literal backslash) hands the
    work to the C codec; a malformed escape raises ValueError, answered with a 400.
    """
    escaped = raw.replace(b"\\", b"\\\\").replace(b"+", b" ").replace(b"%", b"\\x")
    return escaped.decode("unicode_escape").encode("latin-1").decode("utf-8")


def _as_text(value):
    # Mailgun substitutes strings as they are and other JSON values in their JSON spelling.
    return value if isinstance(value, str) else json.dumps(value)


class FakeMailgun(LoopbackServer):
    """A threaded HTTP server on 127.0.0.1 that answers like Mailgun's `/v3/<domain>/messages`."""

    api_key = "test-key"
    domain = "mg.example.com"

    def __init__(self, *, port=0, latency=0.0, domains=None):
        super().__init__(port=port)
        self.latency = latency
        self.domains = set(domains or {self.domain})
        self._lock = threading.Lock()
        self._calls_changed = threading.Condition(self._lock)
        self._release = threading.Event()  # wakes hanging handlers on reset()/stop()
        self._counter = itertools.count(1)
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def handler_class(self):
        return _Handler  # defined below, with the request parsing

    def stop(self):
        self._release.set()  # a handler held by hang_next must not outlive the server
        super().stop()

    def environment(self):
        """The variables that point a child process (gunicorn, manage.py) at this fake."""
        return {
            "MAILGUN_API_KEY": self.api_key,
            "MAILGUN_DOMAIN": self.domain,
            "MAILGUN_API_URL": self.api_url,
        }

    @property
    def api_url(self):
        return f"{self.base_url}/v3"

    def release(self):
        """Let every handler held by hang_next answer now (its client may be long gone)."""
        with self._lock:
            self._release.set()
            self._release = threading.Event()

    def reset(self):
        """Forget recorded calls and pending faults; release any handler still hanging."""
        self._release.set()
        with self._lock:
            self.sends = []
            self.requests = []  # every POST received: (status or "hung"/"dropped", recipients)
            # Request number (counted from the last reset) -> (kind, detail) for the faults
            # that tests schedule with fail_next / hang_next / drop_next.
            self._faults = {}
            self._refused = set()  # addresses whose calls get a 400 (refuse_recipient)
            self._received = 0
            self._next_free = 0
            self._release = threading.Event()
            self.while_serving = None
            self._calls_changed.notify_all()

    # -- faults ------------------------------------------------------------------------------

    def fail_next(self, *, status=500, times=1, body=None, headers=None, after=0):
        """Answer the next `times` sends with `status` (JSON body by default, like Mailgun).

        `after` lets that many requests through normally first ("fail the second batch").
        """
        self._schedule("fail", (status, body, headers or {}), times, after)

    def hang_next(self, *, seconds, times=1, after=0):
        """Queue the next sends but answer only after `seconds`: a client read timeout."""
        self._schedule("hang", seconds, times, after)

    def drop_next(self, *, times=1, queued=True, after=0):
        """Read the next request, then close the connection without answering.

        With `queued` (the default) Mailgun had already accepted the message, the case where
        a retry would mail people twice.
        """
        self._schedule("drop", queued, times, after)

    def serve_with(self, hook):
        """Call `hook(recipients)` in the handler thread as each well-formed send is served,
        after its latency and before its answer (None: no hook; reset() removes it). A test
        watches what the client holds while it waits for Mailgun, or holds the answer."""
        with self._lock:
            self.while_serving = hook

    def refuse_recipient(self, address):
        """Answer 400 to every call that has `address` (any case) among its recipients.

        Mailgun refuses a call with 400 {"message": "'to' parameter is not a valid address.
        please check documentation"} (API_CONTRACT.md) when it will not take one of the
        addresses: nobody in that call is queued. Until reset().
        """
        with self._lock:
            self._refused.add(address.strip().lower())

    def _refuses(self, recipients):
        with self._lock:
            return any(address.lower() in self._refused for address in recipients)

    def _schedule(self, kind, detail, times, after):
        # Faults queue up behind the ones already scheduled, like "next" suggests.
        with self._lock:
            first = max(self._received, self._next_free) + after
            for number in range(first, first + times):
                self._faults[number] = (kind, detail)
            self._next_free = first + times

    # -- inspection --------------------------------------------------------------------------

    def messages_to(self, address):
        """Every message (expanded per recipient) delivered to `address`, oldest first."""
        wanted = address.strip().lower()
        with self._lock:
            sends = list(self.sends)
        return [
            message
            for send in sends
            for message in send.messages()
            if wanted in {a.lower() for _, a in getaddresses([message["to"]])}
        ]

    @property
    def recipients(self):
        """Every address of every accepted send, with repeats: duplicates show up here."""
        with self._lock:
            return [address.lower() for send in self.sends for address in send.recipients]

    def wait_for_requests(self, count, *, timeout=10):
        """Block until at least `count` POSTs arrived (whatever their answer); True if so."""
        with self._calls_changed:
            return self._calls_changed.wait_for(lambda: len(self.requests) >= count, timeout)

    # -- request handling (called from the handler threads) ----------------------------------

    def _next_fault(self):
        """The fault scheduled for this well-formed request, if any (counts the request)."""
        with self._lock:
            number = self._received
            self._received += 1
            return self._faults.pop(number, (None, None))

    def _record(self, outcome, send=None, recipients=()):
        with self._lock:
            self.requests.append({"outcome": outcome, "recipients": list(recipients)})
            if send is not None:
                self.sends.append(send)
            self._calls_changed.notify_all()

    def _new_message_id(self, domain):
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        number = next(self._counter)
        return f"<{stamp}.{number}.{number * 7919:06X}FAKE@{domain}>"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""

    @property
    def fake(self) -> FakeMailgun:
        return self.server.fake

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass  # keep test output clean

    def do_GET(self):  # noqa: N802 - the stdlib's naming
        self._discard_body()
        # Mailgun answers any path it does not route with this 200 text.
        self._answer(200, "Mailgun Magnificent API", content_type="text/plain")

    def do_POST(self):  # noqa: N802
        fake = self.fake
        body = self._read_body()
        if fake.latency:
            time.sleep(fake.latency)
        if not self._authorised():
            fake._record(401)
            self._answer(401, "Forbidden", content_type="text/plain")
            return
        match = re.fullmatch(r"/v3/([^/]+)/messages/?", self.path.split("?", 1)[0])
        if not match:
            self._answer(200, "Mailgun Magnificent API", content_type="text/plain")
            return
        domain = unquote(match.group(1))
        if domain not in fake.domains:
            fake._record(404)
            self._answer(404, {"message": f"Domain not found: {domain}"})
            return
        try:
            fields, files = self._parse(body)
        except ValueError as exc:
            fake._record(400)
            self._answer(400, {"message": str(exc)})
            return
        problem, recipient_variables = _validate(fields)
        recipients = [a for k in ("to", "cc", "bcc") for _, a in getaddresses(fields.get(k, []))]
        if problem is None and fake._refuses(recipients):
            problem = REFUSED_RECIPIENT
        if problem:
            fake._record(400, recipients=recipients)
            self._answer(400, {"message": problem})
            return

        fault, detail = fake._next_fault()
        hook = fake.while_serving
        if hook is not None:
            hook(recipients)
        if fault == "fail":
            status, error_body, headers = detail
            fake._record(status, recipients=recipients)
            if error_body is None and status == 401:
                error_body = "Forbidden"
            elif error_body is None:
                error_body = {"message": ERROR_MESSAGES.get(status, "Error")}
            self._answer(status, error_body, headers=headers)
            return

        send = Send(
            message_id=fake._new_message_id(domain),
            domain=domain,
            fields=fields,
            files=files,
            recipient_variables=recipient_variables,
            content_type=self.headers.get("Content-Type", ""),
        )
        if fault == "drop":
            send.answered = False
            fake._record("dropped", send if detail else None, recipients)
            self.close_connection = True
            self.connection.close()
            return
        if fault == "hang":
            send.answered = False
            fake._record("hung", send, recipients)
            fake._release.wait(detail)
        else:
            fake._record(200, send, recipients)
        self._answer(200, {"id": send.message_id, "message": "Queued. Thank you."})

    # -- helpers -----------------------------------------------------------------------------

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _discard_body(self):
        self._read_body()

    def _authorised(self):
        scheme, _, encoded = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, key = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return user == "api" and key == self.fake.api_key

    def _parse(self, body):
        content_type = self.headers.get("Content-Type", "")
        fields, files = {}, []
        if content_type.startswith("application/x-www-form-urlencoded"):
            for pair in body.split(b"&") if body else ():
                name, equals, value = pair.partition(b"=")
                if not equals:
                    raise ValueError("Malformed form body")
                fields.setdefault(_form_decode(name), []).append(_form_decode(value))
        elif content_type.startswith("multipart/form-data"):
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + body
            )
            if not message.is_multipart():
                raise ValueError("Malformed multipart body")
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True) or b""
                if part.get_filename() is not None:
                    files.append((name, part.get_filename(), part.get_content_type(), payload))
                else:
                    charset = part.get_content_charset() or "utf-8"
                    fields.setdefault(name, []).append(payload.decode(charset))
        else:
            raise ValueError("Unsupported Content-Type")
        return fields, files

    def _answer(self, status, payload, *, content_type=None, headers=None):
        if isinstance(payload, dict | list):
            data = json.dumps(payload).encode()
            content_type = content_type or "application/json"
        else:
            data = str(payload).encode()
            content_type = content_type or "text/plain"
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a read timeout): what a real server sees too


def _validate(fields):
    """Mailgun's 400 answers, checked in the order Mailgun reports them."""
    if not fields.get("from"):
        return "'from' parameter is missing", None
    if not fields.get("to"):
        return "'to' parameter is missing", None
    for kind in ("from", "to", "cc", "bcc"):
        for _, address in getaddresses(fields.get(kind, [])):
            local, at, host = address.rpartition("@")
            if not (local and at and host) or any(c.isspace() for c in address):
                problem = f"'{kind}' parameter is not a valid address. please check documentation"
                return problem, None
    recipients = sum(len(getaddresses(fields.get(k, []))) for k in ("to", "cc", "bcc"))
    if recipients > MAX_RECIPIENTS:
        return f"Too many recipients; max is {MAX_RECIPIENTS}", None
    if not any(fields.get(name) for name in ("text", "html", "template")):
        return "Need at least one of 'text', 'html' or 'template' parameters specified", None
    options = sum(
        len(name) + len(value.encode())
        for name, values in fields.items()
        if name[:2] in {"o:", "h:", "v:"}
        for value in values
    )
    if options > MAX_OPTIONS_BYTES:
        return "Message options (o:, h:, v:) exceed the 16 kB limit", None
    recipient_variables = None
    if "recipient-variables" in fields:
        try:
            recipient_variables = json.loads(fields["recipient-variables"][-1])
        except ValueError:
            return "recipient-variables parameter is not a valid JSON", None
        if not isinstance(recipient_variables, dict):
            return "recipient-variables parameter is not a valid JSON", None
    return None, recipient_variables


# -- pytest plugin ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _fake_mailgun_server():
    with FakeMailgun() as server:
        yield server


@pytest.fixture
def fake_mailgun(_fake_mailgun_server, settings):
    """A running fake Mailgun with anymail's Mailgun backend pointed at it; fresh per test."""
    server = _fake_mailgun_server
    server.reset()
    server.latency = 0.0
    settings.EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"
    settings.MAILGUN_API_KEY = server.api_key
    settings.MAILGUN_DOMAIN = server.domain
    settings.ANYMAIL = {
        **settings.ANYMAIL,
        "MAILGUN_API_KEY": server.api_key,
        "MAILGUN_API_URL": server.api_url,
        "MAILGUN_SENDER_DOMAIN": server.domain,
        # Short, so a test of a hanging Mailgun takes seconds, not the production 30.
        "REQUESTS_TIMEOUT": (2, 5),
    }
    yield server
    server.reset()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each answer")
    args = parser.parse_args(argv)
    server = FakeMailgun(port=args.port, latency=args.latency).start()
    print(f"Fake Mailgun on {server.api_url} (key {server.api_key!r}, domain {server.domain!r})")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
