"""The "day of hourly runs" mode of bench/send_daily.py (`--hourly`).

    .venv/bin/python bench/send_daily.py --hourly [--n 100000] [--terms 5000]

N subscribers, one subscription each over T terms, spread evenly over 24 time zones (Etc/GMT+11
to Etc/GMT-12, one per whole-hour offset), all at 07:00 their time. Each has had its previous
email (a sent claim and last_sent_at at its last 07:00 before the first run): the steady state
of a site that has run for a while. Then 24 runs of the real command, one an hour of a UTC day,
each under `faketime` at its hour, against the fakes (latency per call as --latency).

Checks, as issue [I] states them: every subscriber mailed exactly once over the day; Spotify
searches for the day <= distinct terms + 1 % (the answers are shared through DailySearch); Mailgun
calls <= the sum over runs of ceil(recipients of the run / 1000).
"""

import datetime
import json
import math
import shutil
import subprocess
import sys
import time
import zoneinfo
from collections import Counter
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
START = datetime.datetime(2026, 11, 25, tzinfo=datetime.UTC)
SEND_HOUR = 7
# One zone per whole-hour offset, -11 to +12 (POSIX signs: Etc/GMT+11 is UTC-11).
ZONES = [f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT" for offset in range(-11, 13)]


def last_send_before(zone: str, moment: datetime.datetime):
    """(local date, instant) of the zone's last SEND_HOUR:00 before `moment`."""
    tz = zoneinfo.ZoneInfo(zone)
    day = moment.astimezone(tz).date()
    wanted = datetime.datetime.combine(day, datetime.time(SEND_HOUR), tzinfo=tz)
    if wanted >= moment:
        day -= datetime.timedelta(days=1)
        wanted = datetime.datetime.combine(day, datetime.time(SEND_HOUR), tzinfo=tz)
    return day, wanted


def fill(count: int, terms: int) -> None:
    """The subscribers in their zones, each with its last email already sent."""
    from django.utils import timezone

    from subscriptions.models import DailyEmail, Subscriber, Subscription

    now = timezone.now()
    chunk = 5000
    for start in range(0, count, chunk):
        numbers = range(start, min(start + chunk, count))
        Subscriber.objects.bulk_create(
            Subscriber(
                email=f"listener{number:06d}@example.org",
                time_zone=ZONES[number % len(ZONES)],
                send_hour=SEND_HOUR,
                last_sent_at=last_send_before(ZONES[number % len(ZONES)], START)[1],
            )
            for number in numbers
        )
        Subscription.objects.bulk_create(
            Subscription(
                email=f"listener{number:06d}@example.org",
                term=f"mood {number % terms:05d}",
                status=Subscription.Status.ACTIVE,
                confirmed_at=now,
            )
            for number in numbers
        )
    for zone in ZONES:
        day, _ = last_send_before(zone, START)
        ids = Subscriber.objects.filter(time_zone=zone).values_list("pk", flat=True)
        DailyEmail.objects.bulk_create(
            (DailyEmail(subscriber_id=pk, day=day, status="sent") for pk in ids.iterator()),
            batch_size=5000,
        )


def run(args, environment, fake_spotify, fake_mailgun) -> dict:
    if not shutil.which("faketime"):
        sys.exit("the hourly mode runs the command under faketime: apt-get install faketime")
    started = time.monotonic()
    fill(args.n, args.terms)
    print(
        f"filled {args.n:,} subscribers in {len(ZONES)} zones in {time.monotonic() - started:.1f} s"
    )
    fake_spotify.reset()
    fake_spotify.latency = args.latency
    fake_mailgun.reset()
    fake_mailgun.latency = args.latency
    runs = []
    for hour in range(24):
        moment = START + datetime.timedelta(hours=hour)
        recipients_before, calls_before = len(fake_mailgun.recipients), len(fake_mailgun.requests)
        command = [
            "faketime",
            moment.strftime("%Y-%m-%d %H:%M:%S"),
            sys.executable,
            str(PROJECT / "manage.py"),
            "send_daily_playlists",
            "--batch-size",
            str(args.batch_size),
        ]
        began = time.monotonic()
        finished = subprocess.run(
            command,
            cwd=PROJECT,
            env={**environment, "TZ": "UTC"},
            capture_output=True,
            text=True,
            check=False,
        )
        if finished.returncode != 0:
            sys.exit(
                f"run at {moment:%H:%M} failed ({finished.returncode}):\n{finished.stderr[-3000:]}"
            )
        runs.append(
            {
                "hour": hour,
                "seconds": round(time.monotonic() - began, 2),
                "recipients": len(fake_mailgun.recipients) - recipients_before,
                "mailgun_calls": len(fake_mailgun.requests) - calls_before,
                "summary": finished.stdout.strip().splitlines()[-1]
                if finished.stdout.strip()
                else "",
            }
        )
        print(f"  {moment:%H:%M} UTC: {json.dumps(runs[-1])}", flush=True)
    mailed = Counter(fake_mailgun.recipients)
    return {
        "runs": runs,
        "spotify_calls": len(fake_spotify.calls("search")),
        "mailgun_calls": len(fake_mailgun.requests),
        "addresses_mailed": len(mailed),
        "most_mail_to_one_address": max(mailed.values(), default=0),
    }


def report(args, result: dict) -> None:
    runs = result["runs"]
    allowed_calls = sum(math.ceil(r["recipients"] / 1000) for r in runs)
    checks = {
        "every subscriber mailed exactly once": result["addresses_mailed"] == args.n
        and result["most_mail_to_one_address"] == 1,
        "Spotify searches <= T + 1 %": result["spotify_calls"] <= args.terms * 1.01,
        "Mailgun calls <= sum of ceil(recipients per run / 1000)": result["mailgun_calls"]
        <= allowed_calls,
    }
    print()
    print(
        f"day of hourly runs, N={args.n:,} subscribers in {len(ZONES)} zones, T={args.terms:,} "
        f"terms, {args.latency * 1000:.0f} ms per fake call"
    )
    print(f"  runs             {len(runs)}, {sum(r['seconds'] for r in runs):.1f} s in all")
    print(f"  slowest run      {max(r['seconds'] for r in runs):.1f} s")
    print(f"  emails           {sum(r['recipients'] for r in runs):,}")
    print(f"  Spotify calls    {result['spotify_calls']:,} searches")
    print(f"  Mailgun calls    {result['mailgun_calls']:,} (allowed {allowed_calls:,})")
    for name, ok in checks.items():
        print(f"  [{'ok' if ok else 'MISSED'}] {name}")
