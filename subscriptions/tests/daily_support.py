"""Shared helpers for the daily sender's tests: many subscribers at once, and reading batches."""

import datetime
import re
from html.parser import HTMLParser

from django.core import mail

from subscriptions.addresses import canonical_email
from subscriptions.models import DailyEmail, SentPlaylist
from subscriptions.tests import factories

TODAY = datetime.date(2026, 11, 25)
TOMORROW = TODAY + datetime.timedelta(days=1)


def subscribe_many(count, *, terms=("happy",), domain="example.org", start=0):
    """`count` active subscriptions, one per address, cycling through `terms`."""
    return factories.subscriptions_bulk(
        (f"listener{number:05d}@{domain}", terms[number % len(terms)])
        for number in range(start, start + count)
    )


def mark_already_sent(subscription, playlist_ids):
    """History: these playlists went to `subscription` earlier this month."""
    SentPlaylist.objects.bulk_create(
        SentPlaylist(
            subscription=subscription,
            playlist_id=playlist_id,
            name="x",
            web_url="https://x",
            uri="spotify:x",
            sent_on=TODAY.replace(day=1),
        )
        for playlist_id in playlist_ids
    )


def use_anymail_test_backend(settings):
    """anymail's test backend: batch sends land in mail.outbox with their merge data."""
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"


def expand(template, variables):
    """Mailgun's batch substitution: `%recipient.KEY%` -> that recipient's value, inserted raw."""
    return re.sub(r"%recipient\.([^%]+)%", lambda m: variables[m.group(1)], template)


def outbox_messages():
    """Per-recipient view of anymail test-backend batches: {address: message dict}."""
    messages = {}
    for batch in mail.outbox:
        params = batch.anymail_test_params
        for address, data in params["merge_data"].items():
            assert address not in messages, f"{address} got two messages"
            messages[address] = {
                "subject": params["subject"],
                "text": expand(params["text_body"], data),
                "html": expand(params["html_body"], data),
                "headers": {
                    **params.get("extra_headers", {}),
                    **params["merge_headers"][address],
                },
                "metadata": {**params["metadata"], **params["merge_metadata"][address]},
                "tags": params.get("tags", []),
            }
    return messages


def claims(day=TODAY):
    """{inbox key: status} of the day's DailyEmail claims."""
    rows = DailyEmail.objects.filter(day=day).values_list("subscriber__inbox_key", "status")
    return dict(rows)


def claim_of(address, day=TODAY):
    """The day's claim of the inbox `address` reaches."""
    return DailyEmail.objects.get(subscriber__inbox_key=canonical_email(address), day=day)


def sent_playlists(email):
    return list(
        SentPlaylist.objects.filter(subscription__subscriber__inbox_key=canonical_email(email))
        .order_by("sent_on", "id")
        .values_list("subscription__term", "playlist_id", "sent_on")
    )


def old_rows(emails, *, term="jazz"):
    """Active subscriptions of subscribers stored exactly as spelled: rows from before today's
    address rules (save() would tidy the spelling). Spellings of one inbox share its
    subscriber, spelled as the first."""
    return factories.subscriptions_bulk(((email, term) for email in emails), as_spelled=True)


class _Hrefs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        self.hrefs.extend(value for name, value in attrs if tag == "a" and name == "href")


def html_links(html):
    """Every link of an HTML part, as a mail client reads it (entities decoded)."""
    parser = _Hrefs()
    parser.feed(html)
    parser.close()
    return parser.hrefs


def text_links(text):
    """Links of a text part, as mail clients find them (a sentence's full stop is not one)."""
    return [link.rstrip(".,;)") for link in re.findall(r"(?:https?://|spotify:)\S+", text)]


def delivered_messages(fake_mailgun):
    """Every individual message Mailgun built from the accepted calls, with repeats."""
    return [message for send in fake_mailgun.sends for message in send.messages()]
