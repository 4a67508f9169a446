"""Picking: who is due, one search per distinct term, and a new eligible playlist per mood.

One Spotify search per (normalised term, page) per run, on a small thread pool started up
front in the order batches need the terms, so searching runs ahead of sending. A pick is a
random playlist from the first pages that is long enough (MIN_PLAYLIST_TRACKS; no track count
counts as long enough), has a valid id, and that the subscription never had (history rows of
any status, unknown ones included: they may be in the inbox), nor another mood of the same
email today.
"""

import logging
import random
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower

from search import spotify

from .. import selectors
from ..models import SentPlaylist, Subscriber, Subscription
from . import searches as daily_searches
from .composing import Composer, DailyMessage, Pick, mail_address
from .goodbye import Goodbyes

logger = logging.getLogger(__name__)  # under "subscriptions.daily"

SEARCH_WORKERS = 8  # concurrent Spotify searches: enough to hide latency, few enough to be polite
MAX_SEARCH_PAGES = 5  # Spotify's first 50 results, 10 a page


def due_subscriptions(
    day: date, subscribers: QuerySet[Subscriber] | None = None
) -> QuerySet[Subscription]:
    """The one place the day's work is chosen: sendable subscriptions (not stopped, paused or
    suppressed) that have not had `day`'s email, of the `subscribers` whose email is due
    (subscriptions.daily.schedule), or of everyone when None."""
    due = selectors.sendable_subscriptions(day=day).filter(
        Q(last_sent_on__isnull=True) | Q(last_sent_on__lt=day)
    )
    if subscribers is not None:
        due = due.filter(subscriber__in=subscribers.values("pk"))
    return due


class Searches:
    """One Spotify search per (term, page) per run, on a small thread pool.

    The workers only call the cached Spotify client (Django's cache and the client are
    thread-safe) and never touch the database.
    """

    def __init__(
        self, *, workers: int = SEARCH_WORKERS, day: date | None = None, store: bool = False
    ):
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="spotify")
        self._futures: dict[tuple[str, int], Future] = {}
        # The day's earlier runs' answers (daily_searches), read and written by this thread
        # only; `day` None keeps nothing between runs.
        self._day, self._store = day, store and day is not None
        self._stored: dict[tuple[str, int], spotify.PlaylistPage] = {}

    def __enter__(self) -> "Searches":
        return self

    def __exit__(self, *exc_info) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def prefetch(self, terms: Iterable[str]) -> None:
        terms = [term for term in terms if (term, 1) not in self._stored]
        if self._day is not None:
            self._stored.update(daily_searches.stored_pages(day=self._day, terms=terms))
        for term in terms:
            if (term, 1) not in self._stored:
                self._future(term, 1)

    def page(self, term: str, number: int) -> spotify.PlaylistPage:
        """The `number`th page of results for `term`; raises spotify.SpotifyError."""
        key = (term, number)
        if self._day is not None and key not in self._stored and key not in self._futures:
            self._stored.update(daily_searches.stored_pages(day=self._day, terms=[term]))
        if key in self._stored:
            return self._stored[key]
        page = self._future(term, number).result()
        if self._store and self._day is not None:
            daily_searches.store_page(day=self._day, term=term, number=number, page=page)
        self._stored[key] = page
        return page

    def _future(self, term, number):
        key = (term, number)
        if key not in self._futures:
            self._futures[key] = self._executor.submit(spotify.search_playlists, term, page=number)
        return self._futures[key]


class Due:
    """The day's due subscriptions by subscriber, as last read."""

    def __init__(self, *, day: date, subscribers: QuerySet[Subscriber] | None = None):
        self.day = day
        self.subscribers = subscribers
        self.members: dict[int, list[int]] = {}  # subscriber id -> due subscription ids

    def read(self) -> Iterator[tuple[int, str]]:
        """Read the due subscriptions into `members`; yields (subscriber id, term) in the
        order batches take them: by term, so the first batches need few searches."""
        self.members = {}
        rows = (
            due_subscriptions(self.day, self.subscribers)
            .order_by(Lower("term"), "subscriber__inbox_key", "pk")
            .values_list("pk", "term", "subscriber_id")
        )
        for pk, term, subscriber_id in rows.iterator(chunk_size=5000):
            self.members.setdefault(subscriber_id, []).append(pk)
            yield subscriber_id, term

    def of(self, subscriber_ids: list[int]) -> dict[int, list[int]]:
        """subscriber id -> due subscription ids; read again when a claim is new to this run
        (another run claimed it for a subscription confirmed since this one read them)."""
        if any(subscriber_id not in self.members for subscriber_id in subscriber_ids):
            for _ in self.read():
                pass
            for subscriber_id in subscriber_ids:
                self.members.setdefault(subscriber_id, [])  # read once: none is due
        return self.members


@dataclass
class Composed:
    """A batch's subscribers sorted into what happens to them, before any write."""

    messages: list[DailyMessage] = field(default_factory=list)
    # subscriber id -> why: nothing new for any term; only Spotify errors (a later run tries
    # again); no address anymail can send to.
    skipped: dict[int, str] = field(default_factory=dict)
    released: dict[int, str] = field(default_factory=dict)
    undeliverable: dict[int, str] = field(default_factory=dict)


@dataclass
class PickTally:
    no_new_playlist: int = 0
    spotify_errors: int = 0


class Picker:
    """Picks today's playlists for subscribers and has the composer build their messages."""

    def __init__(self, *, searches: Searches, composer: Composer, rng: random.Random):
        self.searches = searches
        self.composer = composer
        self.rng = rng
        self.min_tracks = settings.MIN_PLAYLIST_TRACKS
        self.tally = PickTally()
        self.unknown_counts: set[str] = set()  # playlists without a track count, logged once
        self.failed_terms: set[str] = set()  # terms whose search failed, logged once each
        self.goodbyes = Goodbyes(day=composer.day, from_email=composer.from_email)

    def compose(
        self,
        subscriptions: list[Subscription],
        emails: dict[int, str],
        manage_tokens: dict[int, str],
    ) -> Composed:
        """Pick and build today's message for each subscriber of `emails` (subscriber id ->
        the subscriber's address; `manage_tokens` the same for the footer's manage link) from
        its due `subscriptions`; reads only."""
        history = defaultdict(set)
        for subscription_id, playlist_id in SentPlaylist.objects.filter(
            subscription__in=[s.pk for s in subscriptions]
        ).values_list("subscription_id", "playlist_id"):
            history[subscription_id].add(playlist_id)
        by_subscriber = defaultdict(list)
        for subscription in subscriptions:
            by_subscriber[subscription.subscriber_id].append(subscription)

        composed = Composed()
        # The silent get "Still want your daily playlists?" in place of today's playlists.
        goodbyes = self.goodbyes.due(emails)
        for subscriber_id, stored in emails.items():
            mine = by_subscriber.get(subscriber_id)
            if not mine:
                composed.skipped[subscriber_id] = "no active subscription is due"
                continue
            address = mail_address(stored)
            if address is None:
                composed.undeliverable[subscriber_id] = (
                    f"The stored address {stored!r} cannot be mailed."
                )
                continue
            if subscriber_id in goodbyes:
                composed.messages.append(
                    self.goodbyes.message(
                        subscriber_id=subscriber_id,
                        address=address,
                        manage_token=manage_tokens[subscriber_id],
                        token=mine[0].token,
                    )
                )
                continue
            picks, spotify_failed = self._picks(mine, history)
            if picks:
                composed.messages.append(
                    self.composer.message(
                        subscriber_id=subscriber_id,
                        address=address,
                        picks=picks,
                        manage_token=manage_tokens[subscriber_id],
                    )
                )
            elif spotify_failed:
                composed.released[subscriber_id] = "Spotify errors"
            else:
                composed.skipped[subscriber_id] = "no new playlist"
        return composed

    def _picks(self, subscriptions, history):
        picks, spotify_failed = [], False
        for subscription in subscriptions:
            taken = {pick.playlist.id for pick in picks}
            try:
                playlist = self._pick(subscription, history[subscription.pk] | taken)
            except spotify.SpotifyError as error:
                if subscription.term not in self.failed_terms:
                    self.failed_terms.add(subscription.term)
                    logger.warning("Spotify search for %r failed: %s", subscription.term, error)
                self.tally.spotify_errors += 1
                spotify_failed = True
                continue
            if playlist is None:
                self.tally.no_new_playlist += 1
                continue
            picks.append(Pick(subscription, playlist))
        return picks, spotify_failed

    def _pick(self, subscription, exclude):
        """A random eligible playlist not in `exclude`, from the first pages; None if none."""
        term = spotify.normalize_query(subscription.term)
        for number in range(1, MAX_SEARCH_PAGES + 1):
            page = self.searches.page(term, number)
            eligible = [
                playlist
                for playlist in page.items
                if playlist.id not in exclude
                and spotify.is_valid_playlist_id(playlist.id)  # the history is keyed by it
                and self._long_enough(playlist)
            ]
            if eligible:
                return self.rng.choice(eligible)
            if not page.has_next:
                break
        return None

    def _long_enough(self, playlist):
        if playlist.track_count is None:
            if playlist.id not in self.unknown_counts:
                self.unknown_counts.add(playlist.id)
                logger.debug("No track count for playlist %s; counted eligible.", playlist.id)
            return True
        return playlist.track_count >= self.min_tracks
