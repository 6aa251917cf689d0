"""Exit codes that tell cron the truth: 0 all sources crawled, 1 some source failed or was
unreachable (named), 2 bad input, 130 Ctrl-C (tests/test_lifecycle.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from monitor.farm import Farm
from monitor.farm.sites import SITES as FARM_SITES
from monitor.sources import DEMO_CONFIG

from .conftest import REPO

CLI = [sys.executable, "-m", "monitor.cli"]
SITES = [name.upper() for name in FARM_SITES]  # every site of config/demo.yaml


def _offline(first: int = 61) -> dict[str, str]:
    """Every demo source at a closed port (9, discard: nothing listens) on its own
    127.0.0.x address."""
    env = {}
    for number, site in enumerate(SITES, start=first):
        env[f"FARM_{site}"] = f"http://127.0.0.{number}:9"
        env[f"FARM_{site}_HOST"] = f"127.0.0.{number}"
    return env


def _crawl(db: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "crawl", "--config", str(DEMO_CONFIG), "--db", str(db), *args],
                          cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=300)


def test_offline_crawl_exits_1_and_names_every_unreachable_host_once(tmp_path: Path) -> None:
    proc = _crawl(tmp_path / "offline.db", _offline())
    assert proc.returncode == 1, proc.stderr[-3000:]
    err = proc.stderr
    assert "Traceback" not in err, err[:3000]
    for number in range(61, 61 + len(SITES)):
        host = f"127.0.0.{number}:9"
        lines = [line for line in err.splitlines() if host in line]
        assert len(lines) == 1, (host, lines)  # one line per host, not one per request
        assert "unreachable" in lines[0] and "ConnectionRefusedError" in lines[0]
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"error: {len(SITES)} of {len(SITES)} sources failed or were "
                           "unreachable: "), last
    # a line per host and little else: not hundreds of robots.txt tracebacks
    assert len(err.splitlines()) < 2 * len(SITES) + 10, err


def test_one_unreachable_source_exits_1_naming_it(tmp_path: Path) -> None:
    with Farm() as farm:
        env = {**farm.variables, **{k: v for k, v in _offline(71).items()
                                    if k.startswith("FARM_MOFA_EN")}}
        proc = _crawl(tmp_path / "one.db", env)
    assert proc.returncode == 1, proc.stderr[-3000:]
    mofa = 71 + SITES.index("MOFA_EN")
    assert re.search(rf"127\.0\.0\.{mofa}:9 \(mofa_en\) unreachable", proc.stderr)
    assert proc.stderr.strip().splitlines()[-1] == (
        f"error: 1 of {len(SITES)} sources failed or were unreachable: mofa_en")


def test_a_complete_crawl_exits_0(farm: Farm, tmp_path: Path) -> None:
    proc = _crawl(tmp_path / "ok.db", farm.variables, "--source", "mofa_en")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "unreachable" not in proc.stderr and "error:" not in proc.stderr
