"""Hostile input at every public URL: never a 500, nothing reflected unescaped, nothing stored.

Each test sends one input to one URL through Django's test client with exceptions turned into
responses (so a crash shows up as a 500 status, as a visitor would see it), against the loopback
fake Spotify. Test ids name the URL and the input.
"""

import json
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core import mail
from django.test import Client

from subscriptions.models import EmailEvent, Subscriber, Subscription

pytestmark = pytest.mark.django_db

WEBHOOK_SAMPLES = Path(__file__).resolve().parents[1] / "subscriptions/tests/webhook_samples"

# Text a visitor can type or a script can send, as form values and query parameters.
HOSTILE_TEXT = {
    "empty": "",
    "blank": " \t  ",
    "very-long": "funky " * 4000,
    "control-chars": "happy\x01\x07\x1b[31m\x7f\x85",
    "nul": "happy\x00sad",
    "crlf": "happy\r\nSet-Cookie: pwned=1",
    "html-script": "<script>alert(1)</script>",
    "html-attribute": '"><img src=x onerror=alert(1)>',
    "html-entities": "&lt;script&gt;alert(1)&lt;/script&gt;",
    "sql": "' OR 1=1; DROP TABLE subscriptions_subscription; --",
    "bidi-override": "\u202egpj.exe",
    "emoji-flood": "🕺" * 300,
}
# Query strings as they arrive on the wire, including bytes that are not UTF-8.
RAW_QUERY_STRINGS = {
    "invalid-utf8": "q=%ff%fe",
    "overlong-utf8": "q=%c0%ae%c0%ae%2f",
    "lone-surrogate": "q=%ed%a0%80",
    "bare-percent": "q=%",
    "bad-percent": "q=%zz%",
    "nul-encoded": "q=%00",
    "repeated-q": "q=happy&q=<script>alert(1)</script>",
    "page-negative": "q=happy&page=-1",
    "page-huge": "q=happy&page=99999999999999999999999999",
    "page-float": "q=happy&page=1e9",
    "page-past-offset-limit": "q=happy&page=102",
    "many-params": "&".join(f"p{n}=x" for n in range(2000)),
}
QUERY_STRINGS = {
    **{f"q-{name}": "q=" + quote(value) for name, value in HOSTILE_TEXT.items()},
    **RAW_QUERY_STRINGS,
}
PAGE_NUMBERS = {f"page-{name}": value for name, value in HOSTILE_TEXT.items()}
# Path segments where the site expects a playlist id, a user name or a token.
PATH_SEGMENTS = {
    "traversal": "../../etc/passwd",
    "traversal-encoded": "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "traversal-mixed": "..%2f..%2fetc%2fpasswd",
    "encoded-slash": "abc%2Fdef",
    "backslashes": "..%5c..%5cwindows%5cwin.ini",
    "nul": "abc%00def",
    "invalid-utf8": "%ff%fe",
    "html": quote("<script>alert(1)</script>", safe=""),
    "sql": quote("1' OR '1'='1", safe=""),
    "very-long": "a" * 3000,
    "editorial-id": "37i9dQZF1DXcBWIGoYBM5M",
    "unknown-id": "0000000000000000000000",
}

MARKUP = ("<script", "<img", "onerror=")


@pytest.fixture
def client():
    return Client(raise_request_exception=False)


@pytest.fixture
def playlist_id(fake_spotify):
    return fake_spotify.add_playlist(name="Hostile input target", track_count=12)


@pytest.fixture
def bystander():
    """An active subscription no hostile request may change."""
    return Subscription.objects.create(
        subscriber=Subscriber.for_address("bystander@example.com"),
        term="happy",
        status=Subscription.Status.ACTIVE,
    )


@pytest.fixture
def stored_state(bystander):
    """What the database and the outbox hold: compared around requests that must change nothing."""

    def snapshot():
        return {
            "subscriptions": list(
                Subscription.objects.order_by("pk").values_list(
                    "pk", "subscriber__email", "term", "status"
                )
            ),
            "events": EmailEvent.objects.count(),
            "subscribers": list(
                Subscriber.objects.order_by("pk").values_list("pk", "paused_until", "state")
            ),
            "mail": len(mail.outbox),
        }

    return snapshot


def assert_answered_safely(response, *sent):
    """No server error, and nothing the request carried comes back as live markup."""
    assert response.status_code != 500
    assert response.status_code < 500 or response.status_code == 503
    body = response.content.decode("utf-8", "replace")
    assert "<script>" not in body.lower()
    for value in sent:
        if any(marker in value.lower() for marker in MARKUP):
            assert value not in body
    for name, value in response.headers.items():
        assert "pwned" not in f"{name}: {value}".lower()


# --- every GET page, with hostile query strings --------------------------------------------------

GET_PAGES = {
    "home": "/",
    "search": "/search/",
    "playlist": "/playlist/{playlist_id}/",
    "playlist-legacy": "/playlist/someuser/{playlist_id}/",
    "healthz": "/healthz",
    "confirm": "/subscriptions/confirm/{token}/",
    "unsubscribe": "/subscriptions/unsubscribe/{token}/",
    "manage": "/subscriptions/manage/{manage_token}/",
    "lost-link": "/subscriptions/manage/",
}


@pytest.mark.parametrize("query", QUERY_STRINGS.values(), ids=QUERY_STRINGS.keys())
@pytest.mark.parametrize("page", GET_PAGES.values(), ids=GET_PAGES.keys())
def test_get_with_hostile_query_string(client, playlist_id, bystander, stored_state, page, query):
    before = stored_state()
    url = page.format(
        playlist_id=playlist_id,
        token=bystander.token,
        manage_token=bystander.subscriber.manage_token,
    )

    response = client.get(f"{url}?{query}")

    assert_answered_safely(response, *HOSTILE_TEXT.values(), "<script>alert(1)</script>")
    assert stored_state() == before


@pytest.mark.parametrize("page", PAGE_NUMBERS.values(), ids=PAGE_NUMBERS.keys())
def test_search_with_hostile_page_number(client, stored_state, page):
    before = stored_state()

    response = client.get("/search/", {"q": "happy", "page": page})

    assert_answered_safely(response, page)
    assert stored_state() == before


def test_fragment_request_with_hostile_query(client):
    # The "More playlists" fragment is asked for by script; it must be as careful as the page.
    payload = HOSTILE_TEXT["html-attribute"]

    response = client.get(
        "/search/", {"q": payload, "page": "2"}, headers={"x-requested-with": "XMLHttpRequest"}
    )

    assert_answered_safely(response, payload)


# --- hostile path segments -----------------------------------------------------------------------

PATH_PAGES = {
    "playlist": "/playlist/{segment}/",
    "playlist-legacy-user": "/playlist/{segment}/{playlist_id}/",
    "playlist-legacy-id": "/playlist/someuser/{segment}/",
    "confirm": "/subscriptions/confirm/{segment}/",
    "unsubscribe": "/subscriptions/unsubscribe/{segment}/",
    "manage": "/subscriptions/manage/{segment}/",
}


@pytest.mark.parametrize("segment", PATH_SEGMENTS.values(), ids=PATH_SEGMENTS.keys())
@pytest.mark.parametrize("page", PATH_PAGES.values(), ids=PATH_PAGES.keys())
def test_get_with_hostile_path_segment(client, playlist_id, stored_state, page, segment):
    before = stored_state()

    response = client.get(page.format(segment=segment, playlist_id=playlist_id))

    assert_answered_safely(response, "<script>alert(1)</script>")
    assert stored_state() == before


TOKEN_POSTS = {
    "confirm": ("/subscriptions/confirm/{segment}/", {}),
    "unsubscribe": ("/subscriptions/unsubscribe/{segment}/", {}),
    "unsubscribe-all": ("/subscriptions/unsubscribe/{segment}/", {"scope": "all"}),
    "unsubscribe-one-click": (
        "/subscriptions/unsubscribe/{segment}/",
        {"List-Unsubscribe": "One-Click"},
    ),
    "manage-stop-all": ("/subscriptions/manage/{segment}/", {"action": "stop_all"}),
    "manage-erase": ("/subscriptions/manage/{segment}/", {"action": "erase", "confirm": "on"}),
}


@pytest.mark.parametrize("segment", PATH_SEGMENTS.values(), ids=PATH_SEGMENTS.keys())
@pytest.mark.parametrize("target", TOKEN_POSTS.values(), ids=TOKEN_POSTS.keys())
def test_post_with_junk_token_changes_nothing(client, stored_state, target, segment):
    page, data = target
    before = stored_state()

    response = client.post(page.format(segment=segment), data)

    assert_answered_safely(response, "<script>alert(1)</script>")
    assert response.status_code in {400, 403, 404, 405}
    assert stored_state() == before


# --- the subscribe form --------------------------------------------------------------------------

HOSTILE_EMAILS = {
    "header-injection-crlf": "a@b.com\r\nBcc: x@y.com",
    "header-injection-lf": "a@b.com\nBcc: x@y.com",
    "header-injection-encoded": "a@b.com%0d%0aBcc:x@y.com",
    "trailing-newline": "a@b.com\n",
    "nul": "a@b.com\x00",
    "two-addresses": "a@b.com, x@y.com",
    "display-name": "Eve <eve@example.com>",
    "html": "<script>alert(1)</script>@example.com",
    "html-attribute": '"><img src=x onerror=alert(1)>@example.com',
    "sql": "' OR 1=1 --@example.com",
    "very-long": "a" * 5000 + "@example.com",
    "empty": "",
    "bidi-override": "a\u202e@example.com",
    "no-at": "not-an-address",
}
HOSTILE_TERMS = {
    name: value
    for name, value in HOSTILE_TEXT.items()
    if name in {"empty", "blank", "very-long", "control-chars", "nul", "crlf", "bidi-override"}
}


@pytest.mark.parametrize("email", HOSTILE_EMAILS.values(), ids=HOSTILE_EMAILS.keys())
def test_subscribe_rejects_hostile_email(client, stored_state, email):
    before = stored_state()

    response = client.post("/subscriptions/", {"email": email, "term": "happy"})

    assert_answered_safely(response, email)
    assert stored_state() == before


@pytest.mark.parametrize("term", HOSTILE_TERMS.values(), ids=HOSTILE_TERMS.keys())
def test_subscribe_rejects_hostile_term(client, stored_state, term):
    before = stored_state()

    response = client.post("/subscriptions/", {"email": "new@example.com", "term": term})

    assert_answered_safely(response, term)
    assert stored_state() == before


MARKUP_TERMS = {
    name: HOSTILE_TEXT[name] for name in ("html-script", "html-attribute", "html-entities", "sql")
}


@pytest.mark.parametrize("term", MARKUP_TERMS.values(), ids=MARKUP_TERMS.keys())
def test_subscribe_with_markup_term_keeps_it_as_text(client, term):
    # Odd but valid: a term may contain < and quotes. Stored as typed, never live in any page
    # or in the confirmation email.
    response = client.post("/subscriptions/", {"email": "new@example.com", "term": term})

    assert_answered_safely(response, term)
    stored = Subscription.objects.filter(subscriber__email="new@example.com").values_list(
        "term", flat=True
    )
    assert list(stored) in ([], [term])
    for message in mail.outbox:
        html = "".join(
            content
            for content, mimetype in getattr(message, "alternatives", [])
            if mimetype == "text/html"
        )
        assert "<script>" not in html.lower()
        if any(marker in term for marker in MARKUP):
            assert term not in html


def test_subscribe_filled_honeypot_stores_nothing(client, stored_state):
    before = stored_state()

    response = client.post(
        "/subscriptions/",
        {"email": "bot@example.com", "term": "happy", "homepage": "http://spam.example/"},
    )

    assert_answered_safely(response)
    assert stored_state() == before


OVERSIZED_POSTS = {
    "form-over-upload-limit": {"email": "big@example.com", "term": "x" * (300 * 1024)},
    "too-many-fields": {
        "email": "big@example.com",
        "term": "happy",
        # Past DATA_UPLOAD_MAX_NUMBER_FIELDS (1000: room for the admin's full-page actions).
        **{f"field{n}": "x" for n in range(2000)},
    },
}


@pytest.mark.parametrize("data", OVERSIZED_POSTS.values(), ids=OVERSIZED_POSTS.keys())
def test_subscribe_oversized_post_is_refused(client, stored_state, data):
    before = stored_state()

    response = client.post("/subscriptions/", data)

    assert_answered_safely(response)
    assert response.status_code == 400
    assert stored_state() == before


def test_subscribe_oversized_raw_body_is_refused(client, stored_state):
    before = stored_state()
    body = "email=big%40example.com&term=" + "x" * (1024 * 1024)

    response = client.post(
        "/subscriptions/", body, content_type="application/x-www-form-urlencoded"
    )

    assert_answered_safely(response)
    assert response.status_code == 400
    assert stored_state() == before


def test_subscribe_multipart_upload_is_ignored(client, stored_state, tmp_path):
    upload = tmp_path / "payload.bin"
    upload.write_bytes(b"\x00" * (2 * 1024 * 1024))
    before = stored_state()

    with upload.open("rb") as file:
        response = client.post(
            "/subscriptions/", {"email": "a@b.com\r\nBcc: x@y.com", "term": "happy", "f": file}
        )

    assert_answered_safely(response)
    assert stored_state() == before


def test_subscribe_with_forged_forwarded_for(client, settings, stored_state):
    # Behind Heroku's router the client address comes from X-Forwarded-For; junk there must not
    # crash the rate limiter.
    settings.TRUST_X_FORWARDED_FOR = True
    before = stored_state()

    response = client.post(
        "/subscriptions/",
        {"email": "a@b.com\nBcc: x@y.com", "term": "happy"},
        headers={"x-forwarded-for": "<script>alert(1)</script>, ::::, 999.1.1.1, "},
    )

    assert_answered_safely(response)
    assert stored_state() == before


# --- Mailgun's tracking webhook ------------------------------------------------------------------


@pytest.fixture
def webhook_settings(settings):
    # As in production: the signing key is set, so every unsigned or mis-signed post is refused.
    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_WEBHOOK_SIGNING_KEY": "key-for-tests"}


def mis_signed_complaint(email):
    sample = json.loads((WEBHOOK_SAMPLES / "mailgun_complained.json").read_text())
    sample["event-data"]["recipient"] = email
    return json.dumps(sample)


WEBHOOK_BODIES = {
    "empty-json": ("{}", "application/json"),
    "not-json": ("<script>alert(1)</script>", "application/json"),
    "invalid-utf8": (b"\xff\xfe{\x00}", "application/json"),
    "json-array": ("[1, 2, 3]", "application/json"),
    "null-signature": ('{"signature": null, "event-data": null}', "application/json"),
    "form-junk": ("a=1&b=%ff%fe", "application/x-www-form-urlencoded"),
    "mis-signed-complaint": (mis_signed_complaint("bystander@example.com"), "application/json"),
    "oversized": ('{"pad": "' + "x" * (3 * 1024 * 1024) + '"}', "application/json"),
}


@pytest.mark.parametrize(
    "content, content_type", WEBHOOK_BODIES.values(), ids=WEBHOOK_BODIES.keys()
)
def test_tracking_webhook_refuses_junk(
    client, webhook_settings, stored_state, content, content_type
):
    before = stored_state()

    response = client.post("/anymail/mailgun/tracking/", content, content_type=content_type)

    assert_answered_safely(response, "<script>alert(1)</script>")
    assert response.status_code in {400, 401, 403}
    assert stored_state() == before


# --- the manage page and "Lost your link?" -------------------------------------------------------

MANAGE_POSTS = {
    **{f"add-{name}": {"action": "add", "term": value} for name, value in HOSTILE_TERMS.items()},
    **{
        f"pause-{name}": {"action": "pause", "until": value} for name, value in HOSTILE_TEXT.items()
    },
    **{
        f"stop-{name}": {"action": "stop", "subscription": value}
        for name, value in HOSTILE_TEXT.items()
    },
    **{f"action-{name}": {"action": value} for name, value in HOSTILE_TEXT.items()},
    "erase-unticked": {"action": "erase", "confirm": ""},
}


@pytest.mark.parametrize("data", MANAGE_POSTS.values(), ids=MANAGE_POSTS.keys())
def test_manage_page_refuses_hostile_posts_and_changes_nothing(
    client, bystander, stored_state, data
):
    before = stored_state()
    url = f"/subscriptions/manage/{bystander.subscriber.manage_token}/"

    response = client.post(url, data)

    assert_answered_safely(response, *data.values())
    assert response.status_code == 400
    assert stored_state() == before


@pytest.mark.parametrize("email", HOSTILE_EMAILS.values(), ids=HOSTILE_EMAILS.keys())
def test_lost_link_rejects_hostile_email(client, stored_state, email):
    before = stored_state()

    response = client.post("/subscriptions/manage/", {"email": email})

    assert_answered_safely(response, email)
    assert response.status_code == 400
    assert stored_state() == before
