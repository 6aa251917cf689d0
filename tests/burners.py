"""CPU burners beside the tests: ``python -m pytest --burners 2 -m timing``.

A monitor shares its machine with other work. A test whose pass depends on an idle
machine hides timing bugs (issue 31: a 6 s stop grace that ran out before extraction
delivered, politeness gaps, signal races), so CI runs the time-sensitive tests (marked
``timing``) with two burners beside them (``.ci/run``).

A burner is a process that spins on one core at normal priority until the session ends.
It dies with the pytest process that started it (PDEATHSIG) and is started only by the
controller (under pytest-xdist, not by each worker), so ``--burners N`` is N busy cores
whatever ``-n`` is.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

MARK = "newswatch-burner"  # in the burner's command line (tests/conftest.py leaves it)
_BURN = f"# {MARK}\nwhile True:\n    pass\n"
_burners: list[subprocess.Popen[bytes]] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--burners", type=int, default=0, metavar="N",
                     help="run N CPU-burning processes beside the tests (a loaded machine)")


def _die_with_parent() -> None:
    from monitor.processes import die_with_parent

    die_with_parent()


def pytest_configure(config: pytest.Config) -> None:
    count = config.getoption("--burners", 0) or 0
    if count <= 0 or hasattr(config, "workerinput"):  # the controller starts them, once
        return
    for _ in range(count):
        _burners.append(subprocess.Popen(
            [sys.executable, "-c", _BURN], stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent))  # noqa: PLW1509 - only prctl, before exec


def pytest_report_header(config: pytest.Config) -> str | None:
    return f"CPU burners beside the tests: {len(_burners)}" if _burners else None


def pytest_unconfigure(config: Any) -> None:
    while _burners:
        burner = _burners.pop()
        burner.kill()
        burner.wait()
