"""pytest plugin: the `prefork_check` fixture, and the config's checks as tests.

    def test_app(prefork_check):
        prefork_check(["gunicorn", "--preload", "app:app"], fork_at_first_fork=True)

    pytest --prefork-check    # each check in prefork-check.config.json at the rootdir is a test
"""
import json

import pytest

from .cli import PreforkCheckError, run_check

CONFIG_FILE = "prefork-check.config.json"


def pytest_addoption(parser):
    group = parser.getgroup("prefork-check")
    group.addoption(
        "--prefork-check",
        action="store_true",
        help=f"run each check of {CONFIG_FILE} at the rootdir as a test",
    )
    group.addoption(
        "--prefork-check-update-baseline",
        action="store_true",
        help="record the leaks seen now as the known ones (prefork-check --update-baseline)",
    )
    parser.addini("prefork_check", type="bool", default=False, help=f"run each check of {CONFIG_FILE} as a test")


def _update(config):
    return config.getoption("prefork_check_update_baseline")


@pytest.fixture
def prefork_check(request):
    """Runs a fork check. Leaks fail the test with the console report (each fd, its target, the line
    that made it, the fix); a check that could not be done raises PreforkCheckError. Returns the
    check's JSON object (status, leaks, forkPoint, ...). Options are the CLI's long flags in
    snake_case (fork_marker="READY", fork_at_first_fork=True, allow=[...], baseline=..., timeout=30)."""
    root = str(request.config.rootpath)

    def check(command=None, *, cwd=None, check=True, **options):
        __tracebackhide__ = True  # the failure is the app's, not this plugin's
        if _update(request.config):
            options.setdefault("update_baseline", True)
        result, report = run_check(command, cwd=cwd or root, root=root, **options)
        if check and result.get("status") == "fail":
            pytest.fail(report, pytrace=False)
        return result

    return check


def pytest_collect_file(file_path, parent):
    config = parent.config
    if not (config.getoption("prefork_check") or config.getini("prefork_check")):
        return None
    if file_path.name != CONFIG_FILE or file_path.parent != config.rootpath:
        return None
    return ConfigChecks.from_parent(parent, path=file_path)


def _check_names(path):
    """The config's check names, as prefork-check names them: name, else entry, else the command."""
    with open(path, encoding="utf-8-sig") as file:
        config = json.load(file)
    listed = config.get("checks") or ([config] if "entry" in config or "command" in config else [])
    return [check.get("name") or check.get("entry") or " ".join(check.get("command", [])) for check in listed]


class LeaksFound(Exception):
    """A check found leaks: its message is the console report."""


class ConfigChecks(pytest.File):
    def collect(self):
        for name in _check_names(self.path):
            yield ConfigCheck.from_parent(self, name=name)


class ConfigCheck(pytest.Item):
    def runtest(self):
        root = str(self.config.rootpath)
        options = {"config": str(self.path), "check": [self.name], "update_baseline": _update(self.config)}
        result, report = run_check(None, cwd=root, root=root, **options)
        if result.get("status") == "fail":
            raise LeaksFound(report)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, LeaksFound):
            return str(excinfo.value)
        if isinstance(excinfo.value, PreforkCheckError):
            return f"PreforkCheckError: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"prefork-check: {self.name}"


__all__ = ["PreforkCheckError", "prefork_check"]
