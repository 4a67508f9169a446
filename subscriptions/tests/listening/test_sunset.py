"""A kind goodbye: after SUNSET_AFTER_DAYS without listening (and 30 days of mail), one "Still
want your daily playlists?" in place of that day's email; with no answer in 14 days, a pause
the manage page explains and lifts. Days pass on a controlled clock."""

import datetime
from urllib.parse import urlsplit

import pytest
import time_machine
from django.test import Client

from subscriptions.daily import daily_playlists_send
from subscriptions.links import manage_url
from subscriptions.models import DailyEmail, ListeningEvent, SentPlaylist, Subscriber, Subscription
from subscriptions.tests import factories
from subscriptions.tests.listening.support import follow, links_named, playlists_for, text_link

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
DEPLOYED = datetime.datetime(2026, 6, 1, 7, 5, tzinfo=datetime.UTC)  # clicks recorded from here
ASKED = DEPLOYED + 100 * DAY  # 2026-09-09
GOODBYE_SUBJECT = "Still want your daily playlists?"


@pytest.fixture
def deployed(fake_mailgun, fake_spotify, settings):
    """The first daily run with click recording on, long ago; Ann, Bo and Cy subscribed."""
    playlists_for(fake_spotify, "jazz", count=10)
    with time_machine.travel(DEPLOYED - DAY, tick=False):
        for address in ("ann@example.org", "bo@example.org", "cy@example.org"):
            factories.subscription(address, term="jazz")
            mailed_on(address, [DEPLOYED.date() - n * DAY for n in range(1, 10)])
    run(DEPLOYED)
    fake_mailgun.reset()
    return fake_mailgun


def mailed_on(address, days):
    """History: `address` was sent its daily email on each of `days`."""
    subscriber = Subscriber.objects.get(email=address)
    DailyEmail.objects.bulk_create(
        DailyEmail(subscriber=subscriber, day=day, status="sent")
        for day in days
        if not DailyEmail.objects.filter(subscriber=subscriber, day=day).exists()
    )


def run(moment):
    with time_machine.travel(moment, tick=False):
        return daily_playlists_send(today=moment.date(), seed=moment.day)


def quiet_for(*addresses, days=45):
    """Each was mailed on `days` of the last 90 before ASKED, and opened nothing."""
    for address in addresses:
        mailed_on(address, [ASKED.date() - n * DAY for n in range(1, days + 1)])


def subjects(fake_mailgun):
    return {
        m["to"]: m["subject"] for m in (s for send in fake_mailgun.sends for s in send.messages())
    }


def test_a_silent_subscriber_is_asked_once_in_place_of_that_days_email(client, deployed):
    quiet_for("ann@example.org", "bo@example.org")
    quiet_for("cy@example.org", days=29)  # mailed on too few days to tell
    # Bo opened a playlist from an email 50 days ago: a listener.
    ListeningEvent.objects.create(
        subscriber=Subscriber.objects.get(email="bo@example.org"),
        link="web",
        verdict="listener",
        occurred_at=ASKED - 50 * DAY,
    )

    summary = run(ASKED)

    assert subjects(deployed) == {
        "ann@example.org": GOODBYE_SUBJECT,
        "bo@example.org": "Your playlists for Wednesday 9 September",
        "cy@example.org": "Your playlists for Wednesday 9 September",
    }
    (goodbye,) = deployed.messages_to("ann@example.org")
    assert "Open on the web" not in goodbye["text"]
    assert not SentPlaylist.objects.filter(
        subscription__subscriber__email="ann@example.org", sent_on=ASKED.date()
    )
    # It is Ann's email of the day: her claim went, and the run counts it as one email.
    assert DailyEmail.objects.get(subscriber__email="ann@example.org", day=ASKED.date()).status == (
        "sent"
    )
    assert summary.emails == 3 and summary.playlists == 2
    (keep,) = links_named(goodbye["html"], "Yes, keep them coming")
    assert text_link(goodbye["text"], "Yes, keep them coming") == [keep]
    assert goodbye["headers"]["List-Unsubscribe"].startswith("<https://funky.example.com/")
    (manage,) = links_named(goodbye["html"], "Manage your daily playlists")
    assert manage == f"{manage_url(Subscriber.objects.get(email='ann@example.org'))}?from=email"

    deployed.reset()
    run(ASKED + DAY)  # the next day: her playlists, not a second goodbye
    assert subjects(deployed)["ann@example.org"] == "Your playlists for Thursday 10 September"


def test_the_goodbyes_button_page_asks_and_its_post_keeps_them(client, deployed):
    quiet_for("ann@example.org")
    run(ASKED)
    (goodbye,) = deployed.messages_to("ann@example.org")
    (keep,) = links_named(goodbye["html"], "Yes, keep them coming")

    page = follow(client, keep, at=ASKED + DAY)  # a scanner or a person: only a page
    assert page.status_code == 200
    assert "Still want your daily playlists?" in page.content.decode()
    assert not ListeningEvent.objects.exists()
    token = page.cookies["csrftoken"].value
    with time_machine.travel(ASKED + DAY, tick=False):
        kept = client.post(urlsplit(keep).path, {"csrfmiddlewaretoken": token})

    assert kept.status_code == 303
    assert (
        kept["Location"]
        == urlsplit(manage_url(Subscriber.objects.get(email="ann@example.org"))).path
    )
    deployed.reset()
    run(ASKED + 15 * DAY)  # past the 14 days: still mailed, and not asked again
    assert subjects(deployed)["ann@example.org"] != GOODBYE_SUBJECT
    assert Subscriber.objects.get(email="ann@example.org").sunset_at is None


def test_no_answer_in_14_days_pauses_them_until_they_come_back(client, deployed):
    quiet_for("ann@example.org")
    run(ASKED)
    deployed.reset()
    run(ASKED + 13 * DAY)  # still within the 14 days: the playlists come
    assert "ann@example.org" in subjects(deployed)

    deployed.reset()
    run(ASKED + 14 * DAY + datetime.timedelta(hours=1))

    assert "ann@example.org" not in subjects(deployed)
    ann = Subscriber.objects.get(email="ann@example.org")
    assert ann.sunset_at is not None
    # Paused, not deleted: her mood is as it was.
    assert list(ann.subscriptions.values_list("term", "status")) == [("jazz", "active")]
    deployed.reset()
    run(ASKED + 20 * DAY)
    assert "ann@example.org" not in subjects(deployed)

    manage = urlsplit(manage_url(ann)).path
    page = follow(client, manage, at=ASKED + 21 * DAY)
    text = page.content.decode()
    assert "We paused your playlists on" in text
    assert "Start my playlists again" in text
    assert f'action="{manage}keep/"' in text  # the notice's one button
    token = page.cookies["csrftoken"].value
    with time_machine.travel(ASKED + 21 * DAY, tick=False):
        back = client.post(f"{manage}keep/", {"csrfmiddlewaretoken": token}, follow=True)
    assert back.status_code == 200
    assert "We paused your playlists on" not in back.content.decode()

    deployed.reset()
    run(ASKED + 22 * DAY)
    assert subjects(deployed)["ann@example.org"].startswith("Your playlists for")


def test_the_goodbyes_one_click_header_still_unsubscribes(client, deployed):
    quiet_for("ann@example.org")
    factories.subscription("ann@example.org", term="rain")
    run(ASKED)
    (goodbye,) = deployed.messages_to("ann@example.org")
    one_click = goodbye["headers"]["List-Unsubscribe"].strip("<>")

    response = client.post(
        urlsplit(one_click).path,
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    statuses = Subscription.objects.filter(subscriber__email="ann@example.org")
    assert set(statuses.values_list("status", flat=True)) == {"unsubscribed"}


@pytest.mark.parametrize("setting", [{"SUNSET_AFTER_DAYS": 0}, {"CLICK_RECORDING": False}])
def test_it_can_be_turned_off(settings, deployed, setting):
    for name, value in setting.items():
        setattr(settings, name, value)
    quiet_for("ann@example.org")

    run(ASKED)
    run(ASKED + 15 * DAY)

    assert subjects(deployed)["ann@example.org"].startswith("Your playlists for")
    assert Subscriber.objects.get(email="ann@example.org").sunset_at is None


def test_a_list_mailed_for_months_is_not_asked_the_day_clicks_start_counting(
    fake_mailgun, fake_spotify
):
    playlists_for(fake_spotify, "jazz", count=10)
    factories.subscription("ann@example.org", term="jazz")
    mailed_on("ann@example.org", [DEPLOYED.date() - n * DAY for n in range(1, 120)])

    run(DEPLOYED)  # the first run that records clicks
    run(DEPLOYED + 30 * DAY)

    assert GOODBYE_SUBJECT not in {
        m["subject"] for m in fake_mailgun.messages_to("ann@example.org")
    }


def test_a_sunset_subscriber_gets_no_preview_or_mail_but_keeps_the_page(client, deployed):
    quiet_for("ann@example.org")
    run(ASKED)
    run(ASKED + 15 * DAY)
    ann = Subscriber.objects.get(email="ann@example.org")
    assert ann.sunset_at is not None

    page = follow(client, f"{urlsplit(manage_url(ann)).path}keep/", at=ASKED + 16 * DAY)

    assert page.status_code == 200
    assert "We paused the playlists we sent to ann@example.org" in page.content.decode()


def test_the_goodbye_is_not_listed_among_the_past_emails(client, deployed):
    quiet_for("ann@example.org")
    run(ASKED - DAY)  # a day of playlists, then the goodbye
    ann = Subscriber.objects.get(email="ann@example.org")
    ann.listening_events.all().delete()
    quiet_for("ann@example.org")
    run(ASKED)
    assert deployed.messages_to("ann@example.org")[-1]["subject"] == GOODBYE_SUBJECT

    page = follow(client, f"{urlsplit(manage_url(ann)).path}emails/", at=ASKED + DAY)

    text = page.content.decode()
    assert "Tuesday 8 September 2026" in text
    assert "Wednesday 9 September 2026" not in text


def test_the_goodbye_page_of_a_wrong_token_is_a_404_and_keeping_needs_the_pages_form(
    deployed, client
):
    assert client.get("/subscriptions/manage/no-such-token/keep/").status_code == 404
    assert client.get(f"/subscriptions/manage/{'x' * 300}/keep/").status_code == 404
    ann = Subscriber.objects.get(email="ann@example.org")
    Subscriber.objects.filter(pk=ann.pk).update(sunset_at=ASKED)
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(f"{urlsplit(manage_url(ann)).path}keep/")  # no CSRF token
    assert response.status_code == 403
    assert Subscriber.objects.get(pk=ann.pk).sunset_at is not None
    assert client.put(f"{urlsplit(manage_url(ann)).path}keep/").status_code == 405
