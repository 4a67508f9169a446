"""Spotify's answers for the day, shared by the day's hourly runs through the database.

A process-local cache dies with each scheduler run, and Redis is optional: a small table works
everywhere. Rows are written by the run's main thread (the search threads never touch the
database) and removed after two days.
"""

import dataclasses
import datetime
from collections.abc import Iterable

from django.utils import timezone

from search import spotify

from ..models import DailySearch

KEEP_DAYS = 2
TERM_MAX_LENGTH = DailySearch._meta.get_field("term").max_length or 100


def page_to_json(page: spotify.PlaylistPage) -> dict:
    return dataclasses.asdict(page)


def page_from_json(data: dict) -> spotify.PlaylistPage:
    items = tuple(spotify.Playlist(**item) for item in data["items"])
    return spotify.PlaylistPage(**{**data, "items": items})


def stored_pages(
    *, day: datetime.date, terms: Iterable[str]
) -> dict[tuple[str, int], spotify.PlaylistPage]:
    """(term, page) -> the answer stored for `day`, for the given normalised terms."""
    terms = list(terms)
    pages = {}
    for start in range(0, len(terms), 1000):
        rows = DailySearch.objects.filter(day=day, term__in=terms[start : start + 1000])
        for term, number, results in rows.values_list("term", "page", "results"):
            try:
                pages[(term, number)] = page_from_json(results)
            except (KeyError, TypeError):
                continue  # a row from another shape of PlaylistPage: search again
    return pages


def store_page(*, day: datetime.date, term: str, number: int, page: spotify.PlaylistPage) -> None:
    """Keep an answer for the day's later runs; a concurrent run's row for it wins. A term
    that casefolding made longer than the column is not kept (cut short, it could answer
    for another term): its later runs search again."""
    if len(term) > TERM_MAX_LENGTH:
        return
    DailySearch.objects.bulk_create(
        [DailySearch(day=day, term=term, page=number, results=page_to_json(page))],
        ignore_conflicts=True,
    )


def prune(*, today: datetime.date) -> int:
    """Remove answers older than KEEP_DAYS days; the number removed."""
    cutoff = today - datetime.timedelta(days=KEEP_DAYS)
    deleted, _ = DailySearch.objects.filter(day__lt=cutoff).delete()
    return deleted


def search_day(now: datetime.datetime | None = None) -> datetime.date:
    """The date the shared answers are for: the site's (TIME_ZONE) date."""
    return timezone.localdate(now)
