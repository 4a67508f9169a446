"""The web benchmark's report: medians over rounds, the Markdown tables, what ran where."""

import os
import platform
import statistics
import subprocess
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


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


def comparison_table(rows, baseline_rows):
    """The cases measured both ways: threaded (now) against sync workers (before [W])."""
    before = {row["case"].number: row for row in baseline_rows}
    lines = [
        "| # | case | sync req/s (before) | gthread req/s (now) | now / before "
        "| vs minimal before | vs minimal now |",
        "| -: | --- | --: | --: | --: | --: | --: |",
    ]
    for row in rows:
        old = before.get(row["case"].number)
        if old is None:
            continue

        def share(value):
            return f"{value:.0%}" if value is not None else "n/a"

        lines.append(
            f"| {row['case'].number} | {row['case'].name} | {old['rps']:,.1f} | "
            f"{row['rps']:,.1f} | {row['rps'] / old['rps']:.1f}x | {share(old['ratio'])} | "
            f"{share(row['ratio'])} |"
        )
    return "\n".join(lines)
