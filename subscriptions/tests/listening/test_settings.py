"""Listening's two settings from the environment: CLICK_RECORDING and SUNSET_AFTER_DAYS."""

import pytest

from musicsite.tests.test_settings import manage, production_env

READ = (
    "from django.conf import settings; print(settings.CLICK_RECORDING, settings.SUNSET_AFTER_DAYS)"
)


@pytest.mark.parametrize(
    "env, printed",
    [
        ({}, "True 90"),
        ({"CLICK_RECORDING": "0", "SUNSET_AFTER_DAYS": "0"}, "False 0"),
        ({"SUNSET_AFTER_DAYS": "180"}, "True 180"),
    ],
)
def test_they_are_read_from_the_environment(tmp_path, env, printed):
    result = manage("shell", "--no-imports", "-c", READ, env=production_env(tmp_path, **env))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == printed


def test_a_sunset_sooner_than_30_days_of_mail_stops_startup(tmp_path):
    result = manage("check", env=production_env(tmp_path, SUNSET_AFTER_DAYS="20"))
    assert result.returncode != 0
    assert "SUNSET_AFTER_DAYS must be 0 (never) or at least 30" in result.stderr
