"""Composing: the day's layout, rendered once a run, and each address's values for it.

Messages use Mailgun's batch sending as it is meant to be used: `daily.txt` and `daily.html`
are rendered once, with `%recipient.KEY%` placeholders where each address's own values go, so
a call carries one layout and up to 1,000 addresses' values, whatever their numbers of picks.
The layout holds the first pick's block (`daily_pick.txt`, `daily_pick.html`) with placeholders
for its values (HTML-escaped copies for the HTML part: Mailgun inserts values raw); an
address's further picks go as that same block, filled in here, in its `more_text` and
`more_html` values (empty for the many with one mood): about 1 KB per further mood.
Rendering the templates per address would cost more than all the rest together at 100,000
addresses. Backends without batch sending (console, locmem) and the preview get the same
messages, expanded here the way Mailgun expands them.
"""

import re
from dataclasses import dataclass
from datetime import date
from email.headerregistry import Address
from html import escape as html_escape
from types import SimpleNamespace

from anymail.exceptions import AnymailInvalidAddress
from anymail.utils import parse_single_address
from django.conf import settings
from django.template.loader import get_template, render_to_string

from search import spotify

from ..addresses import InvalidAddress, ascii_domain, canonical_email
from ..emails import subject_render
from ..links import email_copy_url, manage_url, unsubscribe_url
from ..listening import links as listening_links
from ..models import Subscription

TEMPLATES = "subscriptions/email/daily"
RECIPIENT_VARIABLE = re.compile(r"%recipient\.([A-Za-z0-9_:-]+)%")
# Values of a pick that its block shows; the HTML block gets them escaped. The links are the
# playlist's own, the same as its page shows (the demo catalog's are not built from ids).
PICK_TEXT_FIELDS = ("name", "owner_name", "term", "web_url", "uri")
GO_LINKS = {"web_url": "web", "uri": "app"}  # the pick's links that go through /go/
# The dot-atom `local@domain` with a lower-case ASCII domain: anymail parses it into itself.
PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+"
)
TOKEN_MARK = "RECIPIENTTOKEN"  # noqa: S105 - a marker that survives reverse(), unlike "%"


@dataclass(frozen=True)
class Pick:
    """One playlist for one subscription in today's message."""

    subscription: Subscription
    playlist: spotify.Playlist

    @property
    def term(self) -> str:
        return self.subscription.term


@dataclass
class DailyMessage:
    """Today's message for one address: one pick per subscription that has something new."""

    address: str  # the subscriber's address, in the form anymail keys it by
    subscriber_id: int
    picks: list[Pick]
    variables: dict[str, str]  # this address's values for the layout's placeholders
    list_unsubscribe_url: str
    claim_id: int | None = None
    attempt: int = 1  # today's attempts at this claim, this one included
    # Another layout than the run's: the goodbye that stands in for the day's playlists
    # (daily.goodbye); its call is a call of its own.
    layout: "DailyLayout | None" = None

    @property
    def subscription_ids(self) -> list[int]:
        return [pick.subscription.pk for pick in self.picks]


@dataclass(frozen=True)
class DailyLayout:
    """The day's message with `%recipient.KEY%` where each address's own values go."""

    subject: str
    text: str
    html: str
    kind: str = "daily"

    def expand(self, variables: dict[str, str]) -> tuple[str, str]:
        """(text, html) for one address, substituted the way Mailgun does for a batch."""

        def substitute(template):
            return RECIPIENT_VARIABLE.sub(
                lambda match: variables.get(match.group(1), match.group(0)), template
            )

        return substitute(self.text), substitute(self.html)


class _Block:
    """A pick's block rendered once with markers: literal text and the names of the values
    that go between, joined per pick without rendering a template."""

    def __init__(self, rendered: str):
        self.parts = RECIPIENT_VARIABLE.split(rendered)  # literal, name, literal, name, ...

    def fill(self, values: dict[str, str]) -> str:
        parts = self.parts[:]
        parts[1::2] = [values[name] for name in parts[1::2]]
        return "".join(parts)


def _marked_pick(*, html: bool, plain: tuple[str, ...] = ()) -> SimpleNamespace:
    """Template context shaped like a pick, whose values are markers for `_Block`; the fields
    in `plain` need no HTML-escaped copy (our /go/ links are URL-safe)."""
    marks = {
        name: f"%recipient.{name}{'_html' if html and name not in plain else ''}%"
        for name in PICK_TEXT_FIELDS
    }
    unsubscribe = unsubscribe_url(SimpleNamespace(token=TOKEN_MARK))
    return SimpleNamespace(
        playlist=SimpleNamespace(
            name=marks["name"],
            owner_name=marks["owner_name"],
            web_url=marks["web_url"],
            uri=marks["uri"],
        ),
        term=marks["term"],
        unsubscribe_url=unsubscribe.replace(TOKEN_MARK, "%recipient.token%"),
        tracks="%recipient.tracks%",
    )


class Composer:
    """Builds the run's one layout and each address's message for it.

    With CLICK_RECORDING (and `tracked`: a preview is nobody's listening) a pick's links are
    its /go/ links and the manage page's and web copy's carry the "from an email" marker
    (subscriptions.listening.links)."""

    def __init__(self, *, day: date, tracked: bool = True):
        self.day = day
        self.go = listening_links.GoLinks() if tracked and listening_links.recording() else None
        self.from_email = listening_links.from_email if self.go else str
        context = {"day": day, "site_url": settings.SITE_URL}
        all_url = unsubscribe_url(SimpleNamespace(token=TOKEN_MARK))
        context["unsubscribe_all_url"] = all_url.replace(TOKEN_MARK, "%recipient.token%")
        manage = manage_url(SimpleNamespace(manage_token=TOKEN_MARK))
        context["manage_url"] = self.from_email(
            manage.replace(TOKEN_MARK, "%recipient.manage_token%")
        )
        context["web_copy_url"] = "%recipient.web_copy_url%"
        # The web copy's link around the subscriber's token and the claim's id, built once.
        before, after = email_copy_url(manage_token=TOKEN_MARK, daily_email_id=0).split(TOKEN_MARK)
        self.web_copy_parts = (before, *after.rsplit("0", 1))
        layout, self.blocks = {}, {}
        for kind in ("txt", "html"):
            pick = _marked_pick(html=kind == "html", plain=tuple(GO_LINKS) if self.go else ())
            more = f"%recipient.more_{'html' if kind == 'html' else 'text'}%"
            layout[kind] = render_to_string(
                f"{TEMPLATES}.{kind}", {**context, "first_pick": pick, "more_picks": more}
            )
            # The same block for the second and further picks, filled in here.
            block = render_to_string(f"{TEMPLATES}_pick.{kind}", {"pick": pick})
            self.blocks[kind] = _Block(block)
        self.layout = DailyLayout(
            subject=subject_render(f"{TEMPLATES}_subject.txt", context),
            text=layout["txt"],
            html=layout["html"],
        )
        # subscriptions.links builds the link; reversing it once per address would cost more
        # than the rest of the address's message.
        self.unsubscribe_pattern = unsubscribe_url(SimpleNamespace(token=TOKEN_MARK))
        self.manage_pattern = manage_url(SimpleNamespace(manage_token=TOKEN_MARK))
        self.tracks_template = get_template(f"{TEMPLATES}_tracks.txt")
        self.tracks_labels: dict[int | None, str] = {}

    def message(
        self, *, subscriber_id: int, address: str, picks: list[Pick], manage_token: str
    ) -> DailyMessage:
        """The message for one address: its first pick's values for the layout's
        placeholders, and the blocks of any further picks, filled in."""
        first, *more = [self._values(pick) for pick in picks]
        token = picks[0].subscription.token
        return DailyMessage(
            address=address,
            subscriber_id=subscriber_id,
            picks=picks,
            variables={
                **first,
                "more_text": "".join(self.blocks["txt"].fill(values) for values in more),
                "more_html": "".join(self.blocks["html"].fill(values) for values in more),
                "manage_token": manage_token,
                # Until a claim gives the email its web copy (a preview has none): the manage
                # page, which lists every past email.
                "web_copy_url": self.from_email(
                    self.manage_pattern.replace(TOKEN_MARK, manage_token)
                ),
            },
            # The address-wide link: its page offers "unsubscribe from all", and a one-click
            # POST to it unsubscribes every live subscription of the address (RFC 8058).
            list_unsubscribe_url=self.unsubscribe_pattern.replace(TOKEN_MARK, token),
        )

    def web_copy_url(self, manage_token: str, claim_id: int) -> str:
        """links.email_copy_url, without reversing it once per address."""
        before, middle, end = self.web_copy_parts
        return self.from_email(f"{before}{manage_token}{middle}{claim_id}{end}")

    def _values(self, pick: Pick) -> dict[str, str]:
        values = {"token": pick.subscription.token, "tracks": self._tracks(pick)}
        for name in PICK_TEXT_FIELDS:
            value = pick.term if name == "term" else getattr(pick.playlist, name)
            if self.go is not None and name in GO_LINKS:
                values[name] = self.go.link(
                    link=GO_LINKS[name],
                    subscription_id=pick.subscription.pk,
                    playlist_id=pick.playlist.id,
                )
                continue  # URL-safe: the HTML part takes it as it is
            values[name] = value
            # What django.utils.html.escape does, without its lazy-string wrapper: 100,000
            # addresses a day.
            values[f"{name}_html"] = html_escape(value)
        return values

    def _tracks(self, pick: Pick) -> str:
        count = pick.playlist.track_count
        if count not in self.tracks_labels:
            self.tracks_labels[count] = self.tracks_template.render({"count": count}).strip()
        return self.tracks_labels[count]


def mail_address(stored: str) -> str | None:
    """The spelling of a stored address to hand anymail: one that anymail's parsing leaves as
    it is (quotes that add nothing dropped, the domain lower-cased and in ASCII); None when
    anymail cannot send to it, or only to another inbox.

    anymail sends the `to` address with an ASCII domain but keys the recipient variables by
    the address as it parsed it; with another spelling every variable of that recipient comes
    out empty. Plain addresses (nearly all) are returned without being parsed.
    """
    if PLAIN_ADDRESS.fullmatch(stored):
        return stored
    try:
        parsed = parse_single_address(stored)
        domain = ascii_domain(parsed.domain)
        address = str(Address(username=parsed.username, domain=domain))
    except (AnymailInvalidAddress, InvalidAddress, ValueError, IndexError):
        return None
    if parse_single_address(address).addr_spec != address:
        return None
    # Parsing may drop what it cannot read ("ann@exa mple.org" -> "ann@example.org"): never
    # mail another inbox than the one the claim is for.
    if canonical_email(address) != canonical_email(stored):
        return None
    return address
