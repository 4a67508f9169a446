"""Site-wide response rules that no single view should have to remember."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_cache_control


class PrivateWhenSettingCookiesMiddleware:
    """A response that sets a cookie is never `Cache-Control: public`.

    A shared cache that stored it would hand that cookie (a CSRF token, a session) to everyone
    who asks next. Views may mark pages public (the "More playlists" fragment is); a cookie set
    on the way out by any middleware (CSRF replacing a malformed token, sessions, messages)
    turns that into `private`. First in MIDDLEWARE, so it sees every cookie the others set.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if response.cookies:
            patch_cache_control(response, private=True)  # drops `public`
        return response
