"""The daemon's SIGTERM while its housekeeping jobs are busy: it must still exit.

APScheduler's ``shutdown(wait=True)`` holds the scheduler's job-store lock while it waits
for the running jobs; a job that asks the scheduler anything at that moment (the
heartbeat reads the next run times, a config reload adds or reschedules jobs) waits for
that lock, and the daemon waited for the job: it never exited (found under load, when a
heartbeat waits for the database behind a crawl's write). These tests make that moment
certain, with a real process, a real database lock and real signals.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from monitor.farm import Farm
from monitor.sources import DEMO_CONFIG

from .conftest import REPO
from .test_daemon import CLI, _state, _wait

pytestmark = pytest.mark.timing  # CI runs it with CPU burners beside it (tests/burners.py)


def _config(path: Path, comment: str = "") -> None:
    """One farm source crawled once at the start (then every hour)."""
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    data["sources"] = [{**s, "interval": "1h", "jitter": "0s", "crawl_timeout": "60s"}
                       for s in data["sources"] if s["name"] == "laodong_en"]
    staged = path.with_suffix(".new")
    staged.write_text(yaml.safe_dump(data, allow_unicode=True) + comment, encoding="utf-8")
    os.replace(staged, path)


@contextmanager
def crawled_once(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, Path, Path, Path]]:
    """`newswatch run` on one farm source (laodong_en, every hour), no alerts, its log in
    a file: yields ``(daemon, db, config, log file)`` once its first crawl finished; a
    daemon still running when the block ends is killed."""
    db, config, log_file = tmp_path / "stop.db", tmp_path / "sources.yaml", tmp_path / "log"
    _config(config)
    no_alerts = tmp_path / "alerts.yaml"
    no_alerts.write_text("channels: {}\nrules: []\n", encoding="utf-8")
    with Farm(sites=["laodong_en"]) as farm, log_file.open("w") as log:
        daemon = subprocess.Popen(
            [*CLI, "run", "--config", str(config), "--db", str(db), "--alerts-config",
             str(no_alerts), "--log-level", "INFO"],
            cwd=REPO, env={**os.environ, **farm.variables}, stdout=subprocess.DEVNULL,
            stderr=log, text=True)
        try:
            _wait(lambda: db.exists() and any(r["status"] == "finished" for r in
                                              _state(db)["last_runs"]), 60,
                  "the first crawl")
            yield daemon, db, config, log_file
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()


def stopped_cleanly(code: int | None, db: Path, log_file: Path) -> None:
    """The daemon exited 0 with no traceback in its log, its last heartbeat "stopped"."""
    logged = log_file.read_text()
    assert code == 0, logged[-3000:]
    assert "Traceback" not in logged, logged[-3000:]
    store = sqlite3.connect(db)
    try:
        (state,) = store.execute("select state from daemon").fetchone()
    finally:
        store.close()
    assert '"status": "stopped"' in state


def test_sigterm_while_a_heartbeat_waits_for_the_database_exits(tmp_path: Path) -> None:
    """Another process holds the database's write lock: a config reload's heartbeat waits
    for it (holding the heartbeat's turn), the heartbeat job waits behind it; SIGTERM
    then, the lock released a second later: the daemon exits 0 within seconds, its last
    heartbeat says stopped."""
    with crawled_once(tmp_path) as (daemon, db, config, log_file):
        writer = sqlite3.connect(db, timeout=30)
        writer.execute("begin immediate")  # a long write elsewhere (a crawl, a backfill)
        try:
            _config(config, "# touched\n")  # the config job reloads, then beats
            # the reload's heartbeat (config job, every 5 s) and the heartbeat job
            # (every 5 s) both come while the lock is held
            _wait(lambda: "config reloaded" in log_file.read_text(), 15, "the reload")
            time.sleep(6)
            daemon.send_signal(signal.SIGTERM)
            time.sleep(1)
        finally:
            writer.rollback()
            writer.close()
        try:
            code = daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            code = None
    stopped_cleanly(code, db, log_file)
