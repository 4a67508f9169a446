"""System checks for the Spotify configuration: production must have credentials."""

from django.conf import settings
from django.core.checks import Error, Info, Warning, register

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
