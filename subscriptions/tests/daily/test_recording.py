"""A batch Mailgun accepted is recorded whatever happens next: a failed report or write."""

import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection

from subscriptions.daily import IN_FLIGHT_NOTE, daily_playlists_send
from subscriptions.models import DailyEmail, SentPlaylist, Subscription
from subscriptions.tests.daily_support import TODAY, claims, subscribe_many

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fakes(fake_spotify, fake_mailgun):
    pass


class ClosedStdout(io.TextIOBase):
    """A scheduler's stdout after the reader went away: every write is a broken pipe."""

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_stdout_loses_no_accepted_batch(fake_mailgun):
    subscriptions = subscribe_many(25, terms=("jazz", "rain"))

    call_command(
        "send_daily_playlists",
        "--date",
        TODAY.isoformat(),
        "--batch-size",
        "10",
        stdout=ClosedStdout(),
        stderr=io.StringIO(),
    )  # no SystemExit: exit status 0, everything went out

    assert Counter(fake_mailgun.recipients) == Counter(
        {s.subscriber.email: 1 for s in subscriptions}
    )
    assert Counter(claims().values()) == {"sent": 25}
    assert Counter(SentPlaylist.objects.values_list("status", flat=True)) == {"sent": 25}
    assert not Subscription.objects.exclude(last_sent_on=TODAY).exists()
    assert daily_playlists_send(today=TODAY).mailgun_calls == 0


def test_a_failure_while_marking_the_next_batch_keeps_the_last_answer(fake_mailgun):
    subscriptions = subscribe_many(30, terms=("jazz",))
    marks = []

    def fail_the_second_mark(execute, sql, params, many, context):
        if sql.startswith("UPDATE") and params and IN_FLIGHT_NOTE in params:
            marks.append(sql)
            if len(marks) == 2:
                raise OperationalError("could not write: the disk is full")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail_the_second_mark), pytest.raises(OperationalError):
        daily_playlists_send(today=TODAY, batch_size=10)

    (first,) = [{a.lower() for a in send.recipients} for send in fake_mailgun.sends]
    states = claims()
    assert {states[address] for address in first} == {"sent"}
    assert Counter(states.values()) == {"sent": 10, "pending": 20}
    assert set(
        SentPlaylist.objects.filter(subscription__subscriber__email__in=first).values_list(
            "status", flat=True
        )
    ) == {"sent"}
    assert SentPlaylist.objects.count() == 10

    rerun = daily_playlists_send(today=TODAY, batch_size=10)

    assert rerun.emails == 20
    assert Counter(fake_mailgun.recipients) == Counter(
        {s.subscriber.email: 1 for s in subscriptions}
    )
    assert DailyEmail.objects.filter(status="sent").count() == 30
