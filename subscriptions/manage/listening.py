"""The subscriber's listening pages (subscriptions.listening): /go/, a pick's link from their
email or its web copy, and the goodbye's "Still want your daily playlists?" page."""

from django.contrib import messages
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from search.spotify.sanitize import checked_app_uri, checked_web_url

from ..listening import links, selectors, services
from ..listening.visits import request_facts
from ..models import Subscriber
from . import selectors as manage_selectors
from .views import token_page


class PlaylistRedirect(HttpResponseRedirect):
    """A redirect that may also open the Spotify app (a `spotify:` URI, checked as the
    sanitizer checks every Spotify link)."""

    allowed_schemes = ["https", "spotify"]


def _playlist_page(playlist_id: str) -> str:
    return reverse("search:playlist", kwargs={"playlist_id": playlist_id})


@never_cache
@require_safe
def go(request: HttpRequest, signed: str) -> HttpResponse:
    """A pick's link from an email or web copy: count it, then open the pick's own playlist.
    A HEAD is answered the same way (and counted as a scanner's)."""
    try:
        target = links.target_of(signed)
    except signing.BadSignature:
        raise Http404 from None
    pick = selectors.pick_of(target)
    if pick is None:  # erased, or a staff test send's: the playlist's page here
        return HttpResponseRedirect(_playlist_page(target.playlist_id))
    services.listening_record(
        subscriber_id=pick.subscription.subscriber_id,
        link=target.link,
        email=selectors.email_facts(daily_email_id=pick.daily_email_id),
        sent_playlist_id=pick.pk,
        **request_facts(request),
    )
    if target.link == "app":
        where = checked_app_uri(pick.uri, kind="playlist", spotify_id=pick.playlist_id)
    else:
        where = checked_web_url(pick.web_url, kind="playlist", spotify_id=pick.playlist_id)
    response = PlaylistRedirect(where or _playlist_page(target.playlist_id))
    response["Referrer-Policy"] = "no-referrer"  # Spotify need not see which link it was
    return response


@token_page
@require_http_methods(["GET", "HEAD", "POST"])
def keep(request: HttpRequest, token: str) -> HttpResponse:
    """The goodbye's one button. GET only shows the question (scanners open links); the POST
    keeps the playlists coming, and lifts a sunset pause."""
    try:
        subscriber = manage_selectors.subscriber_by_manage_token(token=token)
    except Subscriber.DoesNotExist:
        raise Http404 from None
    if request.method != "POST":
        return render(request, "subscriptions/keep.html", {"subscriber": subscriber})
    services.listening_keep(subscriber=subscriber)
    messages.success(request, "Thank you: your daily playlists keep coming.")
    response = HttpResponseRedirect(reverse("subscriptions:manage", kwargs={"token": token}))
    response.status_code = 303
    return response
