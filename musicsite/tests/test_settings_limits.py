"""The per-person limits read from the environment: within bounds, or startup stops naming them."""

import pytest

from musicsite.tests.test_settings import manage, production_env

LIMITS = """
from django.conf import settings
print(settings.MAX_MOODS_PER_SUBSCRIBER, settings.LOST_LINK_RESEND_MINUTES)
"""


def test_the_limits_are_read_from_the_environment(tmp_path):
    env = production_env(tmp_path, MAX_MOODS_PER_SUBSCRIBER="5", LOST_LINK_RESEND_MINUTES="30")

    result = manage("shell", "--no-imports", "-c", LIMITS, env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["5", "30"]


def test_the_limits_have_their_defaults(tmp_path):
    result = manage("shell", "--no-imports", "-c", LIMITS, env=production_env(tmp_path))

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["20", "10"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MAX_MOODS_PER_SUBSCRIBER", "0", "MAX_MOODS_PER_SUBSCRIBER must be between 1 and 100"),
        ("MAX_MOODS_PER_SUBSCRIBER", "1000", "MAX_MOODS_PER_SUBSCRIBER must be between 1 and 100"),
        ("MAX_MOODS_PER_SUBSCRIBER", "many", "MAX_MOODS_PER_SUBSCRIBER must be a whole number"),
        ("LOST_LINK_RESEND_MINUTES", "0", "LOST_LINK_RESEND_MINUTES must be between 1 and 1440"),
        ("LOST_LINK_RESEND_MINUTES", "1441", "LOST_LINK_RESEND_MINUTES must be between 1 and 1440"),
    ],
)
def test_a_limit_out_of_bounds_stops_startup_naming_it(tmp_path, name, value, message):
    result = manage("check", env=production_env(tmp_path, **{name: value}))

    assert result.returncode != 0
    assert message in result.stderr
