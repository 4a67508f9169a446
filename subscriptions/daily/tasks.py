"""The daily run's Celery tasks: thin wrappers around `work`, retried when the database is away.

acks_late and reject-on-worker-lost (settings) give a dead worker's task to another; the claims
make that second delivery harmless. A task that cannot reach PostgreSQL is retried with a
growing pause; if it never can, its claims stay pending for the next hourly run.
"""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import work

RETRIES = 30  # 1 + 2 + 4 + ... then 60 s a time: a database away for up to half an hour
HELD_PAUSE = 10  # seconds before a batch whose claims are held elsewhere looks again


def _pause(retries: int) -> int:
    return min(60, 2**retries)


@shared_task(name=work.SEARCH_TASK, bind=True, max_retries=RETRIES)
def search_terms(self, *, run_id: int, terms: list[str]) -> None:
    try:
        work.searches_fetch(run_id=run_id, terms=terms)
    except (OperationalError, InterfaceError) as error:
        raise self.retry(exc=error, countdown=_pause(self.request.retries)) from error


@shared_task(name=work.BATCH_TASK, bind=True, max_retries=RETRIES)
def send_batch(self, *, run_id: int, number: int) -> None:
    try:
        work.batch_send(run_id=run_id, number=number)
    except (OperationalError, InterfaceError) as error:
        raise self.retry(exc=error, countdown=_pause(self.request.retries)) from error
    except work.BatchHeld as error:
        raise self.retry(exc=error, countdown=HELD_PAUSE) from error
