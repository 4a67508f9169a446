"""Subscription pages: subscribe, confirm by token, unsubscribe by token (page and one-click)."""

import logging

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from . import ratelimit, selectors, services
from .daily.welcome import subscription_confirm_with_welcome
from .forms import SubscribeForm
from .links import SIGN_UP_PARAMETER
from .manage.views import token_page
from .models import Subscription

logger = logging.getLogger(__name__)

TOKEN_MAX_LENGTH = Subscription._meta.get_field("token").max_length
SIGN_UP_MAX_DIGITS = 18  # below 2**63: a bigger id is no row's, and no database's integer


def _subscription_or_404(token):
    """The 404 says nothing about any address, whether the token is malformed or unknown."""
    if len(token) > TOKEN_MAX_LENGTH:
        raise Http404
    try:
        return selectors.subscription_by_token(token=token)
    except Subscription.DoesNotExist:
        raise Http404 from None


def _too_many_requests(request):
    return render(request, "subscriptions/rate_limited.html", status=429)


def _check_inbox(request, form):
    return render(request, "subscriptions/check_inbox.html", {"form": form})


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def subscribe(request):
    if request.method != "POST":
        form = SubscribeForm(initial={"term": request.GET.get("term", "")})
        return render(request, "subscriptions/subscribe.html", {"subscribe_form": form})

    if not ratelimit.allow_subscribe_post(request):
        return _too_many_requests(request)
    form = SubscribeForm(request.POST)
    if not form.is_valid():
        return render(request, "subscriptions/subscribe.html", {"subscribe_form": form}, status=400)

    # From here the answer does not depend on the address's state (new, pending, active,
    # ended, complained), so the form cannot be used to find out who is subscribed.
    if form.is_bot:
        logger.info("Subscribe form honeypot filled in; nothing created or sent.")
        return _check_inbox(request, form)
    try:
        outcome = services.subscription_request(
            email=form.cleaned_data["email"],
            term=form.cleaned_data["term"],
            schedule=form.schedule,
        )
    except services.ConfirmationNotSent:
        return render(request, "subscriptions/send_failed.html", {"form": form}, status=503)
    if outcome is services.SubscribeOutcome.LIMITED:
        return _too_many_requests(request)
    return _check_inbox(request, form)


@token_page
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request, token):
    """GET only shows a button: mail scanners open links, and must not subscribe anyone."""
    subscription = _subscription_or_404(token)
    sign_up = _sign_up_of(request)
    welcome = None  # the day's email, when this was the inbox's first mood
    if request.method == "POST":
        subscription, welcome = subscription_confirm_with_welcome(
            subscription=subscription, sign_up=sign_up
        )
    expired = subscription.confirmation_expired()
    if subscription.status == Subscription.Status.PENDING and not expired:
        template = "subscriptions/confirm.html"
    elif subscription.status == Subscription.Status.ACTIVE:
        template = "subscriptions/confirmed.html"
    else:
        template = "subscriptions/confirm_expired.html"
    context = {
        "subscription": subscription,
        "sign_up": sign_up,
        "expired": expired,
        "confirmation_days": settings.PENDING_CONFIRMATION_DAYS,
        "welcome": welcome,
    }
    return render(request, template, context)


def _sign_up_of(request):
    """The sign-up a confirmation link names (links.SIGN_UP_PARAMETER), carried by the page's
    form into its POST: a whole number that fits the database's ids, else None."""
    value = request.POST.get(SIGN_UP_PARAMETER) or request.GET.get(SIGN_UP_PARAMETER) or ""
    if value.isascii() and value.isdigit() and len(value) <= SIGN_UP_MAX_DIGITS:
        return int(value)
    return None


# CSRF: RFC 8058 one-click POSTs come from mail providers with no cookie and no CSRF token, so
# the view is exempt only for that exact body (List-Unsubscribe=One-Click) and hands every other
# request, the page's own form included, to a csrf_protect'ed view. The one-click body can do
# nothing but unsubscribe the token's address, which needs the unguessable token anyway.
@csrf_exempt
@token_page
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token):
    subscription = _subscription_or_404(token)
    if request.method == "POST" and request.POST.get("List-Unsubscribe") == "One-Click":
        services.subscriber_unsubscribe_all(
            subscriber=subscription.subscriber, via=Subscription.Via.ONE_CLICK
        )
        # 200 and no redirect: RFC 8058 senders do not follow one.
        return HttpResponse("You have been unsubscribed.\n", content_type="text/plain")
    return _unsubscribe_page(request, subscription)


@csrf_protect
def _unsubscribe_page(request, subscription):
    """GET shows the choices and changes nothing; POST unsubscribes one or all."""
    if request.method != "POST":
        return render(request, "subscriptions/unsubscribe.html", {"subscription": subscription})
    everything = request.POST.get("scope") == "all"
    if everything:
        services.subscriber_unsubscribe_all(
            subscriber=subscription.subscriber, via=Subscription.Via.LINK
        )
    else:
        services.subscription_unsubscribe(subscription=subscription, via=Subscription.Via.LINK)
    subscription.refresh_from_db()
    return render(
        request,
        "subscriptions/unsubscribed.html",
        {"subscription": subscription, "everything": everything},
    )
