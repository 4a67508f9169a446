"""Celery workers for `bench/send_daily.py --workers N`: N worker processes on a loopback broker.

Each worker runs one pool process (`--concurrency=1`), so N is the number of processes sending at
once. Their peak memory is read from /proc before they are stopped.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


class BenchWorkers:
    def __init__(self, count, broker_url, environment):
        self.count = count
        self.queue = f"funky-bench-{uuid.uuid4().hex[:8]}"
        self.environment = {
            **environment,
            "CELERY_BROKER_URL": broker_url,
            "CELERY_QUEUE": self.queue,
        }
        self.processes = []

    def start(self):
        for number in range(self.count):
            log = open(f"/tmp/{self.queue}-{number}.log", "w")  # noqa: SIM115
            self.processes.append(
                subprocess.Popen(
                    [
                        *(sys.executable, "-m", "celery", "-A", "musicsite", "worker"),
                        *("--pool=prefork", "--concurrency=1", "--loglevel=INFO"),
                        *("-n", f"bench{number}@%h", "-Q", self.queue),
                        *("--without-gossip", "--without-mingle", "--without-heartbeat"),
                    ],
                    cwd=PROJECT,
                    env=self.environment,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            logs = [Path(f"/tmp/{self.queue}-{n}.log").read_text() for n in range(self.count)]
            if all(" ready." in text for text in logs):
                return self
            time.sleep(0.2)
        raise SystemExit("the bench workers did not start: see /tmp/" + self.queue + "-*.log")

    def peak_mb(self):
        """The largest peak resident memory of any of the workers' processes, in MB."""
        peaks = []
        for process in self.processes:
            for pid in _session(process.pid):
                status = Path(f"/proc/{pid}/status")
                try:
                    lines = status.read_text().splitlines()
                except OSError:
                    continue
                peaks += [int(line.split()[1]) for line in lines if line.startswith("VmHWM:")]
        return round(max(peaks, default=0) / 1024, 1)

    def stop(self):
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.processes = []


def _session(leader):
    """Pids whose session is the worker's (the worker and its pool)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == leader:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids
