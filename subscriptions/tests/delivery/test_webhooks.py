"""Mailgun tracking webhooks through anymail's real URL: signed bodies in, subscription states out.

Bodies are the real samples in webhook_samples/ (see mailgun_signing.py), signed afresh with
the test key so that each has a current timestamp and its own token, as Mailgun's would.
Replays, stale signatures and malformed bodies are refused; see the sections below.
"""

import base64
import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from subscriptions import services
from subscriptions.delivery import events
from subscriptions.models import EmailEvent, Subscriber, Subscription
from subscriptions.tests.mailgun_signing import (
    SIGNING_KEY,
    WEBHOOK_URL,
    post,
    sample,
    signature_of,
    signed,
)

Status = Subscription.Status

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def signing_key(settings):
    anymail = {**settings.ANYMAIL, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}
    anymail.pop("WEBHOOK_SECRET", None)
    settings.ANYMAIL = anymail


def test_the_signing_helper_reproduces_mailgun_s_own_signatures():
    # Otherwise every test below would prove something about a scheme Mailgun does not use.
    for name in ("complained", "failed_permanent_bounce", "delivered"):
        block = sample(name)["signature"]
        assert signature_of(block["timestamp"], block["token"]) == block["signature"]


@pytest.fixture
def address_book(make_subscription):
    """For each sample's recipient: two live subscriptions typed in another case, one ended;
    and a bystander who must never change."""
    rows = {}
    recipients = [
        "alice@example.org",
        "invalid@example.org",
        "previously-bounced@example.org",
        "undeliverable@nomx.example.org",
        "recipient@example.org",
        "bob@example.org",
    ]
    for address in recipients:
        local, domain = address.split("@")
        rows[address] = [
            make_subscription(email=f"{local.upper()}@{domain}", term="happy"),
            make_subscription(email=address, term="sad", status=Status.PENDING),
            make_subscription(email=address, term="jazz", status=Status.UNSUBSCRIBED),
        ]
    rows["bystander"] = [make_subscription(email="carol@example.org", term="happy")]
    return rows


def current(rows):
    """The rows' statuses, then their subscriber's delivery state (a bounce or complaint
    stops the inbox, not its subscriptions)."""
    statuses = [Subscription.objects.get(pk=row.pk).status for row in rows]
    return [*statuses, Subscriber.objects.get(pk=rows[0].subscriber_id).state]


def state_of(address):
    return Subscriber.objects.get(inbox_key=address).state


ACTIVE = Subscriber.State.ACTIVE
UNCHANGED = [Status.ACTIVE, Status.PENDING, Status.UNSUBSCRIBED, ACTIVE]


@pytest.mark.parametrize(
    "name, recipient, after, event_type",
    [
        (
            "failed_permanent_bounce",
            "invalid@example.org",
            [Status.ACTIVE, Status.PENDING, Status.UNSUBSCRIBED, "bounced"],
            "bounced",
        ),
        (
            "failed_permanent_suppress_bounce",
            "previously-bounced@example.org",
            [Status.ACTIVE, Status.PENDING, Status.UNSUBSCRIBED, "bounced"],
            "bounced",
        ),
        (
            "rejected",
            "recipient@example.org",
            [Status.ACTIVE, Status.PENDING, Status.UNSUBSCRIBED, "bounced"],
            "rejected",
        ),
        (
            "complained",
            "alice@example.org",
            [Status.ACTIVE, Status.PENDING, Status.UNSUBSCRIBED, "complained"],
            "complained",
        ),
        (
            "unsubscribed",
            "bob@example.org",
            [Status.UNSUBSCRIBED, Status.UNSUBSCRIBED, Status.UNSUBSCRIBED, ACTIVE],
            "unsubscribed",
        ),
    ],
)
def test_stopping_events_stop_the_inbox_under_every_spelling(
    address_book, name, recipient, after, event_type
):
    """A bounce or complaint suppresses the subscriber (its subscriptions keep the person's
    choices, so clearing the stop resumes them); Mailgun's unsubscribe ends them all."""
    response = post(signed(sample(name)))

    assert response.status_code == 200
    assert current(address_book[recipient]) == after
    for address, rows in address_book.items():
        if address not in (recipient, "bystander"):
            assert current(rows) == UNCHANGED, address
    assert current(address_book["bystander"]) == [Status.ACTIVE, ACTIVE]
    [event] = EmailEvent.objects.all()
    assert (event.recipient, event.event_type) == (recipient, event_type)


@pytest.mark.parametrize("name", ["failed_temporary", "delivered", "opened", "clicked", "accepted"])
def test_other_events_change_nothing_and_record_nothing(address_book, name):
    response = post(signed(sample(name)))

    assert response.status_code == 200
    for address, rows in address_book.items():
        if address != "bystander":
            assert current(rows) == UNCHANGED, address
    assert not EmailEvent.objects.exists()


def test_bounce_is_recorded_with_time_reason_and_message_id(address_book):
    post(signed(sample("failed_permanent_bounce")))

    event = EmailEvent.objects.get()
    assert event.occurred_at == datetime.fromtimestamp(1706788810.389832, tz=UTC)
    assert "5.1.1 The email account that you tried to reach does not exist." in event.reason
    assert event.message_id == "<20240201120000.1.ABCDEF0123456789@mg.example.com>"
    # No Mailgun event id in this payload: a digest of the signed fields stands in.
    assert event.event_id.startswith("sha256:")


def test_rejection_reason_and_mailgun_event_id_are_kept(address_book):
    post(signed(sample("rejected")))
    post(signed(sample("complained")))

    rejected = EmailEvent.objects.get(event_type="rejected")
    assert "Sandbox subdomains are for test purposes only." in rejected.reason
    complained = EmailEvent.objects.get(event_type="complained")
    assert complained.event_id == "ncV2XwymRUKbPek_MIM-Gw"


def test_mailgun_s_retry_of_a_processed_event_answers_200_and_changes_nothing(
    address_book, make_subscription
):
    # Mailgun retries a webhook (same body, same signature) when it did not hear our 200.
    delivery = signed(sample("failed_permanent_bounce"))
    assert post(delivery).status_code == 200
    # The address comes back through a new confirmation before Mailgun retries the webhook.
    returned = make_subscription(email="invalid@example.org", term="fresh", status="pending")
    services.subscription_confirm(subscription=returned)
    assert state_of("invalid@example.org") == ACTIVE

    assert post(delivery).status_code == 200

    assert EmailEvent.objects.count() == 1
    assert state_of("invalid@example.org") == ACTIVE


def test_the_same_mailgun_event_id_under_two_signatures_records_once(address_book):
    post(signed(sample("unsubscribed")))
    post(signed(sample("unsubscribed")))
    assert EmailEvent.objects.filter(event_id="W3X4JOhFT-OZidZGKKr9iA").count() == 1


def test_events_without_an_id_are_told_apart(address_book):
    post(signed(sample("failed_permanent_bounce")))
    post(signed(sample("failed_permanent_suppress_bounce")))
    assert EmailEvent.objects.count() == 2


def test_bad_signature_is_refused_and_changes_nothing(address_book):
    payload = signed(sample("failed_permanent_bounce"))
    payload["signature"]["signature"] = "0" * 64

    response = post(payload)

    assert response.status_code == 400
    assert current(address_book["invalid@example.org"]) == UNCHANGED
    assert not EmailEvent.objects.exists()


def test_signature_made_with_another_key_is_refused(address_book, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_WEBHOOK_SIGNING_KEY": "another-key"}
    assert post(signed(sample("complained"))).status_code == 400
    assert current(address_book["alice@example.org"]) == UNCHANGED


def _basic_auth(credentials):
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def test_with_a_webhook_secret_missing_or_wrong_basic_auth_is_refused(address_book, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": "mailgun:s3cret-words"}

    assert post(signed(sample("complained"))).status_code == 400
    wrong = post(signed(sample("complained")), HTTP_AUTHORIZATION=_basic_auth("mailgun:guess"))
    assert wrong.status_code == 400
    assert current(address_book["alice@example.org"]) == UNCHANGED

    right = post(
        signed(sample("complained")), HTTP_AUTHORIZATION=_basic_auth("mailgun:s3cret-words")
    )
    assert right.status_code == 200
    assert state_of("alice@example.org") == "complained"


def test_recipient_is_matched_whatever_its_case(make_subscription):
    row = make_subscription(email="Alice@EXAMPLE.org", term="happy")
    payload = signed(sample("complained"))
    payload["event-data"]["recipient"] = "ALICE@example.ORG"  # the signature does not cover it

    post(payload)

    assert current([row]) == [Status.ACTIVE, "complained"]
    assert EmailEvent.objects.get().recipient == "alice@example.org"


def test_after_a_complaint_the_form_sends_nothing(client, address_book):
    post(signed(sample("complained")))
    response = client.post(
        reverse("subscriptions:subscribe"),
        {"email": "alice@example.org", "term": "brand new term", "homepage": ""},
    )
    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()
    assert mail.outbox == []
    assert not Subscription.objects.filter(term="brand new term").exists()


def test_a_complaint_after_staff_cleared_one_suppresses_the_address_again(
    client, address_book, admin_user
):
    assert post(signed(sample("complained"))).status_code == 200
    events.address_suppression_clear(email="alice@example.org", staff_user=admin_user)
    # The stop is lifted; what alice had chosen resumes.
    assert current(address_book["alice@example.org"]) == UNCHANGED
    client.post(
        reverse("subscriptions:subscribe"),
        {"email": "alice@example.org", "term": "happy", "homepage": ""},
    )
    assert len(mail.outbox) == 1  # no longer refused

    again = signed(sample("complained"))
    again["event-data"]["id"] = "a-second-complaint"
    assert post(again).status_code == 200

    assert state_of("alice@example.org") == "complained"
    client.post(
        reverse("subscriptions:subscribe"),
        {"email": "alice@example.org", "term": "new term", "homepage": ""},
    )
    assert len(mail.outbox) == 1


def test_after_a_bounce_a_confirmed_subscription_lifts_the_bounce(client, address_book):
    post(signed(sample("failed_permanent_bounce")))
    response = client.post(
        reverse("subscriptions:subscribe"),
        {"email": "invalid@example.org", "term": "rainy day", "homepage": ""},
    )
    assert response.status_code == 200
    [message] = mail.outbox
    assert message.to == ["INVALID@example.org"]  # the subscriber's address, as first typed
    pending = Subscription.objects.get(
        subscriber__inbox_key="invalid@example.org", term="rainy day"
    )
    assert (pending.status, state_of("invalid@example.org")) == (Status.PENDING, "bounced")

    # Its link reached the inbox: mail resumes, the old subscriptions included.
    client.post(reverse("subscriptions:confirm", args=[pending.token]))
    assert state_of("invalid@example.org") == ACTIVE
    assert current(address_book["invalid@example.org"]) == UNCHANGED


# -- without a signing key ------------------------------------------------------------------
# anymail falls back to the API key, or to "" when settings put an empty key in ANYMAIL: a body
# signed with the empty key then passes, and anyone can mark anyone as complained.

NO_KEY_CONFIGURATIONS = {
    "no key anywhere": ({}, ""),
    "an empty key": ({"MAILGUN_WEBHOOK_SIGNING_KEY": ""}, ""),
    "only the API key": ({"MAILGUN_API_KEY": "key-live-api"}, "key-live-api"),
}


@pytest.mark.parametrize(
    "anymail, forger_key", NO_KEY_CONFIGURATIONS.values(), ids=NO_KEY_CONFIGURATIONS.keys()
)
def test_without_a_signing_key_no_event_is_accepted(
    address_book, settings, caplog, anymail, forger_key
):
    base = {
        key: value
        for key, value in settings.ANYMAIL.items()
        if key not in {"MAILGUN_WEBHOOK_SIGNING_KEY", "MAILGUN_API_KEY"}
    }
    settings.ANYMAIL = {**base, **anymail}
    settings.MAILGUN_API_KEY = anymail.get("MAILGUN_API_KEY", "")

    for name in ("complained", "delivered"):
        response = post(signed(sample(name), key=forger_key))
        assert response.status_code == 400

    assert current(address_book["alice@example.org"]) == UNCHANGED
    assert not EmailEvent.objects.exists()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("MAILGUN_WEBHOOK_SIGNING_KEY is not set" in r.getMessage() for r in errors)


# -- replays ---------------------------------------------------------------------------------
# Mailgun signs only timestamp + token: the body is whatever the sender says. A signature is
# good for MAILGUN_WEBHOOK_MAX_AGE_SECONDS (default 300) either side of now, and for one body.


def test_a_genuine_signature_from_2024_is_refused(address_book):
    response = post(sample("complained"))  # exactly as Mailgun signed it in 2024

    assert response.status_code == 400
    assert current(address_book["alice@example.org"]) == UNCHANGED
    assert not EmailEvent.objects.exists()


@pytest.mark.parametrize("age", [360, 3600, 30 * 86400, -360, -86400])
def test_a_signature_too_far_from_now_is_refused(address_book, age):
    response = post(signed(sample("complained"), age=age))

    assert response.status_code == 400
    assert current(address_book["alice@example.org"]) == UNCHANGED
    assert not EmailEvent.objects.exists()


@pytest.mark.parametrize("age", [0, 240, -60])
def test_a_signature_within_the_window_is_accepted(address_book, age):
    assert post(signed(sample("complained"), age=age)).status_code == 200
    assert state_of("alice@example.org") == "complained"


def test_a_signature_timestamp_given_as_a_json_number_is_accepted(address_book):
    # Mailgun's documentation types it as an integer; its samples send a string.
    body = signed(sample("complained"))
    body["signature"]["timestamp"] = int(body["signature"]["timestamp"])

    assert post(body).status_code == 200
    assert state_of("alice@example.org") == "complained"


def test_the_window_is_a_setting(address_book, settings):
    settings.MAILGUN_WEBHOOK_MAX_AGE_SECONDS = 60
    assert post(signed(sample("complained"), age=120)).status_code == 400
    settings.MAILGUN_WEBHOOK_MAX_AGE_SECONDS = 7200
    assert post(signed(sample("complained"), age=3600)).status_code == 200


def forged_with(captured, **event_data):
    """The attacker's body: a captured signature block, with event data of their choosing."""
    forged = sample("complained")
    forged["event-data"].update(event_data)
    forged["signature"] = dict(captured["signature"])
    return forged


def test_a_used_signature_cannot_carry_another_event(address_book):
    genuine = signed(sample("delivered"))
    assert post(genuine).status_code == 200

    for forged in (
        forged_with(genuine, recipient="alice@example.org"),
        forged_with(genuine, recipient="alice@example.org", id="a-fresh-event-id"),
        forged_with(genuine, recipient="bob@example.org", event="unsubscribed"),
    ):
        assert post(forged).status_code == 400

    assert current(address_book["alice@example.org"]) == UNCHANGED
    assert current(address_book["bob@example.org"]) == UNCHANGED
    assert not EmailEvent.objects.exists()


def test_a_signature_is_remembered_for_the_whole_window(address_book, settings):
    settings.MAILGUN_WEBHOOK_MAX_AGE_SECONDS = 300
    start = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as traveller:
        genuine = signed(sample("delivered"))
        assert post(genuine).status_code == 200

        traveller.move_to(start + timedelta(seconds=295))
        assert post(forged_with(genuine, recipient="alice@example.org")).status_code == 400

        traveller.move_to(start + timedelta(seconds=305))
        assert post(forged_with(genuine, recipient="alice@example.org")).status_code == 400

        # Long after, unrelated traffic still flows and the old signature is still no good.
        traveller.move_to(start + timedelta(days=2))
        assert post(signed(sample("opened"))).status_code == 200
        assert post(forged_with(genuine, recipient="alice@example.org")).status_code == 400

    assert current(address_book["alice@example.org"]) == UNCHANGED


def test_used_signatures_are_forgotten_once_they_are_stale(settings):
    from subscriptions.models import WebhookSignature

    settings.MAILGUN_WEBHOOK_MAX_AGE_SECONDS = 300
    start = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as traveller:
        old = signed(sample("delivered"))
        assert post(old).status_code == 200
        traveller.move_to(start + timedelta(hours=1))
        assert post(signed(sample("opened"))).status_code == 200

    remembered = set(WebhookSignature.objects.values_list("token", flat=True))
    assert old["signature"]["token"] not in remembered
    assert len(remembered) == 1


def test_replay_protection_holds_with_the_cache_down(address_book, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens there
        }
    }
    genuine = signed(sample("delivered"))

    assert post(genuine).status_code == 200
    assert post(forged_with(genuine, recipient="alice@example.org")).status_code == 400
    assert current(address_book["alice@example.org"]) == UNCHANGED


def post_together(bodies):
    """POST each body from its own thread and database connection, released at once."""
    barrier = threading.Barrier(len(bodies))
    statuses = [None] * len(bodies)
    errors = []

    def worker(index, body):
        try:
            barrier.wait(timeout=10)
            statuses[index] = post(body).status_code
        except Exception as error:  # reported below: an exception in a thread is otherwise lost
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=item) for item in enumerate(bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return statuses


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_simultaneous_bodies_under_one_signature_let_one_through(make_subscription):
    victims = [f"victim{n}@example.org" for n in range(4)]
    for address in victims:
        make_subscription(email=address)
    genuine = signed(sample("complained"))
    bodies = [forged_with(genuine, recipient=address, id=address) for address in victims]

    statuses = post_together(bodies)

    assert sorted(statuses) == [200, 400, 400, 400]
    assert Subscriber.objects.filter(state="complained").count() == 1
    assert EmailEvent.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_simultaneous_retries_of_one_delivery_apply_it_once(make_subscription):
    make_subscription(email="invalid@example.org")
    delivery = signed(sample("failed_permanent_bounce"))

    statuses = post_together([delivery] * 4)

    assert statuses == [200] * 4
    assert EmailEvent.objects.count() == 1
    assert Subscriber.objects.get().state == "bounced"


# -- bodies of the wrong shape ---------------------------------------------------------------
# Correctly signed, so only the shape can stop them; each answered 500 (Mailgun then retries
# for hours) or changed state on the code before this check.


def _with(path, value):
    def change(payload):
        *parents, last = path
        node = payload
        for key in parents:
            node = node[key]
        if value is _MISSING:
            del node[last]
        else:
            node[last] = value
        return payload

    return change


_MISSING = object()
EVENT = ("event-data",)
WRONG_SHAPES = {
    "event-data is a list": _with(EVENT, []),
    "event-data is null": _with(EVENT, None),
    "event-data is a string": _with(EVENT, "complained"),
    "event-data is a number": _with(EVENT, 5),
    "event-data is empty": _with(EVENT, {}),
    "no event-data": _with(EVENT, _MISSING),
    "no event": _with((*EVENT, "event"), _MISSING),
    "event is a number": _with((*EVENT, "event"), 5),
    "event is null": _with((*EVENT, "event"), None),
    "event is a list": _with((*EVENT, "event"), ["complained"]),
    "no timestamp": _with((*EVENT, "timestamp"), _MISSING),
    "timestamp is words": _with((*EVENT, "timestamp"), "yesterday"),
    "timestamp is a numeric string": _with((*EVENT, "timestamp"), "1706788840.049634"),
    "timestamp is null": _with((*EVENT, "timestamp"), None),
    "timestamp is true": _with((*EVENT, "timestamp"), True),
    "timestamp is a list": _with((*EVENT, "timestamp"), [1706788840]),
    "timestamp is NaN": _with((*EVENT, "timestamp"), float("nan")),
    "timestamp is infinite": _with((*EVENT, "timestamp"), float("inf")),
    "timestamp beyond year 9999": _with((*EVENT, "timestamp"), 1e300),
    "timestamp before 1970": _with((*EVENT, "timestamp"), -1.5),
    "recipient is a number": _with((*EVENT, "recipient"), 5),
    "recipient is a list": _with((*EVENT, "recipient"), ["alice@example.org"]),
    "recipient is an object": _with((*EVENT, "recipient"), {"alice@example.org": 1}),
    "recipient too long": _with((*EVENT, "recipient"), "a" * 250 + "@example.org"),
    "id is a number": _with((*EVENT, "id"), 5),
    "id too long": _with((*EVENT, "id"), "x" * 300),
    "severity is a list": _with((*EVENT, "severity"), ["permanent"]),
    "reason is a list": _with((*EVENT, "reason"), ["bounce"]),
    "message is a string": _with((*EVENT, "message"), "hello"),
    "headers is a list": _with((*EVENT, "message", "headers"), []),
    "message-id is a number": _with((*EVENT, "message", "headers", "message-id"), 5),
    "message-id too long": _with((*EVENT, "message", "headers", "message-id"), "m" * 300),
    "to is a number": _with((*EVENT, "message", "headers", "to"), 5),
    "user-variables is a list": _with((*EVENT, "user-variables"), ["day"]),
    "tags is a string": _with((*EVENT, "tags"), "daily"),
    "client-info is a string": _with((*EVENT, "client-info"), "curl"),
    "delivery-status is a list": _with((*EVENT, "delivery-status"), ["550"]),
    "reject is a string": _with((*EVENT, "reject"), "no"),
    "the whole body is a list": lambda payload: [payload],
}


@pytest.mark.parametrize("change", WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
def test_a_signed_body_of_the_wrong_shape_is_refused_and_changes_nothing(address_book, change):
    body = change(signed(sample("complained")))

    response = post(body)

    assert response.status_code == 400
    assert current(address_book["alice@example.org"]) == UNCHANGED
    assert not EmailEvent.objects.exists()


def test_a_signed_rejection_whose_reject_block_is_not_an_object_is_refused(address_book):
    body = signed(sample("rejected"))
    body["event-data"]["reject"] = "Sandbox subdomains are for test purposes only."

    assert post(body).status_code == 400
    assert current(address_book["recipient@example.org"]) == UNCHANGED


SIGNATURE = ("signature",)
WRONG_SIGNATURE_BLOCKS = {
    "non-ASCII token": _with((*SIGNATURE, "token"), "tökén"),
    "token is a number": _with((*SIGNATURE, "token"), 12345),
    "timestamp is a list": _with((*SIGNATURE, "timestamp"), ["1706788840"]),
    "timestamp is true": _with((*SIGNATURE, "timestamp"), True),
    "timestamp is negative": _with((*SIGNATURE, "timestamp"), -5),
    "timestamp is a float": _with((*SIGNATURE, "timestamp"), 1706788840.5),
    "signature is null": _with((*SIGNATURE, "signature"), None),
    "block is a list": _with(SIGNATURE, []),
    "no block": _with(SIGNATURE, _MISSING),
}


@pytest.mark.parametrize(
    "change", WRONG_SIGNATURE_BLOCKS.values(), ids=WRONG_SIGNATURE_BLOCKS.keys()
)
def test_a_malformed_signature_block_is_refused(address_book, change):
    assert post(change(signed(sample("complained")))).status_code == 400
    assert current(address_book["alice@example.org"]) == UNCHANGED


@pytest.mark.parametrize(
    "body",
    ["[" * 100_000 + "]" * 100_000, '{"signature": ' * 5000 + "{}" + "}" * 5000],
    ids=["nested arrays", "nested objects"],
)
def test_json_nested_too_deep_to_parse_is_refused(address_book, body):
    assert post(body).status_code == 400


def test_legacy_form_encoded_webhooks_are_refused(address_book):
    # Mailgun's pre-2018 format: the same signature fields, mixed in with the event's.
    block = signed(sample("complained"))["signature"]
    form = {**block, "event": "complained", "recipient": "alice@example.org"}

    response = Client().post(WEBHOOK_URL, form)

    assert response.status_code == 400
    assert current(address_book["alice@example.org"]) == UNCHANGED


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["complained", "failed", "permanent", "alice@example.org", "1e309"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = st.sampled_from(
    [
        (),
        ("event",),
        ("timestamp",),
        ("recipient",),
        ("id",),
        ("severity",),
        ("reason",),
        ("message",),
        ("message", "headers"),
        ("message", "headers", "message-id"),
        ("message", "headers", "to"),
        ("user-variables",),
        ("tags",),
        ("delivery-status",),
        ("delivery-status", "message"),
        ("reject",),
        ("client-info",),
    ]
)


@hypothesis_settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(field=FIELDS, value=JSON_VALUES, base=st.sampled_from(["complained", "rejected"]))
def test_generated_event_data_never_answers_500(address_book, field, value, base):
    """Any JSON at any field Mailgun's payload has, correctly signed: accepted or refused, and
    a refused body changes nothing."""
    before = current(address_book["alice@example.org"]) + current(
        address_book["recipient@example.org"]
    )
    events_before = EmailEvent.objects.count()
    body = signed(sample(base))
    node = body["event-data"]
    for key in field[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            return
    if field:
        node[field[-1]] = value
    else:
        body["event-data"] = value

    response = post(body)

    assert response.status_code in {200, 400}
    if response.status_code == 400:
        after = current(address_book["alice@example.org"]) + current(
            address_book["recipient@example.org"]
        )
        assert after == before
        assert EmailEvent.objects.count() == events_before


# -- with the daily sender -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, stopped", [("failed_permanent_bounce", "invalid"), ("complained", "alice")]
)
def test_after_a_bounce_or_complaint_the_daily_command_does_not_mail_that_address(
    make_subscription, fake_spotify, fake_mailgun, settings, name, stopped
):
    playlist_id = fake_spotify.add_playlist(name="Happy Hits", track_count=30)
    fake_spotify.set_search_results("happy", [playlist_id])
    settings.MIN_PLAYLIST_TRACKS = 1
    addresses = ["Invalid@example.org", "alice@EXAMPLE.org", "carol@example.org"]
    for address in addresses:
        make_subscription(email=address, term="happy")

    assert post(signed(sample(name))).status_code == 200
    # The whole day's run, whatever the hour: this is about who is mailed, not when.
    call_command("send_daily_playlists", "--date", timezone.localdate().isoformat(), verbosity=0)

    mailed = set(fake_mailgun.recipients)
    assert f"{stopped}@example.org" not in mailed
    assert mailed == {a.lower() for a in addresses} - {f"{stopped}@example.org"}
