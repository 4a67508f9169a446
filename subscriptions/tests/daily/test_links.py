"""Every link a daily email carries works for its recipient, whatever the stored spelling.

Through the fake Mailgun, which builds each recipient's message from the batch the way Mailgun
does: what a test reads here is what the inbox gets. Links to the site are opened with the test
client; Spotify links must be the ones the playlist's own page shows.
"""

from collections import Counter
from urllib.parse import urlsplit

import pytest
from anymail.utils import parse_single_address
from django.utils.html import escape

from subscriptions.addresses import canonical_email
from subscriptions.daily import daily_playlists_send, mail_address
from subscriptions.links import manage_url
from subscriptions.listening.links import from_email
from subscriptions.models import DailyEmail, SentPlaylist, Subscription
from subscriptions.tests.daily_support import (
    TODAY,
    claims,
    delivered_messages,
    html_links,
    old_rows,
    text_links,
)

pytestmark = pytest.mark.django_db

SITE = "https://funky.example.com"
# Spellings that old rows (or a webhook) may hold and that anymail parses into another form.
ODD_BUT_VALID = [
    "Ann@Example.ORG",  # a mixed-case domain, typed before domains were lower-cased
    '"bomb"@example.org',  # a quoted local part that needs no quotes
    '"bo\\b"@example.org',  # a quoted local part with an escape: the inbox bob@
    "zoe@bücher.example",  # an IDN domain stored in Unicode
    "plain@example.org",
]


def links_of(message):
    """(text links, html links, List-Unsubscribe link) of one delivered message."""
    header = message["headers"].get("List-Unsubscribe", "")
    return text_links(message["text"]), html_links(message["html"]), header.strip("<>")


def open_site_link(client, link):
    assert link == SITE or link.startswith(f"{SITE}/"), link
    parts = urlsplit(link)
    response = client.get(parts.path or "/", QUERY_STRING=parts.query)
    if "from=email" in parts.query:  # a visit from the email is counted, then the page shows
        assert response.status_code == 302, link
        response = client.get(response["Location"])
    assert response.status_code == 200, link
    return response.content.decode()


def opened_through_go(client, link):
    """Where one of the email's /go/ links leads (subscriptions.listening)."""
    response = client.get(urlsplit(link).path)
    assert response.status_code == 302, link
    return response["Location"]


def check_message(client, message, subscriptions):
    """The message is complete and each of its links works for `subscriptions` (one inbox)."""
    text, html, header = links_of(message)
    everything = message["text"] + message["html"] + message["subject"] + header
    assert "%recipient." not in everything
    terms = {subscription.term for subscription in subscriptions}
    tokens = {subscription.token for subscription in subscriptions}
    unsubscribe_links = {link for link in [*text, *html, header] if "/unsubscribe/" in link}
    assert header in unsubscribe_links
    # One link per subscription, and the address-wide one is one of them.
    assert {urlsplit(link).path.split("/")[-2] for link in unsubscribe_links} == tokens
    # The footer's "Manage your daily playlists", in both parts: the inbox's own page.
    (subscriber,) = {subscription.subscriber for subscription in subscriptions}
    manage = [link for link in [*text, *html] if "/manage/" in link and "/emails/" not in link]
    assert len(manage) == 2 and set(manage) == {from_email(manage_url(subscriber))}
    # "View in your browser", in both parts: this email's web copy, behind the same token.
    copies = [link for link in [*text, *html] if "/emails/" in link]
    assert len(copies) == 2 and len(set(copies)) == 1
    assert copies[0].startswith(f"{manage_url(subscriber)}emails/")
    assert escape(subscriber.email) in open_site_link(client, manage[0])
    go = {link for link in [*text, *html] if link.startswith(f"{SITE}/go/")}
    assert go == {link for link in text if link.startswith(f"{SITE}/go/")}  # in both parts
    opened = {opened_through_go(client, link) for link in go}
    for link in {link for link in [*text, *html, header] if link.startswith(SITE)} - go:
        page = open_site_link(client, link)
        if "/unsubscribe/" in link:
            assert any(f"&lsquo;{term}&rsquo;" in page for term in terms), link
    for subscription in subscriptions:
        sent = SentPlaylist.objects.get(subscription=subscription, sent_on=TODAY)
        assert sent.name and sent.name in message["text"] and sent.name in message["html"]
        page_links = html_links(open_site_link(client, f"{SITE}/playlist/{sent.playlist_id}/"))
        web, app = sent.web_url, sent.uri
        # The email's links (through our /go/, in both parts) open the playlist page's links.
        assert web in page_links and app in page_links
        assert web in opened and app in opened
    # No Spotify link in the email itself: each goes through /go/, and /go/ only to these.
    assert not [link for link in [*text, *html] if not link.startswith(SITE)]
    assert opened == {
        link
        for subscription in subscriptions
        for link in SentPlaylist.objects.filter(subscription=subscription).values_list(
            "web_url", "uri"
        )[0]
    }


def test_odd_but_valid_spellings_get_complete_content_and_working_links(
    client, fake_mailgun, fake_spotify
):
    playlists = [fake_spotify.add_playlist(name=f"Late Jazz {n}") for n in range(3)]
    fake_spotify.set_search_results("jazz", playlists)
    rows = old_rows(ODD_BUT_VALID, term="jazz")

    summary = daily_playlists_send(today=TODAY)

    messages = delivered_messages(fake_mailgun)
    assert len(fake_mailgun.sends) == 1  # one batch: its recipient variables are shared
    assert (summary.emails, summary.failed, summary.unknown) == (len(rows), 0, 0)
    assert Counter(canonical_email(message["to"]) for message in messages) == Counter(
        canonical_email(row.subscriber.email) for row in rows
    )
    for message in messages:
        (row,) = [
            r for r in rows if canonical_email(r.subscriber.email) == canonical_email(message["to"])
        ]
        check_message(client, message, [row])
    assert set(claims().values()) == {"sent"}


def test_spellings_of_one_inbox_get_one_email_with_every_pick(client, fake_mailgun, fake_spotify):
    for term in ("jazz", "rain", "focus", "blues"):
        fake_spotify.set_search_results(
            term, [fake_spotify.add_playlist(name=f"{term} {n}") for n in range(2)]
        )
    first, *others = [
        *old_rows(["ann@example.org"], term="jazz"),
        *old_rows(["Ann+daily@Example.org"], term="rain"),
        *old_rows(['"ann"@example.org'], term="focus"),
        *old_rows(["ANN@EXAMPLE.ORG"], term="blues"),
    ]
    old_rows(["bo@example.org"], term="jazz")

    summary = daily_playlists_send(today=TODAY)

    inbox = [m for m in delivered_messages(fake_mailgun) if "bo@" not in m["to"]]
    assert len(inbox) == 1
    assert inbox[0]["to"] == "ann@example.org"  # the spelling of the oldest subscription
    check_message(client, inbox[0], [first, *others])
    assert summary.emails == 2 and summary.playlists == 5
    assert claims() == {"ann@example.org": "sent", "bo@example.org": "sent"}
    assert not Subscription.objects.exclude(last_sent_on=TODAY).exists()

    again = daily_playlists_send(today=TODAY)

    assert (again.emails, again.mailgun_calls) == (0, 0)
    assert DailyEmail.objects.count() == 2


def test_demo_catalog_email_carries_the_links_of_the_playlist_pages(client, fake_mailgun, settings):
    settings.DEBUG = True
    settings.SPOTIFY_DEMO_CATALOG = True
    settings.MIN_PLAYLIST_TRACKS = 1
    (row,) = old_rows(["ann@example.org"], term="happy")

    assert daily_playlists_send(today=TODAY).emails == 1

    (message,) = delivered_messages(fake_mailgun)
    sent = SentPlaylist.objects.get()
    # The catalog's own links (Spotify searches), not a playlist id Spotify does not have.
    assert sent.web_url.startswith("https://open.spotify.com/search/")
    assert sent.uri.startswith("spotify:search:")
    check_message(client, message, [row])


@pytest.mark.parametrize(
    "stored, sent_as",
    [
        ("ann@example.org", "ann@example.org"),
        ("o'neil+jazz@example.org", "o'neil+jazz@example.org"),
        ("Ann@EXAMPLE.org", "Ann@example.org"),
        ('"bomb"@example.org', "bomb@example.org"),
        ('"john doe"@example.org', '"john doe"@example.org'),  # the quotes are needed
        ("zoe@bücher.example", "zoe@xn--bcher-kva.example"),
        ("ann@exa mple.org", None),  # anymail would read it as ann@example.org: another inbox
        ("broken@", None),
        ("x@[192.0.2.1]", None),
    ],
)
def test_the_address_sent_to_is_one_anymail_keys_as_it_is(stored, sent_as):
    assert mail_address(stored) == sent_as
    if sent_as is not None:
        assert parse_single_address(sent_as).addr_spec == sent_as
        assert canonical_email(sent_as) == canonical_email(stored)
