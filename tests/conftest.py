"""Shared fixtures: the replica farm and a database filled by a real crawl of it."""

from __future__ import annotations

import ctypes
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.farm import Farm
from monitor.run import CrawlResult, crawl
from monitor.sources import DEMO_CONFIG

REPO = Path(__file__).resolve().parents[1]
# A wait on a condition gives up after its stated seconds times PATIENCE: the seconds say
# what an idle machine needs, the deadline is only there so that a broken test ends. The
# whole suite beside two CPU burners and other work (a load of 25 on 2 cores) took 3-4x
# an idle machine's time: a daemon's first crawl took more than 40 s there.
PATIENCE = 4.0
# what the interpreter, not newswatch, prints when something goes wrong: a leaked
# semaphore's warning, a warning of any category, a traceback (issue 31: none on any stop)
INTERPRETER_NOISE = re.compile(r"resource_tracker|leaked semaphore|\b[A-Z]\w*Warning\b|Traceback")


_PR_SET_CHILD_SUBREAPER = 36


@pytest.fixture(scope="session", autouse=True)
def no_process_left_behind() -> Iterator[None]:
    """The test session adopts every orphan of the processes it starts (Linux: a child
    subreaper), and at its end none may be left: a crawl, forkserver or extraction worker
    that outlived its parent would show here. Any found are killed, and the session
    fails."""
    try:
        subreaper = ctypes.CDLL("libc.so.6", use_errno=True).prctl(
            _PR_SET_CHILD_SUBREAPER, 1) == 0
    except (OSError, AttributeError):
        subreaper = False
    yield
    if not subreaper:
        return
    from monitor.processes.lifecycle import processes

    def leftovers() -> list[int]:
        mine = os.getpid()
        found = []
        for pid, (_, parent, _, _) in processes().items():
            if parent != mine:
                continue
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"resource_tracker" not in cmdline and b"newswatch-burner" not in cmdline:
                found.append(pid)
        return found

    deadline = time.monotonic() + 10
    while (left := leftovers()) and time.monotonic() < deadline:
        time.sleep(0.2)
    described = []
    for pid in left:
        try:
            described.append(f"{pid}: " + Path(f"/proc/{pid}/cmdline").read_bytes()
                             .replace(b"\0", b" ").decode(errors="replace")[:200])
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    assert not left, "processes left behind by the tests:\n" + "\n".join(described)


@pytest.fixture(scope="session", autouse=True)
def farm_is_private() -> Iterator[None]:
    """The farm, the tests' own servers and every site the suite crawls are on
    127.0.0.0/8, which the SSRF guard refuses unless allowed (crawler/ssrf.py): the
    session allows every address (``NEWSWATCH_ALLOW_PRIVATE=1``, inherited by the crawl
    processes). The tests of the guard itself (tests/test_ssrf.py, tests/security/) set
    the setting to what they mean."""
    from crawler.ssrf import ALLOW_ENV

    before = os.environ.get(ALLOW_ENV)
    os.environ[ALLOW_ENV] = "1"
    yield
    if before is None:
        os.environ.pop(ALLOW_ENV, None)
    else:
        os.environ[ALLOW_ENV] = before


@pytest.fixture(scope="session", autouse=True)
def ledger_violations(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every crawl the suite makes checks its ledger's identities when it closes
    (crawler.ledger); crawl processes inherit ``NEWSWATCH_LEDGER_VIOLATIONS`` and append
    each identity that does not hold to this file, and ``ledger_balances`` fails the test
    whose crawl wrote one."""
    from crawler.ledger import VIOLATIONS_ENV

    path = tmp_path_factory.mktemp("ledger") / "violations.jsonl"
    path.touch()
    before = os.environ.get(VIOLATIONS_ENV)
    os.environ[VIOLATIONS_ENV] = str(path)
    yield path
    if before is None:
        os.environ.pop(VIOLATIONS_ENV, None)
    else:
        os.environ[VIOLATIONS_ENV] = before


@pytest.fixture(autouse=True)
def ledger_balances(ledger_violations: Path) -> Iterator[None]:
    """Fails a test if a crawl it made (in any process) left a ledger that does not
    balance."""
    start = ledger_violations.stat().st_size
    yield
    with ledger_violations.open("rb") as found:
        found.seek(start)
        new = found.read().decode("utf-8", "replace").strip()
    assert not new, "a crawl's ledger does not balance (crawler.ledger):\n" + new[:4000]


@pytest.fixture(scope="session")
def farm() -> Iterator[Farm]:
    """The farm with its full corpus, shared and never modified by tests."""
    with Farm() as running:
        yield running


@pytest.fixture(scope="session")
def crawled(farm: Farm, tmp_path_factory: pytest.TempPathFactory) -> CrawlResult:
    """One real Scrapy crawl of every replica source into a fresh database."""
    db = tmp_path_factory.mktemp("crawl") / "news.db"
    return crawl(DEMO_CONFIG, db, variables=farm.variables)


@pytest.fixture
def fresh_farm() -> Iterator[Farm]:
    """A farm of its own, for tests that publish or edit articles."""
    with Farm() as running:
        yield running


def in_signal_mask(pid: int, mask: str, signum: int) -> bool:
    """``signum`` is in process ``pid``'s ``mask`` line of /proc/PID/status (``SigCgt``:
    it has a handler; ``SigIgn``: it ignores it); False once the process is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            bits = next(int(line.split()[1], 16) for line in status
                        if line.startswith(f"{mask}:"))
    except (OSError, StopIteration):
        return False
    return bool(bits >> (signum - 1) & 1)


from .burners import (  # noqa: E402,F401  (--burners N: a loaded machine)
    pytest_addoption,
    pytest_configure,
    pytest_report_header,
    pytest_unconfigure,
)
from .channels import receiver, smtp  # noqa: E402,F401  (real SMTP and webhook fixtures)
from .redis_server import redis_server  # noqa: E402,F401  (a real redis-server, monitor.fleet)
