"""Web benchmark: the site's pages under gunicorn against the stack's own ceiling (issues [F], [W]).

Starts the Procfile's web process (gunicorn.conf.py: WEB_CONCURRENCY gthread workers of
GUNICORN_THREADS threads, DEBUG off; SQLite in a temporary directory, or the existing database
DATABASE_URL names, migrated first; the Redis cache when REDIS_URL is set) with bench/settings.py
(the site plus a bare view), a loopback fake Spotify that adds --latency seconds to every answer,
and drives these cases with wrk:

  1 minimal   a Django view returning a fixed string (the ceiling of this stack on this machine)
  2 home      /
  3 warm      /search/?q=happy with the cache warm
  4 cold      /search/?q=<a new term for every request>: every request reaches the fake Spotify
  5 playlist  a playlist page, warm
  6 healthz   /healthz
  7 returning case 3 with a CSRF cookie, as a returning browser sends (wrk keeps no cookies)
  8 gzip      case 5 asked for with Accept-Encoding: gzip, as browsers do (wrk sends none)

Then, in the same run, the --baseline-cases (1, 3, 4 and 5) again against the web process as it was
before [W] (`--worker-class sync`, one request per worker at a time), so the cold-search speed-up
is measured on the same machine at the same time and printed as a ratio.

It prints requests/s, p50/p99 latency and non-2xx answers per case and each case's ratio to case 1,
then checks that 32 concurrent requests for one new term make at most one Spotify call per worker.

    python -m bench.web                       # 20 s per case, 32 connections
    python -m bench.web --repeat 3            # the median of three rounds (what RESULTS.md records)
    python -m bench.web --duration 3 --cases 1,3   # a quick look
    python -m bench.web --cases 1,4 --baseline-cases 1,4   # only the cold-search comparison

wrk is Debian's package: `sudo apt-get install wrk` (https://github.com/wg/wrk elsewhere).
"""

import argparse
import datetime
import json
import os
import shutil
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

from bench.web_report import (  # noqa: E402
    comparison_table,
    git_revision,
    machine_description,
    markdown_table,
    summarise,
)
from tests.fakes.spotify import FakeSpotify  # noqa: E402
from tests.support.appserver import AppServer  # noqa: E402

LUA_TEMPLATE = (Path(__file__).parent / "wrk_script.lua").read_text()
# Any 32 alphanumerics make a well-formed CSRF cookie secret.
RETURNING_VISITOR_CSRF_SECRET = "benchReturningVisitor0123456789a"


@dataclass(frozen=True)
class Case:
    number: int
    name: str
    path: str  # for the cold case, the prefix each request's unique term is appended to
    unique_terms: bool = False
    headers: tuple = ()  # extra request headers, "Name: value"


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
            headers=(f"Cookie: csrftoken={RETURNING_VISITOR_CSRF_SECRET}",),
        ),
        Case(
            8,
            "playlist page (warm, gzip)",
            f"/playlist/{playlist_id}/",
            headers=("Accept-Encoding: gzip",),
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
            *(f"--header={header}" for header in case.headers),
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
        "--gunicorn-threads",
        type=int,
        help="GUNICORN_THREADS (default: gunicorn.conf.py's, or the environment's)",
    )
    parser.add_argument(
        "--latency", type=float, default=0.1, help="seconds the fake Spotify adds (0.1)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds; figures are medians (1)")
    parser.add_argument(
        "--cases", default="1,2,3,4,5,6,7,8", help="comma list of case numbers (all)"
    )
    parser.add_argument(
        "--baseline-cases",
        default="1,3,4,5",
        help="cases run again on sync workers, the web process before [W] (1,3,4,5; none: '')",
    )
    parser.add_argument("--json", type=Path, help="also write the raw figures to this file")
    return parser.parse_args(argv)


def case_numbers(text):
    return {int(number) for number in text.split(",") if number.strip()}


def measure(app, fake, cases, *, args, wrk, script_dir, label):
    """Every case, --repeat times, against one running app: the rounds per case number."""
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
            measurement.spotify_search_calls = len(fake.calls("search")) - search_calls_before
            wait_until_idle(fake)
            rounds[case.number].append(measurement)
            print(
                f"  {label} round {round_no} case {case.number}: "
                f"{measurement.requests_per_second:,.0f} req/s, "
                f"{measurement.failures} non-2xx",
                flush=True,
            )
    return rounds


def main(argv=None):
    args = parse_args(argv)
    wrk = require_wrk()
    wanted = case_numbers(args.cases)
    baseline_wanted = case_numbers(args.baseline_cases)
    database = os.environ.get("DATABASE_URL", "")
    started = datetime.datetime.now(datetime.UTC)
    # gunicorn.conf.py's default when neither the flag nor the environment says.
    threads = args.gunicorn_threads or int(os.environ.get("GUNICORN_THREADS") or 8)
    print(f"funky-music web benchmark, {started:%Y-%m-%d %H:%M} UTC, commit {git_revision()}")
    print(f"machine: {machine_description()}; load average {os.getloadavg()}")
    print(
        f"gunicorn: {args.workers} gthread workers x {threads} threads "
        f"(baseline: {args.workers} sync workers); database: "
        f"{'PostgreSQL' if database.startswith('postgres') else 'SQLite (temporary)'}; "
        f"cache: {'Redis (REDIS_URL)' if os.environ.get('REDIS_URL') else 'local memory'}; "
        f"fake Spotify latency {args.latency * 1000:.0f} ms; wrk {args.threads} thread(s), "
        f"{args.connections} connections, {args.duration} s per case, {args.repeat} round(s)"
    )

    with FakeSpotify(latency=args.latency) as fake:
        playlist_id = fake.add_playlist(name="Benchmark playlist", track_count=50)
        all_cases = build_cases(playlist_id)
        cases = [case for case in all_cases if case.number in wanted]
        baseline_cases = [case for case in all_cases if case.number in baseline_wanted]
        env = {
            **fake.environment(),
            # The site plus the bare view of case 1 (bench/urls.py); production has no such URL.
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "LOG_LEVEL": "WARNING",
            **({"GUNICORN_THREADS": str(args.gunicorn_threads)} if args.gunicorn_threads else {}),
        }
        options = {"args": args, "wrk": wrk}
        with tempfile.TemporaryDirectory(prefix="funky-wrk-") as script_dir:
            options["script_dir"] = script_dir
            app = AppServer(env=env, workers=args.workers, database_url=database or None)
            with app:
                rounds = measure(app, fake, cases, label="gthread", **options)
                coalescing = check_coalescing(app, fake, concurrency=args.connections)
            baseline_rounds = {}
            if baseline_cases:
                baseline = AppServer(env=env, workers=args.workers, database_url=database or None)
                # Flags on GUNICORN_CMD_ARGS beat gunicorn.conf.py: the Procfile's old command.
                baseline.env["GUNICORN_CMD_ARGS"] += " --worker-class sync --threads 1"
                with baseline:
                    baseline_rounds = measure(
                        baseline, fake, baseline_cases, label="sync (before)", **options
                    )

    rows = summarise(cases, rounds)
    print()
    print(markdown_table(rows))
    print()
    for row in rows:
        if row["case"].unique_terms:
            print(
                f"cold case: {row['spotify_search_calls']} Spotify search calls for "
                f"{row['requests']} requests served, {row['rps']:.1f} req/s"
            )
    if baseline_cases:
        baseline_rows = summarise(baseline_cases, baseline_rounds)
        print()
        print("Before [W] (sync workers), same run:")
        print()
        print(markdown_table(baseline_rows))
        print()
        print(comparison_table(rows, baseline_rows))
        print()
        if args.latency:
            print(
                f"Spotify-bound ceilings at {args.latency * 1000:.0f} ms: sync "
                f"{args.workers / args.latency:.0f} req/s (WEB_CONCURRENCY / latency), "
                f"gthread {args.workers * threads / args.latency:.0f} req/s "
                "(x threads)"
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
                    "baseline_rounds": {
                        number: [asdict(run) for run in runs]
                        for number, runs in baseline_rounds.items()
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
