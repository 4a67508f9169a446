"""Run the app the way Heroku does — the Procfile's web command under gunicorn — on loopback.

Used by the web benchmark (bench/web.py) and the end-to-end fault tests (tests/test_faults.py).
"""

import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def procfile_command(process_type="web"):
    """The command line the Procfile gives for `process_type`, split like a shell would."""
    for line in (BASE_DIR / "Procfile").read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() == process_type:
            return shlex.split(command)
    raise LookupError(f"No {process_type!r} process in the Procfile.")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppServer:
    """The Procfile's web process with production settings (DEBUG off) and a throwaway database.

    `env` adds to or overrides the environment (Spotify and Mailgun endpoints, knobs under test).
    Without `database_url` a fresh SQLite file in a temporary directory is migrated; with one,
    that database is migrated and used as it is.
    """

    def __init__(self, *, env=None, workers=2, database_url=None, ready_path="/healthz"):
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ready_path = ready_path
        self._tmp = tempfile.TemporaryDirectory(prefix="funky-appserver-")
        self.log_path = Path(self._tmp.name) / "gunicorn.log"
        self.database_url = database_url or f"sqlite:///{self._tmp.name}/db.sqlite3"
        self.env = {
            **os.environ,
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "DJANGO_SETTINGS_MODULE": "musicsite.settings",
            "DEBUG": "0",
            "SECRET_KEY": os.environ.get("SECRET_KEY") or "insecure-key-for-local-runs-only",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": os.environ.get("SITE_URL") or "https://funky.example.com",
            # Plain HTTP on loopback; Heroku's router is what speaks TLS in production.
            "SECURE_SSL_REDIRECT": "0",
            "DATABASE_URL": self.database_url,
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(workers),
            # Heroku binds 0.0.0.0:$PORT; here the app must only listen on loopback.
            "GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{self.port}",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.process = None
        self._log = None

    def manage(self, *args, check=True, timeout=120, extra_env=None):
        """Run `manage.py <args>` with this server's environment (same database, same fakes)."""
        return subprocess.run(
            [sys.executable, str(BASE_DIR / "manage.py"), *args],
            cwd=BASE_DIR,
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            check=check,
            timeout=timeout,
        )

    def prepare(self):
        """What a Heroku release does, plus the build's collectstatic."""
        self.manage("migrate", "--noinput")
        self.manage("collectstatic", "--noinput")

    def start(self, *, prepare=True, timeout=30):
        if prepare:
            self.prepare()
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            procfile_command("web"),
            cwd=BASE_DIR,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=5):
                    return
            except urllib.error.HTTPError:
                return  # it answers HTTP; the status is the caller's business
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{self.log_tail()}")

    def worker_pids(self):
        """The pids of the master's live worker processes (Linux /proc)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return sorted(int(pid) for pid in children.read_text().split())

    def log_tail(self, lines=40):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def stop(self):
        if self.process and self.process.poll() is None:
            # SIGINT is gunicorn's quick shutdown: do not wait for hung requests to finish.
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._log:
            self._log.close()
            self._log = None
        self._tmp.cleanup()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()
