"""Real Celery workers and a real broker for the daily run's tests, all on loopback.

Each test gets a queue of its own (and Redis database 8, or RabbitMQ's default vhost), starts
`celery -A musicsite worker` processes against the committed test database and the fakes, and
stops them (and empties what it used on the broker) when it ends.
"""

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from subscriptions.tests.daily.processes import PROJECT, command_environment, wait_until

REDIS_BROKER = "redis://127.0.0.1:6379/8"  # this suite's own Redis database
RABBITMQ_BROKER = "amqp://guest:guest@127.0.0.1:5672//"
VISIBILITY_TIMEOUT = 4  # seconds before Redis gives a dead worker's task to another


def broker_reachable(url):
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception:
        return False
    return True


class Workers:
    """Worker processes of one test, and the environment they and the command share."""

    def __init__(self, environment, logs):
        self.environment = environment
        self.logs = logs
        self.processes = {}

    def start(self, name, *, concurrency=1, **overrides):
        """Start a worker (prefork); return once it consumes the queue."""
        log = self.logs / f"{name}.log"
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "musicsite", "worker"),
                *("--pool=prefork", f"--concurrency={concurrency}", "--loglevel=INFO"),
                *("-n", f"{name}@%h", "-Q", self.environment["CELERY_QUEUE"]),
                *("--without-gossip", "--without-mingle", "--without-heartbeat"),
            ],
            cwd=PROJECT,
            env={**self.environment, **overrides},
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the pool's children go with it
        )
        self.processes[name] = process
        ready = wait_until(lambda: " ready." in self.log(name), timeout=60, every=0.2)
        assert ready, self.log(name)[-3000:]
        return process

    def log(self, name):
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def kill(self, name):
        """SIGKILL the worker and its pool at once, as a dyno that dies."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self):
        for name in list(self.processes):
            process = self.processes.pop(name)
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def command(self, *args, timeout=120, **overrides):
        """`manage.py send_daily_playlists` with this test's broker; the finished process."""
        return subprocess.run(
            [sys.executable, "manage.py", "send_daily_playlists", *args],
            cwd=PROJECT,
            env={**self.environment, **overrides},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start_command(self, *args, **overrides):
        return subprocess.Popen(
            [sys.executable, "manage.py", "send_daily_playlists", *args],
            cwd=PROJECT,
            env={**self.environment, **overrides},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def empty_broker(url, queue):
    """Remove what a test left on its broker: its queue (RabbitMQ) or database 8 (Redis)."""
    if url.startswith("redis://127.0.0.1:6379/8"):
        import redis

        redis.Redis.from_url(url).flushdb()
        return
    from kombu import Connection

    # Never declared, or the broker is gone: nothing to empty.
    with contextlib.suppress(Exception), Connection(url, connect_timeout=2) as connection:
        connection.default_channel.queue_delete(queue)


@pytest.fixture
def make_workers(fake_spotify, fake_mailgun):
    """make_workers(broker_url) -> Workers; everything stopped and emptied afterwards. A test
    that holds a task longer than the visibility timeout on Redis gets it delivered twice."""
    made = []
    logs = Path(tempfile.mkdtemp(prefix="funky-workers-"))

    def make(broker_url=REDIS_BROKER, *, visibility_timeout=VISIBILITY_TIMEOUT):
        if not broker_reachable(broker_url):
            if os.environ.get("REQUIRE_BROKERS"):
                pytest.fail(f"no broker at {broker_url}")
            pytest.skip(f"no broker at {broker_url}")
        queue = f"funky-test-{uuid.uuid4().hex[:10]}"
        environment = command_environment(
            fake_spotify,
            fake_mailgun,
            CELERY_BROKER_URL=broker_url,
            CELERY_QUEUE=queue,
            CELERY_VISIBILITY_TIMEOUT=str(visibility_timeout),
            LOG_LEVEL="WARNING",
        )
        workers = Workers(environment, logs)
        made.append((workers, broker_url, queue))
        empty_broker(broker_url, queue)
        return workers

    yield make
    for workers, broker_url, queue in made:
        workers.stop_all()
        empty_broker(broker_url, queue)


def free_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateRedis:
    """A Redis server of the test's own, on a free port, that the test may stop."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_until(lambda: broker_reachable(self.url), timeout=10), "redis-server"
        return self

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def run_finished(run_model, timeout=60):
    """Wait for the one fanned-out run to be closed by the workers; the run."""
    assert wait_until(
        lambda: run_model.objects.filter(workers=True, finished_at__isnull=False).exists(),
        timeout=timeout,
        every=0.2,
    )
    return run_model.objects.get(workers=True, finished_at__isnull=False)


def pause(seconds):
    time.sleep(seconds)
