"""The newswatch command, run as a user runs it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from monitor.store import Store

from .conftest import REPO
from .test_docs import _free_farm_port

CLI = [sys.executable, "-m", "monitor.cli"]


def _run(*args: str, cwd: Path = REPO, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "120", **(env or {})})


def test_demo_crawls_the_farm_and_prints_a_summary(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    port = str(_free_farm_port())  # never README's 8800: a user's farm may hold it
    proc = _run("demo", "--db", str(db), "--port", port)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "crawl summary" in proc.stdout and str(db) in proc.stdout
    cells = r"[\s│]+(\d+)" * 6  # found, new, updated, duplicate, irrelevant, unchanged
    total = re.search(r"total" + cells, proc.stdout)
    assert total, proc.stdout
    found, new, updated, duplicate, irrelevant, unchanged = map(int, total.groups())
    assert found >= 65 and new > 0 and duplicate > 0 and irrelevant > 0
    assert new + duplicate + irrelevant == found and updated == unchanged == 0
    store = Store(db)
    try:
        assert store.db["articles"].count == found
    finally:
        store.close()
    again = _run("demo", "--db", str(db), "--port", port)  # same port: same URLs
    assert again.returncode == 0
    found2, new2, updated2, duplicate2, irrelevant2, unchanged2 = map(
        int, re.search(r"total" + cells, again.stdout).groups())
    # incremental: feeds, sitemaps and listings answer 304, stored 2024 articles are skipped
    assert (new2, updated2, duplicate2, irrelevant2) == (0, 0, 0, 0) and unchanged2 <= found


def test_bad_config_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources:\n  - name: BadName\n", encoding="utf-8")
    proc = _run("crawl", "--config", str(bad), "--db", str(tmp_path / "x.db"))
    assert proc.returncode == 2
    assert f"{bad}:2: sources[0].name" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_alerts_file_stops_the_daemon_at_start(tmp_path: Path) -> None:
    missing = tmp_path / "missing-alerts.yaml"
    proc = _run("run", "--db", str(tmp_path / "x.db"), "--alerts-config", str(missing))
    assert proc.returncode == 2
    assert f"{missing}: no such alerts file" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.db").exists()


def test_unknown_source_is_a_clear_error(tmp_path: Path) -> None:
    proc = _run("crawl", "--source", "nosuch", "--db", str(tmp_path / "x.db"))
    assert proc.returncode == 2
    assert "unknown source 'nosuch'" in proc.stderr and "laodong_en" in proc.stderr


def test_farm_command_serves_until_terminated() -> None:
    proc = subprocess.Popen([*CLI, "farm", "--port", "0"], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        match = re.match(r"export FARM_BAOCHINHPHU_EN=(\S+)", line)
        assert match, line
        deadline = time.time() + 10
        while True:
            try:
                with urllib.request.urlopen(match.group(1) + "/robots.txt", timeout=5) as resp:
                    assert resp.status == 200
                break
            except OSError:
                assert time.time() < deadline
                time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
