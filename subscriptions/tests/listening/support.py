"""Helpers for the listening tests: a day's email through the fake Mailgun, its links by what
they say, and a controlled clock for every click."""

import datetime
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import time_machine

from subscriptions.daily import daily_playlists_send
from subscriptions.tests import factories

SITE = "https://funky.example.com"
TODAY = datetime.date(2026, 11, 25)
SENT = datetime.datetime(2026, 11, 25, 7, 5, tzinfo=datetime.UTC)
LATER = SENT + datetime.timedelta(minutes=20)
# A person's browser (Safari on a Mac), as it would open a link from a mail app.
BROWSER = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Safari/605.1.15"
)


def playlists_for(fake_spotify, *terms, count=3):
    for term in terms:
        fake_spotify.set_search_results(
            term,
            [
                fake_spotify.add_playlist(name=f"{term.title()} {n}", track_count=20)
                for n in range(count)
            ],
        )


def mail_today(fake_mailgun, *, address="ann@example.org", terms=("jazz",), at=SENT, day=TODAY):
    """`address` subscribes to `terms` and gets the day's email at `at`; the delivered message."""
    for term in terms:
        factories.subscription(address, term=term)
    with time_machine.travel(at, tick=False):
        daily_playlists_send(today=day, seed=1)
    return fake_mailgun.messages_to(address)[-1]


class _Anchors(HTMLParser):
    def __init__(self):
        super().__init__()
        self.anchors, self._open = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._open = [dict(attrs).get("href", ""), ""]

    def handle_data(self, data):
        if self._open is not None:
            self._open[1] += data

    def handle_endtag(self, tag):
        if tag == "a" and self._open is not None:
            self.anchors.append((self._open[0], " ".join(self._open[1].split())))
            self._open = None


def anchors(html):
    """(href, text) of every link of an HTML part or page, as a reader sees them."""
    parser = _Anchors()
    parser.feed(html)
    parser.close()
    return parser.anchors


def links_named(html, text):
    """The hrefs of the links whose text starts with `text`, in order."""
    return [href for href, label in anchors(html) if label.startswith(text)]


def text_link(text, label):
    """Every link the text part gives after `label:`."""
    return re.findall(rf"{re.escape(label)}: (\S+)", text)


def follow(client, url, *, at=LATER, agent=BROWSER, method="get"):
    """Open `url` (one of ours) at the moment `at` with a browser's user agent."""
    parts = urlsplit(url)
    with time_machine.travel(at, tick=False):
        return getattr(client, method)(parts.path, QUERY_STRING=parts.query, HTTP_USER_AGENT=agent)
