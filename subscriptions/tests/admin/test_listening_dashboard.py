"""The dashboard's listening: listeners per day with scanners apart, the share of the list that
listened in 30 days, the moods people open most, the goodbyes and sunsets; constant queries."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from subscriptions.admin import figures
from subscriptions.listening import figures as listening
from subscriptions.models import (
    DailyEmail,
    Goodbye,
    ListeningEvent,
    SentPlaylist,
    Subscriber,
    Subscription,
)
from subscriptions.tests import factories

pytestmark = pytest.mark.django_db

URL = "/admin/dashboard/"
DAY = datetime.timedelta(days=1)


def at(day, hour=12):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def mailed(address, day, *, term="jazz", status="sent"):
    """`address` (subscribed to `term`) had its email of `day`, with one pick: the claim."""
    subscription = Subscription.objects.filter(subscriber__email=address, term=term).first()
    if subscription is None:
        subscription = factories.subscription(address, term=term)
    claim = DailyEmail.objects.create(subscriber=subscription.subscriber, day=day, status=status)
    pick = SentPlaylist.objects.create(
        subscription=subscription,
        daily_email=claim,
        playlist_id=f"pl{claim.pk}",
        name=f"{term} {day}",
        web_url=f"https://open.spotify.com/playlist/pl{claim.pk}",
        uri=f"spotify:playlist:pl{claim.pk}",
        sent_on=day,
    )
    return claim, pick


def opened(claim, pick, when, *, link="web", verdict="listener"):
    ListeningEvent.objects.create(
        subscriber=claim.subscriber,
        daily_email=claim,
        sent_playlist=pick if link in {"web", "app"} else None,
        link=link,
        verdict=verdict,
        occurred_at=when,
    )


@pytest.fixture
def month(db):
    today = timezone.localdate()
    yesterday = today - DAY
    ann = mailed("ann@example.org", yesterday)
    opened(*ann, at(yesterday, 9), link="web")
    opened(*ann, at(yesterday, 10), link="app")
    opened(*ann, at(yesterday, 7), link="copy", verdict="too_soon")
    bo = mailed("bo@example.org", yesterday, term="rain")
    opened(*bo, at(yesterday, 11), link="manage")
    opened(*bo, at(yesterday, 11), link="web", verdict="head")
    cy = mailed("cy@example.org", yesterday)
    opened(*cy, at(yesterday, 8), link="web", verdict="agent")  # only a scanner: not a listener
    mailed("eve@example.org", yesterday)  # mailed, never opened
    fay = mailed("fay@example.org", today - 3 * DAY, term="Rain")
    opened(*fay, at(today - 3 * DAY), link="web")
    dan = mailed("dan@example.org", today - 40 * DAY)
    opened(*dan, at(today - 40 * DAY))  # before the 30 days
    # The goodbyes: Gus asked 3 days ago, Hal said keep them, Ivy and Jo were paused.
    gus, _ = mailed("gus@example.org", today - 3 * DAY)
    Goodbye.objects.create(subscriber=gus.subscriber, daily_email=gus, created_at=at(gus.day))
    hal, _ = mailed("hal@example.org", today - 5 * DAY)
    ListeningEvent.objects.create(
        subscriber=hal.subscriber, link="kept", verdict="listener", occurred_at=at(today - 2 * DAY)
    )
    for address, back in (("ivy@example.org", 2), ("jo@example.org", 50)):
        factories.subscription(address, term="calm")
        Subscriber.objects.filter(email=address).update(sunset_at=at(today - back * DAY))
    return today


def test_listeners_per_day_with_scanners_apart(month):
    board = listening.listening_board(today=month)

    assert len(board.days) == 30 and board.days[-1].day == month
    yesterday = board.days[-2]
    assert (yesterday.listeners, yesterday.by_people, yesterday.by_scanners) == (2, 3, 3)
    three_days_ago = board.days[-4]
    assert (three_days_ago.listeners, three_days_ago.by_people) == (1, 1)
    assert board.days[-3].kept == 1


def test_the_share_of_the_list_that_listened_in_30_days(month):
    board = listening.listening_board(today=month)

    # Mailed in the 30 days: Ann, Bo, Cy, Eve, Fay, Gus and Hal; listened: Ann, Bo, Fay and
    # Hal (who said "keep them coming").
    assert (board.mailed, board.listened) == (7, 4)
    assert board.listened_share == "57 %"


def test_the_moods_people_open_most(month):
    board = listening.listening_board(today=month)

    # Opened playlists by people (not scanners, not visits), per mood in any case.
    assert board.top_moods == [("jazz", 1, 2), ("rain", 1, 1)]


def test_the_goodbyes_and_sunsets(month):
    board = listening.listening_board(today=month)

    assert (board.asked, board.kept, board.paused_recently, board.paused) == (1, 1, 1, 2)


def test_the_page_shows_it(admin_client, month):
    page = admin_client.get(URL).content.decode()
    section = page.split('id="listening"')[1]

    assert re.search(r"<dt>Listened in the last 30 days</dt><dd>57 %", section)
    assert "(4 of 7 mailed)" in section
    assert re.search(r"<dt>Paused for not listening</dt><dd>2</dd>", section)
    assert "<td>jazz</td><td>1</td><td>2</td>" in section
    assert "Listeners per day" in section and "Clicks and visits" in section
    assert "By link scanners" in section
    assert "style=" not in section  # within the CSP


def build(today, *, per_day, tag):
    for back in range(30):
        day = today - back * DAY
        for n in range(per_day):
            claim, pick = mailed(f"{tag}{back}-{n}@example.org", day, term=f"mood {n % 5}")
            opened(claim, pick, at(day, 9))
            opened(claim, pick, at(day, 8), link="app", verdict="agent")
            if n % 2:
                Goodbye.objects.create(subscriber=claim.subscriber, daily_email=claim)


def test_queries_do_not_grow_with_the_list(admin_client):
    today = timezone.localdate()
    build(today, per_day=1, tag="a")
    admin_client.get(URL)  # warm the session and content types
    with CaptureQueriesContext(connection) as small:
        assert admin_client.get(URL).status_code == 200
    build(today, per_day=8, tag="b")
    with CaptureQueriesContext(connection) as large:
        assert admin_client.get(URL).status_code == 200
    assert len(large) == len(small)
    board = listening.listening_board(today=today)
    assert board.mailed == 30 * 9 and board.listened == 30 * 9
    assert len(board.days) == figures.DAYS
