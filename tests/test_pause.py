"""`newswatch sources pause NAME` honoured by a real daemon (issue 30): a real daemon
process (`newswatch run`) on the farm, its source due every 2 s. Paused, each due crawl
of the source is skipped, said in the daemon's log and counted in `newswatch sources
--status` (and the watch list); a `newswatch check` of it is refused; resumed, it
crawls again; paused again while the daemon runs, it stops being crawled. The waits are
on conditions (a log line, a crawl run), never on a clock."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import yaml

from monitor.browse import watch_list
from monitor.farm import Farm
from monitor.sources import DEMO_CONFIG
from monitor.store import Store, pause_source

from .conftest import REPO
from .test_check import _wait

CLI = [sys.executable, "-m", "monitor.cli"]
SITE = "laodong_en"
SKIPPED = f"{SITE}: paused, crawl skipped"


def _config(tmp_path: Path) -> Path:
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    data["sources"] = [{**s, "interval": "2s", "jitter": "0s", "crawl_timeout": "120s"}
                       for s in data["sources"] if s["name"] == SITE]
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _cli(env: dict, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=REPO, env={**env, "COLUMNS": "250"},
                          capture_output=True, text=True, timeout=120)


def _runs(db: Path) -> list[tuple[int, str]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("select id, status from crawl_runs where source = ? order by id",
                            [SITE]).fetchall()
    finally:
        conn.close()


def test_a_paused_source_is_skipped_by_the_daemon_until_resumed(tmp_path: Path) -> None:
    db, log, config = tmp_path / "news.db", tmp_path / "daemon.log", _config(tmp_path)
    Store(db).close()

    def skips() -> int:
        return log.read_text(encoding="utf-8", errors="replace").count(SKIPPED)

    def watch_row() -> dict:  # what `sources --status` prints (monitor.browse.watch_list)
        conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
        try:
            return watch_list(conn, sources=[SITE])[0]
        finally:
            conn.close()

    with Farm(sites=[SITE]) as farm:
        env = {**os.environ, **farm.config_variables()}
        paused = _cli(env, "sources", "pause", SITE, "--db", str(db), "--config",
                      str(config), "--by", "lan")
        assert paused.returncode == 0, paused.stderr
        assert paused.stdout.strip().endswith(
            f": the daemon will not crawl it (newswatch sources resume {SITE})")
        with log.open("w") as err:
            daemon = subprocess.Popen([*CLI, "run", "--config", str(config), "--db", str(db),
                                       "--no-alerts", "--log-level", "INFO"], cwd=REPO,
                                      env=env, stdout=subprocess.DEVNULL, stderr=err)
        try:
            # due at once, then every 2 s: skipped each time, said in the log
            _wait(lambda: skips() >= 2, 60, "two skipped crawls in the daemon's log")
            assert _runs(db) == [], "a paused source is not crawled"
            assert "(2 since the pause; newswatch sources resume laodong_en)" in \
                log.read_text(encoding="utf-8")
            _wait(lambda: watch_row()["skipped"] >= 2, 30, "the skips in the heartbeat")
            listed = _cli(env, "sources", "--status", "--json", "--db", str(db), "--config",
                          str(config))
            assert listed.returncode == 0, listed.stderr
            (row,) = map(json.loads, listed.stdout.splitlines())
            assert row["paused"] and row["paused_by"] == "lan" and row["next_check"] is None
            assert row["skipped"] >= 2 and row["last_skipped"]
            table = _cli(env, "sources", "--status", "--db", str(db), "--config", str(config))
            assert table.returncode == 0, table.stderr
            line = next(line for line in table.stdout.splitlines() if SITE in line)
            assert "none (paused)" in line and "crawl(s) skipped by the daemon" in line, line
            # asked to crawl it now: refused, one line, exit 3
            check = _cli(env, "check", SITE, "--db", str(db))
            assert check.returncode == 3, (check.stdout, check.stderr)
            assert check.stderr.strip().count("\n") == 0
            assert f"refused to crawl {SITE}: the source is paused" in check.stderr
            assert _runs(db) == []

            resumed = _cli(env, "sources", "resume", SITE, "--db", str(db))
            assert resumed.returncode == 0 and resumed.stdout.strip() == f"{SITE} resumed"
            _wait(lambda: any(status == "finished" for _, status in _runs(db)), 120,
                  "a crawl of the resumed source")
            row = watch_row()
            assert not row["paused"] and row["skipped"] == 0 and row["last_check"]

            # paused while the daemon runs: the crawl after the running one is skipped
            before = skips()
            store = Store(db)
            try:
                pause_source(store, SITE, "lan")  # what `sources pause` does
            finally:
                store.close()
            _wait(lambda: skips() > before, 120, "a skip after the second pause")
            runs = _runs(db)
            assert all(status != "running" for _, status in runs), runs
            _wait(lambda: skips() > before + 1, 30, "another skip")
            assert _runs(db) == runs, "no crawl started while paused"
            assert watch_row()["skipped"] >= 1  # counted afresh for this pause
        finally:
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(timeout=90)
        assert code == 0, log.read_text(encoding="utf-8")[-3000:]
