"""The subscribe form on its own: what it accepts, normalises and refuses."""

import pytest

from subscriptions.forms import CONTROL_CHARACTERS_MESSAGE, SubscribeForm


def form(**data):
    return SubscribeForm(data={"email": "listener@example.com", "term": "happy", **data})


def test_valid_form_normalises_email_domain_and_term():
    subject = form(email="  Listener@EXAMPLE.com ", term="  rainy   sunday\u00a0 morning ")
    assert subject.is_valid(), subject.errors
    assert subject.cleaned_data["email"] == "Listener@example.com"
    assert subject.cleaned_data["term"] == "rainy sunday morning"
    assert not subject.is_bot


@pytest.mark.parametrize("email", ["", "not-an-email", "a@", "@example.com", "a b@example.com"])
def test_invalid_email_is_refused(email):
    subject = form(email=email)
    assert not subject.is_valid()
    assert "email" in subject.errors


@pytest.mark.parametrize(
    "field, value",
    [
        ("email", "listener@example.com\r\nBcc: victim@example.org"),
        ("email", "listener@example.com\n"),  # trailing: the field would otherwise strip it
        ("email", "listener@example.com\r"),
        ("term", "happy\r\nSubject: spam"),
        ("term", "happy\x00"),
        ("term", "happy\x1b[31m"),
        ("term", "happy\x7f"),
        ("term", "happy\u0085"),  # C1 "next line"
        ("term", "\u202eyppah"),  # right-to-left override
        ("term", "hap\ufeffpy"),  # zero-width no-break space
        ("homepage", "x\ny"),
    ],
)
def test_control_characters_are_refused_in_every_field(field, value):
    subject = form(**{field: value})
    assert not subject.is_valid()
    assert subject.errors[field] == [CONTROL_CHARACTERS_MESSAGE]


def test_emoji_sequences_with_joiners_are_fine_terms():
    subject = form(term="\U0001f469\u200d\U0001f3a4 karaoke")
    assert subject.is_valid(), subject.errors


@pytest.mark.parametrize("term", ["", "   ", "\t"])
def test_empty_term_is_refused(term):
    subject = form(term=term)
    assert not subject.is_valid()
    assert "term" in subject.errors


def test_term_of_100_characters_is_accepted_and_101_refused():
    assert form(term="a" * 100).is_valid()
    too_long = form(term="a" * 101)
    assert not too_long.is_valid()
    assert too_long.errors["term"] == ["Keep the term to 100 characters or fewer."]


def test_term_length_counts_after_collapsing_whitespace():
    typed = "   ".join(["abcd"] * 20) + "      "  # 143 characters as typed, 99 once collapsed
    subject = form(term=typed)
    assert subject.is_valid(), subject.errors
    assert subject.cleaned_data["term"] == " ".join(["abcd"] * 20)


def test_honeypot_marks_the_submission_as_a_bot():
    subject = form(homepage="https://spam.example")
    assert subject.is_valid()
    assert subject.is_bot


@pytest.mark.parametrize(
    "email, message",
    [
        ('"bomb"@x.com', "no quotes"),
        ('"bo\\mb"@x.com', "no quotes"),
        ("bomb(comment)@x.com", "no quotes"),
        ("bomb@[1.2.3.4]", "not an IP address"),
        ("bomb@[IPv6:2001:db8::1]", "not an IP address"),
    ],
)
def test_only_plain_addresses_are_accepted_with_a_message_that_says_why(email, message):
    subject = form(email=email)
    assert not subject.is_valid()
    [error] = subject.errors["email"]
    assert message in error


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("listener@bücher.de", "listener@xn--bcher-kva.de"),
        ("listener@BÜCHER.DE", "listener@xn--bcher-kva.de"),
        ("listener@xn--bcher-kva.de", "listener@xn--bcher-kva.de"),
    ],
)
def test_international_domains_are_stored_in_punycode(typed, stored):
    subject = form(email=typed)
    assert subject.is_valid(), subject.errors
    assert subject.cleaned_data["email"] == stored
