"""Search and playlist pages: thin views over search.spotify, rendered once and served from cache.

Every visitor sees the same results grid for a query and the same body for a playlist, so those
parts are rendered once and kept in Django's cache as HTML for as long as the Spotify data behind
them (ten minutes); the grid alone is also what "More playlists" fetches (`fragment=1`).
Whole pages are cached the same way, rendered without any request: where the subscribe form's
`{% csrf_token %}` goes they hold a placeholder, and each response swaps in that visitor's token.
A visitor with flash messages waiting gets a page rendered for them alone.
"""

import functools
import hashlib
import logging

from django import forms
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import get_template, render_to_string
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from . import spotify
from .resilient_cache import cache_get, cache_set

logger = logging.getLogger(__name__)

# Rendered HTML lives as long as the Spotify data it was made from.
HTML_CACHE_TIMEOUT = 10 * 60
# What a cached page is made of; a change to any of them must not serve the old HTML.
CACHED_TEMPLATES = (
    "base.html",
    "partials/search_form.html",
    "partials/demo_banner.html",
    "partials/subscribe_form.html",
    "search/home.html",
    "search/results.html",
    "search/_results.html",
    "search/playlist.html",
    "search/_playlist.html",
)
# Stands where {% csrf_token %} writes the token in a cached page; letters only, so no escaping.
CSRF_TOKEN_PLACEHOLDER = "csrftokenplaceholderQz7xKp3vWm"  # noqa: S105  (not a secret)
# The last page whose offset Spotify's search accepts.
MAX_PAGE = spotify.MAX_SEARCH_OFFSET // spotify.PAGE_SIZE + 1
# A rate-limited answer asks clients to come back after at most this many seconds.
MAX_RETRY_AFTER = 3600


# The search form's fields, cleaned one by one: a Form instance deep-copies its fields on every
# request, which costs the hot path more than everything else in the view (profiled).
QUERY_FIELD = forms.CharField(max_length=100, required=False)
PAGE_FIELD = forms.IntegerField(min_value=1, max_value=MAX_PAGE, required=False)


def _templates_digest():
    sources = (get_template(name).template.source for name in CACHED_TEMPLATES)
    return hashlib.sha256("\0".join(sources).encode()).hexdigest()[:12]


_deployed_templates_digest = functools.cache(_templates_digest)


def _templates_version():
    """A digest of the cached templates, so a deploy never serves HTML cached by the last one."""
    if settings.DEBUG:
        # runserver reloads edited templates without restarting: look at them every time.
        return _templates_digest()
    return _deployed_templates_digest()


def _html_cache_key(kind, *parts):
    parts = (spotify.is_demo_catalog(), *parts)
    digest = hashlib.sha256("\0".join(str(part) for part in parts).encode()).hexdigest()
    return f"search:html:{_templates_version()}:{kind}:{digest}"


def _results_url(*, query, page):
    return f"{reverse('search:results')}?{urlencode({'q': query, 'page': page})}"


def results_html(*, query, page):
    """The rendered results grid for a normalised query and page, cached for every visitor."""
    key = _html_cache_key("results", query, page)
    fragment = cache_get(key)
    if fragment is None:
        result = spotify.search_playlists(query, page=page)
        next_url = None
        if result.has_next and page < MAX_PAGE:
            next_url = _results_url(query=query, page=page + 1)
        fragment = render_to_string(
            "search/_results.html",
            {"query": query, "page": page, "playlists": result.items, "next_url": next_url},
        )
        cache_set(key, fragment, HTML_CACHE_TIMEOUT)
    return mark_safe(fragment)  # noqa: S308  (rendered by our own autoescaping template)


def playlist_html(*, playlist_id):
    """The rendered body of a playlist page and its title, cached for every visitor."""
    key = _html_cache_key("playlist", playlist_id)
    cached = cache_get(key)
    if cached is None:
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
            context["tracks"] = track_list.tracks
            context["truncated"] = track_list.truncated
            context["cut_short"] = track_list.cut_short
            if track_list.total is not None:
                context["track_total"] = track_list.total
        cached = (playlist.name, render_to_string("search/_playlist.html", context))
        cache_set(key, cached, HTML_CACHE_TIMEOUT)
    title, fragment = cached
    return title, mark_safe(fragment)  # noqa: S308  (rendered by our own autoescaping template)


def _is_personal(request):
    # Flash messages are meant for one visitor: a page that shows them is never shared.
    return bool(get_messages(request))


def _respond_with_page(request, page):
    if CSRF_TOKEN_PLACEHOLDER in page:
        page = page.replace(CSRF_TOKEN_PLACEHOLDER, get_token(request))
    return HttpResponse(page)


def cached_page(request, parts):
    """The cached page for `parts` with this visitor's CSRF token, or None."""
    if _is_personal(request):
        return None
    page = cache_get(_html_cache_key("page", *parts))
    if page is None:
        return None
    return _respond_with_page(request, page)


def shared_page(request, parts, template, context):
    """Render a page that every visitor sees alike (but for its CSRF token) and cache it."""
    context = {"demo_catalog": spotify.is_demo_catalog(), **context}
    if _is_personal(request):
        return render(request, template, context)
    # Rendered without the request, so nothing of this visitor can end up in the shared copy.
    page = render_to_string(template, {**context, "csrf_token": CSRF_TOKEN_PLACEHOLDER})
    cache_set(_html_cache_key("page", *parts), page, HTML_CACHE_TIMEOUT)
    return _respond_with_page(request, page)


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
    return shared_page(request, parts, "search/home.html", {})


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
    try:
        grid = results_html(query=query, page=page)
    except spotify.SpotifyError as error:
        return _spotify_trouble(request, error, fragment=wants_fragment, query=typed_query)
    if wants_fragment:
        # The same for every visitor and free of cookies: shared caches may keep it too.
        response = HttpResponse(grid)
        patch_cache_control(response, public=True, max_age=HTML_CACHE_TIMEOUT)
        return response
    context = {"query": typed_query, "page": page, "results_html": grid}
    return shared_page(request, parts, "search/results.html", context)


@require_safe
def playlist(request, playlist_id, username=None):
    """`/playlist/<id>/`, and the original `/playlist/<username>/<id>/` (username unused)."""
    if not spotify.is_valid_playlist_id(playlist_id):
        raise Http404("Not a Spotify playlist id.")
    parts = ("playlist", playlist_id)
    if (response := cached_page(request, parts)) is not None:
        return response
    try:
        title, body = playlist_html(playlist_id=playlist_id)
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
    return shared_page(request, parts, "search/playlist.html", context)


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
