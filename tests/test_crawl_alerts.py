"""`newswatch crawl` and `newswatch demo` take the alerts file as `run` does
(`--alerts-config FILE`, default config/alerts.yaml) or none (`--no-alerts`): the alerts
they queue are for the channels of the file given, and can be delivered with it. Real
crawls of the farm, in their own processes; a real webhook receiver."""

from __future__ import annotations

import functools
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from monitor.farm import Farm
from monitor.run import crawl
from monitor.run.demo import run_demo
from monitor.sources import DEMO_CONFIG

from .channels import SECRET, Receiver
from .conftest import REPO
from .test_daemon import CLI
from .test_docs import _free_farm_port


def _hook_only(path: Path) -> Path:
    """An alerts file with one webhook channel of its own name (not the shipped ones)."""
    path.write_text('channels:\n  desk-hook:\n    webhook: "${NW_HOOK_URL}"\n'
                    '    secret: "${NW_HOOK_SECRET}"\n'
                    "rules:\n  - name: desk\n    channels: [desk-hook]\n", encoding="utf-8")
    return path


def _channels(db: Path) -> dict[str, int]:
    """Alerts per channel (empty when none was ever queued)."""
    conn = sqlite3.connect(db)
    try:
        if not conn.execute("select 1 from sqlite_master where name = 'alerts'").fetchone():
            return {}
        return dict(conn.execute("select channel, count(*) from alerts group by channel"))
    finally:
        conn.close()


def _articles(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("select count(*) from articles where relevant = 1").fetchone()[0]
    finally:
        conn.close()


def _newswatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=REPO, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=300)


def test_crawl_with_an_alerts_file_queues_for_its_channels_and_they_deliver(
        farm: Farm, receiver: Receiver, tmp_path: Path) -> None:
    db, alerts = tmp_path / "custom.db", _hook_only(tmp_path / "desk.yaml")
    env = {**farm.variables, "NW_HOOK_URL": receiver.url, "NW_HOOK_SECRET": SECRET}
    done = _newswatch("crawl", "--config", str(DEMO_CONFIG), "--source", "laodong_en",
                      "--db", str(db), "--alerts-config", str(alerts), env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    queued = _channels(db)
    assert set(queued) == {"desk-hook"} and queued["desk-hook"] > 0, queued
    # the same file delivers them: nothing is left for a channel it does not have
    done = _newswatch("alerts", "--db", str(db), "--alerts-config", str(alerts), "deliver",
                      env=env)
    assert done.returncode == 0, done.stderr
    assert f"sent {queued['desk-hook']}, retrying 0, failed 0" in done.stdout, done.stderr
    assert len(set(receiver.keys)) == queued["desk-hook"]


def test_crawl_with_no_alerts_queues_none(farm: Farm, tmp_path: Path) -> None:
    db = tmp_path / "quiet.db"
    done = _newswatch("crawl", "--config", str(DEMO_CONFIG), "--source", "laodong_en",
                      "--db", str(db), "--no-alerts", env=farm.variables)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _articles(db) > 0  # relevant articles were stored (they alert by default)
    assert _channels(db) == {}


def test_crawl_by_default_queues_for_the_shipped_channels(farm: Farm, tmp_path: Path) -> None:
    """The default is config/alerts.yaml, as for `run`."""
    db = tmp_path / "default.db"
    done = _newswatch("crawl", "--config", str(DEMO_CONFIG), "--source", "laodong_en",
                      "--db", str(db), env=farm.variables)
    assert done.returncode == 0, done.stderr[-3000:]
    assert set(_channels(db)) == {"analysts-email", "analysts-webhook"}


@pytest.mark.parametrize("command", ["crawl", "demo", "run"])
def test_bad_alerts_options_are_one_line_exit_2(command: str, tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    extra = ["--port", str(_free_farm_port())] if command == "demo" else []
    missing = _newswatch(command, "--db", str(db), *extra, "--alerts-config",
                         str(tmp_path / "nope.yaml"))
    both = _newswatch(command, "--db", str(db), *extra, "--alerts-config",
                      str(tmp_path / "nope.yaml"), "--no-alerts")
    for done, says in ((missing, "nope.yaml: no such alerts file"),
                       (both, "give --alerts-config or --no-alerts, not both")):
        assert done.returncode == 2, done.stderr
        lines = [x for x in done.stderr.splitlines() if x.strip()]
        assert len(lines) == 1 and says in lines[0], done.stderr


def test_demo_takes_the_alerts_file(receiver: Receiver, tmp_path: Path) -> None:
    """run_demo (what `newswatch demo` calls) with an alerts file, then with none; one
    source (of the demo's farm, on a free port) keeps it short."""
    one = functools.partial(crawl, sources=["laodong_en"])
    custom, quiet = tmp_path / "custom.db", tmp_path / "quiet.db"
    run_demo(custom, runner=one, port=_free_farm_port(),
             alerts=_hook_only(tmp_path / "desk.yaml"))
    assert set(_channels(custom)) == {"desk-hook"}
    run_demo(quiet, runner=one, port=_free_farm_port(), alerts=None)
    assert _articles(quiet) > 0 and _channels(quiet) == {}


def test_run_with_no_alerts_queues_none(farm: Farm, tmp_path: Path) -> None:
    """`newswatch run --no-alerts`: the daemon crawls and queues no alert."""
    import signal

    from .test_daemon import _config, _state, _wait

    db = tmp_path / "daemon.db"
    daemon = subprocess.Popen(
        [*CLI, "run", "--config", str(_config(tmp_path, ["laodong_en"])), "--db", str(db),
         "--no-alerts", "--log-level", "WARNING"],
        cwd=REPO, env={**os.environ, **farm.variables}, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    try:
        _wait(lambda: db.exists() and any(r["status"] == "finished"
                                          for r in _state(db)["last_runs"]), 90, "a crawl")
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=90)
    assert code == 0, daemon.stderr.read()[-3000:]
    assert _articles(db) > 0 and _channels(db) == {}
