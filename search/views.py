"""Search and playlist pages: thin views over search.spotify, rendered once and served from cache.

Every visitor sees the same results grid for a query and the same body for a playlist, so those
parts are rendered once and kept in Django's cache as HTML (search.page_cache) for as long as the
Spotify data behind them (ten minutes), once they have been asked for twice; the grid alone is
also what "More playlists" fetches (`fragment=1`).
"""

import logging

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from . import page_cache, spotify
from .page_cache import HTML_CACHE_TIMEOUT, cached_page, shared_page

logger = logging.getLogger(__name__)

# The last page whose offset Spotify's search accepts.
MAX_PAGE = spotify.MAX_SEARCH_OFFSET // spotify.PAGE_SIZE + 1
# A rate-limited answer asks clients to come back after at most this many seconds.
MAX_RETRY_AFTER = 3600
# The tracks a playlist page lists at first; the rest are a link (`?tracks=all`) away, so a phone
# paints the page without laying out up to 500 table rows first.
FIRST_TRACKS = 100


# The search form's fields, cleaned one by one: a Form instance deep-copies its fields on every
# request, which costs the hot path more than everything else in the view (profiled).
QUERY_FIELD = forms.CharField(max_length=100, required=False)
PAGE_FIELD = forms.IntegerField(min_value=1, max_value=MAX_PAGE, required=False)


def _results_url(*, query, page):
    return f"{reverse('search:results')}?{urlencode({'q': query, 'page': page})}"


def results_html(*, query, page, keep=True):
    """The rendered results grid for a normalised query and page, kept for every visitor
    when `keep`."""

    def render():
        result = spotify.search_playlists(query, page=page)
        next_url = None
        if result.has_next and page < MAX_PAGE:
            next_url = _results_url(query=query, page=page + 1)
        return render_to_string(
            "search/_results.html",
            {"query": query, "page": page, "playlists": result.items, "next_url": next_url},
        )

    fragment = page_cache.cached_fragment(("results", query, page), render, keep=keep)
    return mark_safe(fragment)  # noqa: S308  (rendered by our own autoescaping template)


def playlist_html(*, playlist_id, all_tracks=False, keep=True):
    """The rendered body of a playlist page and its title, kept for every visitor when `keep`:
    the first FIRST_TRACKS tracks, or `all_tracks`."""

    def render():
        playlist = spotify.get_playlist(playlist_id)
        context = {
            "playlist": playlist,
            "demo_catalog": spotify.is_demo_catalog(),
            "track_total": playlist.track_count,
            "tracks": (),
            "truncated": False,
            "cut_short": False,
            "tracks_forbidden": False,
        }
        try:
            track_list = spotify.get_playlist_tracks(playlist_id)
        except spotify.SpotifyForbidden:
            context["tracks_forbidden"] = True
        else:
            tracks = track_list.tracks
            context["tracks"] = tracks if all_tracks else tracks[:FIRST_TRACKS]
            context["more_from"] = FIRST_TRACKS + 1  # where the rest start: #more-tracks
            context["listed_count"] = len(tracks)
            context["hidden_count"] = len(tracks) - len(context["tracks"])
            context["truncated"] = track_list.truncated
            context["cut_short"] = track_list.cut_short
            if track_list.total is not None:
                context["track_total"] = track_list.total
        return (playlist.name, render_to_string("search/_playlist.html", context))

    title, fragment = page_cache.cached_fragment(
        ("playlist", playlist_id, all_tracks), render, keep=keep
    )
    return title, mark_safe(fragment)  # noqa: S308  (rendered by our own autoescaping template)


def _page(request, template, context=None, *, status=200):
    context = {"demo_catalog": spotify.is_demo_catalog(), **(context or {})}
    return render(request, template, context, status=status)


def _spotify_trouble(request, error, *, fragment=False, query=""):
    """The friendly 503 for anything Spotify could not do; the visitor can still search again."""
    if isinstance(error, spotify.SpotifyNotConfigured):
        reason = "not_configured"
        logger.error("Spotify is not configured: %s", error)
    elif isinstance(error, spotify.SpotifyRateLimited):
        reason = "rate_limited"
        logger.warning("Spotify rate limit on %s: %s", request.path, error)
    else:
        reason = "unavailable"
        logger.warning("Spotify unavailable on %s: %s", request.path, error)
    if fragment:
        response = HttpResponse(
            '<p class="notice" data-results-error>Spotify is not answering right now. '
            "Please try again in a minute.</p>",
            status=503,
        )
    else:
        context = {"reason": reason, "query": query}
        response = _page(request, "search/unavailable.html", context, status=503)
    if reason == "rate_limited":
        response["Retry-After"] = str(min(max(error.retry_after or 0, 1), MAX_RETRY_AFTER))
    elif reason == "unavailable":
        response["Retry-After"] = "60"
    patch_cache_control(response, no_store=True)
    return response


@require_safe
def home(request):
    parts = ("home",)
    if (response := cached_page(request, parts)) is not None:
        return response
    keep = page_cache.asked_before(*parts)
    return shared_page(request, parts, "search/home.html", {}, keep=keep)


@require_safe
def results(request):
    """`/search/?q=…&page=N`; with `fragment=1` only that page's grid, for "More playlists"."""
    wants_fragment = request.GET.get("fragment") == "1"
    try:
        typed_query = QUERY_FIELD.clean(request.GET.get("q", ""))
        page = PAGE_FIELD.clean(request.GET.get("page")) or 1
    except ValidationError as error:
        if wants_fragment:
            return HttpResponse(status=400)
        return _page(request, "search/results.html", {"form_errors": error.messages}, status=400)

    query = spotify.normalize_query(typed_query)
    if not query:
        if wants_fragment:
            return HttpResponse(status=400)
        return _page(request, "search/results.html")

    parts = ("results", typed_query, page)
    if not wants_fragment and (response := cached_page(request, parts)) is not None:
        return response
    keep = page_cache.asked_before("results", query, page)
    try:
        grid = results_html(query=query, page=page, keep=keep)
    except spotify.SpotifyError as error:
        return _spotify_trouble(request, error, fragment=wants_fragment, query=typed_query)
    if wants_fragment:
        # The same for every visitor and free of cookies: shared caches may keep it too.
        response = HttpResponse(grid)
        patch_cache_control(response, public=True, max_age=HTML_CACHE_TIMEOUT)
        return response
    context = {"query": typed_query, "page": page, "results_html": grid}
    return shared_page(request, parts, "search/results.html", context, keep=keep)


@require_safe
def playlist(request, playlist_id, username=None):
    """`/playlist/<id>/`, and the original `/playlist/<username>/<id>/` (username unused)."""
    if not spotify.is_valid_playlist_id(playlist_id):
        raise Http404("Not a Spotify playlist id.")
    # Any other value is the usual page: a link followed from elsewhere, not a form to correct.
    all_tracks = request.GET.get("tracks") == "all"
    parts = ("playlist", playlist_id, all_tracks)
    if (response := cached_page(request, parts)) is not None:
        return response
    keep = page_cache.asked_before(*parts)
    try:
        title, body = playlist_html(playlist_id=playlist_id, all_tracks=all_tracks, keep=keep)
    except spotify.SpotifyNotFound:
        raise Http404("Spotify has no such playlist.") from None
    except spotify.SpotifyError as error:
        return _spotify_trouble(request, error)
    canonical_path = reverse("search:playlist", args=[playlist_id])
    context = {
        "title": title,
        "playlist_html": body,
        "canonical_url": f"{settings.SITE_URL}{canonical_path}",
    }
    return shared_page(request, parts, "search/playlist.html", context, keep=keep)


@require_safe
def healthz(request):
    """For uptime checks: 200 "ok" while the database answers, 503 when it does not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("Health check: the database did not answer")
        response = HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    else:
        response = HttpResponse("ok\n", content_type="text/plain")
    response["Cache-Control"] = "no-store"
    return response
