"""One daemon per database: a second `newswatch run` on a database whose daemon is alive
is refused (exit 2, one line); the lock dies with its daemon (kill -9 or SIGTERM), so a
new daemon starts after either. Real processes, real signals, the farm."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from monitor.farm import Farm
from monitor.store import DaemonLock, DaemonRunning

from .conftest import REPO
from .test_daemon import CLI, _config, _state, _wait

pytestmark = pytest.mark.timing  # CI runs it with CPU burners beside it (tests/burners.py)


def _daemon(config: Path, db: Path, alerts: Path, env: dict[str, str],
            log: Path) -> subprocess.Popen:
    with log.open("a") as err:
        return subprocess.Popen(
            [*CLI, "run", "--config", str(config), "--db", str(db), "--alerts-config",
             str(alerts), "--log-level", "WARNING"],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=err, text=True)


def _finished(db: Path) -> int:
    from monitor.store import Store

    store = Store(db)
    try:
        return sum(1 for run in store.runs() if run["status"] == "finished")
    finally:
        store.close()


def _alive_as(db: Path, pid: int) -> bool:
    daemon = _state(db)["daemon"]
    return daemon["alive"] and daemon["pid"] == pid


def _stop(proc: subprocess.Popen) -> int | None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return None
    return proc.returncode


def test_second_daemon_is_refused_and_the_lock_dies_with_the_daemon(tmp_path: Path) -> None:
    """Daemon A runs (crawling every 2 s); `newswatch run` B on the same database exits 2
    with one `error:` line naming A's pid and the database, and A goes on crawling, its
    heartbeat its own. After kill -9 of A a new daemon C starts and crawls; after
    SIGTERM of C a new daemon D starts."""
    db, log = tmp_path / "one.db", tmp_path / "daemons.log"
    config = _config(tmp_path, ["laodong_en"])
    alerts = tmp_path / "alerts.yaml"
    alerts.write_text("channels: {}\nrules: []\n", encoding="utf-8")
    procs: list[subprocess.Popen] = []
    with Farm(sites=["laodong_en"]) as farm:
        env = {**os.environ, **farm.variables}
        try:
            first = _daemon(config, db, alerts, env, log)
            procs.append(first)
            _wait(lambda: db.exists() and _finished(db) >= 1, 90, "A's first crawl")
            second = subprocess.run(
                [*CLI, "run", "--config", str(config), "--db", str(db), "--alerts-config",
                 str(alerts)], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
            lines = second.stderr.strip().splitlines()
            assert second.returncode == 2, second.stderr[-3000:]
            assert len(lines) == 1, second.stderr[-3000:]
            assert lines[0] == (f"error: a newswatch daemon (pid {first.pid}) is already "
                                f"running on {db.resolve()}; one daemon per database")
            # A is unaffected: alive, the heartbeat still its own, and still crawling
            assert first.poll() is None
            done = _finished(db)
            _wait(lambda: _finished(db) >= done + 2, 60, "A's next crawls")
            assert _alive_as(db, first.pid)

            first.kill()  # kill -9: the kernel drops its flock
            first.wait()
            third = _daemon(config, db, alerts, env, log)
            procs.append(third)
            done = _finished(db)
            _wait(lambda: _alive_as(db, third.pid) and _finished(db) >= done + 1, 90,
                  "C's heartbeat and a crawl after kill -9 of A")
            assert third.poll() is None

            assert _stop(third) == 0  # SIGTERM: an orderly stop releases the lock
            fourth = _daemon(config, db, alerts, env, log)
            procs.append(fourth)
            _wait(lambda: _alive_as(db, fourth.pid), 60, "D's heartbeat after SIGTERM of C")
            assert fourth.poll() is None
            assert _stop(fourth) == 0
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    logged = log.read_text()
    assert "Traceback" not in logged, logged[-3000:]
    # no run of A's crawl killed with A stays "running"
    assert all(run["status"] != "running" for run in _state(db)["last_runs"])


def test_daemon_lock_is_its_own_file_and_exclusive(tmp_path: Path) -> None:
    """The lock is `<db>.daemon-lock` (never the SQLite file), holds the holder's pid,
    refuses a second holder (also in the same process: flock is per open file) and is
    free again once released."""
    db = tmp_path / "lock.db"
    with DaemonLock(db) as lock:
        assert lock.path == db.resolve().with_name("lock.db.daemon-lock")
        assert lock.path.read_text().strip() == str(os.getpid())
        with pytest.raises(DaemonRunning, match=rf"\(pid {os.getpid()}\)"):
            DaemonLock(db).acquire()
    again = DaemonLock(db)
    again.acquire()
    assert again.held
    again.release()
    assert not db.exists()  # the database itself was never opened
