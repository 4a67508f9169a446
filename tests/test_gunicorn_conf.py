"""The Procfile's web command and gunicorn.conf.py: threaded workers, sized from the environment."""

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.support.appserver import procfile_command

BASE_DIR = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def gunicorn_config(**env):
    """gunicorn's own account (--print-config) of the settings the Procfile's command runs with."""
    result = subprocess.run(
        [*procfile_command("web"), "--print-config"],
        cwd=BASE_DIR,
        env={
            **{k: v for k, v in os.environ.items() if k not in {"WEB_CONCURRENCY", "PORT"}},
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "GUNICORN_CMD_ARGS": "",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    settings = dict(re.findall(r"^(\w+)\s+= (.*)$", result.stdout, re.MULTILINE))
    return result.returncode, settings, result.stderr


def test_web_dynos_run_threaded_workers_sized_by_the_environment():
    code, settings, stderr = gunicorn_config(WEB_CONCURRENCY="3", GUNICORN_THREADS="4", PORT="5005")

    assert code == 0, stderr
    assert settings["worker_class"] == "gthread"
    assert settings["workers"] == "3"
    assert settings["threads"] == "4"
    assert settings["bind"] == "['0.0.0.0:5005']"  # Heroku's PORT, on every interface


def test_without_the_environment_two_workers_of_eight_threads():
    code, settings, stderr = gunicorn_config()

    assert code == 0, stderr
    assert (settings["workers"], settings["threads"]) == ("2", "8")


def test_a_malformed_thread_count_stops_the_dyno_with_a_clear_message():
    code, _, stderr = gunicorn_config(GUNICORN_THREADS="many")

    assert code != 0
    assert "GUNICORN_THREADS must be a whole number, not 'many'." in stderr
