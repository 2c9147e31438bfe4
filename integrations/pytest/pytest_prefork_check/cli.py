"""Runs the prefork-check CLI on one command and returns that check's JSON object.

The CLI is found as: $PREFORK_CHECK (a command line), `prefork-check` on PATH,
node_modules/.bin/prefork-check from the root directory upwards, `npx --no prefork-check`.
"""
import json
import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

#: The rule the CLI prints between the app's output and its own report.
_RULE = " end of the app's output "


class PreforkCheckError(Exception):
    """The check could not be done (exit 2): no strace, ptrace denied, the app never reached
    the fork point, a bad option. Never a pass or a skip."""


def find_cli(root=None):
    """The command that runs the CLI, as a list of words; PreforkCheckError when none works."""
    override = os.environ.get("PREFORK_CHECK")
    if override:
        return shlex.split(override)
    on_path = shutil.which("prefork-check")
    if on_path:
        return [on_path]
    start = Path(root or os.getcwd()).resolve()
    for directory in [start, *start.parents]:
        local = directory / "node_modules" / ".bin" / "prefork-check"
        if os.access(local, os.X_OK):
            return [str(local)]
    npx = shutil.which("npx")
    if npx and subprocess.run([npx, "--no", "prefork-check", "--version"], capture_output=True).returncode == 0:
        return [npx, "--no", "prefork-check"]
    raise PreforkCheckError(
        "prefork-check was not found. Set PREFORK_CHECK to the command that runs it, put "
        "`prefork-check` on PATH, install it in node_modules (npm install --save-dev prefork-check), "
        "or make it reachable with `npx --no prefork-check`."
    )


def _flags(options):
    """The CLI's long flags from snake_case options: True is the flag alone, a list repeats it."""
    words = []
    for name, value in options.items():
        if value is None or value is False:
            continue
        flag = "--" + name.replace("_", "-")
        if value is True:
            words.append(flag)
        elif isinstance(value, (list, tuple)):
            for item in value:
                words += [flag, str(item)]
        else:
            words += [flag, str(value)]
    return words


def _console_report(stdout):
    """The CLI's report from its stdout: what follows the app's output, when there was any."""
    lines = stdout.splitlines()
    for i, line in enumerate(lines):
        if _RULE in line:
            return "\n".join(lines[i + 1 :]).strip()
    return stdout.strip()


def run_check(command, cwd=None, root=None, **options):
    """Runs one check: `command` is a list (or None with `entry=`). Returns (check, report text).

    Exit 2 raises PreforkCheckError with the CLI's message; leaks are the caller's to judge."""
    __tracebackhide__ = True  # pytest shows the message, not this module's lines
    cli = find_cli(root)
    with tempfile.TemporaryDirectory(prefix="prefork-check-pytest-") as scratch:
        report = os.path.join(scratch, "report.json")
        argv = [*cli, "--json", report, *_flags(options)]
        if command is not None:
            argv += ["--", *command]
        run = subprocess.run(
            argv, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            env={**os.environ, "NO_COLOR": "1"},
        )
        try:
            with open(report, encoding="utf-8") as file:
                result = json.load(file)
        except (OSError, ValueError):
            result = None
    if run.returncode == 2 or result is None or not result.get("checks"):
        message = run.stderr.strip().splitlines()
        found = [line for line in message if line.startswith("prefork-check: ")]
        text = (found[0][len("prefork-check: "):] if found else None) or _first_error(result) or (
            message[-1] if message else f"prefork-check exited with status {run.returncode}"
        )
        raise PreforkCheckError(text)
    return result["checks"][0], _console_report(run.stdout)


def _first_error(result):
    for check in (result or {}).get("checks", []):
        if check.get("error"):
            return check["error"]["message"]
    return None
