"""The manage page (everything about one inbox, by its token) and "Lost your link?"."""

import datetime
import functools
import json

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from .. import ratelimit, services
from ..forms import EraseForm, LostLinkForm, PauseForm, SubscriptionChoiceForm, TermForm
from ..listening.visits import visit_from_email
from ..models import Subscriber
from ..selectors import subscriber_is_verified
from . import selectors
from . import services as manage

HISTORY_PER_PAGE = 20
MOOD_STATUSES = {
    manage.MoodOutcome.LIMITED: 429,
    manage.MoodOutcome.ADDS_LIMITED: 429,
    manage.MoodOutcome.FULL: 409,
    manage.MoodOutcome.NOT_SENT: 503,
}
MOOD_MESSAGES = {
    manage.MoodOutcome.ADDED: "You now get a daily playlist for ‘{term}’.",
    manage.MoodOutcome.CONFIRMATION_SENT: (
        "We have sent an email to confirm ‘{term}’: press “Confirm” in it to start."
    ),
    manage.MoodOutcome.ALREADY: "You already get (or are confirming) a playlist for ‘{term}’.",
    manage.MoodOutcome.SUPPRESSED: (
        "We cannot send playlists to this address: our emails to it bounced or were marked as spam."
    ),
    manage.MoodOutcome.LIMITED: (
        "This address has had as many emails from us as we send in a day; try again tomorrow."
    ),
    manage.MoodOutcome.ADDS_LIMITED: (
        "This address has added as many moods as we take in a day; try again tomorrow."
    ),
    manage.MoodOutcome.FULL: (
        "You have {cap} moods, the most we send to one address: stop one to add another."
    ),
    manage.MoodOutcome.NOT_SENT: (
        "We could not send the confirmation email just now; nothing changed. Please try later."
    ),
}

TOO_MANY_CHANGES = "You have made as many changes as we take in an hour; please try again later."


def token_page(view):
    """A page opened by a secret link: never cached, never indexed, and its address (the
    token) never sent to another site as a Referer, whatever the site-wide policy.

    same-origin, not no-referrer: a browser posts a no-referrer page's forms with
    `Origin: null`, which Django's CSRF check rightly refuses."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["X-Robots-Tag"] = "noindex, nofollow"
        response["Referrer-Policy"] = "same-origin"
        return response

    return never_cache(wrapped)


def _subscriber_or_404(token):
    """The same 404 as the confirm and unsubscribe pages' for a wrong token."""
    try:
        return selectors.subscriber_by_manage_token(token=token)
    except Subscriber.DoesNotExist:
        raise Http404 from None


def _page(request, subscriber, *, status=200, **forms):
    history = Paginator(
        selectors.subscriber_history(subscriber=subscriber), HISTORY_PER_PAGE
    ).get_page(request.GET.get("page"))
    moods = selectors.subscriber_moods(subscriber=subscriber)
    paused = subscriber.is_paused(timezone.localdate())
    context = {
        "subscriber": subscriber,
        "moods": moods,
        "live_count": sum(mood.can_stop for mood in moods),
        "verified": subscriber_is_verified(subscriber=subscriber),
        "suppression": selectors.subscriber_suppression(subscriber=subscriber),
        "paused": paused,
        "resume_day": paused and subscriber.paused_until + datetime.timedelta(days=1),
        "history": history,
        "add_form": forms.get("add_form") or TermForm(),
        "pause_form": forms.get("pause_form") or PauseForm(),
        "erase_form": forms.get("erase_form") or EraseForm(),
        "choice_errors": forms.get("choice_errors"),
        "pause_first_day": PauseForm.first_day(),
        "pause_last_day": PauseForm.last_day(),
    }
    return render(request, "subscriptions/manage.html", context, status=status)


@token_page
@require_http_methods(["GET", "HEAD", "POST"])
def manage_page(request, token):
    """GET shows and changes nothing (mail scanners open links) but the count of a visit from
    an email (subscriptions.listening.visits); each change is a POST."""
    subscriber = _subscriber_or_404(token)
    if request.method != "POST":
        visit = visit_from_email(request, subscriber=subscriber, link="manage")
        return visit or _page(request, subscriber)
    action = ACTIONS.get(request.POST.get("action", ""))
    if action is None:
        messages.error(request, "Nothing was changed: that is not something this page does.")
        return _page(request, subscriber, status=400)
    return action(request, subscriber)


def _done(request, message):
    """Back to the page with `message` on it; 303, so reloading it repeats nothing."""
    messages.success(request, message)
    response = HttpResponseRedirect(request.path)
    response.status_code = 303
    return response


def _add(request, subscriber):
    form = TermForm(request.POST)
    if not form.is_valid():
        return _page(request, subscriber, status=400, add_form=form)
    return _mood(request, subscriber, form.cleaned_data["term"])


def _mood(request, subscriber, term):
    """Add or restart a mood; each counts against the client IP's limit as a sign-up does."""
    if not ratelimit.allow_subscribe_post(request):
        messages.warning(request, TOO_MANY_CHANGES)
        return _page(request, subscriber, status=429)
    outcome = manage.mood_add(subscriber=subscriber, term=term)
    message = MOOD_MESSAGES[outcome].format(term=term, cap=settings.MAX_MOODS_PER_SUBSCRIBER)
    if outcome in (manage.MoodOutcome.ADDED, manage.MoodOutcome.CONFIRMATION_SENT):
        return _done(request, message)
    messages.warning(request, message)
    return _page(request, subscriber, status=MOOD_STATUSES.get(outcome, 200))


def _chosen(request, subscriber):
    form = SubscriptionChoiceForm(request.POST, subscriber=subscriber)
    if form.is_valid():
        return form.cleaned_data["subscription"], None
    return None, _page(request, subscriber, status=400, choice_errors=form.errors["subscription"])


def _stop(request, subscriber):
    subscription, error_page = _chosen(request, subscriber)
    if error_page:
        return error_page
    manage.mood_stop(subscription=subscription)
    return _done(request, f"You get no more playlists for ‘{subscription.term}’.")


def _restart(request, subscriber):
    subscription, error_page = _chosen(request, subscriber)
    if error_page:
        return error_page
    return _mood(request, subscriber, subscription.term)


def _stop_all(request, subscriber):
    manage.moods_stop_all(subscriber=subscriber)
    return _done(request, "You get no more daily playlists from us.")


def _pause(request, subscriber):
    form = PauseForm(request.POST)
    if not form.is_valid():
        return _page(request, subscriber, status=400, pause_form=form)
    manage.subscriber_pause(subscriber=subscriber, until=form.cleaned_data["until"])
    until = date_format(subscriber.paused_until, "j F Y")
    return _done(request, f"Paused: nothing will be sent until after {until}.")


def _resume(request, subscriber):
    manage.subscriber_resume(subscriber=subscriber)
    return _done(request, "Resumed: your playlists come again from the next email.")


def _export(request, subscriber):
    data = selectors.subscriber_export(subscriber=subscriber)
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="funky-music-my-data.json"'
    return response


def _erase(request, subscriber):
    form = EraseForm(request.POST)
    if not form.is_valid():
        return _page(request, subscriber, status=400, erase_form=form)
    suppressed = manage.subscriber_erase(subscriber=subscriber)
    return render(request, "subscriptions/erased.html", {"suppressed": suppressed})


ACTIONS = {
    "add": _add,
    "stop": _stop,
    "restart": _restart,
    "stop_all": _stop_all,
    "pause": _pause,
    "resume": _resume,
    "export": _export,
    "erase": _erase,
}


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def lost_link(request):
    """ "Lost your link?": the same answer, after the same work, whether or not the address
    has subscriptions and whenever it last asked; the per-IP limit of the subscribe form."""
    if request.method != "POST":
        return render(request, "subscriptions/lost_link.html", {"form": LostLinkForm()})
    if not ratelimit.allow_subscribe_post(request):
        return render(request, "subscriptions/rate_limited.html", status=429)
    form = LostLinkForm(request.POST)
    if not form.is_valid():
        return render(request, "subscriptions/lost_link.html", {"form": form}, status=400)
    try:
        manage.manage_link_request(email=form.cleaned_data["email"])
    except services.ConfirmationNotSent:
        context = {"form": form, "send_failed": True}
        return render(request, "subscriptions/lost_link.html", context, status=503)
    context = {"form": form, "resend_minutes": settings.LOST_LINK_RESEND_MINUTES}
    return render(request, "subscriptions/lost_link_sent.html", context)
