"""The loopback fake Mailgun answers anymail the way the real API does (API_CONTRACT.md)."""

import pytest
import requests
from anymail.exceptions import AnymailRequestsAPIError
from anymail.message import AnymailMessage
from django.core import mail


def batch_message(recipients, **kwargs):
    message = AnymailMessage(
        subject="Hello %recipient.name%",
        body="Hi %recipient.name%, see %recipient.link%",
        from_email="funky-music <playlists@mg.example.com>",
        to=recipients,
        **kwargs,
    )
    message.attach_alternative("<p>Hi %recipient.name%</p>", "text/html")
    return message


def test_batch_send_is_expanded_per_recipient(fake_mailgun):
    message = batch_message(["alice@example.org", "Bob <bob@example.org>"])
    message.merge_data = {
        "alice@example.org": {"name": "Alice", "link": "https://a.example/"},
        "bob@example.org": {"name": "Bob &amp; co", "link": "https://b.example/"},
    }
    message.merge_headers = {
        "alice@example.org": {"List-Unsubscribe": "<https://funky.example.com/u/a/>"},
        "bob@example.org": {"List-Unsubscribe": "<https://funky.example.com/u/b/>"},
    }
    message.extra_headers = {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    message.merge_metadata = {"alice@example.org": {"ids": "1"}, "bob@example.org": {"ids": "2"}}

    message.send()

    assert len(fake_mailgun.sends) == 1
    send = fake_mailgun.sends[0]
    assert message.anymail_status.message_id == send.message_id
    assert send.message_id.endswith("@mg.example.com>")
    assert send.content_type.startswith("application/x-www-form-urlencoded")
    (alice,) = fake_mailgun.messages_to("Alice@Example.org")
    assert alice["to"] == "alice@example.org"
    assert alice["subject"] == "Hello Alice"
    assert alice["text"] == "Hi Alice, see https://a.example/"
    assert alice["headers"]["List-Unsubscribe"] == "<https://funky.example.com/u/a/>"
    assert alice["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert alice["user_variables"] == {"ids": "1"}
    (bob,) = fake_mailgun.messages_to("bob@example.org")
    assert bob["html"] == "<p>Hi Bob &amp; co</p>"  # substituted raw, as Mailgun does
    assert bob["headers"]["List-Unsubscribe"] == "<https://funky.example.com/u/b/>"


def test_plain_send_without_recipient_variables_is_not_expanded(fake_mailgun):
    mail.send_mail("Hi %recipient.name%", "Body", "a@mg.example.com", ["carol@example.org"])

    (message,) = fake_mailgun.messages_to("carol@example.org")
    assert message["subject"] == "Hi %recipient.name%"
    assert fake_mailgun.sends[0].is_batch is False


def test_multipart_body_is_parsed(fake_mailgun):
    message = batch_message(["alice@example.org"])
    message.merge_data = {"alice@example.org": {"name": "Alice", "link": "x"}}
    message.attach("notes.txt", "some notes", "text/plain")

    message.send()

    send = fake_mailgun.sends[0]
    assert send.content_type.startswith("multipart/form-data")
    assert send.files == [("attachment", "notes.txt", "text/plain", b"some notes")]
    assert fake_mailgun.messages_to("alice@example.org")[0]["subject"] == "Hello Alice"


def test_wrong_api_key_is_refused_like_mailgun(fake_mailgun, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_API_KEY": "wrong"}

    with pytest.raises(AnymailRequestsAPIError) as caught:
        mail.send_mail("Hi", "Body", "a@mg.example.com", ["carol@example.org"])

    assert caught.value.status_code == 401
    assert caught.value.response.text == "Forbidden"
    assert fake_mailgun.sends == []


def test_unknown_domain_is_404(fake_mailgun, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_SENDER_DOMAIN": "other.example.com"}

    with pytest.raises(AnymailRequestsAPIError) as caught:
        mail.send_mail("Hi", "Body", "a@mg.example.com", ["carol@example.org"])

    assert caught.value.status_code == 404
    assert caught.value.response.json() == {"message": "Domain not found: other.example.com"}
    assert "Unknown sender domain" in str(caught.value)


def test_more_than_1000_recipients_is_400(fake_mailgun):
    recipients = [f"user{n}@example.org" for n in range(1001)]
    message = batch_message(recipients)
    message.merge_data = {address: {"name": "x", "link": "y"} for address in recipients}

    with pytest.raises(AnymailRequestsAPIError) as caught:
        message.send()

    assert caught.value.status_code == 400
    assert fake_mailgun.sends == []

    message.to = recipients[:1000]
    message.send()
    assert len(fake_mailgun.sends[0].recipients) == 1000


def test_fail_next_answers_the_error_once(fake_mailgun):
    fake_mailgun.fail_next(status=500)

    with pytest.raises(AnymailRequestsAPIError) as caught:
        mail.send_mail("Hi", "Body", "a@mg.example.com", ["carol@example.org"])
    assert caught.value.status_code == 500
    assert fake_mailgun.sends == []

    mail.send_mail("Hi", "Body", "a@mg.example.com", ["carol@example.org"])
    assert len(fake_mailgun.sends) == 1


def test_hang_is_a_read_timeout_but_mailgun_queued_it(fake_mailgun, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "REQUESTS_TIMEOUT": (2, 0.2)}
    fake_mailgun.hang_next(seconds=2)

    with pytest.raises(AnymailRequestsAPIError) as caught:
        mail.send_mail("Hi", "Body", "a@mg.example.com", ["carol@example.org"])

    assert isinstance(caught.value, requests.ReadTimeout)
    assert caught.value.status_code is None
    assert [send.answered for send in fake_mailgun.sends] == [False]


def test_dropped_connection_after_the_request_went_out(fake_mailgun):
    fake_mailgun.drop_next()

    with pytest.raises(AnymailRequestsAPIError) as caught:
        mail.send_mail("Hi", "Body", "a@mg.example.com", ["carol@example.org"])

    assert isinstance(caught.value, requests.ConnectionError)
    assert not isinstance(caught.value, requests.ConnectTimeout)
    assert len(fake_mailgun.messages_to("carol@example.org")) == 1


def test_unrouted_path_gets_the_magnificent_answer(fake_mailgun):
    response = requests.get(f"{fake_mailgun.api_url}/", timeout=5)

    assert response.status_code == 200
    assert response.text == "Mailgun Magnificent API"


def test_faults_can_wait_for_earlier_requests(fake_mailgun):
    fake_mailgun.fail_next(status=503, after=1)

    mail.send_mail("Hi", "Body", "a@mg.example.com", ["first@example.org"])
    with pytest.raises(AnymailRequestsAPIError) as caught:
        mail.send_mail("Hi", "Body", "a@mg.example.com", ["second@example.org"])
    mail.send_mail("Hi", "Body", "a@mg.example.com", ["third@example.org"])

    assert caught.value.status_code == 503
    assert fake_mailgun.recipients == ["first@example.org", "third@example.org"]
    assert [r["outcome"] for r in fake_mailgun.requests] == [200, 503, 200]


def test_a_refused_recipient_fails_the_whole_call_with_mailguns_400(fake_mailgun):
    fake_mailgun.refuse_recipient("Bad@Example.org")

    with pytest.raises(AnymailRequestsAPIError) as caught:
        mail.send_mail("Hi", "Body", "a@mg.example.com", ["good@example.org", "bad@example.org"])

    assert caught.value.status_code == 400
    assert caught.value.response.json() == {
        "message": "'to' parameter is not a valid address. please check documentation"
    }
    assert fake_mailgun.sends == []
    mail.send_mail("Hi", "Body", "a@mg.example.com", ["good@example.org"])
    assert fake_mailgun.recipients == ["good@example.org"]


def test_a_hook_sees_each_send_before_it_is_answered(fake_mailgun):
    seen = []
    fake_mailgun.serve_with(lambda recipients: seen.append((recipients, len(fake_mailgun.sends))))

    mail.send_mail("Hi", "Body", "a@mg.example.com", ["dee@example.org"])

    assert seen == [(["dee@example.org"], 0)]  # called before the send was recorded
    fake_mailgun.reset()
    mail.send_mail("Hi", "Body", "a@mg.example.com", ["eve@example.org"])
    assert len(seen) == 1  # reset() removes the hook
