"""The rules that tell a link scanner from a person, each with what it is based on.

Mail security gateways open the links of incoming mail to check them before (or as) the mail
reaches the inbox, and link previews do the same; every ESP sees it, and sets those "clicks"
apart rather than counting them (Mailgun, "Open and Click Bot Detection": a `client-info.bot`
of "generic" is "mostly likely a firewall or anti-virus scan"; documentation.mailgun.com/docs/
mailgun/user-manual/tracking-messages/open-click-bot-detect). Four rules, in this order:
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..models import ListeningEvent

Verdict = ListeningEvent.Verdict

# 1. A HEAD request asks whether the link works without opening it: a browser following a
#    link always GETs. Scanners HEAD links to check them (the Collie tracker's bot rules, in
#    github.com/jusso-dev/Collie pull 50, list "HEAD requests" first).
#
# 2. User agents of the scanners and link previewers that say who they are. Substrings,
#    matched without case; sources:
SCANNER_AGENTS = (
    # Microsoft's link previews, which Outlook and Safe Links checks have sent as BingPreview.
    "bingpreview",
    # Barracuda Email Gateway Defense "Link Protection" (campus.barracuda.com, doc 49055519).
    "barracuda",
    # Mimecast "URL Protect" rewrites and checks every link (Mimecast Targeted Threat Protection).
    "mimecast",
    # Proofpoint "URL Defense" (urldefense.proofpoint.com rewrites, checked on each click).
    "proofpoint",
    # Google's special-case crawler that checks links posted publicly for malware
    # (developers.google.com/crawling/docs/crawlers-fetchers/google-special-case-crawlers).
    "google-safety",
    # Link previews of chat apps a link gets pasted into (their documented crawler names).
    "slackbot",
    "facebookexternalhit",
    "whatsapp",
    "telegrambot",
    "discordbot",
    "linkedinbot",
    "twitterbot",
    # Scripted and headless clients: no person reads mail with these.
    "headlesschrome",
    "python-requests",
    "python-urllib",
    "go-http-client",
    "curl/",
    "wget/",
    "okhttp",
    "java/",
    "libwww-perl",
)
# Crawlers name themselves "…bot/1.0", "…bot;", "…bot)" or "-bot": a word ending in "bot" and
# followed by a version or the end of a comment, so a phone named "CUBOT X50" is still a phone.
CRAWLER_WORDS = re.compile(r"bot(?:[/;)]|-[a-z])|crawler|spider", re.IGNORECASE)
#
# 3. Within seconds of delivery. Gateways scan as the mail arrives: "a rapid influx of requests
#    to your server a few seconds after sending" (APSIS, help.apsis.one "Suspiciously looking
#    clicks in my report"); "clicks happen immediately after delivery … within 1–5 seconds of
#    the email arriving" (Arternal, "Smart Mail clickthroughs triggered by email security
#    scanners"). Counted from the later of the hand-over to Mailgun and Mailgun's `delivered`
#    event, so a click before the delivery event (a gateway scanning inline) counts too.
TOO_SOON = timedelta(seconds=30)
#
# 4. Every link of one email at once: "every link in the email gets clicked together … all
#    within 1–5 seconds" (Arternal, as above); "sometimes scanners will click on all the links
#    in your email at once" (Suped, "What data supports filtering tools clicking on links").
#    No person opens the playlist on the web, in the app, the web copy and the manage page
#    within one minute.
AT_ONCE = timedelta(seconds=60)
#
# Not a rule but a limit: the same link clicked again within this long is the same click (a
# double click, a reload), recorded once.
SAME_CLICK = timedelta(seconds=10)


def agent_is_scanner(user_agent: str) -> bool:
    """A missing user agent (every browser sends one) or one of a known scanner or crawler."""
    agent = user_agent.strip().lower()
    if not agent:
        return True
    return any(name in agent for name in SCANNER_AGENTS) or bool(CRAWLER_WORDS.search(agent))


@dataclass(frozen=True)
class Click:
    """What a rule needs to know about one request for one of our links."""

    method: str
    user_agent: str
    at: datetime
    sent_at: datetime | None  # when the email was handed to Mailgun
    delivered_at: datetime | None  # Mailgun's `delivered` event, if it came


def verdict_of(click: Click) -> str:
    """The verdict of rules 1-3, which need nothing but the request and the email's times;
    rule 4 looks at the email's other clicks (services.click_record)."""
    if click.method == "HEAD":
        return Verdict.HEAD
    if agent_is_scanner(click.user_agent):
        return Verdict.AGENT
    if arrived_too_soon(click.at, sent_at=click.sent_at, delivered_at=click.delivered_at):
        return Verdict.TOO_SOON
    return Verdict.LISTENER


def arrived_too_soon(
    at: datetime, *, sent_at: datetime | None, delivered_at: datetime | None
) -> bool:
    known = [moment for moment in (sent_at, delivered_at) if moment is not None]
    return bool(known) and at < max(known) + TOO_SOON
