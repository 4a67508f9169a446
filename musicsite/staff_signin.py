"""Staff sign-in: throttling (django-axes) and optional two-factor (django-otp) for the admin.

The admin holds every subscriber's address, so its password form is the site's most valuable
target. Settings (musicsite/settings.py) wire these in: AUTHENTICATION_BACKENDS names the
backend, AXES_CLIENT_IP_CALLABLE the address rule, AXES_LOCKOUT_CALLABLE the lockout page, and
musicsite.apps.StaffAdminConfig makes StaffAdminSite the admin site.
"""

import ipaddress
import math
from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django_otp.admin import OTPAdminSite


def client_ip(request: HttpRequest) -> str | None:
    """The address a sign-in attempt is counted against.

    REMOTE_ADDR, except behind Heroku's router (settings.TRUST_X_FORWARDED_FOR): it appends the
    address it accepted the connection from to X-Forwarded-For, so the LAST entry is the one a
    client cannot choose. An IPv4-mapped IPv6 address counts as its IPv4 address.
    """
    candidates = [request.META.get("REMOTE_ADDR", "")]
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        candidates.insert(0, forwarded.rsplit(",", 1)[-1].strip())
    for candidate in candidates:
        try:
            parsed = ipaddress.ip_address(candidate)
        except ValueError:
            continue
        if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(parsed)
    return None


class SignInThrottleBackend(AxesStandaloneBackend):
    """django-axes' check before every password check: a locked-out account or address is
    refused before its password is looked at.

    A call without a request (the test client's login(), a shell) is not a sign-in over HTTP:
    there is no client to count, so it is left to the next backend instead of refused. Every
    sign-in form of the site (the admin's) passes its request."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The admin-styled 429 page for a locked-out sign-in: when to try again, nothing else.

    Every attempt during the lockout starts the cool-off again (django-axes' default), so "in
    N minutes" counts from this answer."""
    cool_off = settings.AXES_COOLOFF_TIME
    seconds = math.ceil(cool_off.total_seconds())
    context = {
        **admin.site.each_context(request),
        "title": "Too many failed sign-ins",
        "minutes": math.ceil(seconds / 60),
        "retry_at": timezone.localtime() + cool_off,
    }
    response = render(request, "admin/locked_out.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response


class StaffAdminSite(OTPAdminSite):
    """The admin site: django-otp's OTPAdminSite when settings.ADMIN_REQUIRE_2FA is on (the
    sign-in form asks for a one-time token, and only a session verified by one of the user's
    devices is let in), Django's own AdminSite behaviour when it is off."""

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)

    @property
    def login_form(self) -> Any:
        return OTPAdminSite.login_form if settings.ADMIN_REQUIRE_2FA else None

    @property
    def login_template(self) -> Any:
        return OTPAdminSite.login_template if settings.ADMIN_REQUIRE_2FA else None

    def has_permission(self, request: HttpRequest) -> bool:
        if settings.ADMIN_REQUIRE_2FA:
            return super().has_permission(request)
        return admin.AdminSite.has_permission(self, request)
