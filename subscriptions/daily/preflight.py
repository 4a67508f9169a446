"""What every real run does before it claims anything, in-process or on the workers."""

from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db.models import QuerySet

from search import spotify

from ..expiry import pending_subscriptions_expire
from ..listening.services import listening_housekeeping
from ..models import Subscriber
from . import schedule
from . import searches as daily_searches
from .batch_size import batch_size_problem
from .errors import ComplaintBreakerOn, DailyConfigurationError
from .runs import complaint_breaker_state


@dataclass
class Prepared:
    site_day: date  # the site's day: the breaker's, and the one the shared searches are for
    batch_size: int
    client: spotify.SpotifyClient
    plans: dict[date, QuerySet[Subscriber]]  # local date -> subscribers due for its email


def run_prepare(
    *, today: date | None, now: datetime, dry_run: bool, batch_size: int | None
) -> Prepared:
    """Check the settings and the complaint breaker, tidy up, and say who is due by local date
    (`today`: everyone whose frequency has an email that day). Raises DailyConfigurationError
    or ComplaintBreakerOn (not for a dry run) before anything is claimed."""
    site_day = today or daily_searches.search_day(now)
    batch_size = batch_size or settings.MAILGUN_BATCH_SIZE
    if problem := batch_size_problem(batch_size):
        raise DailyConfigurationError(f"The batch size {problem}.")
    try:
        client = spotify.get_client()
    except spotify.SpotifyNotConfigured as error:
        raise DailyConfigurationError(str(error)) from error
    if not dry_run and (breaker := complaint_breaker_state(day=site_day)).tripped:
        raise ComplaintBreakerOn(breaker)
    if not dry_run:
        # Sign-ups nobody confirmed in time go with the day's run, so no other job is needed.
        pending_subscriptions_expire()
        daily_searches.prune(today=site_day)
        listening_housekeeping(now=now)  # prune old clicks, pause who never answered a goodbye
    plans = {today: schedule.sending_on(today)} if today is not None else schedule.due_by_day(now)
    return Prepared(site_day=site_day, batch_size=batch_size, client=client, plans=plans)
