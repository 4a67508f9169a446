"""SpotifyClient's access token: Client Credentials, shared through the cache, renewed early.

A raw SPOTIFY_TOKEN is used as it is, until Spotify rejects it. The client owns one
`AccessTokens` and hands it the function that sends a request (its retries and deadline).
"""

import hashlib
import math
import threading
import time
from collections.abc import Callable

import requests

from ..resilient_cache import cache_get, cache_set
from .parsing import error_message, is_int, json_dict
from .results import TOKEN_EXPIRY_MARGIN, Deadline, SpotifyNotConfigured, SpotifyUnavailable

# Sends one request with the client's retries: (method, url, *, deadline, **requests' kwargs).
Exchange = Callable[..., requests.Response]


def digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


class AccessTokens:
    """The bearer token of one client: fetched once for all its threads, shared via the cache."""

    def __init__(
        self,
        *,
        token_url: str,
        credentials: tuple[str, str] | None,
        static_token: str,
        cache_key: str,
        exchange: Exchange,
    ) -> None:
        self.token_url = token_url
        self._credentials = credentials
        self._static_token = static_token
        self._cache_key = cache_key
        self._exchange = exchange
        self._lock = threading.Lock()
        self._access_token = ""
        self._expires_at = 0.0

    def bearer(self, deadline: Deadline, *, rejected: str | None = None) -> str:
        if self._static_token:
            if rejected == self._static_token:
                raise SpotifyNotConfigured(
                    "Spotify rejected SPOTIFY_TOKEN (such tokens expire after an hour): "
                    "set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET instead."
                )
            return self._static_token
        # One thread fetches while the others wait for its token rather than asking too.
        if not self._lock.acquire(timeout=max(deadline.remaining(), 0)):
            raise SpotifyUnavailable("timed out waiting for a Spotify access token")
        try:
            now = time.time()
            if self._access_token not in ("", rejected) and now < self._expires_at:
                return self._access_token
            shared = cache_get(self._cache_key)
            if (
                isinstance(shared, dict)
                and shared.get("access_token") not in (None, "", rejected)
                and now < shared.get("expires_at", 0)
            ):
                self._access_token = shared["access_token"]
                self._expires_at = shared["expires_at"]
                return self._access_token
            token, lifetime = self._fetch_token(deadline)
            # Renew a little early so no request goes out with a token about to lapse.
            usable_for = lifetime - min(TOKEN_EXPIRY_MARGIN, lifetime * 0.1)
            self._access_token, self._expires_at = token, now + usable_for
            cache_set(
                self._cache_key,
                {"access_token": token, "expires_at": self._expires_at},
                max(1, math.floor(usable_for)),
            )
            return token
        finally:
            self._lock.release()

    def _fetch_token(self, deadline: Deadline) -> tuple[str, int]:
        response = self._exchange(
            "POST",
            self.token_url,
            deadline=deadline,
            data={"grant_type": "client_credentials"},
            auth=self._credentials,
        )
        if response.status_code in (400, 401):
            raise SpotifyNotConfigured(
                "Spotify rejected SPOTIFY_CLIENT_ID/SPOTIFY_CLIENT_SECRET "
                f"({error_message(response)})"
            )
        if response.status_code != 200:
            raise SpotifyUnavailable(f"Spotify's token endpoint answered {response.status_code}")
        body = json_dict(response)
        token = body.get("access_token")
        lifetime = body.get("expires_in")
        if not isinstance(token, str) or not token or not is_int(lifetime) or lifetime <= 0:
            raise SpotifyUnavailable("Spotify's token answer has no usable access_token")
        return token, lifetime
