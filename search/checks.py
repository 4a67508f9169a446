"""System checks: production must have Spotify credentials, and the pages their
Content-Security-Policy (they show Spotify's text, links and covers)."""

from django.conf import settings
from django.core.checks import Error, Info, Tags, Warning, register

CREDENTIALS_HINT = (
    "Set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET (an app's Client Credentials from "
    "https://developer.spotify.com/dashboard), or a raw SPOTIFY_TOKEN, in the environment."
)


@register()
def spotify_configuration_check(app_configs, **kwargs):
    client_id = settings.SPOTIFY_CLIENT_ID
    client_secret = settings.SPOTIFY_CLIENT_SECRET
    if client_id and client_secret:
        return []
    messages = []
    if bool(client_id) != bool(client_secret):
        missing = "SPOTIFY_CLIENT_SECRET" if client_id else "SPOTIFY_CLIENT_ID"
        level = Warning if settings.DEBUG or settings.SPOTIFY_TOKEN else Error
        messages.append(
            level(
                f"SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET go together; {missing} is not set.",
                hint=CREDENTIALS_HINT,
                id="search.E002" if level is Error else "search.W002",
            )
        )
    if settings.SPOTIFY_TOKEN:
        messages.append(
            Warning(
                "Spotify is configured with a raw SPOTIFY_TOKEN, which expires after an hour.",
                hint="Set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET so tokens are renewed.",
                id="search.W003",
            )
        )
        return messages
    if not settings.DEBUG:
        messages.append(
            Error(
                "Spotify is not configured: set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET "
                "(or SPOTIFY_TOKEN).",
                hint=CREDENTIALS_HINT,
                id="search.E001",
            )
        )
    elif settings.SPOTIFY_DEMO_CATALOG:
        messages.append(
            Info(
                "Spotify is not configured: the site shows the offline demo catalog.",
                hint="To search live Spotify instead, set SPOTIFY_CLIENT_ID and "
                "SPOTIFY_CLIENT_SECRET in the environment (see README).",
                id="search.I001",
            )
        )
    else:
        messages.append(
            Warning(
                "Spotify is not configured and the demo catalog is off: searches will fail.",
                hint=CREDENTIALS_HINT,
                id="search.W001",
            )
        )
    return messages


CSP_MIDDLEWARE = "csp.middleware.CSPMiddleware"
CSP_HINT = (
    "Keep csp.middleware.CSPMiddleware in MIDDLEWARE and the CONTENT_SECURITY_POLICY block of "
    "musicsite/settings.py; put scripts and styles in static/ instead of allowing inline ones."
)


@register(Tags.security, deploy=True)
def content_security_policy_check(app_configs, **kwargs):
    """`check --deploy`: the pages go out with a Content-Security-Policy that forbids inline
    script, so markup that slipped through from Spotify could not run."""
    directives = (getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}).get("DIRECTIVES")
    if CSP_MIDDLEWARE not in settings.MIDDLEWARE or not directives:
        return [
            Error("The Content-Security-Policy is switched off.", hint=CSP_HINT, id="search.E003")
        ]
    scripts = directives.get("script-src") or directives.get("default-src") or ["*"]
    if "'unsafe-inline'" in scripts or "*" in scripts:
        return [
            Error(
                "The Content-Security-Policy allows inline or any script.",
                hint=CSP_HINT,
                id="search.E004",
            )
        ]
    return []
