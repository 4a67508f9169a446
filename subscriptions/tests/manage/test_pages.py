"""The manage page: GET shows and changes nothing, each POST changes one thing, CSRF, 404s."""

import datetime
import re

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from subscriptions.models import SentPlaylist, Subscriber, Subscription

Status = Subscription.Status

pytestmark = pytest.mark.django_db


def manage_url(subscriber_or_token):
    token = getattr(subscriber_or_token, "manage_token", subscriber_or_token)
    return reverse("subscriptions:manage", kwargs={"token": token})


def browser(url):
    """A visitor who opened the page, CSRF cookie and all: `post(data)` sends a form there."""
    client = Client(enforce_csrf_checks=True)
    assert client.get(url).status_code == 200
    csrf = client.cookies["csrftoken"].value

    def post(data, **kwargs):
        return client.post(url, {**data, "csrfmiddlewaretoken": csrf}, **kwargs)

    client.post_form = post
    return client


@pytest.fixture
def listener(make_subscription):
    """A verified inbox: two active moods (one spelled differently), a stopped one, a bounced
    old one; and someone else."""
    happy = make_subscription(email="Listener@example.com", term="happy")
    rows = {
        "happy": happy,
        "sad": make_subscription(email="listener@EXAMPLE.com", term="sad"),
        "jazz": make_subscription(
            email="listener@example.com",
            term="jazz",
            status=Status.UNSUBSCRIBED,
            confirmed_at=timezone.now(),
            unsubscribed_at=timezone.now(),
        ),
        "other": make_subscription(email="someone-else@example.com", term="happy"),
    }
    assert rows["sad"].subscriber == rows["jazz"].subscriber == happy.subscriber
    return happy.subscriber, rows


def state(subscriber):
    """Everything an action may change, to compare before and after."""
    return (
        list(Subscription.objects.order_by("pk").values_list("pk", "term", "status")),
        list(Subscriber.objects.order_by("pk").values_list("pk", "paused_until")),
    )


# -- showing ---------------------------------------------------------------------------------


def test_get_lists_each_mood_with_status_since_and_last_sent_and_changes_nothing(client, listener):
    subscriber, rows = listener
    Subscription.objects.filter(pk=rows["happy"].pk).update(
        last_sent_at=datetime.datetime(2026, 11, 30, 7, tzinfo=datetime.UTC)
    )
    before = state(subscriber)

    response = client.get(manage_url(subscriber))

    assert response.status_code == 200
    html = response.content.decode()
    assert subscriber.email in html
    moods = re.findall(r'<th scope="row">([^<]+)</th>\s*<td>([^<]+)</td>', html)
    assert moods == [("happy", "Active"), ("sad", "Active"), ("jazz", "Unsubscribed")]
    assert "30 Nov 2026" in html
    assert "someone-else" not in html
    assert client.head(manage_url(subscriber)).status_code == 200
    assert state(subscriber) == before
    assert not mail.outbox


def test_token_pages_are_private_uncached_and_unindexed(client, listener):
    subscriber, rows = listener
    for url in (
        manage_url(subscriber),
        reverse("subscriptions:unsubscribe", kwargs={"token": rows["happy"].token}),
        reverse("subscriptions:confirm", kwargs={"token": rows["happy"].token}),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
        assert "noindex" in response["X-Robots-Tag"]
        assert response["Referrer-Policy"] == "same-origin"
    assert (
        '<meta name="robots" content="noindex, nofollow">'
        in client.get(manage_url(subscriber)).content.decode()
    )


@pytest.mark.parametrize("token", ["not-a-token", "x" * 65, "x" * 2000])
def test_wrong_token_is_the_same_404_as_the_unsubscribe_page(client, listener, token):
    unsubscribe = client.get(reverse("subscriptions:unsubscribe", kwargs={"token": token}))
    manage = client.get(manage_url(token))
    assert manage.status_code == unsubscribe.status_code == 404
    assert manage.content == unsubscribe.content
    assert client.post(manage_url(token), {"action": "stop_all"}).status_code == 404


def test_the_page_reads_a_constant_number_of_queries_however_long_its_lists(client, listener):
    subscriber, rows = listener

    def queries_for_page():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(manage_url(subscriber)).status_code == 200
        return len(queries)

    def send(count):
        for number in range(count):
            SentPlaylist.objects.create(
                subscription=rows["happy"],
                playlist_id=f"q{SentPlaylist.objects.count()}",
                name="A playlist",
                web_url="https://open.spotify.com/playlist/x",
                uri="spotify:playlist:x",
                sent_on=datetime.date(2026, 1, 1) + datetime.timedelta(days=number),
            )

    send(2)
    few = queries_for_page()
    send(30)
    for term in ("one", "two", "three", "four"):
        subscriber.subscriptions.create(term=term, status=Status.ACTIVE)
    assert queries_for_page() == few


def test_the_unsubscribe_page_links_to_the_manage_page(client, listener):
    subscriber, rows = listener
    url = reverse("subscriptions:unsubscribe", kwargs={"token": rows["happy"].token})
    html = client.get(url).content.decode()
    assert f'href="{manage_url(subscriber)}">Manage your daily playlists</a>' in html


def test_the_confirmed_page_links_to_the_manage_page(client, make_subscription):
    pending = make_subscription(status=Status.PENDING)
    url = reverse("subscriptions:confirm", kwargs={"token": pending.token})
    csrf_client = browser(url)
    html = csrf_client.post_form({}).content.decode()
    assert "You&rsquo;re subscribed" in html
    assert f'href="{manage_url(pending.subscriber)}">Manage your daily playlists</a>' in html


# -- every change is a POST with CSRF ------------------------------------------------------

ACTIONS = [
    {"action": "add", "term": "calm"},
    {"action": "stop", "subscription": "{happy}"},
    {"action": "restart", "subscription": "{jazz}"},
    {"action": "stop_all"},
    {"action": "pause", "until": "{tomorrow}"},
    {"action": "erase", "confirm": "on"},
]


@pytest.mark.parametrize("data", ACTIONS, ids=lambda data: data["action"])
def test_every_change_is_refused_without_the_csrf_token(listener, data):
    subscriber, rows = listener
    values = {
        "happy": rows["happy"].pk,
        "jazz": rows["jazz"].pk,
        "tomorrow": timezone.localdate() + datetime.timedelta(days=1),
    }
    data = {key: str(value).format(**values) for key, value in data.items()}
    before = state(subscriber)

    response = Client(enforce_csrf_checks=True).post(manage_url(subscriber), data)

    assert response.status_code == 403
    assert state(subscriber) == before


def test_an_unknown_action_changes_nothing_and_says_so(listener):
    subscriber, _ = listener
    before = state(subscriber)
    response = browser(manage_url(subscriber)).post_form({"action": "delete_everyone"})
    assert response.status_code == 400
    assert "Nothing was changed" in response.content.decode()
    assert state(subscriber) == before


# -- moods -----------------------------------------------------------------------------------


def test_a_verified_address_adds_a_mood_at_once_without_a_confirmation(listener):
    subscriber, _ = listener
    page = browser(manage_url(subscriber))

    response = page.post_form({"action": "add", "term": "  rainy   sunday "}, follow=True)

    added = subscriber.subscriptions.get(term="rainy sunday")
    assert added.status == Status.ACTIVE and added.confirmed_at is not None
    assert response.redirect_chain == [(manage_url(subscriber), 303)]
    assert "You now get a daily playlist for ‘rainy sunday’." in response.content.decode()
    assert not mail.outbox


def test_an_unverified_address_confirms_a_new_mood_by_email_within_the_limits(
    make_subscription, settings
):
    settings.SUBSCRIBE_ATTEMPTS_PER_ADDRESS_PER_DAY = 2
    subscriber = make_subscription(term="happy", status=Status.PENDING).subscriber
    page = browser(manage_url(subscriber))

    assert page.post_form({"action": "add", "term": "calm"}).status_code == 303
    calm = subscriber.subscriptions.get(term="calm")
    assert calm.status == Status.PENDING
    [message] = mail.outbox
    assert message.to == [subscriber.email]
    assert calm.token in message.body

    assert page.post_form({"action": "add", "term": "sad"}).status_code == 303
    limited = page.post_form({"action": "add", "term": "jazz"})
    assert limited.status_code == 429
    assert "as many emails from us as we send in a day" in limited.content.decode()
    assert not subscriber.subscriptions.filter(term="jazz").exists()
    assert len(mail.outbox) == 2


def test_a_confirmation_that_cannot_be_sent_is_said_and_adds_nothing(
    make_subscription, closed_port_mailgun
):
    subscriber = make_subscription(term="happy", status=Status.PENDING).subscriber
    response = browser(manage_url(subscriber)).post_form({"action": "add", "term": "calm"})
    assert response.status_code == 503
    assert "We could not send the confirmation email just now" in response.content.decode()
    assert not subscriber.subscriptions.filter(term="calm").exists()


def test_adding_a_mood_already_live_adds_nothing(listener):
    subscriber, _ = listener
    response = browser(manage_url(subscriber)).post_form({"action": "add", "term": "HAPPY"})
    assert response.status_code == 200
    assert "You already get" in response.content.decode()
    assert subscriber.subscriptions.filter(term__iexact="happy").count() == 1


@pytest.mark.parametrize("term", ["", "   ", "bad\r\nBcc: x@example.com", "x" * 101])
def test_a_bad_term_is_a_clear_message_and_changes_nothing(listener, term):
    subscriber, _ = listener
    before = state(subscriber)
    response = browser(manage_url(subscriber)).post_form({"action": "add", "term": term})
    assert response.status_code == 400
    assert 'class="field-errors" id="add-term-errors"' in response.content.decode()
    assert state(subscriber) == before


def test_a_suppressed_inbox_cannot_add_a_mood(listener):
    subscriber, _ = listener
    Subscriber.objects.filter(pk=subscriber.pk).update(state=Subscriber.State.COMPLAINED)
    page = browser(manage_url(subscriber))
    assert "marked as spam" in page.get(manage_url(subscriber)).content.decode()

    response = page.post_form({"action": "add", "term": "calm"})

    assert "We cannot send playlists to this address" in response.content.decode()
    assert not subscriber.subscriptions.filter(term="calm").exists()
    assert not mail.outbox


def test_stop_one_stops_only_that_mood(listener):
    subscriber, rows = listener
    response = browser(manage_url(subscriber)).post_form(
        {"action": "stop", "subscription": rows["happy"].pk}
    )
    assert response.status_code == 303
    statuses = dict(Subscription.objects.values_list("pk", "status"))
    assert statuses[rows["happy"].pk] == Status.UNSUBSCRIBED
    assert statuses[rows["sad"].pk] == statuses[rows["other"].pk] == Status.ACTIVE


@pytest.mark.parametrize("action", ["stop", "restart"])
@pytest.mark.parametrize("which", ["other", "missing", "garbage"])
def test_a_subscription_that_is_not_this_inboxs_is_refused(listener, action, which):
    subscriber, rows = listener
    chosen = {"other": rows["other"].pk, "missing": 999999, "garbage": "1 OR 1=1"}[which]
    before = state(subscriber)
    response = browser(manage_url(subscriber)).post_form({"action": action, "subscription": chosen})
    assert response.status_code == 400
    assert "That playlist is not one of this address" in response.content.decode()
    assert state(subscriber) == before


def test_stop_all_stops_every_mood_of_the_inbox_and_no_one_elses(listener):
    subscriber, rows = listener
    assert browser(manage_url(subscriber)).post_form({"action": "stop_all"}).status_code == 303
    assert not subscriber.subscriptions.filter(status__in=Subscription.LIVE_STATUSES).exists()
    assert Subscription.objects.get(pk=rows["other"].pk).status == Status.ACTIVE


def test_restart_revives_the_stopped_mood_so_its_old_links_work_again(listener):
    subscriber, rows = listener
    response = browser(manage_url(subscriber)).post_form(
        {"action": "restart", "subscription": rows["jazz"].pk}
    )
    assert response.status_code == 303
    jazz = Subscription.objects.get(pk=rows["jazz"].pk)
    assert jazz.status == Status.ACTIVE and jazz.unsubscribed_at is None
    assert subscriber.subscriptions.filter(term="jazz").count() == 1
    assert not mail.outbox


# -- pause -----------------------------------------------------------------------------------


def test_pause_until_a_day_and_the_page_says_when_mail_resumes(listener):
    subscriber, _ = listener
    until = timezone.localdate() + datetime.timedelta(days=10)
    page = browser(manage_url(subscriber))

    response = page.post_form({"action": "pause", "until": until.isoformat()}, follow=True)

    subscriber.refresh_from_db()
    assert subscriber.paused_until == until
    html = response.content.decode()
    resumes = until + datetime.timedelta(days=1)
    assert f"your playlists resume on {resumes:%A} {resumes.day} {resumes:%B %Y}" in html
    assert "Resume now" in html


@pytest.mark.parametrize(
    "until",
    [
        "yesterday",
        "today",
        "in-366-days",
        "2026-02-30",
        "31/12/2026",
        "",
        "\x00",
    ],
)
def test_a_pause_outside_tomorrow_to_a_year_is_refused(listener, until):
    subscriber, _ = listener
    today = timezone.localdate()
    named = {
        "yesterday": today - datetime.timedelta(days=1),
        "today": today,
        "in-366-days": today + datetime.timedelta(days=366),
    }
    value = named[until].isoformat() if until in named else until
    response = browser(manage_url(subscriber)).post_form({"action": "pause", "until": value})
    assert response.status_code == 400
    assert 'id="pause-until-errors"' in response.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.paused_until is None


def test_resume_now_lifts_the_pause(listener):
    subscriber, _ = listener
    Subscriber.objects.filter(pk=subscriber.pk).update(
        paused_until=timezone.localdate() + datetime.timedelta(days=5)
    )
    response = browser(manage_url(subscriber)).post_form({"action": "resume"}, follow=True)
    subscriber.refresh_from_db()
    assert subscriber.paused_until is None
    assert "Resumed" in response.content.decode()


# -- history ---------------------------------------------------------------------------------


def test_history_lists_every_playlist_newest_first_with_both_links_a_page_at_a_time(
    client, listener
):
    subscriber, rows = listener
    first_day = datetime.date(2026, 10, 1)
    for number in range(25):
        SentPlaylist.objects.create(
            subscription=rows["happy"] if number % 2 else rows["sad"],
            playlist_id=f"pl{number:02d}",
            name=f"Playlist {number:02d}",
            web_url=f"https://open.spotify.com/playlist/pl{number:02d}",
            uri=f"spotify:playlist:pl{number:02d}",
            sent_on=first_day + datetime.timedelta(days=number),
        )
    SentPlaylist.objects.create(
        subscription=rows["other"],
        playlist_id="theirs",
        name="Someone else's",
        web_url="https://open.spotify.com/playlist/theirs",
        uri="spotify:playlist:theirs",
        sent_on=first_day,
    )

    first = client.get(manage_url(subscriber)).content.decode()
    second = client.get(manage_url(subscriber) + "?page=2").content.decode()

    names = re.findall(r"<td>(Playlist \d\d)</td>", first)
    assert names == [f"Playlist {n:02d}" for n in range(24, 4, -1)]
    assert re.findall(r"<td>(Playlist \d\d)</td>", second) == [
        f"Playlist {n:02d}" for n in range(4, -1, -1)
    ]
    assert "<td>happy</td>\n          <td>Playlist 23</td>" in first
    assert 'href="https://open.spotify.com/playlist/pl24" rel="noreferrer noopener"' in first
    assert 'href="spotify:playlist:pl24"' in first
    assert "25 Oct 2026" in first
    assert "Page 1 of 2" in first and "Older playlists" in first
    assert "Someone else" not in first + second
    # A page number that is not one shows a page, not an error.
    assert client.get(manage_url(subscriber) + "?page=abc").status_code == 200
