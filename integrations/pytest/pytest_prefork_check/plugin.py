"""pytest plugin: the `prefork_check` fixture.

    def test_app(prefork_check):
        prefork_check(["gunicorn", "--preload", "app:app"], fork_at_first_fork=True)
"""
import pytest

from .cli import PreforkCheckError, run_check


def pytest_addoption(parser):
    group = parser.getgroup("prefork-check")
    group.addoption(
        "--prefork-check-update-baseline",
        action="store_true",
        help="record the leaks seen now as the known ones (prefork-check --update-baseline)",
    )


@pytest.fixture
def prefork_check(request):
    """Runs a fork check. Leaks fail the test with the console report (each fd, its target, the line
    that made it, the fix); a check that could not be done raises PreforkCheckError. Returns the
    check's JSON object (status, leaks, forkPoint, ...). Options are the CLI's long flags in
    snake_case (fork_marker="READY", fork_at_first_fork=True, allow=[...], baseline=..., timeout=30)."""
    root = str(request.config.rootpath)
    update = request.config.getoption("prefork_check_update_baseline")

    def check(command=None, *, cwd=None, check=True, **options):
        __tracebackhide__ = True  # the failure is the app's, not this plugin's
        if update:
            options.setdefault("update_baseline", True)
        result, report = run_check(command, cwd=cwd or root, root=root, **options)
        if check and result.get("status") == "fail":
            pytest.fail(report, pytrace=False)
        return result

    return check


__all__ = ["PreforkCheckError", "prefork_check"]
