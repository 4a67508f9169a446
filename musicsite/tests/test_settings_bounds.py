"""Every number read from the environment has bounds, the time zone is one that loads, and a bad
value stops any manage.py command with exit status 2 and one line naming it (issue 21, item 8).

The bounds are checked by loading settings.py in this process under a patched environment; what
an operator sees is checked by running manage.py in a fresh process, as Heroku would.
"""

import datetime
import re
import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from .test_settings import manage, production_env

SETTINGS_FILE = Path(__file__).resolve().parent.parent / "settings.py"

# name: (lowest accepted, highest accepted, just below, just above)
NUMBERS = {
    "SECURE_HSTS_SECONDS": ("0", "63072000", "-1", "63072001"),
    "SPOTIFY_TIMEOUT": ("0.1", "60", "0.09", "60.5"),
    "SPOTIFY_DEADLINE": ("0.1", "120", "0.09", "121"),
    "SPOTIFY_ATTEMPTS": ("1", "10", "0", "11"),
    "SPOTIFY_BACKOFF": ("0", "30", "-0.1", "31"),
    "SPOTIFY_MAX_RETRY_AFTER": ("0", "60", "-1", "61"),
    "MAILGUN_WEBHOOK_MAX_AGE_SECONDS": ("1", "86400", "0", "86401"),
    "MIN_PLAYLIST_TRACKS": ("0", "10000", "-1", "10001"),
    "MAILGUN_BATCH_SIZE": ("1", "1000", "0", "1001"),
    "DAILY_MAX_ATTEMPTS": ("1", "100", "-1", "101"),
    "DAILY_COMPLAINT_BREAKER_RATE": ("0.00001", "1", "0", "1.01"),
    "DAILY_COMPLAINT_WINDOW_DAYS": ("1", "3650", "0", "1000000"),
    "SUBSCRIBE_POSTS_PER_IP_PER_HOUR": ("1", "100000", "0", "100001"),
    "SUBSCRIBE_ATTEMPTS_PER_ADDRESS_PER_DAY": ("1", "100", "0", "101"),
    "PENDING_CONFIRMATION_DAYS": ("1", "3650", "0", "1000000"),
    "MAX_MOODS_PER_SUBSCRIBER": ("1", "100", "0", "101"),
    "LOST_LINK_RESEND_MINUTES": ("1", "1440", "0", "1441"),
    "SUNSET_AFTER_DAYS": ("0", "3650", "-1", "3651"),  # and not 1-29 (listening/test_settings)
    "ADMIN_LOGIN_FAILURE_LIMIT": ("1", "100", "0", "101"),
    "ADMIN_LOGIN_COOLOFF_MINUTES": ("1", "10080", "0", "10081"),
    "WORKER_CONCURRENCY": ("1", "64", "0", "65"),
    "CELERY_VISIBILITY_TIMEOUT": ("1", "3600", "0", "3601"),
    "CELERY_BROKER_CONNECTION_TIMEOUT": ("0.1", "60", "0.09", "61"),
    "SENTRY_TRACES_SAMPLE_RATE": ("0", "1", "-0.1", "1.1"),
}

# Variables read into a setting of another name.
READ_AS = {
    "ADMIN_LOGIN_FAILURE_LIMIT": "AXES_FAILURE_LIMIT",
    "ADMIN_LOGIN_COOLOFF_MINUTES": "AXES_COOLOFF_TIME",
    "WORKER_CONCURRENCY": "CELERY_WORKER_CONCURRENCY",
}


def load_settings(monkeypatch, **environment):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


def test_every_number_settings_reads_is_in_the_table():
    source = SETTINGS_FILE.read_text(encoding="utf-8")
    read = set(re.findall(r"env_(?:int|float|seconds)\(\s*\"([A-Z_0-9]+)\"", source))
    read |= set(re.findall(r"seconds\(\s*\"([A-Z_0-9]+)\"", source))

    assert read == set(NUMBERS)


@pytest.mark.parametrize("name", NUMBERS)
def test_a_number_at_either_bound_is_accepted(monkeypatch, name):
    lowest, highest, _, _ = NUMBERS[name]

    for value in (lowest, highest):
        loaded = load_settings(monkeypatch, **{name: value})
        setting = loaded[READ_AS.get(name, name)]
        if isinstance(setting, tuple):  # SPOTIFY_TIMEOUT: (connect, read)
            setting = setting[0]
        elif isinstance(setting, datetime.timedelta):  # minutes in the environment
            setting = setting.total_seconds() / 60
        assert float(setting) == float(value)


@pytest.mark.parametrize("name", NUMBERS)
def test_a_number_past_either_bound_stops_startup_naming_it(monkeypatch, name):
    _, _, below, above = NUMBERS[name]

    for value in (below, above):
        with pytest.raises(
            ImproperlyConfigured, match=rf"^{name} must be between .* not '{value}'"
        ):
            load_settings(monkeypatch, **{name: value})
    for value in ("nan", "inf", "-inf"):
        with pytest.raises(ImproperlyConfigured, match=rf"^{name} must be .* not '{value}'"):
            load_settings(monkeypatch, **{name: value})


@pytest.mark.parametrize("name", NUMBERS)
def test_a_number_that_is_not_one_stops_startup_naming_it(monkeypatch, name):
    with pytest.raises(ImproperlyConfigured, match=rf"^{name} must be a .*, not 'abc'"):
        load_settings(monkeypatch, **{name: "abc"})


@pytest.mark.parametrize("zone", ["Mars/Olympus", "utc ", "localtime", "Factory", "../etc/passwd"])
def test_a_time_zone_that_is_not_a_place_stops_startup(monkeypatch, zone):
    with pytest.raises(ImproperlyConfigured, match=r"^TIME_ZONE must be an IANA time zone name"):
        load_settings(monkeypatch, TIME_ZONE=zone)


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/Argentina/Buenos_Aires"])
def test_a_real_time_zone_is_accepted(monkeypatch, zone):
    assert load_settings(monkeypatch, TIME_ZONE=zone)["TIME_ZONE"] == zone


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LOG_LEVEL", "loud", "LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL"),
        ("DATABASE_URL", "mongodb://db/funky", "DATABASE_URL is not a database URL"),
    ],
)
def test_other_malformed_values_stop_startup_naming_them(monkeypatch, name, value, message):
    with pytest.raises(ImproperlyConfigured, match=f"^{message}"):
        load_settings(monkeypatch, **{name: value})


# --- What an operator sees: manage.py in a fresh process ---------------------------------------


@pytest.fixture(scope="module")
def migrated_env(tmp_path_factory):
    """A production environment with a migrated database: a bad value is found by the settings,
    not by a missing table."""
    env = production_env(tmp_path_factory.mktemp("bounds"))
    result = manage("migrate", "--noinput", env=env)
    assert result.returncode == 0, result.stderr
    return env


def assert_one_line_configuration_error(result, name):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"funky-music: configuration error: {name} must be ")
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DAILY_COMPLAINT_WINDOW_DAYS", "1000000"),
        ("PENDING_CONFIRMATION_DAYS", "1000000"),
        ("MAILGUN_BATCH_SIZE", "abc"),
        ("DAILY_MAX_ATTEMPTS", "-1"),
        ("TIME_ZONE", "Mars/Olympus"),
    ],
)
def test_the_daily_run_with_a_bad_setting_exits_2_with_one_line(migrated_env, name, value):
    result = manage("send_daily_playlists", "--dry-run", env={**migrated_env, name: value})

    assert_one_line_configuration_error(result, name)


@pytest.mark.parametrize("command", [("check",), ("migrate", "--noinput"), ("help",)])
def test_any_command_with_a_bad_setting_exits_2_with_one_line(migrated_env, command):
    result = manage(*command, env={**migrated_env, "MAILGUN_BATCH_SIZE": "abc"})

    assert_one_line_configuration_error(result, "MAILGUN_BATCH_SIZE")
