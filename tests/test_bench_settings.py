"""The web benchmark's bare view lives in bench/'s own settings and URLs, never in production's."""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# What the URL resolves to, or "404": asked of a fresh Django as the benchmark's gunicorn is.
RESOLVE = (
    "from django.urls import Resolver404, resolve\n"
    "for path in ('/bench/minimal/', '/', '/healthz'):\n"
    "    try:\n"
    "        print(path, resolve(path).func.__name__)\n"
    "    except Resolver404:\n"
    "        print(path, '404')\n"
)


def resolved(**env):
    result = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "shell", "-v", "0", "--command", RESOLVE],
        cwd=BASE_DIR,
        env={**os.environ, "DEBUG": "0", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(line.split() for line in result.stdout.splitlines())


def test_production_settings_never_serve_the_benchmark_view_whatever_the_environment():
    urls = resolved(DJANGO_SETTINGS_MODULE="musicsite.settings", BENCH_MINIMAL_VIEW="1")

    assert urls == {"/bench/minimal/": "404", "/": "home", "/healthz": "healthz"}


def test_the_benchmark_settings_add_the_bare_view_to_the_whole_site():
    urls = resolved(DJANGO_SETTINGS_MODULE="bench.settings")

    assert urls == {"/bench/minimal/": "minimal", "/": "home", "/healthz": "healthz"}
