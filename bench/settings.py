"""Settings for bench/web.py: the site as the tests' fakes run it, plus the benchmark's bare view.

Production settings and URLs know nothing of the benchmark: only this module (chosen with
DJANGO_SETTINGS_MODULE=bench.settings, which bench/web.py sets) adds /bench/minimal/.
"""

from tests.fakes.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
