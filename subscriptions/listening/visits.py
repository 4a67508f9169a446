"""A visit to the manage page or a web copy from an email: counted once, then the page itself.

The email's links to those pages carry `?from=email` (links.from_email); the views call
`visit_from_email` first, which counts the visit and sends the browser on to the same page
without the marker, so a reload or a bookmark is not another visit.
"""

from typing import TypedDict

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from ..models import Subscriber
from . import links, selectors, services


class RequestFacts(TypedDict):
    method: str
    user_agent: str


def request_facts(request: HttpRequest) -> RequestFacts:
    """What the scanner rules read of a request: its method and user agent (never kept)."""
    return {"method": request.method or "GET", "user_agent": request.headers.get("User-Agent", "")}


def visit_from_email(
    request: HttpRequest, *, subscriber: Subscriber, link: str, daily_email_id: int | None = None
) -> HttpResponse | None:
    """A GET (or HEAD) of the manage page or a web copy with the "from an email" marker:
    count the visit, and send the browser to the page without the marker, so a reload or a
    bookmark is not another visit. None when there is no marker."""
    if request.GET.get("from") != links.FROM_EMAIL:
        return None
    if daily_email_id is None:
        daily_email_id = selectors.latest_email_of(subscriber=subscriber)
    services.listening_record(
        subscriber_id=subscriber.pk,
        link=link,
        email=selectors.email_facts(daily_email_id=daily_email_id),
        **request_facts(request),
    )
    return HttpResponseRedirect(request.path)
