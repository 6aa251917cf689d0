"""Faults around the store and the daemon: locks held by others, kill -9 mid-crawl, a
full database, a config reload with an error."""

from __future__ import annotations

import logging
import os
import re
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from monitor.farm import Farm
from monitor.run import crawl
from monitor.sources import DEMO_CONFIG
from monitor.store import Store, is_full
from monitor.store.db import MAX_PAGES_ENV

from .channels import SECRET, Receiver
from .conftest import REPO
from .test_daemon import CLI, _article, _start, _state, _status, _wait

# the five sites the load figures of these tests were defined on (issue 16 added 24 more)
FIVE = ["baochinhphu_en", "laodong_en", "laodong_vi", "vietnam_vn", "mofa_en"]


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
    # long enough crawls to be caught in the middle (300 articles a site, on the 5 sites)
    with Farm(extra=1500, sites=FIVE) as farm:
        env = {**os.environ, **farm.variables}
        daemon = _start(tmp_path, db, env, deliver_every=3600)
        _wait(lambda: db.exists() and any(r["status"] == "running"
                                          for r in _state(db)["last_runs"]), 90,
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


def _integrity(db: Path) -> dict[str, int]:
    """PRAGMA integrity_check, and every stored article complete (no half-written batch):
    its version row, its full-text row, its story, its similarity bands."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        one = {name: conn.execute(sql).fetchone()[0] for name, sql in {
            "articles": "select count(*) from articles",
            "without version": "select count(*) from articles a where not exists (select 1 "
                               "from versions v where v.article_id = a.id and v.version = 1)",
            "orphan versions": "select count(*) from versions where article_id not in "
                               "(select id from articles)",
            "without fts": "select count(*) from articles where id not in "
                           "(select rowid from articles_fts)",
            "fts rows": "select count(*) from articles_fts",
            "without story": "select count(*) from articles where story_id not in "
                             "(select id from stories)",
            "empty stories": "select count(*) from stories where id not in "
                             "(select story_id from articles)",
            "without bands": "select count(*) from articles a where not exists "
                             "(select 1 from lsh_bands b where b.article_id = a.id)",
            "orphan alerts": "select count(*) from alerts where article_id not in "
                             "(select id from articles)",
        }.items()}
    finally:
        conn.close()
    assert one["fts rows"] == one["articles"]
    assert {k: v for k, v in one.items() if k not in ("articles", "fts rows")} == dict.fromkeys(
        ["without version", "orphan versions", "without fts", "without story", "empty stories",
         "without bands", "orphan alerts"], 0), one
    return one


def test_database_full_fails_the_run_cleanly_then_the_next_crawl_stores_the_rest(
        tmp_path: Path) -> None:
    """A database capped just above its size (PRAGMA max_page_count, the same SQLITE_FULL
    as a full disk) on every connection of `newswatch crawl`: the batch that does not fit
    rolls back, the crawl stops, the run is `failed` with a plain line, the CLI exits 3
    (the database cannot be written now: docs/USAGE.md "Database errors");
    the database is intact; with room again the next crawl stores the rest."""
    db = tmp_path / "full.db"
    Store(db).close()  # schema in place
    conn = sqlite3.connect(db)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    with Farm(extra=3000, sites=FIVE) as farm:  # about 600 articles per source: many batches
        site = farm.sites["laodong_en"]
        env = {**os.environ, **farm.config_variables(), MAX_PAGES_ENV: str(pages + 300)}
        proc = subprocess.run([*CLI, "crawl", "--config", str(DEMO_CONFIG), "--db", str(db),
                               "--source", "laodong_en"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 3, proc.stderr[-2000:]
        assert "Traceback" not in proc.stderr and proc.stderr.count("error:") == 1
        said = " ".join(proc.stderr.split())
        match = re.search(r"error: crawl failed: database is full \(disk full or size "
                          r"limit\): (\d+) articles not stored", said)
        assert match, said[-2000:]
        assert int(match.group(1)) > 0
        stored = _integrity(db)["articles"]
        (run,) = _runs(db)
        assert run["status"] == "failed" and run["finished"]
        assert run["error_detail"].splitlines() == [
            f"{db.resolve()}: database is full (disk full or size limit): "
            f"{match.group(1)} articles not stored"]
        assert run["errors"] == 1
        assert run["new"] + run["irrelevant"] + run["duplicate"] == stored
        assert run["requests"] < len(site.articles)  # it stopped, not fetched every page
        assert stored < len(site.articles)
        # room again (no cap in this process): the next crawl completes and stores the rest
        result = crawl(DEMO_CONFIG, db, variables=farm.config_variables(),
                       sources=["laodong_en"])
        assert result.ok and result.totals["errors"] == 0
        assert _integrity(db)["articles"] == len(site.articles)


def test_a_run_left_open_by_a_full_database_is_recorded_failed(tmp_path: Path) -> None:
    """When the crawl child could not close its run (the disk was full even for that),
    the runner closes it: `failed`, with the reason as an error line."""
    from monitor.run.crawl import _record_failure

    db = tmp_path / "open.db"
    store = Store(db)
    run = store.start_run("laodong_en")
    store.close()
    message = "database is full (disk full or size limit): 7 articles not stored"
    assert _record_failure(db, ["laodong_en"], message) == ""
    (row,) = _runs(db)
    assert (row["id"], row["status"], row["errors"]) == (run, "failed", 1)
    assert row["error_detail"] == message and row["finished"]


def test_max_pages_caps_the_database(tmp_path: Path) -> None:
    db = tmp_path / "cap.db"
    Store(db).close()
    store = Store(db, max_pages=1)  # below its size: capped at its size
    try:
        with pytest.raises(sqlite3.OperationalError) as caught, store.db.conn:
            store.db.conn.executemany("insert into sources (name, title) values (?, ?)",
                                      [(f"s{i}", "x" * 1000) for i in range(100)])
        assert is_full(caught.value)
    finally:
        store.close()
    assert _integrity(db)["articles"] == 0 and Store(db).db["sources"].count == 0


def _stopped(daemon: subprocess.Popen, log_file: Path, seconds: float = 60) -> int:
    """The daemon's exit code once it has stopped; one still running after ``seconds``
    prints every thread's stack into its log (SIGUSR1, docs/DAEMON.md), is killed, and
    the test fails with that log's end."""
    try:
        return daemon.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        daemon.send_signal(signal.SIGUSR1)
        time.sleep(2)
        daemon.kill()
        daemon.wait()
        raise AssertionError("the daemon did not stop within "
                             f"{seconds:.0f} s:\n{log_file.read_text()[-12000:]}") from None


def test_config_reload_with_an_error_keeps_the_last_good_config(tmp_path: Path) -> None:
    """`newswatch run` with one source; the file is broken (an unknown field): the daemon
    says why, with file:line, once, in its log and in `newswatch status`, and keeps
    crawling; then a valid file with a second source (SIGHUP): it is crawled."""
    db = tmp_path / "reload.db"
    config = tmp_path / "sources.yaml"
    demo = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    sources = {s["name"]: {**s, "interval": "2s", "jitter": "0s", "crawl_timeout": "60s"}
               for s in demo["sources"]}

    def write(names: list[str], broken: bool = False) -> None:
        data = {**demo, "sources": [dict(sources[n]) for n in names]}
        if broken:
            data["sources"][0]["max_pages"] = 3  # not a field: max_listing_pages is
        staged = config.with_suffix(".new")  # as an editor or a deploy should: atomic
        staged.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                          encoding="utf-8")
        os.replace(staged, config)

    write(["laodong_en"])
    no_alerts = tmp_path / "alerts.yaml"
    no_alerts.write_text("channels: {}\nrules: []\n", encoding="utf-8")
    log_file = tmp_path / "daemon.log"
    with Farm() as farm, log_file.open("w") as log:
        env = {**os.environ, **farm.variables}
        daemon = subprocess.Popen(
            [*CLI, "run", "--config", str(config), "--db", str(db), "--alerts-config",
             str(no_alerts), "--log-level", "INFO"],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log, text=True)
        try:
            _wait(lambda: db.exists() and _finished(db, "laodong_en"), 60,
                  "a first crawl: " + log_file.read_text()[-2000:])
            status = _status(db)["daemon"]
            assert status["config_error"] is None and status["config_loaded"]
            write(["laodong_en"], broken=True)
            broke = _last_id(db)
            _wait(lambda: "config reload failed" in log_file.read_text(), 15,
                  "the reload error in the log")
            line = next(x for x in log_file.read_text().splitlines()
                        if "config reload failed" in x)
            assert " ERROR " in line
            assert re.search(rf"config reload failed: {re.escape(str(config))}:\d+: "
                             r"sources\[0\]\.max_pages: Extra inputs are not permitted; "
                             r"keeping the last good config \(1 sources\)", line), line
            _wait(lambda: _finished(db, "laodong_en", after=broke), 30,
                  "a crawl with the last good config after the break")
            status = _status(db)["daemon"]
            assert status["alive"] and "max_pages" in status["config_error"]
            assert f"{config}:" in status["config_error"]
            text = subprocess.run([*CLI, "status", "--db", str(db)], cwd=REPO, env=env,
                                  capture_output=True, text=True, timeout=60).stdout
            assert "config error:" in text and "max_pages" in text
            time.sleep(6)  # more polls of the unchanged broken file: no more log lines
            assert log_file.read_text().count("config reload failed") == 1
            write(["laodong_en", "mofa_en"])
            daemon.send_signal(signal.SIGHUP)
            _wait(lambda: _finished(db, "mofa_en"), 30, "the added source crawled")
            status = _status(db)
            assert status["daemon"]["config_error"] is None
            assert "crawl:mofa_en" in status["next_runs"]
        finally:
            daemon.send_signal(signal.SIGTERM)
            code = _stopped(daemon, log_file)
    logged = log_file.read_text()
    assert code == 0, logged[-3000:]
    assert "SIGHUP: reloading" in logged and "config reloaded: 2 sources" in logged
    assert logged.count("config reload failed") == 1, logged[-3000:]



def test_alerts_config_reload_with_an_error_keeps_the_last_good_one(tmp_path: Path,
                                                                    receiver: Receiver) -> None:
    """The alerts file is broken while `newswatch run` runs: the daemon says why, once, in
    its log and in `newswatch status`, and goes on queueing and delivering alerts with the
    last good rules and channels; a fixed file is picked up."""
    db, alerts, log_file = tmp_path / "alerts-reload.db", tmp_path / "alerts.yaml", \
        tmp_path / "daemon.log"
    good = ('channels:\n  hook:\n    webhook: "${NW_HOOK_URL}"\n    secret: "${NW_HOOK_SECRET}"\n'
            "rules:\n  - name: vn-us\n    channels: [hook]\n")

    def write(text: str) -> None:
        staged = alerts.with_suffix(".new")
        staged.write_text(text, encoding="utf-8")
        os.replace(staged, alerts)

    write(good)
    config = tmp_path / "sources.yaml"
    demo = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    config.write_text(yaml.safe_dump({**demo, "sources": [
        {**s, "interval": "2s", "jitter": "0s", "crawl_timeout": "60s"}
        for s in demo["sources"] if s["name"] == "laodong_en"]}), encoding="utf-8")
    with Farm() as farm, log_file.open("w") as log:
        env = {**os.environ, **farm.variables, "NW_HOOK_URL": receiver.url,
               "NW_HOOK_SECRET": SECRET}
        daemon = subprocess.Popen(
            [*CLI, "run", "--config", str(config), "--db", str(db), "--alerts-config",
             str(alerts), "--deliver-every", "1", "--log-level", "INFO"],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log, text=True)
        try:
            _wait(lambda: db.exists() and _finished(db, "laodong_en") and receiver.bodies
                  and not _state(db)["alerts"].get("pending"), 60, "a first crawl's alerts")
            before = len(receiver.bodies)
            write(good.replace("channels: [hook]", "channels: [hook"))  # YAML syntax error
            _wait(lambda: "alerts config reload failed" in log_file.read_text(), 15,
                  "the reload error in the log")
            url = farm.publish(_article("rare-earths-deal", "Vietnam and US sign rare earths "
                                        "deal", 5))
            _wait(lambda: len(receiver.bodies) > before, 60,
                  "an alert sent with the last good alerts config")
            assert [b["article"]["url"] for b in receiver.bodies[before:]] == [url]
            assert str(alerts) in _status(db)["daemon"]["alerts_error"]
            text = subprocess.run([*CLI, "status", "--db", str(db)], cwd=REPO, env=env,
                                  capture_output=True, text=True, timeout=60).stdout
            assert "alerts config error:" in text
            time.sleep(6)  # more polls of the unchanged broken file: no more log lines
            assert log_file.read_text().count("alerts config reload failed") == 1
            write(good)
            _wait(lambda: "alerts config reloaded" in log_file.read_text(), 15,
                  "the fixed file picked up")
            _wait(lambda: _state(db)["daemon"]["alerts_error"] is None, 15, "status clear")
        finally:
            code = _terminate(daemon)
    logged = log_file.read_text()
    assert code == 0, logged[-12000:]
    line = next(x for x in logged.splitlines() if "alerts config reload failed" in x)
    assert " ERROR " in line and re.search(rf"{re.escape(str(alerts))}(:\d+)?: invalid alerts "
                                           "config", line), line
    assert "keeping the last good alerts config" in line
    assert "Traceback" not in logged


def _terminate(daemon: subprocess.Popen) -> int | None:
    """SIGTERM; the exit code, or None (after SIGKILL) if it did not stop in 60 s."""
    daemon.send_signal(signal.SIGTERM)
    try:
        return daemon.wait(timeout=60)
    except subprocess.TimeoutExpired:
        daemon.send_signal(signal.SIGUSR1)  # every thread's stack into its log first
        time.sleep(2)
        daemon.kill()
        daemon.wait()
        return None


def _finished(db: Path, source: str, after: int = 0) -> bool:
    return any(r["status"] == "finished" and r["source"] == source and r["id"] > after
               for r in _runs(db))


def _last_id(db: Path) -> int:
    return max((r["id"] for r in _runs(db)), default=0)


def test_a_crawler_opened_after_the_alerts_file_broke_queues_with_the_last_good_rules(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The warm crawl service checks the alerts file when a job starts and hands its
    crawlers the path; a crawler opening later (seconds, under load) found the file broken
    and its new articles were stored with no alert queued. Its pipeline now keeps the
    rules the file last loaded to in the process, said once; a file that never loaded
    there is still an error."""
    from crawler.pipelines import _alert_config

    path = tmp_path / "alerts.yaml"
    path.write_text('channels:\n  hook:\n    webhook: "http://127.0.0.1:9/"\n'
                    "rules:\n  - name: vn-us\n    channels: [hook]\n", encoding="utf-8")
    good = _alert_config(str(path))
    assert [rule.name for rule in good.rules] == ["vn-us"]
    path.write_text("rules: [\n", encoding="utf-8")  # broken meanwhile
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))  # a new stamp, surely
    with caplog.at_level(logging.WARNING):
        assert _alert_config(str(path)) is good
        assert _alert_config(str(path)) is good  # every source's crawler: one line
    assert caplog.text.count("does not load") == 1
    never = tmp_path / "never.yaml"
    never.write_text("rules: [\n", encoding="utf-8")
    with pytest.raises(ValueError):
        _alert_config(str(never))
