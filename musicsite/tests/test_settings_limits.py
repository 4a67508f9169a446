"""The per-person limits' defaults (their bounds are in test_settings_bounds.py's table)."""

from musicsite.tests.test_settings import manage, production_env

LIMITS = """
from django.conf import settings
print(settings.MAX_MOODS_PER_SUBSCRIBER, settings.LOST_LINK_RESEND_MINUTES)
"""


def test_the_limits_have_their_defaults(tmp_path):
    result = manage("shell", "--no-imports", "-c", LIMITS, env=production_env(tmp_path))

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["20", "10"]
