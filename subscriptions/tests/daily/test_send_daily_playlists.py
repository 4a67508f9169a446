"""`manage.py send_daily_playlists`: options, output, exit status, idempotency."""

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from subscriptions.daily import DailyConfigurationError, daily_playlists_send
from subscriptions.models import DailyEmail, SentPlaylist, Subscription
from subscriptions.tests.daily_support import TODAY, TOMORROW, claims, subscribe_many

pytestmark = pytest.mark.django_db

SUMMARY = re.compile(
    r"sent (?P<emails>\d+) emails with (?P<playlists>\d+) playlists "
    r"in (?P<batches>\d+) batches; skipped (?P<skipped>\d+) \(no new playlist: (?P<none>\d+), "
    r"Spotify errors: (?P<spotify>\d+)\); failed (?P<failed>\d+); unknown (?P<unknown>\d+); "
    r"Spotify calls (?P<spotify_calls>\d+); Mailgun calls (?P<mailgun_calls>\d+); \d+\.\d s"
)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def run(*args, stderr=None):
    """Run the command; (exit status, stdout lines)."""
    out = io.StringIO()
    try:
        call_command("send_daily_playlists", *args, stdout=out, stderr=stderr or io.StringIO())
        status = 0
    except SystemExit as exit:
        status = exit.code
    return status, out.getvalue().splitlines()


def summary_of(lines):
    match = SUMMARY.fullmatch(lines[-1])
    assert match, lines[-1]
    return {key: int(value) for key, value in match.groupdict().items()}


@pytest.fixture
def fakes(fake_spotify, fake_mailgun):
    return fake_spotify, fake_mailgun


def test_summary_line_and_exit_status_zero(fakes):
    subscribe_many(25, terms=("jazz", "rain"))

    status, lines = run("--date", TODAY.isoformat(), "--batch-size", "10")

    assert status == 0
    assert summary_of(lines) == {
        "emails": 25,
        "playlists": 25,
        "batches": 3,
        "skipped": 0,
        "none": 0,
        "spotify": 0,
        "failed": 0,
        "unknown": 0,
        "spotify_calls": 2,
        "mailgun_calls": 3,
    }
    # Not a terminal: a line per batch for the logs.
    assert lines[:3] == [
        "batch 1: sent 10 emails (10 playlists); 10/25 addresses",
        "batch 2: sent 10 emails (10 playlists); 20/25 addresses",
        "batch 3: sent 5 emails (5 playlists); 25/25 addresses",
    ]


def test_exit_status_one_when_mail_failed(fakes):
    _, fake_mailgun = fakes
    subscribe_many(3)
    fake_mailgun.fail_next(status=503)

    status, lines = run("--date", TODAY.isoformat())

    assert status == 1
    assert summary_of(lines)["failed"] == 3
    assert "FAILED for 3 addresses" in lines[0]


def test_exit_status_one_when_fate_unknown(fakes, settings):
    _, fake_mailgun = fakes
    settings.ANYMAIL = {**settings.ANYMAIL, "REQUESTS_TIMEOUT": (2, 0.2)}
    subscribe_many(3)
    fake_mailgun.hang_next(seconds=1)

    status, lines = run("--date", TODAY.isoformat())

    assert status == 1
    assert summary_of(lines)["unknown"] == 3


def test_summary_counts_emails_and_playlists_each_once(fakes):
    subscribe_many(2, terms=("jazz",))
    subscribe_many(1, terms=("rain",))  # listener00000 has two moods: one email, two picks

    status, lines = run("--date", TODAY.isoformat())

    assert status == 0
    assert lines[-1].startswith("sent 2 emails with 3 playlists in 1 batches; ")
    assert "addresses" not in lines[-1]


@pytest.mark.parametrize("size", ["0", "1001"])
def test_one_batch_size_rule_for_the_setting_the_option_and_the_function(fakes, size):
    rule = "must be between 1 and 1000 (Mailgun's cap per call)"
    with pytest.raises(CommandError, match=re.escape(rule)):
        call_command("send_daily_playlists", "--batch-size", size, stdout=io.StringIO())
    with pytest.raises(DailyConfigurationError, match=re.escape(rule)):
        daily_playlists_send(today=TODAY, batch_size=int(size) or -1)  # 0 is "the default"
    result = subprocess.run(
        [sys.executable, "-c", "import django; from django.conf import settings; settings.DEBUG"],
        cwd=Path(__file__).resolve().parents[3],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "musicsite.settings",
            "MAILGUN_BATCH_SIZE": size,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert f"MAILGUN_BATCH_SIZE {rule}" in result.stderr
    assert not DailyEmail.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"SITE_URL": ""}, id="no SITE_URL"),
        pytest.param(
            {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}, id="console"
        ),
        pytest.param(
            {"ANYMAIL": {"MAILGUN_SENDER_DOMAIN": "mg.example.com"}, "MAILGUN_API_KEY": ""},
            id="no API key",
        ),
        pytest.param(
            {"ANYMAIL": {"MAILGUN_API_KEY": "", "MAILGUN_SENDER_DOMAIN": "mg.example.com"}},
            id="empty API key",
        ),
        pytest.param(
            {
                "ANYMAIL": {"MAILGUN_API_KEY": "k"},
                "MAILGUN_DOMAIN": "",
                "DEFAULT_FROM_EMAIL": "x <a@localhost>",
            },
            id="no Mailgun domain",
        ),
        pytest.param({"SPOTIFY_CLIENT_ID": "", "SPOTIFY_TOKEN": ""}, id="no Spotify"),
    ],
)
def test_configuration_errors_exit_two_before_anything_is_done(fakes, settings, change):
    _, fake_mailgun = fakes
    subscribe_many(3)
    for name, value in change.items():
        setattr(settings, name, value)

    with pytest.raises(CommandError) as caught:
        call_command("send_daily_playlists", stdout=io.StringIO())

    assert caught.value.returncode == 2
    assert not DailyEmail.objects.exists()
    assert fake_mailgun.requests == []


@pytest.mark.parametrize("spotify_configured", [True, False])
def test_configuration_error_is_exit_status_two_on_the_command_line(tmp_path, spotify_configured):
    environment = {
        **os.environ,
        "DEBUG": "0",
        "SITE_URL": "",
        "SPOTIFY_CLIENT_ID": "id" if spotify_configured else "",
        "SPOTIFY_CLIENT_SECRET": "secret" if spotify_configured else "",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "send_daily_playlists"],
        cwd=Path(__file__).resolve().parents[3],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    expected = "SITE_URL is not set" if spotify_configured else "Spotify is not configured"
    assert expected in result.stderr


def test_dry_run_prints_who_would_get_what_and_writes_and_sends_nothing(fakes):
    _, fake_mailgun = fakes
    subscriptions = subscribe_many(3, terms=("jazz",))

    status, lines = run("--dry-run", "--date", TODAY.isoformat())

    assert status == 0
    assert [line.split(" would get: ")[0] for line in lines[:3]] == [
        s.subscriber.email for s in subscriptions
    ]
    assert "'jazz' -> " in lines[0] and "https://open.spotify.com/playlist/" in lines[0]
    assert lines[-1].startswith("dry run, nothing sent or written: would have sent 3 emails")
    assert fake_mailgun.requests == []
    assert not DailyEmail.objects.exists()
    assert not SentPlaylist.objects.exists()
    assert not Subscription.objects.filter(last_sent_on__isnull=False).exists()


def test_second_run_the_same_day_sends_nothing_and_next_day_sends_again(fakes):
    _, fake_mailgun = fakes
    subscribe_many(4, terms=("jazz",))

    run("--date", TODAY.isoformat())
    status, lines = run("--date", TODAY.isoformat())

    assert status == 0
    assert summary_of(lines)["emails"] == 0
    assert summary_of(lines)["spotify_calls"] == 0
    assert len(fake_mailgun.sends) == 1

    status, lines = run("--date", TOMORROW.isoformat())

    assert summary_of(lines)["emails"] == 4
    assert len(fake_mailgun.sends) == 2
    assert set(claims(TOMORROW).values()) == {"sent"}
    assert SentPlaylist.objects.filter(sent_on=TOMORROW).count() == 4


def test_limit_caps_the_addresses_of_a_run(fakes):
    _, fake_mailgun = fakes
    subscribe_many(25)

    status, lines = run("--date", TODAY.isoformat(), "--limit", "10", "--batch-size", "4")

    assert summary_of(lines)["emails"] == 10
    assert [len(send.recipients) for send in fake_mailgun.sends] == [4, 4, 2]
    assert DailyEmail.objects.count() == 10

    status, lines = run("--date", TODAY.isoformat())
    assert summary_of(lines)["emails"] == 15


def test_verbosity_two_lists_every_address_and_zero_prints_nothing(fakes):
    subscriptions = subscribe_many(2, terms=("jazz",))

    _, quiet = run("--date", TODAY.isoformat(), "-v", "0", "--limit", "1")
    _, chatty = run("--date", TODAY.isoformat(), "-v", "2")

    assert quiet == []
    assert chatty[0].startswith(f"{subscriptions[1].subscriber.email} got: 'jazz' -> ")


def test_progress_bar_on_a_terminal(fakes):
    subscribe_many(5)
    terminal = Terminal()

    status, lines = run("--date", TODAY.isoformat(), "--batch-size", "2", stderr=terminal)

    assert "\r[############------------------] 2/5 addresses, 2 sent" in terminal.getvalue()
    assert "5/5 addresses, 5 sent" in terminal.getvalue()
    assert len(lines) == 1 and SUMMARY.fullmatch(lines[0])


def test_bad_options_are_refused(fakes):
    for args in (["--batch-size", "1001"], ["--batch-size", "0"], ["--limit", "0"]):
        with pytest.raises(CommandError):
            call_command("send_daily_playlists", *args, stdout=io.StringIO())


def test_without_batch_sending_the_same_messages_go_one_by_one(fake_spotify, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    subscriptions = subscribe_many(3, terms=("jazz",))

    status, lines = run("--date", TODAY.isoformat())

    assert status == 0 and summary_of(lines)["mailgun_calls"] == 0
    assert [message.to for message in mail.outbox] == [[s.subscriber.email] for s in subscriptions]
    message = mail.outbox[0]
    assert message.subject == "Your playlists for Wednesday 25 November"
    assert "You should listen to:" in message.body
    assert subscriptions[0].token in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "You should listen to:" in html
    assert message.extra_headers["List-Unsubscribe"] == (
        f"<https://funky.example.com/subscriptions/unsubscribe/{subscriptions[0].token}/>"
    )
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert set(claims().values()) == {"sent"}
