"""Faults around the store and the daemon: locks held by others, kill -9 mid-crawl."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

from monitor.config import DEMO_CONFIG
from monitor.crawl import crawl
from monitor.farm import Farm
from monitor.store import Store

from .test_daemon import _start, _status, _wait


def test_writers_wait_for_a_lock_held_by_another_process_and_succeed(tmp_path: Path) -> None:
    db = tmp_path / "locked.db"
    Store(db).close()  # schema in place
    reader = sqlite3.connect(db)
    reader.execute("begin")
    list(reader.execute("select count(*) from articles"))  # a long read (Datasette)
    blocker = sqlite3.connect(db, check_same_thread=False)
    blocker.execute("begin immediate")  # and a writer lock held for 4 s

    def release() -> None:
        time.sleep(4)
        blocker.rollback()

    threading.Thread(target=release, daemon=True).start()
    with Farm() as farm:
        started = time.monotonic()
        result = crawl(DEMO_CONFIG, db, variables=farm.variables, sources=["mofa_en"])
        waited = time.monotonic() - started
    reader.rollback()
    assert result.ok and result.totals["errors"] == 0
    assert waited > 3  # it waited for the lock instead of failing
    store = Store(db)
    try:
        assert store.db["articles"].count == len(farm.sites["mofa_en"].articles)
    finally:
        store.close()


def test_kill_9_during_a_crawl_then_restart(tmp_path: Path) -> None:
    db = tmp_path / "midcrawl.db"
    with Farm(extra=1500) as farm:  # long enough crawls to be caught in the middle
        env = {**os.environ, **farm.variables}
        daemon = _start(tmp_path, db, env, deliver_every=3600)
        _wait(lambda: db.exists() and any(r["status"] == "running"
                                          for r in _status(db)["last_runs"]), 90,
              "a crawl in progress")
        daemon.kill()  # the daemon only: its crawl child is orphaned, as after a crash
        daemon.wait(timeout=30)
        daemon = _start(tmp_path, db, env, deliver_every=3600)
        try:
            _wait(lambda: any(r["status"] == "finished" for r in _runs(db)), 120,
                  "a complete run after the restart")
        finally:
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=120) == 0
    statuses = [r["status"] for r in _runs(db)]
    assert statuses[0].startswith("aborted")  # the run the kill interrupted
    assert "finished" in statuses and "running" not in statuses


def _runs(db: Path) -> list[dict]:
    store = Store(db)
    try:
        return store.runs()
    finally:
        store.close()
