"""Every daily run is recorded, and the complaint breaker stops one before the providers do."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from subscriptions.daily.runs import complaint_breaker_clear, complaint_breaker_state
from subscriptions.models import BreakerClearance, DailyEmail, EmailEvent, SendRun, Subscriber
from subscriptions.tests.daily_support import TODAY, subscribe_many

pytestmark = pytest.mark.django_db


def run(*args):
    """Run the command for TODAY; (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(
            "send_daily_playlists", "--date", TODAY.isoformat(), *args, stdout=out, stderr=err
        )
        status = 0
    except SystemExit as exit:
        status = exit.code
    except CommandError as error:
        status = error.returncode
        err.write(str(error))
    return status, out.getvalue(), err.getvalue()


def sent_history(count, *, days_ago=1, address="past{n}@example.net"):
    """`count` daily emails Mailgun accepted `days_ago` days before TODAY."""
    day = TODAY - datetime.timedelta(days=days_ago)
    subscribers = Subscriber.objects.bulk_create(
        Subscriber(email=address.format(n=n), inbox_key=address.format(n=n)) for n in range(count)
    )
    DailyEmail.objects.bulk_create(
        DailyEmail(subscriber=subscriber, day=day, status=DailyEmail.Status.SENT)
        for subscriber in subscribers
    )


def complaints(count, *, days_ago=1):
    when = timezone.make_aware(
        datetime.datetime.combine(TODAY - datetime.timedelta(days=days_ago), datetime.time(12))
    )
    EmailEvent.objects.bulk_create(
        EmailEvent(
            recipient=f"angry{n}@example.net",
            event_type=EmailEvent.Type.COMPLAINED,
            event_id=f"complaint-{days_ago}-{n}",
            occurred_at=when,
        )
        for n in range(count)
    )


def test_a_run_is_recorded_with_its_figures_and_exit_status(fake_spotify, fake_mailgun):
    subscribe_many(3, terms=("jazz",))

    status, out, _ = run()

    assert status == 0
    record = SendRun.objects.get()
    assert record.outcome == SendRun.Outcome.SENT
    assert record.exit_status == 0
    assert (record.emails, record.failed, record.unknown) == (3, 0, 0)
    assert record.spotify_calls == 1
    assert record.mailgun_calls == 1
    assert record.day == TODAY
    assert record.finished_at is not None
    assert record.summary == out.strip().splitlines()[-1]


def test_a_run_with_failed_mail_is_recorded_as_exit_one(fake_spotify, fake_mailgun):
    subscribe_many(2, terms=("jazz",))
    fake_mailgun.fail_next(status=500, times=5)

    status, _, _ = run()

    assert status == 1
    record = SendRun.objects.get()
    assert (record.outcome, record.exit_status, record.failed) == (
        SendRun.Outcome.SOME_FAILED,
        1,
        2,
    )


def test_a_configuration_error_is_recorded_as_exit_two(fake_spotify, fake_mailgun, settings):
    settings.SITE_URL = ""

    status, _, _ = run()

    assert status == 2
    record = SendRun.objects.get()
    assert record.outcome == SendRun.Outcome.CONFIGURATION_ERROR
    assert record.exit_status == 2
    assert "SITE_URL" in record.error


def test_a_dry_run_is_recorded_as_one(fake_spotify, fake_mailgun):
    subscribe_many(1, terms=("jazz",))

    run("--dry-run")

    assert SendRun.objects.get().dry_run is True
    assert fake_mailgun.sends == []


def test_complaints_at_the_line_stop_the_run_with_status_three(fake_spotify, fake_mailgun):
    subscribe_many(5, terms=("jazz",))
    sent_history(1000)
    complaints(3)  # 0.3 % of 1,000

    status, _, err = run()

    assert status == 3
    assert "complaint breaker" in err
    assert "3 complaints for 1000 emails" in err
    assert fake_mailgun.sends == []
    assert not DailyEmail.objects.filter(day=TODAY).exists()
    record = SendRun.objects.get()
    assert (record.outcome, record.exit_status) == (SendRun.Outcome.BREAKER, 3)


def test_complaints_under_the_line_let_the_run_go(fake_spotify, fake_mailgun):
    subscribe_many(5, terms=("jazz",))
    sent_history(1000)
    complaints(2)

    status, _, _ = run()

    assert status == 0
    assert DailyEmail.objects.filter(day=TODAY, status="sent").count() == 5


def test_complaints_older_than_the_window_do_not_count(fake_spotify, fake_mailgun):
    subscribe_many(1, terms=("jazz",))
    sent_history(100, days_ago=3)
    complaints(5, days_ago=8)

    assert run()[0] == 0


def test_the_line_is_a_setting(fake_spotify, fake_mailgun, settings):
    subscribe_many(1, terms=("jazz",))
    sent_history(1000)
    complaints(2)
    settings.DAILY_COMPLAINT_BREAKER_RATE = 0.001

    assert run()[0] == 3


def test_staff_clear_the_breaker_for_one_day_only(fake_spotify, fake_mailgun, admin_user):
    subscribe_many(2, terms=("jazz",))
    sent_history(100)
    complaints(1)

    complaint_breaker_clear(staff_user=admin_user, day=TODAY)
    assert run()[0] == 0
    assert DailyEmail.objects.filter(day=TODAY, status="sent").count() == 2

    clearance = BreakerClearance.objects.get()
    assert (clearance.day, clearance.staff_user, clearance.staff_name) == (
        TODAY,
        admin_user,
        "admin",
    )
    assert complaint_breaker_state(day=TODAY + datetime.timedelta(days=1)).tripped


def test_a_dry_run_under_the_breaker_says_a_real_run_would_send_nothing(fake_spotify, fake_mailgun):
    subscribe_many(1, terms=("jazz",))
    sent_history(10)
    complaints(1)

    status, out, err = run("--dry-run")

    assert status == 0
    assert "A real run would send nothing" in err
    assert "would have sent 1 emails" in out


def test_no_mail_sent_yet_and_a_complaint_trips_the_breaker(db):
    complaints(1)

    assert complaint_breaker_state(day=TODAY).tripped


def test_no_mail_and_no_complaints_is_not_tripped(db):
    assert not complaint_breaker_state(day=TODAY).tripped
