"""CSV of subscribers for staff, streamed: a million rows never sit in memory at once."""

import csv
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from ..models import Subscriber, Subscription

CHUNK = 2000
HEADER = [
    "email",
    "state",
    "state changed",
    "paused until",
    "active moods",
    "pending moods",
    "stopped moods",
    "created",
    "last sent",
]


class _Echo:
    """A file-like object whose write hands the line back, for csv.writer (Django's recipe)."""

    def write(self, value: str) -> str:
        return value


def _iso(value) -> str:
    return value.isoformat() if value else ""


def subscriber_rows(subscribers: QuerySet[Subscriber]) -> Iterator[list[str]]:
    """One row per subscriber of `subscribers`, in id order, moods joined with "; ".

    Reads in keyset-paginated chunks of CHUNK subscribers, two queries a chunk, so memory stays
    flat and no long-running cursor is held open between chunks."""
    base = subscribers.order_by("pk")
    after = 0
    while True:
        chunk = list(base.filter(pk__gt=after)[:CHUNK])
        if not chunk:
            return
        moods: dict[int, dict[str, list[str]]] = {}
        for subscriber_id, term, status in (
            Subscription.objects.filter(subscriber__in=[s.pk for s in chunk])
            .order_by("term")
            .values_list("subscriber_id", "term", "status")
        ):
            moods.setdefault(subscriber_id, {}).setdefault(status, []).append(term)
        for subscriber in chunk:
            by_status = moods.get(subscriber.pk, {})
            yield [
                subscriber.email,
                subscriber.state,
                _iso(subscriber.state_changed_at),
                _iso(subscriber.paused_until),
                "; ".join(by_status.get(Subscription.Status.ACTIVE, [])),
                "; ".join(by_status.get(Subscription.Status.PENDING, [])),
                "; ".join(by_status.get(Subscription.Status.UNSUBSCRIBED, [])),
                _iso(subscriber.created_at),
                _iso(subscriber.last_sent_at),
            ]
        after = chunk[-1].pk


def csv_lines(rows: Iterable[list[str]]) -> Iterator[str]:
    """The header, then each row, as CSV text lines. Cells that a spreadsheet would run as a
    formula (=, +, -, @ first) get a leading apostrophe (OWASP's CSV injection advice)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(HEADER)
    for row in rows:
        yield writer.writerow([_defused(cell) for cell in row])


def _defused(cell: str) -> str:
    return f"'{cell}" if cell[:1] in {"=", "+", "-", "@", "\t", "\r"} else cell


def subscribers_csv_response(subscribers: QuerySet[Subscriber]) -> StreamingHttpResponse:
    """A download of `subscribers` as CSV, written while it is sent."""
    response = StreamingHttpResponse(
        csv_lines(subscriber_rows(subscribers)), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="subscribers-{stamp}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response
