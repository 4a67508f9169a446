"""Every daily email on the web: its copy, and the list of a subscriber's past emails.

Pages behind the subscriber's manage token, like the manage page: `never_cache`, `noindex`,
no Referer to the third parties they link to, and one 404 for a wrong token, another
subscriber's email or one that was never sent.
"""

from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from search.spotify.sanitize import playlist_embed_url

from ..listening.links import GoLinks, recording
from ..listening.visits import visit_from_email
from ..models import DailyEmail, Goodbye, SentPlaylist, Subscriber

TOKEN_MAX_LENGTH: int = Subscriber._meta.get_field("manage_token").max_length or 64
# Claims whose email went out, or may have: those have a copy to show.
DELIVERED = (DailyEmail.Status.SENT, DailyEmail.Status.UNKNOWN)
EMAILS_PER_PAGE = 30
MAX_ID = 2**63 - 1  # a bigger number is no row, and would overflow the database's integer


def subscriber_or_404(token: str) -> Subscriber:
    if len(token) > TOKEN_MAX_LENGTH:
        raise Http404
    try:
        return Subscriber.objects.get(manage_token=token)
    except Subscriber.DoesNotExist:
        raise Http404 from None


def past_emails(subscriber: Subscriber) -> QuerySet[DailyEmail]:
    """The subscriber's delivered daily emails, newest first, with their pick counts; not a
    goodbye that stood in for a day's playlists (subscriptions.listening.sunset)."""
    goodbye = Goodbye.objects.filter(daily_email=OuterRef("pk"))
    return (
        DailyEmail.objects.filter(subscriber=subscriber, status__in=DELIVERED)
        .exclude(Exists(goodbye))
        .annotate(pick_count=Count("picks"))
        .order_by("-day", "-pk")
    )


def private(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "same-origin"
    return response


def _pick_link(pick: SentPlaylist, link: str) -> dict:
    return {"link": link, "subscription_id": pick.subscription_id, "playlist_id": pick.playlist_id}


@never_cache
@require_safe
def email_copy(request: HttpRequest, token: str, pk: int) -> HttpResponse:
    subscriber = subscriber_or_404(token)
    if pk > MAX_ID:
        raise Http404
    try:
        email = DailyEmail.objects.get(pk=pk, subscriber=subscriber, status__in=DELIVERED)
    except DailyEmail.DoesNotExist:
        raise Http404 from None
    visit = visit_from_email(request, subscriber=subscriber, link="copy", daily_email_id=email.pk)
    if visit is not None:
        return private(visit)
    # The picks' links go through /go/ as in the email, so a click here counts the same.
    go = GoLinks(absolute=False) if recording() else None
    picks = [
        {
            "term": pick.subscription.term,
            "name": pick.name,
            "web_url": go.link(**_pick_link(pick, "web")) if go else pick.web_url,
            "uri": go.link(**_pick_link(pick, "app")) if go else pick.uri,
            "image_url": pick.image_url,
            "embed_url": playlist_embed_url(pick.playlist_id),
        }
        for pick in SentPlaylist.objects.filter(daily_email=email)
        .select_related("subscription")
        .order_by("pk")
    ]
    context = {"email": email, "picks": picks, "token": token}
    return private(render(request, "subscriptions/email_copy.html", context))


@never_cache
@require_safe
def email_list(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = subscriber_or_404(token)
    page = Paginator(past_emails(subscriber), EMAILS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "token": token}
    return private(render(request, "subscriptions/email_list.html", context))
