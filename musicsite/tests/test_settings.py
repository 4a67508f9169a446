"""Settings read from the environment: production is safe by default and refuses to start half-set.

Each case runs manage.py in a fresh process, because settings are read once at import.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# Variables that would leak the test run's own configuration into the child process.
CONFIG_VARIABLES = (
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SITE_URL",
    "DATABASE_URL",
    "REDIS_URL",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SPOTIFY_CLIENT_ID",
    "SPOTIFY_CLIENT_SECRET",
    "SPOTIFY_TOKEN",
    "SPOTIFY_API_URL",
    "SPOTIFY_TOKEN_URL",
    "SPOTIFY_TIMEOUT",
    "SPOTIFY_DEADLINE",
    "SPOTIFY_ATTEMPTS",
    "SPOTIFY_BACKOFF",
    "SPOTIFY_MAX_RETRY_AFTER",
    "MAILGUN_API_KEY",
    "MAILGUN_DOMAIN",
    "MAILGUN_WEBHOOK_SIGNING_KEY",
    "MAILGUN_WEBHOOK_MAX_AGE_SECONDS",
    "ANYMAIL_WEBHOOK_SECRET",
)


def production_env(tmp_path, **overrides):
    """What `heroku config` holds for a real deploy, with a throwaway database."""
    env = {key: value for key, value in os.environ.items() if key not in CONFIG_VARIABLES}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "musicsite.settings",
            "SECRET_KEY": get_random_secret_key(),
            "ALLOWED_HOSTS": "funky.example.com",
            "SITE_URL": "https://funky.example.com",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "SPOTIFY_CLIENT_ID": "client-id",
            "SPOTIFY_CLIENT_SECRET": "client-secret",
            "MAILGUN_API_KEY": "key-test",
            "MAILGUN_DOMAIN": "mg.example.com",
            "MAILGUN_WEBHOOK_SIGNING_KEY": "webhook-signing-key",
        }
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_deploy_check_is_clean_with_a_production_environment(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_deploy_check_flags_a_development_setup(tmp_path):
    # The same check must be able to fail, or the test above proves nothing.
    env = production_env(tmp_path, DEBUG="1", SECURE_HSTS_SECONDS="0")

    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)

    assert result.returncode != 0
    assert "security.W018" in result.stderr  # DEBUG on in deployment


def test_missing_secret_key_with_debug_off_stops_startup(tmp_path):
    result = manage("check", env=production_env(tmp_path, SECRET_KEY=None))

    assert result.returncode == 2
    assert result.stderr.startswith("funky-music: configuration error: SECRET_KEY is not set")


def test_missing_secret_key_is_fine_in_development(tmp_path):
    result = manage("check", env=production_env(tmp_path, SECRET_KEY=None, DEBUG="1"))

    assert result.returncode == 0, result.stderr


def test_deploy_check_reports_mailgun_without_a_webhook_signing_key(tmp_path):
    env = production_env(tmp_path, MAILGUN_WEBHOOK_SIGNING_KEY=None)

    result = manage("check", "--deploy", env=env)

    assert result.returncode != 0
    assert "subscriptions.E001" in result.stderr
    assert "MAILGUN_WEBHOOK_SIGNING_KEY" in result.stderr


# Posts, inside the configured process, a complaint about victim@ signed with the empty key
# (what anymail verified against when settings put "" into ANYMAIL) and prints the answer and
# whether the victim's subscription changed.
FORGED_COMPLAINT = """
import hashlib, hmac, json, time
from django.test import Client
from subscriptions.models import Subscriber, Subscription

victim = Subscription.objects.create(
    subscriber=Subscriber.for_address("victim@example.org"), term="happy", status="active"
)
timestamp, token = str(int(time.time())), "f" * 50
body = {
    "signature": {
        "timestamp": timestamp,
        "token": token,
        "signature": hmac.new(b"", (timestamp + token).encode(), hashlib.sha256).hexdigest(),
    },
    "event-data": {
        "event": "complained", "timestamp": time.time(), "recipient": "victim@example.org"
    },
}
response = Client().post(
    "/anymail/mailgun/tracking/", json.dumps(body), content_type="application/json",
    HTTP_HOST="funky.example.com", secure=True,
)
victim.refresh_from_db()
print(response.status_code, victim.status)
"""


@pytest.mark.parametrize("signing_key", [None, ""], ids=["unset", "empty"])
def test_production_without_a_signing_key_refuses_an_empty_key_signature(tmp_path, signing_key):
    env = production_env(tmp_path, MAILGUN_WEBHOOK_SIGNING_KEY=signing_key)
    assert manage("migrate", "--noinput", env=env).returncode == 0

    result = manage("shell", "--no-imports", "-c", FORGED_COMPLAINT, env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["400", "active"]
    assert "MAILGUN_WEBHOOK_SIGNING_KEY is not set" in result.stderr


def test_a_webhook_window_below_one_second_stops_startup(tmp_path):
    env = production_env(tmp_path, MAILGUN_WEBHOOK_MAX_AGE_SECONDS="0")

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "MAILGUN_WEBHOOK_MAX_AGE_SECONDS must be between 1 and 86400" in result.stderr


SPOTIFY_TUNING = """
from django.conf import settings
names = ("TIMEOUT", "DEADLINE", "ATTEMPTS", "BACKOFF", "MAX_RETRY_AFTER")
print(*(repr(getattr(settings, f"SPOTIFY_{name}")) for name in names))
"""


def test_spotify_waits_are_read_from_the_environment(tmp_path):
    env = production_env(
        tmp_path,
        SPOTIFY_TIMEOUT="2,4.5",
        SPOTIFY_DEADLINE="6",
        SPOTIFY_ATTEMPTS="2",
        SPOTIFY_BACKOFF="0.5",
        SPOTIFY_MAX_RETRY_AFTER="0",
    )

    result = manage("shell", "--no-imports", "-c", SPOTIFY_TUNING, env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["(2.0,", "4.5)", "6.0", "2", "0.5", "0.0"]


def test_spotify_waits_default_to_the_clients_own(tmp_path):
    from search import spotify

    result = manage("shell", "--no-imports", "-c", SPOTIFY_TUNING, env=production_env(tmp_path))

    assert result.returncode == 0, result.stderr
    expected = (
        spotify.DEFAULT_TIMEOUT,
        spotify.DEFAULT_DEADLINE,
        spotify.DEFAULT_ATTEMPTS,
        spotify.DEFAULT_BACKOFF,
        spotify.DEFAULT_MAX_RETRY_AFTER,
    )
    assert result.stdout.split() == " ".join(repr(value) for value in expected).split()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SPOTIFY_TIMEOUT", "soon", "SPOTIFY_TIMEOUT must be a number of seconds, not 'soon'"),
        ("SPOTIFY_TIMEOUT", "1,2,3", "SPOTIFY_TIMEOUT must be one number of seconds or two"),
        ("SPOTIFY_TIMEOUT", "0", "SPOTIFY_TIMEOUT must be between 0.1 and 60 seconds"),
        ("SPOTIFY_DEADLINE", "nan", "SPOTIFY_DEADLINE must be between 0.1 and 120 seconds"),
        ("SPOTIFY_ATTEMPTS", "0", "SPOTIFY_ATTEMPTS must be between 1 and 10"),
        ("SPOTIFY_BACKOFF", "-1", "SPOTIFY_BACKOFF must be between 0 and 30 seconds"),
        (
            "SPOTIFY_MAX_RETRY_AFTER",
            "inf",
            "SPOTIFY_MAX_RETRY_AFTER must be between 0 and 60 seconds",
        ),
    ],
)
def test_a_bad_spotify_wait_stops_startup_naming_it(tmp_path, name, value, message):
    result = manage("check", env=production_env(tmp_path, **{name: value}))

    assert result.returncode != 0
    assert message in result.stderr
