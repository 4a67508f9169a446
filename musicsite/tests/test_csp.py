"""The Content-Security-Policy: on every page, no inline script or style, Spotify's player and
covers allowed, nobody framing us; `check --deploy` fails without it.

The browser tests (tests/browser/test_csp.py) check that no page logs a violation.
"""

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.checks import run_checks

from search.spotify import sanitize

BASE_DIR = Path(settings.BASE_DIR)
PAGE_TEMPLATES = [
    path
    for folder in ("templates", "search/templates", "subscriptions/templates")
    for path in sorted((BASE_DIR / folder).rglob("*.html"))
    if "email" not in path.parts  # mail clients need inline styles; no CSP applies there
]
INLINE = {
    "an inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "an inline style block": re.compile(r"<style\b", re.IGNORECASE),
    "a style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "an event handler attribute": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "a javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}
SPOTIFY_BODIES = sorted((BASE_DIR / "tests/fakes/spotify_data").glob("*.json"))


def policy(response):
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def allows(sources, url):
    """Whether a CSP source list lets `url` load (scheme + host sources, as used here)."""
    parts = urlsplit(url)
    for source in sources:
        scheme, _, host = source.partition("://")
        if scheme != parts.scheme:
            continue
        if host == parts.netloc or (host.startswith("*.") and parts.netloc.endswith(host[1:])):
            return True
    return False


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/search/", "/no-such-page/", "/admin/login/", "/healthz"])
def test_every_response_carries_the_policy(client, path):
    directives = policy(client.get(path))

    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["frame-src"] == ["https://open.spotify.com"]
    assert directives["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in " ".join(sum(directives.values(), []))


@pytest.mark.django_db
def test_every_cover_the_parser_keeps_from_spotifys_bodies_is_allowed(client):
    img_src = policy(client.get("/healthz"))["img-src"]
    urls = set()
    for body in SPOTIFY_BODIES:
        urls.update(re.findall(r'"url": "(https://[^"]+)"', body.read_text()))
    covers = {url for url in urls if "scdn.co" in url or "spotifycdn.com" in url}

    assert len(covers) > 10
    for url in covers:
        assert sanitize.image_url(url) == url
        assert allows(img_src, url), url
    assert not allows(img_src, "https://evil.example/i.scdn.co/x")
    assert not allows(img_src, "http://i.scdn.co/x")


@pytest.mark.parametrize(
    "template", PAGE_TEMPLATES, ids=lambda path: str(path.relative_to(BASE_DIR))
)
def test_page_templates_have_no_inline_script_or_style(template):
    source = template.read_text(encoding="utf-8")

    for what, pattern in INLINE.items():
        assert not pattern.search(source), f"{what} in {template.name}: move it to static/"


CSP_CHECKS = {"search.E003", "search.E004"}


def deploy_errors():
    """The CSP errors `check --deploy` reports."""
    return {message.id for message in run_checks(include_deployment_checks=True)} & CSP_CHECKS


def test_check_deploy_is_happy_with_the_policy_as_configured():
    assert deploy_errors() == set()


def test_check_deploy_reports_the_policy_switched_off(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != "csp.middleware.CSPMiddleware"]
    assert deploy_errors() == {"search.E003"}


def test_check_deploy_reports_an_empty_policy(settings):
    settings.CONTENT_SECURITY_POLICY = {}
    assert deploy_errors() == {"search.E003"}


def test_check_deploy_reports_a_policy_that_allows_inline_script(settings):
    directives = json.loads(json.dumps(settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]))
    directives["script-src"] = ["'self'", "'unsafe-inline'"]
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": directives}
    assert deploy_errors() == {"search.E004"}


# -- Staff sign-in pages (musicsite/staff_signin.py): django-otp's and the lockout page --------


def staff_sign_in_pages(client, settings):
    """The pages staff sign-in adds, as rendered: {name: response}."""
    from django.contrib.auth import get_user_model
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = get_user_model().objects.create_superuser("csp", "csp@example.com", "pw-csp-12345")
    device = TOTPDevice.objects.create(user=user, name="phone")
    pages = {}
    settings.ADMIN_REQUIRE_2FA = True
    pages["two-factor sign-in"] = client.get("/admin/login/")
    settings.ADMIN_REQUIRE_2FA = False
    for _ in range(settings.AXES_FAILURE_LIMIT):
        pages["lockout"] = client.post("/admin/login/", {"username": "csp", "password": "no"})
    client.force_login(user)
    pages["add a device"] = client.get("/admin/otp_totp/totpdevice/add/")
    pages["a device's QR code"] = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/config/")
    pages["failed attempts"] = client.get("/admin/axes/accessattempt/")
    return pages


@pytest.mark.django_db
def test_staff_sign_in_pages_keep_the_policy_without_inline_code(client, settings):
    for name, response in staff_sign_in_pages(client, settings).items():
        assert response.status_code in (200, 429), name
        assert "'unsafe-inline'" not in response["Content-Security-Policy"], name
        body = response.content.decode()
        for what, pattern in INLINE.items():
            assert not pattern.search(body), f"{what} on the {name} page"
