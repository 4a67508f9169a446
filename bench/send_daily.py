"""Benchmark of `manage.py send_daily_playlists` against loopback fakes with 50 ms per call.

    .venv/bin/python bench/send_daily.py [--n 100000] [--terms 5000] [--naive-n 2000]
    .venv/bin/python bench/send_daily.py --hourly [--n 100000] [--terms 5000]
    .venv/bin/python bench/send_daily.py --workers 2 [--broker redis://127.0.0.1:6379/8] ...

(--hourly: a day of 24 hourly runs over subscribers in 24 time zones; see bench/send_hourly.py.
--workers N: the command plans and enqueues, N Celery worker processes on --broker send, and the
command waits for the run's record to close (`--wait`); bench/workers.py starts them.)

Fills a scratch database (SQLite in a temporary directory by default; with DATABASE_URL set,
Django's test database next to it, e.g. test_<name> on PostgreSQL) with N active subscriptions,
one per address, over T distinct terms. It starts the fake Spotify and the fake Mailgun in this
process with --latency per call and runs the command in a child process, which reports its wall
time, peak memory (getrusage maxrss) and SQL query count; this process counts the calls the fakes
received. Then, on --naive-n fresh subscriptions, it times the lesson's loop (one search and one
message per subscription, one after the other) against the command on the same subscriptions and
prints the ratio. The scratch database is dropped at the end.
"""

import argparse
import json
import math
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
DAY = date(2026, 11, 25)
RESULT_PREFIX = "BENCH-RESULT "
TARGET_SECONDS = 60
TARGET_MEGABYTES = 300


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="subscriptions (one per address)")
    parser.add_argument("--terms", type=int, default=5_000, help="distinct search terms")
    parser.add_argument("--naive-n", type=int, default=2_000, help="0 skips the naive loop")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per fake call")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument(
        "--hourly", action="store_true", help="a day of 24 hourly runs over 24 time zones"
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="Celery worker processes (0: in-process)"
    )
    parser.add_argument(
        "--broker", default="redis://127.0.0.1:6379/8", help="the workers' broker (--workers)"
    )
    parser.add_argument("--child", choices=["command", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--wait", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--date", type=date.fromisoformat, default=DAY, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
    else:
        parent(args)


# -- the parent: database, fakes, measurements -----------------------------------------------


def parent(args):
    from tests.fakes.mailgun import FakeMailgun
    from tests.fakes.spotify import FakeSpotify

    scratch = tempfile.TemporaryDirectory(prefix="funky-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{scratch.name}/bench.sqlite3")
    os.environ.update(
        DEBUG="0",
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench-only-secret-key"),
        SITE_URL="https://funky.example.com",
        LOG_LEVEL="WARNING",
    )
    os.environ.pop("REDIS_URL", None)  # each run starts with a cold, private cache
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "musicsite.settings")
    django.setup()
    from django.db import connection

    if connection.vendor == "sqlite":
        connection.settings_dict["TEST"]["NAME"] = f"{scratch.name}/bench_test.sqlite3"
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    try:
        with (
            FakeSpotify(latency=args.latency) as fake_spotify,
            FakeMailgun(latency=args.latency) as fake_mailgun,
        ):
            environment = child_environment(connection.settings_dict, fake_spotify, fake_mailgun)
            workers = None
            if args.workers:
                from bench.workers import BenchWorkers

                workers = BenchWorkers(args.workers, args.broker, environment).start()
                environment = workers.environment
            if args.hourly:
                from bench import send_hourly

                results = send_hourly.run(args, environment, fake_spotify, fake_mailgun)
            else:
                try:
                    results = run_all(args, environment, fake_spotify, fake_mailgun)
                finally:
                    if workers is not None:
                        results_peak = workers.peak_mb()
                        workers.stop()
                if workers is not None:
                    results["command"]["worker_peak_mb"] = results_peak
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        scratch.cleanup()
    if args.hourly:
        send_hourly.report(args, results)
    else:
        report(args, results)


def run_all(args, environment, fake_spotify, fake_mailgun):
    from subscriptions.models import Subscription

    results = {}
    started = time.monotonic()
    fill(args.n, args.terms, prefix="listener")
    print(
        f"filled {args.n:,} subscriptions over {args.terms:,} terms "
        f"in {time.monotonic() - started:.1f} s"
    )
    results["command"] = measure(
        "command", args, environment, fake_spotify, fake_mailgun, expected=args.n
    )
    if args.naive_n:
        Subscription.objects.update(status=Subscription.Status.UNSUBSCRIBED)
        fill(args.naive_n, args.terms, prefix="naive")
        results["naive"] = measure(
            "naive", args, environment, fake_spotify, fake_mailgun, expected=args.naive_n
        )
        # The same subscriptions the next day, so the command has the same work to do.
        results["command_small"] = measure(
            "command",
            args,
            environment,
            fake_spotify,
            fake_mailgun,
            expected=args.naive_n,
            day=args.date + timedelta(days=1),
        )
    return results


def fill(count, terms, *, prefix):
    from django.utils import timezone

    from subscriptions.models import Subscriber, Subscription

    now = timezone.now()
    chunk = 5000
    for start in range(0, count, chunk):
        numbers = range(start, min(start + chunk, count))
        subscribers = Subscriber.objects.bulk_create(
            Subscriber(email=f"{prefix}{number:06d}@example.org") for number in numbers
        )
        Subscription.objects.bulk_create(
            Subscription(
                subscriber=subscriber,
                term=f"mood {number % terms:05d}",
                status=Subscription.Status.ACTIVE,
                confirmed_at=now,
            )
            for number, subscriber in zip(numbers, subscribers, strict=True)
        )


def child_environment(database, fake_spotify, fake_mailgun):
    if database["ENGINE"].endswith("sqlite3"):
        url = f"sqlite:///{database['NAME']}"
    else:
        password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
        url = (
            f"postgres://{database['USER']}{password}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        )
    return {
        **os.environ,
        "DATABASE_URL": url,
        **fake_mailgun.environment(),
        **fake_spotify.environment(),
    }


def measure(kind, args, environment, fake_spotify, fake_mailgun, *, expected, day=None):
    day = day or args.date
    fake_spotify.reset()
    fake_spotify.latency = args.latency
    fake_mailgun.reset()
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        kind,
        "--date",
        day.isoformat(),
        "--batch-size",
        str(args.batch_size),
        *(["--wait"] if args.workers else []),
    ]
    print(f"running {kind} on {expected:,} subscriptions ...", flush=True)
    finished = subprocess.run(
        command, cwd=PROJECT, env=environment, capture_output=True, text=True, check=False
    )
    lines = [line for line in finished.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if finished.returncode != 0 or not lines:
        sys.exit(f"{kind} run failed ({finished.returncode}):\n{finished.stderr[-3000:]}")
    result = json.loads(lines[-1].removeprefix(RESULT_PREFIX))
    recipients = Counter(fake_mailgun.recipients)
    result.update(
        subscriptions=expected,
        spotify_calls=len(fake_spotify.calls("search")),
        token_calls=len(fake_spotify.calls("token")),
        mailgun_calls=len(fake_mailgun.requests),
        addresses_mailed=len(recipients),
        most_mail_to_one_address=max(recipients.values(), default=0),
    )
    print(f"  {json.dumps(result)}", flush=True)
    return result


def report(args, results):
    ours = results["command"]
    checks = {
        f"wall time under {TARGET_SECONDS} s": ours["seconds"] < TARGET_SECONDS,
        f"peak memory under {TARGET_MEGABYTES} MB": ours["peak_mb"] < TARGET_MEGABYTES,
        "Spotify calls = T": ours["spotify_calls"] == args.terms,
        "Mailgun calls = ceil(N/1000)": ours["mailgun_calls"] == math.ceil(args.n / 1000),
        "every address mailed exactly once": ours["addresses_mailed"] == args.n
        and ours["most_mail_to_one_address"] == 1,
    }
    print()
    print(
        f"send_daily_playlists, N={args.n:,} subscriptions, T={args.terms:,} terms, "
        f"{args.latency * 1000:.0f} ms per fake call, {platform.node()} "
        f"({os.cpu_count()} cores), {ours['database']}"
    )
    print(f"  wall time        {ours['seconds']:.1f} s")
    print(f"  peak memory      {ours['peak_mb']:.0f} MB")
    if "worker_peak_mb" in ours:
        print(f"  workers          {args.workers} processes, peak {ours['worker_peak_mb']:.0f} MB")
    print(f"  SQL queries      {ours['queries']:,}")
    print(f"  Spotify calls    {ours['spotify_calls']:,} searches (+{ours['token_calls']} token)")
    print(f"  Mailgun calls    {ours['mailgun_calls']:,}")
    print(f"  summary          {ours['summary']}")
    if "naive" in results:
        naive, small = results["naive"], results["command_small"]
        print(
            f"naive loop, N={args.naive_n:,}: {naive['seconds']:.1f} s, "
            f"{naive['queries']:,} queries, {naive['spotify_calls']:,} Spotify calls, "
            f"{naive['mailgun_calls']:,} Mailgun calls, {naive['peak_mb']:.0f} MB"
        )
        print(
            f"command,    N={args.naive_n:,}: {small['seconds']:.1f} s, "
            f"{small['queries']:,} queries, {small['spotify_calls']:,} Spotify calls, "
            f"{small['mailgun_calls']:,} Mailgun calls, {small['peak_mb']:.0f} MB"
        )
        per_naive = naive["seconds"] / args.naive_n
        per_ours = ours["seconds"] / args.n
        print(
            f"  ratio on the same {args.naive_n:,}: naive takes "
            f"{naive['seconds'] / small['seconds']:.1f}x as long"
        )
        print(
            f"  per subscriber: naive {per_naive * 1000:.1f} ms, command at N={args.n:,} "
            f"{per_ours * 1000:.2f} ms ({per_naive / per_ours:.0f}x)"
        )
    for name, ok in checks.items():
        print(f"  [{'ok' if ok else 'MISSED'}] {name}")


# -- the child: one run, measured from inside ------------------------------------------------


def child(args):
    import io

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "musicsite.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    output = io.StringIO()
    started = time.monotonic()
    with connection.execute_wrapper(count):
        if args.child == "command":
            try:
                call_command(
                    "send_daily_playlists",
                    "--date",
                    args.date.isoformat(),
                    "--batch-size",
                    str(args.batch_size),
                    *(["--wait"] if args.wait else []),
                    stdout=output,
                )
            except SystemExit as exit:
                print(output.getvalue(), file=sys.stderr)
                raise SystemExit(f"the command exited with {exit.code}") from None
        else:
            naive_loop(args.date)
    seconds = time.monotonic() - started
    lines = output.getvalue().splitlines()
    result = {
        "seconds": round(seconds, 2),
        "peak_mb": round(peak_memory_kb() / 1024, 1),
        "queries": queries,
        "database": connection.vendor,
        "summary": lines[-1] if lines else "",
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def peak_memory_kb():
    """This process's peak resident memory.

    getrusage's ru_maxrss would do, but Linux carries it over from the parent across fork and
    exec, so a child started by a big parent reports the parent's size. VmHWM belongs to the
    process's own memory map.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def naive_loop(today):
    """The lesson's loop, for comparison only: one search and one message per subscription."""
    from django.core.mail import EmailMultiAlternatives
    from django.template.loader import render_to_string
    from django.utils import timezone

    from search import spotify
    from subscriptions.links import unsubscribe_url
    from subscriptions.models import SentPlaylist, Subscription

    client = spotify.get_client()
    active = Subscription.objects.filter(status=Subscription.Status.ACTIVE)
    for subscription in active.select_related("subscriber"):
        page = client.search_playlists(subscription.term)
        seen = set(subscription.sent_playlists.values_list("playlist_id", flat=True))
        fresh = [playlist for playlist in page.items if playlist.id not in seen]
        if not fresh:
            continue
        playlist = random.choice(fresh)
        pick = {
            "subscription": subscription,
            "playlist": playlist,
            "term": subscription.term,
            "unsubscribe_url": unsubscribe_url(subscription),
        }
        context = {
            "day": today,
            "first_pick": pick,
            "more_picks": "",
            "unsubscribe_all_url": pick["unsubscribe_url"],
        }
        text, html = (
            render_to_string(f"subscriptions/email/daily.{kind}", context)
            for kind in ("txt", "html")
        )
        message = EmailMultiAlternatives(
            subject=f"Your playlist for {today:%A %d %B}",
            body=text,
            to=[subscription.subscriber.email],
        )
        message.attach_alternative(html, "text/html")
        message.send()
        SentPlaylist.objects.create(
            subscription=subscription,
            playlist_id=playlist.id,
            name=playlist.name,
            web_url=playlist.web_url,
            uri=playlist.uri,
            sent_on=today,
        )
        subscription.last_sent_on = today
        subscription.last_sent_at = timezone.now()
        subscription.save()


if __name__ == "__main__":
    main()
