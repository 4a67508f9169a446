"""Link scanners are not listeners: HEAD requests, scanners' user agents, clicks within seconds
of delivery and every link of an email at once are kept apart from people's clicks."""

import datetime

import pytest
import time_machine

from subscriptions.models import ListeningEvent, SentPlaylist
from subscriptions.tests.listening.support import (
    LATER,
    SENT,
    TODAY,
    follow,
    links_named,
    mail_today,
    playlists_for,
)
from subscriptions.tests.mailgun_signing import SIGNING_KEY, post, sample, signed

pytestmark = pytest.mark.django_db

Verdict = ListeningEvent.Verdict
SECONDS = datetime.timedelta(seconds=1)


@pytest.fixture
def message(fake_mailgun, fake_spotify):
    playlists_for(fake_spotify, "jazz")
    return mail_today(fake_mailgun)


def verdicts():
    return list(ListeningEvent.objects.order_by("pk").values_list("link", "verdict"))


def test_a_person_clicking_a_while_after_delivery_is_a_listener(client, message):
    (web,) = links_named(message["html"], "Open on the web")
    follow(client, web, at=LATER)
    assert verdicts() == [("web", Verdict.LISTENER)]


def test_a_head_request_is_a_scanner_and_still_answered(client, message):
    (web,) = links_named(message["html"], "Open on the web")

    response = follow(client, web, method="head")

    assert response.status_code == 302
    assert response["Location"] == SentPlaylist.objects.get().web_url
    assert verdicts() == [("web", Verdict.HEAD)]


@pytest.mark.parametrize(
    "agent",
    [
        # Microsoft's link previews and Safe Links checks announce themselves so.
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "BingPreview/1.0b",
        "Mozilla/5.0 (compatible; Barracuda Sentinel; +https://barracuda.com)",
        "Mimecast URL Protect (Mimecast)",
        "Proofpoint URL Defense",
        "Mozilla/5.0 (compatible; Google-Safety; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "python-requests/2.32.3",
        "curl/8.5.0",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/131.0.0.0 Safari/537.36",
        "",  # every browser sends one
    ],
)
def test_a_known_scanners_user_agent_is_a_scanner(client, message, agent):
    (web,) = links_named(message["html"], "Open on the web")

    response = follow(client, web, agent=agent)

    assert response.status_code == 302
    assert verdicts() == [("web", Verdict.AGENT)]


def test_a_phone_whose_name_ends_in_bot_is_a_person(client, message):
    (web,) = links_named(message["html"], "Open on the web")
    phone = (
        "Mozilla/5.0 (Linux; Android 12; CUBOT X50 Build/SP1A.210812.016) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
    )
    follow(client, web, agent=phone)
    assert verdicts() == [("web", Verdict.LISTENER)]


def test_a_click_within_seconds_of_sending_is_a_scanner(client, message):
    (web,) = links_named(message["html"], "Open on the web")

    follow(client, web, at=SENT + 5 * SECONDS)

    assert verdicts() == [("web", Verdict.TOO_SOON)]


def delivered(*, address="ann@example.org", at):
    """Mailgun's `delivered` webhook for the day's email of `address`, delivered at `at`."""
    payload = sample("delivered")
    data = payload["event-data"]
    data["recipient"] = address
    data["timestamp"] = at.timestamp()
    data["id"] = f"delivered-{address}-{at.timestamp()}"
    data["user-variables"] = {"kind": "daily", "day": TODAY.isoformat()}
    return payload


def test_a_click_within_seconds_of_mailguns_delivery_is_a_scanner(client, settings, message):
    """Mailgun may hold a message for minutes; the scanner comes when it is delivered."""
    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}
    (web,) = links_named(message["html"], "Open on the web")
    (app,) = links_named(message["html"], "Open in the Spotify app")
    delivered_at = SENT + datetime.timedelta(minutes=12)
    # The scanner's click arrives before Mailgun's webhook tells us of the delivery...
    follow(client, web, at=delivered_at + 4 * SECONDS)
    assert verdicts() == [("web", Verdict.LISTENER)]

    with time_machine.travel(delivered_at + 20 * SECONDS, tick=False):
        assert post(signed(delivered(at=delivered_at))).status_code == 200

    # ... and is set apart when it does; a click in that window after it is apart at once.
    follow(client, app, at=delivered_at + 25 * SECONDS)
    follow(client, web, at=delivered_at + datetime.timedelta(minutes=30))
    assert verdicts() == [
        ("web", Verdict.TOO_SOON),
        ("app", Verdict.TOO_SOON),
        ("web", Verdict.LISTENER),
    ]


def test_every_link_of_an_email_at_once_is_a_scanner(client, message):
    """Web, app, web copy and manage page: the four links of a one-pick email, within a
    minute. The first ones looked like a person's until the last came."""
    (web,) = links_named(message["html"], "Open on the web")
    (app,) = links_named(message["html"], "Open in the Spotify app")
    (copy,) = links_named(message["html"], "View in your browser")
    (manage,) = links_named(message["html"], "Manage your daily playlists")

    for n, link in enumerate((web, app, copy, manage)):
        follow(client, link, at=LATER + 3 * n * SECONDS)

    assert verdicts() == [
        ("web", Verdict.ALL_LINKS),
        ("app", Verdict.ALL_LINKS),
        ("copy", Verdict.ALL_LINKS),
        ("manage", Verdict.ALL_LINKS),
    ]


def test_a_person_opening_two_links_is_still_a_listener(client, message):
    (web,) = links_named(message["html"], "Open on the web")
    (app,) = links_named(message["html"], "Open in the Spotify app")
    follow(client, web, at=LATER)
    follow(client, app, at=LATER + 10 * SECONDS)
    assert verdicts() == [("web", Verdict.LISTENER), ("app", Verdict.LISTENER)]


def test_a_link_opened_again_and_again_within_seconds_is_kept_once(client, message):
    (web,) = links_named(message["html"], "Open on the web")
    for n in range(20):
        assert follow(client, web, at=LATER + n * SECONDS / 4).status_code == 302
    assert verdicts() == [("web", Verdict.LISTENER)]
