"""CI runs the test command README states, and that command prints the slowest tests
(CI must stay under 20 minutes on a clean clone; the durations show where time goes)."""

from __future__ import annotations

import re

from .conftest import REPO


def test_readme_states_the_test_command_ci_runs() -> None:
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    stated = re.findall(r"and then runs `(python -m pytest[^`]*)`", readme)
    assert stated, "README no longer says which test commands CI runs"
    run = [line.strip().removeprefix("run_tests ").split(" || ")[0]
           for line in (REPO / ".ci" / "run").read_text().splitlines()
           if line.strip().startswith("run_tests python -m pytest")]
    assert run == stated
    assert all("--durations=" in command for command in stated)


def test_ci_runs_every_test_once_and_the_timing_tests_under_load() -> None:
    """The two runs split the suite: every test not marked soak is in exactly one, and
    the second one has CPU burners beside it."""
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    first, second = re.findall(r"and then runs `(python -m pytest[^`]*)`", readme)
    assert '-m "not soak and not timing"' in first
    assert '-m "timing and not soak"' in second and "--burners 2" in second
