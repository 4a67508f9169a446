"""Helpers for the sender's tests that start real processes against the test database."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

PROJECT = Path(__file__).resolve().parents[3]
needs_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")


def database_url():
    """The URL of the test database this process uses, for a child process."""
    database = connection.settings_dict
    password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    return (
        f"postgres://{database['USER']}{password}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )


def command_environment(fake_spotify, fake_mailgun, **extra):
    """The environment of a `manage.py` process that uses the test database and the fakes;
    no broker unless `extra` names one."""
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DEBUG": "0",
        "SITE_URL": "https://funky.example.com",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "",
        **fake_mailgun.environment(),
        **fake_spotify.environment(),
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def start_command(environment, *args):
    return subprocess.Popen(
        [sys.executable, "manage.py", "send_daily_playlists", *args],
        cwd=PROJECT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(condition, *, timeout=30.0, every=0.05):
    """Poll `condition` until it is true; False when `timeout` passed first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return bool(condition())
