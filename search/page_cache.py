"""Rendered pages shared by visitors: kept in Django's cache as HTML, each visitor's CSRF token
swapped in per response.

Whole pages are rendered without any request: where the subscribe form's `{% csrf_token %}` goes
they hold the hidden input with a placeholder value, and each response swaps that whole input for
one carrying the visitor's token. Only the input is ever swapped: anything a visitor or Spotify
typed is autoescaped, so it can never spell `<input ...>`.

What one-off requests may keep is bounded: a page (or a fragment of one) is kept rendered only
once it has been asked for before within HTML_CACHE_TIMEOUT. The first ask leaves a marker of a
few bytes (and the Spotify answer, which the Spotify client keeps); a crawl through thousands of
distinct searches therefore cannot fill the cache with pages nobody will ask for again.

A visitor with flash messages waiting gets a page rendered for them alone.

The interface, all a view needs (see search/views.py):
- `cached_page(request, parts)` — the page kept for `parts`, with this visitor's token, or None;
- `asked_before(*parts)` — whether to keep what is rendered now (the second ask within the window);
- `cached_fragment(parts, render, keep=...)` — a piece of a page, rendered by `render()` on a miss;
- `shared_page(request, parts, template, context, keep=...)` — render the page every visitor sees.
"""

import functools
import hashlib
from collections.abc import Callable

from django.conf import settings
from django.contrib.messages import get_messages
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import get_template, render_to_string
from django.utils.html import format_html

from . import spotify
from .resilient_cache import cache_add, cache_get, cache_set

# Rendered HTML lives as long as the Spotify data it was made from.
HTML_CACHE_TIMEOUT = 10 * 60
# What a cached page is made of; a change to any of them must not serve the old HTML.
CACHED_TEMPLATES = (
    "base.html",
    "partials/search_form.html",
    "partials/demo_banner.html",
    "partials/subscribe_form.html",
    "partials/lost_link_form.html",
    "search/home.html",
    "search/results.html",
    "search/_results.html",
    "search/playlist.html",
    "search/_playlist.html",
)
_CSRF_INPUT = '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
CSRF_TOKEN_PLACEHOLDER = "csrf-token-of-the-visitor"  # noqa: S105  (not a secret)
# Exactly what {% csrf_token %} renders around the placeholder: the one string ever swapped.
CSRF_INPUT_MARKER = format_html(_CSRF_INPUT, CSRF_TOKEN_PLACEHOLDER)


def _templates_digest() -> str:
    # The backend's template wraps Django's own, which keeps its source.
    templates = (get_template(name).template for name in CACHED_TEMPLATES)  # type: ignore[attr-defined]
    sources = (template.source for template in templates)
    return hashlib.sha256("\0".join(sources).encode()).hexdigest()[:12]


_deployed_templates_digest = functools.cache(_templates_digest)


def _templates_version() -> str:
    """A digest of the cached templates, so a deploy never serves HTML cached by the last one."""
    if settings.DEBUG:
        # runserver reloads edited templates without restarting: look at them every time.
        return _templates_digest()
    return _deployed_templates_digest()


def _html_cache_key(kind: str, *parts: object) -> str:
    parts = (spotify.is_demo_catalog(), *parts)
    digest = hashlib.sha256("\0".join(str(part) for part in parts).encode()).hexdigest()
    return f"search:html:{_templates_version()}:{kind}:{digest}"


def asked_before(kind: str, *parts: object) -> bool:
    """Whether this page was asked for within HTML_CACHE_TIMEOUT; counts this ask as one."""
    return not cache_add(_html_cache_key(f"asked-{kind}", *parts), HTML_CACHE_TIMEOUT)


def cached_fragment(parts: tuple, render: Callable[[], object], *, keep: bool) -> object:
    """What `render()` made for `parts` (rendered HTML, or a tuple of it), from the cache when
    another visitor's ask already kept it; kept for the next visitors when `keep`."""
    key = _html_cache_key(*parts)
    value = cache_get(key)
    if value is None:
        value = render()
        if keep:
            cache_set(key, value, HTML_CACHE_TIMEOUT)
    return value


def _is_personal(request: HttpRequest) -> bool:
    # Flash messages are meant for one visitor: a page that shows them is never shared.
    return bool(get_messages(request))


def _respond_with_page(request: HttpRequest, page: str) -> HttpResponse:
    if CSRF_INPUT_MARKER in page:
        page = page.replace(CSRF_INPUT_MARKER, format_html(_CSRF_INPUT, get_token(request)))
    return HttpResponse(page)


def cached_page(request: HttpRequest, parts: tuple) -> HttpResponse | None:
    """The cached page for `parts` with this visitor's CSRF token, or None."""
    if _is_personal(request):
        return None
    page = cache_get(_html_cache_key("page", *parts))
    if page is None:
        return None
    return _respond_with_page(request, page)


def shared_page(
    request: HttpRequest, parts: tuple, template: str, context: dict, *, keep: bool
) -> HttpResponse:
    """Render a page that every visitor sees alike (but for its CSRF token); keep it when
    `keep` (see asked_before)."""
    context = {"demo_catalog": spotify.is_demo_catalog(), **context}
    if _is_personal(request):
        return render(request, template, context)
    # Rendered without the request, so nothing of this visitor can end up in the shared copy.
    page = render_to_string(template, {**context, "csrf_token": CSRF_TOKEN_PLACEHOLDER})
    if keep:
        cache_set(_html_cache_key("page", *parts), page, HTML_CACHE_TIMEOUT)
    return _respond_with_page(request, page)
