"""`newswatch check SOURCE` (issue 29): the running daemon crawls a source now, on request.
A real daemon process (`newswatch run`) on the farm, whose source's interval is an hour, so
a crawl after its first can only come from the request; real signals (SIGUSR2), a real
lock. The errors: one line and their exit codes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from monitor.farm import Farm
from monitor.run import check, status
from monitor.sources import DEMO_CONFIG
from monitor.store import Store

from .conftest import PATIENCE, REPO
from .test_removals import _story

CLI = [sys.executable, "-m", "monitor.cli"]
SITE = "laodong_en"


def _config(tmp_path: Path) -> Path:
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    data["sources"] = [{**s, "interval": "1h", "jitter": "0s", "crawl_timeout": "120s"}
                       for s in data["sources"] if s["name"] == SITE]
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _wait(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds * PATIENCE
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _rows(db: Path, sql: str, params: list | None = None) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute(sql, params or [])]
    finally:
        conn.close()


def _check(db: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "check", *args, "--db", str(db)], cwd=REPO,
                          env=env or dict(os.environ), capture_output=True, text=True,
                          timeout=120)


def _line(proc: subprocess.CompletedProcess, code: int) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr
    lines = (proc.stdout if code == 0 else proc.stderr).strip().splitlines()
    assert len(lines) == 1, (proc.stdout, proc.stderr)
    return lines[0]


def _seconds(later: str, earlier: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


def test_check_makes_the_running_daemon_crawl_the_source_at_once(fresh_farm: Farm,
                                                                 tmp_path: Path) -> None:
    """The daemon's source crawls every hour; after its first crawl an article is
    published on the farm. `newswatch check laodong_en` is taken by the daemon at once
    (SIGUSR2), a crawl of the source starts within seconds and stores the article; the
    hourly schedule is not moved. Asked twice while that crawl runs (or before it
    starts), the requests are queued, not refused, and answered by a later crawl. An
    unknown source is one line with the close names (exit 2); once the daemon stopped,
    `check` says no daemon runs (exit 3)."""
    farm, db, log = fresh_farm, tmp_path / "check.db", tmp_path / "daemon.log"
    env = {**os.environ, **farm.variables}
    with log.open("w") as err:
        daemon = subprocess.Popen([*CLI, "run", "--config", str(_config(tmp_path)), "--db",
                                   str(db), "--no-alerts", "--log-level", "INFO"],
                                  cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        _wait(lambda: db.exists() and any(r["status"] == "finished"
                                          for r in status(db)["last_runs"]), 120,
              "the daemon's first crawl")
        next_run = status(db)["next_runs"][f"crawl:{SITE}"]
        assert datetime.fromisoformat(next_run) > datetime.now(UTC) + timedelta(minutes=50)
        runs_before = len(_rows(db, "select id from crawl_runs"))
        url = farm.publish(_story("minerals-on-request", 7))

        line = _line(_check(db, SITE, env=env), 0)
        assert line.startswith(f"check {SITE}: taken by the daemon (pid {daemon.pid}) in ")
        assert line.endswith(": crawling now (request 1)"), line
        _wait(lambda: _rows(db, "select state from control_requests where id = 1")[0][
            "state"] == "done", 180, "the requested crawl")
        request = _rows(db, "select * from control_requests where id = 1")[0]
        run = _rows(db, "select * from crawl_runs where id = ?", [request["run_id"]])[0]
        assert run["source"] == SITE and run["status"] == "finished"
        assert run["id"] > runs_before and run["new"] == 1, run
        assert _rows(db, "select id from articles where url = ?", [url])  # stored now
        assert request["daemon"] == daemon.pid and request["note"].startswith(
            f"crawl run {run['id']} finished: new 1")
        took, started = (_seconds(request["taken"], request["requested"]),
                         _seconds(run["started"], request["requested"]))
        print(f"\ncheck: taken {took:.0f} s after the request, crawl run started "
              f"{started:.0f} s after it")  # figures for BENCHMARKS/the report (-s)
        assert took <= 5 and started < 120  # at once, not at the next hourly run
        assert status(db)["next_runs"][f"crawl:{SITE}"] == next_run  # schedule unmoved

        # twice in a row: the second finds the first's crawl running or about to start
        first, second = check(db, SITE), check(db, SITE)
        assert first.request["state"] != "pending" and first.request["note"]
        assert second.request["note"].startswith("queued: "), second.request["note"]
        _wait(lambda: all(r["state"] == "done" for r in _rows(
            db, "select state from control_requests")), 240, "the queued crawls")
        answered = _rows(db, "select id, run_id from control_requests where id > 1")
        assert answered[1]["run_id"] >= answered[0]["run_id"] > run["id"]

        line = _line(_check(db, "laodong_em", env=env), 2)
        assert line == (f"error: unknown source 'laodong_em' for the daemon on {db}; "
                        "did you mean laodong_en?")
        assert len(_rows(db, "select id from control_requests")) == 3  # nothing asked
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            code = daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
            code = None
    assert code == 0
    logged = log.read_text()
    assert "Traceback" not in logged, logged[-3000:]
    assert "control request 1 (crawl laodong_en): taken: crawling now" in logged
    line = _line(_check(db, SITE, env=env), 3)
    assert line.startswith(f"error: no newswatch daemon is running on {db} (its last "
                           "heartbeat was ")
    assert line.endswith(f"start one with newswatch run --db {db}, or crawl once with "
                         f"newswatch crawl --source {SITE} --db {db}")


def test_no_daemon_stuck_daemon_and_unknown_source(tmp_path: Path) -> None:
    """No daemon ever ran on the database: exit 3. A live process that holds the daemon
    lock but never takes requests (a stuck daemon): `check --timeout 1` exits 4 and the
    request is withdrawn, so no later daemon acts on it; an unknown source without a
    close name lists the daemon's sources (exit 2)."""
    db = tmp_path / "stuck.db"
    Store(db).close()
    line = _line(_check(db, SITE), 3)
    assert line.startswith(f"error: no newswatch daemon is running on {db} (none ever "
                           "started on it)")
    stuck = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import json, os, sys, time
        from monitor.store import DaemonLock, Store, now
        lock = DaemonLock({str(db)!r})
        lock.acquire()
        store = Store({str(db)!r})
        with store.db.conn:
            store.db["daemon"].upsert({{"name": "newswatch", "pid": os.getpid(),
                                       "started": now(), "beat": now(),
                                       "state": json.dumps({{"status": "running",
                                                            "sources": [{SITE!r}]}})}},
                                      pk="name")
        print("ready", flush=True)
        time.sleep(120)
        """)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert stuck.stdout.readline().strip() == "ready"
        line = _line(_check(db, SITE, "--timeout", "1"), 4)
        assert line == (f"error: the daemon (pid {stuck.pid}) did not take the request to "
                        f"crawl {SITE} within 1 s; withdrawn (is it stuck? see newswatch "
                        "status and its log)")
        assert [r["state"] for r in _rows(db, "select state from control_requests")] == [
            "withdrawn"]
        line = _line(_check(db, "baochinhphu_en"), 2)
        assert line.endswith(f"; its sources: {SITE}"), line
        line = _line(_check(db, SITE, "--no-wait"), 0)
        assert line == (f"check {SITE}: asked the daemon (pid {stuck.pid}); not waiting "
                        "for it to take it (request 2)")
    finally:
        stuck.kill()
        stuck.wait()
    _line(_check(db, SITE), 3)  # the lock died with it
