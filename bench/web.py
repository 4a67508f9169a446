"""Web benchmark: the site's pages under gunicorn against the stack's own ceiling (issue [F]).

Starts the Procfile's web process (WEB_CONCURRENCY sync workers, DEBUG off; SQLite in a temporary
directory, or the existing database DATABASE_URL names, migrated first; the Redis cache when
REDIS_URL is set), a loopback fake Spotify that adds --latency seconds to every answer, and drives
six cases with wrk:

  1 minimal   a Django view returning a fixed string (the ceiling of this stack on this machine)
  2 home      /
  3 warm      /search/?q=happy with the cache warm
  4 cold      /search/?q=<a new term for every request>: every request reaches the fake Spotify
  5 playlist  a playlist page, warm
  6 healthz   /healthz
  7 returning case 3 with a CSRF cookie, as a returning browser sends (wrk keeps no cookies)

It prints requests/s, p50/p99 latency and non-2xx answers per case and each case's ratio to case 1,
then checks that 32 concurrent requests for one new term make at most one Spotify call per worker.

    python -m bench.web                       # 20 s per case, 32 connections
    python -m bench.web --repeat 3            # the median of three rounds (what RESULTS.md records)
    python -m bench.web --duration 3 --cases 1,3   # a quick look

wrk is Debian's package: `sudo apt-get install wrk` (https://github.com/wg/wrk elsewhere).
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:  # also runnable as `python bench/web.py`
    sys.path.insert(0, str(BASE_DIR))

from bench.appserver import AppServer  # noqa: E402
from tests.fakes.spotify import FakeSpotify  # noqa: E402

LUA_TEMPLATE = (Path(__file__).parent / "wrk_script.lua").read_text()
# Any 32 alphanumerics make a well-formed CSRF cookie secret.
RETURNING_VISITOR_CSRF_SECRET = "benchReturningVisitor0123456789a"


@dataclass(frozen=True)
class Case:
    number: int
    name: str
    path: str  # for the cold case, the prefix each request's unique term is appended to
    unique_terms: bool = False
    cookie: str = ""


@dataclass
class Measurement:
    requests: int
    duration_us: int
    p50_us: int
    p99_us: int
    non2xx: int
    connect_errors: int
    read_errors: int
    write_errors: int
    timeouts: int
    spotify_search_calls: int = 0

    @property
    def requests_per_second(self):
        return self.requests / (self.duration_us / 1e6)

    @property
    def failures(self):
        """Answers that were not 2xx, plus requests that got no answer at all."""
        return (
            self.non2xx + self.connect_errors + self.read_errors + self.write_errors + self.timeouts
        )


def build_cases(playlist_id):
    return [
        Case(1, "minimal view", "/bench/minimal/"),
        Case(2, "/", "/"),
        Case(3, "/search/?q=happy (warm)", "/search/?q=happy"),
        Case(4, "/search/?q=<new term> (cold)", "/search/?q=cold+", unique_terms=True),
        Case(5, "playlist page (warm)", f"/playlist/{playlist_id}/"),
        Case(6, "/healthz", "/healthz"),
        # Not one of the six: case 3 for a visitor whose browser returns the CSRF cookie.
        # wrk keeps no cookies, so in case 3 every request mints a new CSRF secret and sets it.
        Case(
            7,
            "/search/?q=happy (warm, returning visitor)",
            "/search/?q=happy",
            cookie=f"csrftoken={RETURNING_VISITOR_CSRF_SECRET}",
        ),
    ]


def require_wrk():
    wrk = shutil.which("wrk")
    if not wrk:
        sys.exit(
            "bench/web.py needs wrk, the HTTP load generator.\n"
            "  Debian/Ubuntu: sudo apt-get install wrk\n"
            "  macOS: brew install wrk\n"
            "  elsewhere: build it from https://github.com/wg/wrk"
        )
    return wrk


def run_wrk(wrk, *, url, case, duration, connections, threads, script_dir):
    prefix = ""
    if case.unique_terms:
        # A fresh prefix per run, so no earlier run (or warm-up) has cached these terms.
        prefix = f"{case.path}{uuid.uuid4().hex[:8]}-"
    script = Path(script_dir) / f"case{case.number}.lua"
    script.write_text(LUA_TEMPLATE.replace("{{UNIQUE_PREFIX}}", prefix))
    completed = subprocess.run(
        [
            wrk,
            f"--threads={threads}",
            f"--connections={connections}",
            f"--duration={duration}s",
            "--timeout=30s",  # a slow answer is measured as slow, not dropped as a timeout
            f"--script={script}",
            *([f"--header=Cookie: {case.cookie}"] if case.cookie else []),
            url + case.path,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    for line in completed.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return Measurement(**json.loads(line.removeprefix("BENCH_JSON ")))
    raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")


def wait_until_idle(fake, *, settle=0.5, timeout=60):
    """Wait until the requests still queued in gunicorn from the last wrk run are done.

    wrk stops at its deadline with up to --connections requests sent but unanswered; the workers
    still serve them. Counted or measured from too early, a cold case would be charged with the
    last run's Spotify calls and start behind a queue of them.
    """
    deadline = time.monotonic() + timeout
    seen = len(fake.calls())
    while time.monotonic() < deadline:
        time.sleep(settle)
        now = len(fake.calls())
        if now == seen:
            return
        seen = now


def probe(url):
    """One request before a case: say early if a page is missing or failing."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def check_coalescing(app, fake, *, concurrency):
    """Fire `concurrency` simultaneous requests for ONE new term; count Spotify search calls."""
    url = f"{app.url}/search/?q=together+{uuid.uuid4().hex[:8]}"
    before = len(fake.calls("search"))
    barrier = threading.Barrier(concurrency)
    statuses = []

    def fetch():
        barrier.wait()
        statuses.append(probe(url))

    workers = [threading.Thread(target=fetch) for _ in range(concurrency)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return {
        "requests": concurrency,
        "non2xx": sum(1 for status in statuses if not 200 <= status < 300),
        "spotify_search_calls": len(fake.calls("search")) - before,
    }


def machine_description():
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}"


def git_revision():
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def summarise(cases, rounds):
    """Median of each figure over the rounds; failures summed (one is already too many)."""
    rows = []
    for case in cases:
        runs = rounds[case.number]
        rows.append(
            {
                "case": case,
                "rps": statistics.median(run.requests_per_second for run in runs),
                "p50_ms": statistics.median(run.p50_us for run in runs) / 1000,
                "p99_ms": statistics.median(run.p99_us for run in runs) / 1000,
                "failures": sum(run.failures for run in runs),
                "requests": sum(run.requests for run in runs),
                "spotify_search_calls": sum(run.spotify_search_calls for run in runs),
            }
        )
    ceiling = next((row["rps"] for row in rows if row["case"].number == 1), None)
    for row in rows:
        row["ratio"] = row["rps"] / ceiling if ceiling else None
    return rows


def markdown_table(rows):
    lines = [
        "| # | case | req/s | p50 ms | p99 ms | non-2xx | vs minimal |",
        "| -: | --- | --: | --: | --: | --: | --: |",
    ]
    for row in rows:
        ratio = f"{row['ratio']:.0%}" if row["ratio"] is not None else "n/a"
        lines.append(
            f"| {row['case'].number} | {row['case'].name} | {row['rps']:,.0f} | "
            f"{row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {row['failures']} | {ratio} |"
        )
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds per case (20)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per case (2)")
    parser.add_argument("--connections", type=int, default=32, help="open connections (32)")
    parser.add_argument(
        "--threads", type=int, default=1, help="wrk threads (1: leave the CPUs to gunicorn)"
    )
    parser.add_argument("--workers", type=int, default=2, help="WEB_CONCURRENCY (2)")
    parser.add_argument(
        "--latency", type=float, default=0.1, help="seconds the fake Spotify adds (0.1)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds; figures are medians (1)")
    parser.add_argument("--cases", default="1,2,3,4,5,6,7", help="comma list of case numbers (all)")
    parser.add_argument("--json", type=Path, help="also write the raw figures to this file")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    wrk = require_wrk()
    wanted = {int(number) for number in args.cases.split(",")}
    database = os.environ.get("DATABASE_URL", "")
    started = datetime.datetime.now(datetime.UTC)
    print(f"funky-music web benchmark, {started:%Y-%m-%d %H:%M} UTC, commit {git_revision()}")
    print(f"machine: {machine_description()}; load average {os.getloadavg()}")
    print(
        f"gunicorn: {args.workers} sync workers; database: "
        f"{'PostgreSQL' if database.startswith('postgres') else 'SQLite (temporary)'}; "
        f"cache: {'Redis (REDIS_URL)' if os.environ.get('REDIS_URL') else 'local memory'}; "
        f"fake Spotify latency {args.latency * 1000:.0f} ms; wrk {args.threads} thread(s), "
        f"{args.connections} connections, {args.duration} s per case, {args.repeat} round(s)"
    )

    with FakeSpotify(latency=args.latency) as fake:
        playlist_id = fake.add_playlist(name="Benchmark playlist", track_count=50)
        cases = [case for case in build_cases(playlist_id) if case.number in wanted]
        env = {
            "BENCH_MINIMAL_VIEW": "1",
            **fake.environment(),
            "LOG_LEVEL": "WARNING",
        }
        app = AppServer(env=env, workers=args.workers, database_url=database or None)
        with app, tempfile.TemporaryDirectory(prefix="funky-wrk-") as script_dir:
            for case in cases:
                status = probe(app.url + case.path + ("probe" if case.unique_terms else ""))
                if not 200 <= status < 300:
                    print(f"warning: case {case.number} ({case.path}) answers {status}")
            rounds = {case.number: [] for case in cases}
            for round_no in range(1, args.repeat + 1):
                for case in cases:
                    wrk_options = {
                        "url": app.url,
                        "case": case,
                        "connections": args.connections,
                        "threads": args.threads,
                        "script_dir": script_dir,
                    }
                    if args.warmup:
                        run_wrk(wrk, duration=args.warmup, **wrk_options)
                        wait_until_idle(fake)
                    search_calls_before = len(fake.calls("search"))
                    measurement = run_wrk(wrk, duration=args.duration, **wrk_options)
                    # Counted as wrk stops: the requests still queued have not called yet.
                    measurement.spotify_search_calls = (
                        len(fake.calls("search")) - search_calls_before
                    )
                    wait_until_idle(fake)
                    rounds[case.number].append(measurement)
                    print(
                        f"  round {round_no} case {case.number}: "
                        f"{measurement.requests_per_second:,.0f} req/s, "
                        f"{measurement.failures} non-2xx",
                        flush=True,
                    )
            coalescing = check_coalescing(app, fake, concurrency=args.connections)

    rows = summarise(cases, rounds)
    print()
    print(markdown_table(rows))
    print()
    for row in rows:
        if row["case"].unique_terms:
            ceiling = args.workers / args.latency if args.latency else float("inf")
            print(
                f"cold case: {row['spotify_search_calls']} Spotify search calls for "
                f"{row['requests']} requests served; Spotify-bound ceiling "
                f"(WEB_CONCURRENCY / latency) {ceiling:.0f} req/s, measured {row['rps']:.1f} "
                f"({row['rps'] / ceiling:.0%} of it)"
            )
    verdict = "ok" if coalescing["spotify_search_calls"] <= args.workers else "FAILED"
    print(
        f"coalescing: {coalescing['requests']} concurrent requests for one new term made "
        f"{coalescing['spotify_search_calls']} Spotify search call(s) "
        f"(at most {args.workers} allowed: one per worker) - {verdict}; "
        f"{coalescing['non2xx']} non-2xx"
    )
    print(f"load average after the run: {os.getloadavg()}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "started": started.isoformat(),
                    "machine": machine_description(),
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "rounds": {
                        number: [asdict(run) for run in runs] for number, runs in rounds.items()
                    },
                    "coalescing": coalescing,
                },
                indent=2,
            )
        )
    failed = verdict != "ok" or any(row["failures"] for row in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
