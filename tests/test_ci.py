"""CI runs the test command README states, and that command prints the slowest tests
(CI must stay under 20 minutes on a clean clone; the durations show where time goes)."""

from __future__ import annotations

import re

from .conftest import REPO


def test_readme_states_the_test_command_ci_runs() -> None:
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    stated = re.search(r"and then runs `(python -m pytest[^`]*)`", readme)
    assert stated, "README no longer says which test command CI runs"
    run = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()
           if line.strip().startswith("python -m pytest")]
    assert run == [stated.group(1)]
    assert "--durations=" in stated.group(1)
