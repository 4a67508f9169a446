"""Staff's view of listening: the dashboard's charts of it, and the subscribers' list filter."""

from datetime import timedelta
from operator import attrgetter

from django.contrib import admin
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from ..listening.figures import ListeningDay
from ..listening.sunset import WENT_OUT
from ..models import Goodbye, ListeningEvent, Subscriber
from . import charts

LISTENED_DAYS = 30


def listening_charts(days: list[ListeningDay], *, first_number: int) -> list[charts.Chart]:
    made = [
        charts.stacked_bars(
            days,
            [("Listeners", "series-listeners", attrgetter("listeners"))],
            title="Listeners per day",
            description="People who opened a playlist, a web copy or the manage page from an "
            "email, per day (link scanners left out).",
        ),
        charts.stacked_bars(
            days,
            [
                ("By people", "series-people", attrgetter("by_people")),
                ("By link scanners", "series-scanners", attrgetter("by_scanners")),
            ],
            title="Clicks and visits",
            description="Clicks on our links and visits from emails per day: people's, and "
            "link scanners' apart.",
        ),
    ]
    for number, chart in enumerate(made, start=first_number):
        chart.slug = f"chart-{number}"
    return made


class ListeningFilter(admin.SimpleListFilter):
    """Who listens, who was asked whether they still want the email, who was paused for it."""

    title = "listening"
    parameter_name = "listening"

    def lookups(self, request, model_admin):
        return [
            ("listened", f"Listened in the last {LISTENED_DAYS} days"),
            ("quiet", f"No listening in {LISTENED_DAYS} days"),
            ("asked", "Asked whether they still want it"),
            ("sunset", "Paused for not listening"),
        ]

    def queryset(self, request, queryset: QuerySet[Subscriber]) -> QuerySet[Subscriber] | None:
        since = timezone.now() - timedelta(days=LISTENED_DAYS)
        listened = Exists(
            ListeningEvent.objects.filter(
                subscriber=OuterRef("pk"),
                verdict=ListeningEvent.Verdict.LISTENER,
                occurred_at__gte=since,
            )
        )
        if self.value() == "listened":
            return queryset.filter(listened)
        if self.value() == "quiet":
            return queryset.exclude(listened)
        if self.value() == "asked":
            asked = Goodbye.objects.filter(
                subscriber=OuterRef("pk"), daily_email__status__in=WENT_OUT
            )
            return queryset.filter(Exists(asked), sunset_at=None)
        if self.value() == "sunset":
            return queryset.filter(sunset_at__isnull=False)
        return None
