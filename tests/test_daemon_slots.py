"""The daemon runs at most ``max_parallel_crawls`` crawls at once (docs/DAEMON.md):
six sources due together with a cap of 2 are all crawled, never more than two at a time,
and two do run together."""

from __future__ import annotations

import os
import signal
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from monitor.farm import Farm
from monitor.sources import DEMO_CONFIG
from monitor.store import Store

from .conftest import REPO
from .test_daemon import CLI, _wait

pytestmark = pytest.mark.timing  # CI runs it with CPU burners beside it (tests/burners.py)

SIX = ["baochinhphu_en", "laodong_en", "mofa_en", "vietnam_vn", "vnexpress_en", "tuoitre_en"]


def _runs(db: Path) -> list[dict]:
    if not db.exists():
        return []
    store = Store(db)
    try:
        return list(store.db["crawl_runs"].rows)
    finally:
        store.close()


def _most_at_once(runs: list[dict]) -> int:
    """The most runs whose [started, finished] intervals overlap at one moment."""
    edges = sorted([(datetime.fromisoformat(r["started"]), 1) for r in runs]
                   + [(datetime.fromisoformat(r["finished"]), -1) for r in runs],
                   key=lambda edge: (edge[0], edge[1]))  # an end before a start at a tie
    most = running = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


def test_six_due_sources_run_two_at_a_time(tmp_path: Path) -> None:
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    data["max_parallel_crawls"] = 2
    data["sources"] = [{**s, "interval": "1h", "jitter": "0s", "crawl_timeout": "90s"}
                       for s in data["sources"] if s["name"] in SIX]
    assert len(data["sources"]) == len(SIX)
    config, db = tmp_path / "sources.yaml", tmp_path / "slots.db"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    no_alerts = tmp_path / "alerts.yaml"
    no_alerts.write_text("channels: {}\nrules: []\n", encoding="utf-8")
    with Farm(sites=sorted({s["name"] for s in data["sources"]})) as farm:
        daemon = subprocess.Popen(
            [*CLI, "run", "--config", str(config), "--db", str(db), "--alerts-config",
             str(no_alerts), "--log-level", "WARNING"], cwd=REPO,
            env={**os.environ, **farm.config_variables()}, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        try:
            _wait(lambda: len([r for r in _runs(db) if r["status"] == "finished"]) == 6,
                  180, "six finished crawls")
        finally:
            daemon.send_signal(signal.SIGTERM)
            _, errors = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, errors[-2000:]
    runs = _runs(db)
    assert sorted(r["source"] for r in runs) == sorted(SIX)
    assert _most_at_once(runs) == 2, [(r["source"], r["started"], r["finished"]) for r in runs]


def test_a_crawl_waiting_for_a_slot_is_shown_by_status(tmp_path: Path) -> None:
    """Both slots held (two crawls running): a due source waits, the heartbeat lists it
    and ``newswatch status`` says so; the daemon's stop releases the waiter without a
    crawl."""
    import threading

    from monitor.run import Daemon, status

    data = yaml.safe_load((REPO / "config" / "sources.yaml").read_text(encoding="utf-8"))
    data["max_parallel_crawls"] = 2
    config, db = tmp_path / "sources.yaml", tmp_path / "wait.db"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    daemon = Daemon(config, db, alerts=None)
    Store(db).close()
    for _ in range(2):
        daemon.crawl_slots.acquire()  # two crawls hold the slots
    waiter = threading.Thread(target=daemon.crawl_source, args=["laodong_en"])
    waiter.start()
    _wait(lambda: daemon.waiting == {"laodong_en"}, 10, "the crawl to wait")
    daemon.beat()
    assert status(db)["daemon"]["waiting"] == ["laodong_en"]
    shown = subprocess.run([*CLI, "status", "--db", str(db)], cwd=REPO, capture_output=True,
                           text=True, timeout=60)
    assert "waiting for a crawl slot (max_parallel_crawls 2): laodong_en" in shown.stdout
    daemon.interrupt.request()  # the daemon stops; a slot frees: the waiter crawls nothing
    daemon.crawl_slots.release()
    waiter.join(10)
    assert not waiter.is_alive() and daemon.waiting == set()
    assert _runs(db) == []
    daemon.beat()
    if daemon.service is not None:  # (a crawl's warm service: it crawled nothing here)
        daemon.service.close()
    assert status(db)["daemon"]["waiting"] == []


def test_sources_due_at_once_wait_in_a_queue_not_in_a_thread_each(tmp_path: Path) -> None:
    """All 29 sources due at once with one crawl slot (held): the crawl pool starts at
    most ``crawl_threads(1)`` threads (not one per source, as it did: 1,009 threads for
    1,000 sources in issue 33's memory run), every source is listed as waiting, and the
    daemon's stop lets each queued job end without a crawl."""
    from monitor.run import Daemon, status
    from monitor.run.daemon import crawl_threads

    data = yaml.safe_load((REPO / "config" / "sources.yaml").read_text(encoding="utf-8"))
    data["max_parallel_crawls"] = 1
    config, db = tmp_path / "sources.yaml", tmp_path / "queue.db"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    daemon = Daemon(config, db, alerts=None)
    Store(db).close()
    names = {s.name for s in daemon.settings.sources}
    assert len(names) > crawl_threads(1)
    daemon.crawl_slots.acquire()  # a crawl holds the one slot
    for source in daemon.settings.sources:
        daemon._add_crawl_job(source)
    daemon.scheduler.start()
    try:
        threads = crawl_threads(1)
        _wait(lambda: len(daemon.pools[0].waiting()) == len(names) - threads, 30,
              "every thread busy and the other sources' crawls queued")
        assert len(daemon.pools[0].threads._threads) == threads
        queued = {job.split(":")[1] for job in daemon.pools[0].waiting()}
        daemon.beat()
        shown = set(status(db)["daemon"]["waiting"])
        # listed: those queued for a thread and those (in a thread) waiting for the slot
        # (the others wait for their site's turn: another source of the site waits first)
        assert shown == queued | daemon.waiting and len(shown) >= len(names) - 4
    finally:
        daemon.interrupt.request()  # stopping: the queued jobs crawl nothing
        daemon.crawl_slots.release()
        daemon.scheduler.shutdown(wait=False)
        daemon.pools[0].join()
    assert daemon.pools[0].waiting() == [] and daemon.waiting == set()
    assert _runs(db) == []
    if daemon.service is not None:
        daemon.service.close()
