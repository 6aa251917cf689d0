"""Crawl runs left `running` by a crawl process that is gone (kill -9) are closed by the
next crawl or daemon start, with a truthful reason; a run whose crawl still runs is never
touched. Real processes, real signals, real SQLite files, the farm."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from monitor.farm import Farm
from monitor.processes.lifecycle import session_members
from monitor.run import crawl
from monitor.sources import DEMO_CONFIG
from monitor.store import Store
from monitor.store.db import ORPHANED
from monitor.store.owners import is_alive, process_identity

from .conftest import REPO
from .test_daemon import CLI, _wait

pytestmark = pytest.mark.timing  # CI runs it with CPU burners beside it (tests/burners.py)


@pytest.fixture(scope="module")
def farm() -> Iterator[Farm]:
    """Every farm site, 1,500 extra articles: a crawl long enough to be killed mid-way."""
    with Farm(extra=1500) as running:
        yield running


def _runs(db: Path) -> list[dict]:
    store = Store(db)
    try:
        return store.runs()
    finally:
        store.close()


def _articles(db: Path) -> int:
    if not db.exists():
        return 0
    store = Store(db)
    try:
        return store.db["articles"].count
    finally:
        store.close()


def _gone(pids: list[int], within: float) -> list[int]:
    deadline = time.monotonic() + within
    while True:
        alive = [pid for pid in pids if is_alive(pid, None)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def test_kill_9_of_a_cli_crawl_then_a_crawl_of_one_source_closes_every_orphan(
        farm: Farm, tmp_path: Path) -> None:
    """`newswatch crawl` of every demo source, kill -9 once articles are stored: its runs
    stay `running` (their owner is gone). A later crawl of one source closes every one
    of them, of every source, as `aborted: its crawl process ended ... (killed?)`, and
    its own run finishes; `newswatch status` lists none running."""
    db = tmp_path / "k9.db"
    proc = subprocess.Popen([*CLI, "crawl", "--config", str(DEMO_CONFIG), "--db", str(db)],
                            cwd=REPO, env={**os.environ, **farm.config_variables()},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        _wait(lambda: _articles(db) >= 20, 120, "articles stored")
        members = session_members(proc.pid)
        proc.kill()  # kill -9 of newswatch crawl; its crawl process dies with it
        proc.wait()
        assert _gone(members, 10) == []
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    orphans = [run for run in _runs(db) if run["status"] == "running"]
    assert len(orphans) >= 2, _runs(db)
    print(f"{len(orphans)} runs left running by the kill -9")
    assert all(run["owner_pid"] and not is_alive(run["owner_pid"], run["owner_start"])
               for run in orphans)
    assert len({run["source"] for run in orphans}) >= 2

    result = crawl(DEMO_CONFIG, db, variables=farm.config_variables(),
                   sources=["laodong_en"])
    assert result.ok, result.runs
    runs = {run["id"]: run for run in _runs(db)}
    for orphan in orphans:  # every source's, not only the one crawled
        closed = runs[orphan["id"]]
        assert closed["status"] == ORPHANED
        assert closed["finished"]
        assert closed["started"] == orphan["started"]  # only its end is written
    assert not [run for run in runs.values() if run["status"] == "running"]
    (own,) = result.runs
    assert own["status"] == "finished" and own["owner_pid"] not in (None, os.getpid())

    shown = subprocess.run([*CLI, "status", "--db", str(db), "--json"], cwd=REPO,
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert '"status": "running"' not in shown.stdout


def _silent_config(tmp_path: Path) -> Path:
    """mofa_en alone, checked every hour, no time limit to speak of."""
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    data["sources"] = [{**s, "interval": "1h", "jitter": "0s", "crawl_timeout": "10m"}
                       for s in data["sources"] if s["name"] == "mofa_en"]
    path = tmp_path / "mofa.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_a_live_crawls_run_is_never_closed_by_another_crawl_or_a_daemon_start(
        farm: Farm, tmp_path: Path) -> None:
    """`newswatch crawl` of mofa_en against a host that accepts and never answers: its
    run stays `running` while it lives. A crawl of another source, and a daemon started
    on the same database with mofa_en in its config, leave that run alone (before, the
    daemon's start marked it "aborted: daemon stopped during the crawl"). Once that crawl
    is killed with kill -9, the next crawl closes its run as orphaned."""
    db = tmp_path / "live.db"
    config = _silent_config(tmp_path)
    no_alerts = tmp_path / "alerts.yaml"
    no_alerts.write_text("channels: {}\nrules: []\n", encoding="utf-8")
    with socket.socket() as silent:
        silent.bind(("127.0.0.84", 0))
        silent.listen(64)  # accepts (in the kernel), never answers
        url = f"http://127.0.0.84:{silent.getsockname()[1]}"
        env = {**os.environ, **farm.config_variables(), "FARM_MOFA_EN": url,
               "FARM_MOFA_EN_HOST": "127.0.0.84"}
        hung = subprocess.Popen([*CLI, "crawl", "--config", str(config), "--db", str(db)],
                                cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        daemon = None
        try:
            _wait(lambda: db.exists() and any(r["status"] == "running" for r in _runs(db)),
                  90, "the hung crawl's run")
            (live,) = _runs(db)
            assert is_alive(live["owner_pid"], live["owner_start"])

            result = crawl(DEMO_CONFIG, db, variables=farm.config_variables(),
                           sources=["laodong_en"])  # a crawl starts: reaps, finishes
            assert result.ok
            assert {r["id"]: r for r in _runs(db)}[live["id"]]["status"] == "running"

            daemon = subprocess.Popen(
                [*CLI, "run", "--config", str(config), "--db", str(db), "--alerts-config",
                 str(no_alerts)], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, text=True)
            _wait(lambda: len([r for r in _runs(db) if r["source"] == "mofa_en"]) >= 2, 60,
                  "the daemon's own crawl of mofa_en")  # its start-up is behind it
            assert {r["id"]: r for r in _runs(db)}[live["id"]]["status"] == "running"
            daemon.send_signal(signal.SIGTERM)
            _, err = daemon.communicate(timeout=60)
            assert daemon.returncode == 0, err[-3000:]
            assert "Traceback" not in err, err[-3000:]
            assert {r["id"]: r for r in _runs(db)}[live["id"]]["status"] == "running"
            assert hung.poll() is None

            hung.kill()  # kill -9: now its run is an orphan
            hung.wait()
            _wait(lambda: not is_alive(live["owner_pid"], live["owner_start"]), 10,
                  "the hung crawl's process to die with it")
        finally:
            for proc in (hung, daemon):
                if proc is not None and proc.poll() is None:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait()
    crawl(DEMO_CONFIG, db, variables=farm.config_variables(), sources=["laodong_en"])
    assert {r["id"]: r for r in _runs(db)}[live["id"]]["status"] == ORPHANED


def test_process_identity_tells_a_reused_pid_and_a_zombie(tmp_path: Path) -> None:
    """A live process is alive under its identity; the same pid with another start time
    (what a reused pid looks like) is not; an ended process not yet reaped (a zombie)
    is not; a run with no owner recorded counts as orphaned."""
    child = subprocess.Popen(["sleep", "30"])
    try:
        pid, start = process_identity(child.pid)
        assert is_alive(pid, start)
        boot, ticks = start.rsplit("/", 1)
        assert not is_alive(pid, f"{boot}/{int(ticks) + 1}")
        child.kill()
        time.sleep(0.5)  # not waited for yet: a zombie
        assert Path(f"/proc/{pid}").exists()
        assert not is_alive(pid, start)
    finally:
        child.kill()
        child.wait()
    assert not is_alive(pid, start)
    assert not is_alive(None, None)
    store = Store(tmp_path / "legacy.db")
    try:
        with store.db.conn:
            store.db["crawl_runs"].insert({"source": "old", "status": "running",
                                           "started": "2026-01-01T00:00:00+00:00"})
        mine = store.start_run("mine")  # this process: alive
        closed = store.reap_orphaned_runs()
        statuses = {r["source"]: r["status"] for r in store.runs()}
    finally:
        store.close()
    assert statuses == {"old": ORPHANED, "mine": "running"} and mine not in closed
