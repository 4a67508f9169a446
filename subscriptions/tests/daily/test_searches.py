"""The day's Spotify answers, kept for the day's later runs (subscriptions.daily.searches)."""

import datetime

import pytest

from search import spotify
from subscriptions.daily import searches as daily_searches
from subscriptions.models import DailySearch

pytestmark = pytest.mark.django_db
DAY = datetime.date(2026, 11, 25)


def page(query, *names):
    items = tuple(
        spotify.Playlist(
            id=f"{n:022d}",
            name=name,
            description="",
            owner_name="o",
            owner_id="o",
            image_url=None,
            web_url="https://open.spotify.com/playlist/x",
            uri="spotify:playlist:x",
            track_count=None,
        )
        for n, name in enumerate(names)
    )
    return spotify.PlaylistPage(query, items, 1, 0, 10, len(items), False)


def test_a_stored_answer_comes_back_as_it_was_for_that_day_only():
    answer = page("jazz", "Late Jazz", "Early Jazz")
    daily_searches.store_page(day=DAY, term="jazz", number=1, page=answer)
    assert daily_searches.stored_pages(day=DAY, terms=["jazz"]) == {("jazz", 1): answer}
    assert daily_searches.stored_pages(day=DAY + datetime.timedelta(days=1), terms=["jazz"]) == {}


def test_a_second_store_of_the_same_answer_keeps_the_first():
    daily_searches.store_page(day=DAY, term="jazz", number=1, page=page("jazz", "First"))
    daily_searches.store_page(day=DAY, term="jazz", number=1, page=page("jazz", "Second"))
    (stored,) = daily_searches.stored_pages(day=DAY, terms=["jazz"]).values()
    assert [item.name for item in stored.items] == ["First"]


def test_a_term_too_long_for_the_column_is_searched_again_rather_than_cut_short():
    long_term = "ß" * 60  # casefolds to 120 characters
    term = spotify.normalize_query(long_term)
    daily_searches.store_page(day=DAY, term=term, number=1, page=page(term, "x"))
    assert not DailySearch.objects.exists()


def test_answers_older_than_two_days_are_pruned():
    for offset in range(4):
        daily_searches.store_page(
            day=DAY - datetime.timedelta(days=offset), term="jazz", number=1, page=page("jazz")
        )
    assert daily_searches.prune(today=DAY) == 1
    assert DailySearch.objects.count() == 3


def test_a_row_of_another_shape_is_ignored():
    DailySearch.objects.create(day=DAY, term="jazz", page=1, results={"unexpected": True})
    assert daily_searches.stored_pages(day=DAY, terms=["jazz"]) == {}
