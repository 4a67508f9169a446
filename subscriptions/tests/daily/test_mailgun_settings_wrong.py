"""A wrong Mailgun key, domain or URL is the operator's to fix, not the subscribers' to pay for:
it burns no attempt, stops the run with exit status 2 and one line, and the fixed run sends."""

import io
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from subscriptions.models import DailyEmail, SendRun, SentPlaylist
from subscriptions.tests.daily_support import TODAY, claims, subscribe_many

pytestmark = pytest.mark.django_db

CLOSED_PORT_URL = "http://127.0.0.1:9/v3"  # nobody listens on the discard port


def break_mailgun(fault, settings, fake_mailgun):
    """Make Mailgun unusable the way `fault` says; return what undoes it."""
    working = dict(settings.ANYMAIL)
    if fault == "wrong key":
        settings.ANYMAIL = {**working, "MAILGUN_API_KEY": "key-from-another-account"}
    elif fault == "unknown domain":
        settings.ANYMAIL = {**working, "MAILGUN_SENDER_DOMAIN": "mg.typo.example"}
    elif fault == "forbidden":
        fake_mailgun.fail_next(status=403, times=3, body={"message": "Domain is disabled"})
    else:  # no connection: a wrong MAILGUN_API_URL
        settings.ANYMAIL = {**working, "MAILGUN_API_URL": CLOSED_PORT_URL}

    def fix():
        settings.ANYMAIL = working

    return fix


def send(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("send_daily_playlists", "--date", TODAY.isoformat(), *args, stdout=out, stderr=err)
    return out.getvalue()


@pytest.mark.parametrize("fault", ["wrong key", "unknown domain", "forbidden", "no connection"])
def test_three_runs_with_wrong_mailgun_settings_leave_the_day_to_the_fixed_run(
    fake_spotify, fake_mailgun, settings, fault
):
    subscriptions = subscribe_many(30, terms=("jazz",))
    fix = break_mailgun(fault, settings, fake_mailgun)

    for _ in range(3):
        with pytest.raises(CommandError) as caught:
            send("--batch-size", "10")
        assert caught.value.returncode == 2
        message = str(caught.value)
        assert "Mailgun" in message and "\n" not in message.strip(), message
        # Nothing is charged to anyone: the batch went back as it was.
        assert Counter(claims().values()) == {"pending": 30}
        assert set(DailyEmail.objects.values_list("attempts", flat=True)) == {0}
        assert not SentPlaylist.objects.exists()

    runs = list(SendRun.objects.order_by("started_at"))
    assert [(run.outcome, run.exit_status) for run in runs] == [("configuration", 2)] * 3
    assert all("Mailgun" in run.error for run in runs)

    fix()
    send("--batch-size", "10")

    assert Counter(claims().values()) == {"sent": 30}
    assert set(DailyEmail.objects.values_list("attempts", flat=True)) == {1}
    assert Counter(fake_mailgun.recipients) == Counter(
        {s.subscriber.email: 1 for s in subscriptions}
    )
    last = SendRun.objects.order_by("-started_at").first()
    assert (last.outcome, last.exit_status, last.emails) == ("sent", 0, 30)


def test_batches_sent_before_the_key_went_wrong_stay_sent(fake_spotify, fake_mailgun):
    subscribe_many(30, terms=("jazz",))
    fake_mailgun.fail_next(status=401, after=1)  # the key is revoked after the first call

    with pytest.raises(CommandError) as caught:
        send("--batch-size", "10")

    assert caught.value.returncode == 2
    assert Counter(claims().values()) == {"sent": 10, "pending": 20}
    run = SendRun.objects.get()
    assert (run.outcome, run.emails) == ("configuration", 10)
    assert "401" in run.error
