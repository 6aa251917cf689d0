"""The warm crawl service (``monitor.run.service``, issue 33): one long-lived crawl process
runs the daemon's crawls as jobs, with a crawl process's guarantees. Real processes, real
farm sites on loopback, real kills; every wait is on a condition."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from monitor.farm import Farm
from monitor.processes.lifecycle import descendants, processes
from monitor.run import CrawlError
from monitor.run.service import DIED, CrawlService, ServiceDied
from monitor.sources import DEMO_CONFIG, Settings, load_settings
from monitor.store import Store

from .conftest import REPO
from .politeness_server import Site
from .test_broken_workers import _cmdline
from .test_daemon import CLI

pytestmark = pytest.mark.timing  # real processes on a shared machine


def _runs(db: Path) -> list[dict]:
    if not db.exists():
        return []
    store = Store(db)
    try:
        return list(store.db.query("select * from crawl_runs order by id"))
    finally:
        store.close()


def _wait(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _workers(service_pid: int) -> list[int]:
    """The service's extraction workers and writer: the children of its forkserver."""
    table = processes()
    forkservers = [pid for pid, info in table.items() if info[1] == service_pid
                   and "forkserver" in _cmdline(pid)]
    return [pid for pid, info in table.items() if info[1] in forkservers]


def test_polls_run_in_one_service_process(tmp_path: Path) -> None:
    """Several polls of two farm sources: every run is opened by the same service
    process (no process per poll), and the polls after the first find nothing new."""
    db = tmp_path / "warm.db"
    with Farm(sites=["laodong_en", "mofa_en"]) as farm:
        settings = load_settings(DEMO_CONFIG, farm.config_variables())
        service = CrawlService(db, scrapy_settings={"NEWSWATCH_EXTRACT_WORKERS": 1})
        try:
            pid = service.start()
            results = [service.crawl(settings, [name], timeout=120)
                       for _ in range(3) for name in ("laodong_en", "mofa_en")]
            assert service.pid == pid and service.pids == [pid]
        finally:
            service.close()
    assert all(r.ok for r in results), [r.runs for r in results]
    runs = _runs(db)
    assert len(runs) == 6 and {r["owner_pid"] for r in runs} == {pid}
    assert all(r["status"] == "finished" for r in runs)
    assert sum(r["new"] + r["irrelevant"] for r in runs[2:]) == 0  # unchanged polls
    assert pid not in processes()  # closed: its process group is gone


def test_the_service_is_recycled_after_its_jobs(tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    """``recycle_jobs`` 2: the third poll runs in a new service process, said in one
    line; the old one is gone."""
    db = tmp_path / "recycle.db"
    with Farm(sites=["mofa_en"]) as farm:
        settings = load_settings(DEMO_CONFIG, farm.config_variables())
        service = CrawlService(db, scrapy_settings={"NEWSWATCH_EXTRACT_WORKERS": 1},
                               recycle_jobs=2)
        try:
            with caplog.at_level(logging.INFO, logger="newswatch.service"):
                results = [service.crawl(settings, ["mofa_en"], timeout=120)
                           for _ in range(3)]
            first, second = service.pids
        finally:
            service.close()
    assert all(r.ok for r in results)
    assert [r["owner_pid"] for r in _runs(db)] == [first, first, second]
    said = [r.getMessage() for r in caplog.records if "recycled" in r.getMessage()]
    assert said == [f"crawl service (pid {first}) recycled after 2 jobs: new pid {second}"]
    assert first not in processes() and second not in processes()


def test_a_hanging_source_hits_its_time_limit_while_another_job_completes(
        tmp_path: Path) -> None:
    """A source whose server never answers its articles: its job is stopped at its time
    limit and its run closed ``aborted: no end after 3 s``; a farm source's job, in the
    same service at the same time, finishes; the service goes on."""
    db = tmp_path / "hang.db"
    with Site(["127.0.0.46"], pages=4, latency=lambda k: 300.0) as site, \
            Farm(sites=["mofa_en"]) as farm:
        demo = load_settings(DEMO_CONFIG, farm.config_variables())
        silent = Settings.model_validate({"sources": [
            site.source("silent", concurrency=1, download_delay=0)]})
        service = CrawlService(db, scrapy_settings={"NEWSWATCH_EXTRACT_WORKERS": 1,
                                                    "DOWNLOAD_TIMEOUT": 600})
        outcome: dict[str, object] = {}
        try:
            pid = service.start()

            def hang() -> None:
                try:
                    service.crawl(silent, ["silent"], timeout=3)
                except CrawlError as exc:
                    outcome["hang"] = exc

            thread = threading.Thread(target=hang)
            thread.start()
            _wait(lambda: site.hits, 60, "the silent site's first request")
            outcome["farm"] = service.crawl(demo, ["mofa_en"], timeout=120)
            thread.join(120)
            assert not thread.is_alive()
            again = service.crawl(demo, ["mofa_en"], timeout=120)  # the service goes on
            assert service.pid == pid
        finally:
            service.close(now=True)
    assert "stopped after 3 s" in str(outcome["hang"])
    assert outcome["farm"].ok and again.ok
    statuses = {r["source"]: r["status"] for r in _runs(db)}
    assert statuses["silent"] == "aborted: no end after 3 s"
    assert statuses["mofa_en"] == "finished"


def test_an_extraction_worker_killed_mid_job_does_not_stop_the_service(
        tmp_path: Path) -> None:
    """The workers killed while a job extracts: the job ends (its lost pages counted),
    the service keeps its process, and the next job stores the rest."""
    db = tmp_path / "workers.db"
    killed: list[int] = []
    with Farm(extra=200, sites=["laodong_en"]) as farm:
        settings = load_settings(DEMO_CONFIG, farm.config_variables())
        service = CrawlService(db, scrapy_settings={"NEWSWATCH_EXTRACT_WORKERS": 2})
        try:
            pid = service.start()

            def progress(snapshot: dict) -> None:
                done = sum(c.get("done", 0) for c in snapshot.values())
                if not killed and done >= 20:
                    for worker in _workers(pid):
                        os.kill(worker, signal.SIGKILL)
                        killed.append(worker)

            first = service.crawl(settings, ["laodong_en"], timeout=300, progress=progress)
            second = service.crawl(settings, ["laodong_en"], timeout=300)
            assert service.pid == pid
        finally:
            service.close()
    assert killed, "no worker to kill"
    assert first.runs and first.runs[0]["status"] != "running"
    assert second.ok
    store = Store(db)
    try:
        stored = store.db["articles"].count
    finally:
        store.close()
    assert stored == first.totals["found"]  # the second job stored what the kill lost


def test_a_service_killed_with_sigkill_is_restarted_and_its_runs_recorded_aborted(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "killed.db"
    with Farm(extra=300, sites=["laodong_en", "mofa_en"]) as farm:
        settings = load_settings(DEMO_CONFIG, farm.config_variables())
        service = CrawlService(db, scrapy_settings={"NEWSWATCH_EXTRACT_WORKERS": 1})
        try:
            pid = service.start()
            kill: list[int] = []

            def progress(snapshot: dict) -> None:
                if not kill and any(c.get("run_id") for c in snapshot.values()):
                    kill.append(pid)
                    os.kill(pid, signal.SIGKILL)

            with caplog.at_level(logging.ERROR, logger="newswatch.service"):
                with pytest.raises(ServiceDied):
                    service.crawl(settings, ["laodong_en"], timeout=300, progress=progress)
                _wait(lambda: service.pid not in (None, pid), 30, "the restart")
            after = service.crawl(settings, ["mofa_en"], timeout=300)
            new = service.pid
        finally:
            service.close()
    said = [r.getMessage() for r in caplog.records if "died" in r.getMessage()]
    assert len(said) == 1 and f"pid {pid}" in said[0] and "restarted as pid" in said[0], said
    runs = {r["source"]: r for r in _runs(db)}
    assert runs["laodong_en"]["status"].startswith(DIED)
    assert after.ok and runs["mofa_en"]["owner_pid"] == new != pid
    assert pid not in processes()


def _daemon_config(tmp_path: Path, sites: list[str], interval: str) -> Path:
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    data["sources"] = [{**s, "interval": interval, "jitter": "0s", "crawl_timeout": "120s"}
                       for s in data["sources"] if s["name"] in sites]
    data["crawl_service"] = "warm"
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _run_daemon(tmp_path: Path, db: Path, farm: Farm, sites: list[str],
                interval: str) -> subprocess.Popen:
    config = _daemon_config(tmp_path, sites, interval)
    (tmp_path / "none.yaml").write_text("channels: {}\nrules: []\n", encoding="utf-8")
    return subprocess.Popen(
        [*CLI, "run", "--config", str(config), "--db", str(db), "--alerts-config",
         str(tmp_path / "none.yaml"), "--log-level", "WARNING"],
        cwd=REPO, env={**os.environ, **farm.config_variables()},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _stop(proc: subprocess.Popen) -> tuple[int, str, list[int]]:
    """SIGTERM the daemon: (exit code, its log, its processes before the signal)."""
    started = descendants(proc.pid)
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return code, proc.stderr.read() if proc.stderr else "", started


def test_the_daemon_polls_through_one_service_process(tmp_path: Path) -> None:
    """`newswatch run` with the warm service: polls of two sources every 2 s all run in
    one service process (not the daemon's, not one per poll); SIGTERM: exit 0, nothing
    of the daemon left running."""
    db = tmp_path / "daemon.db"
    with Farm(sites=["laodong_en", "mofa_en"]) as farm:
        proc = _run_daemon(tmp_path, db, farm, ["laodong_en", "mofa_en"], "2s")
        try:
            _wait(lambda: sum(r["status"] == "finished" for r in _runs(db)) >= 6
                  or proc.poll() is not None, 180, "six finished polls")
        finally:
            code, err, started = _stop(proc)
    owners = {r["owner_pid"] for r in _runs(db)}
    assert len(owners) == 1 and proc.pid not in owners, owners
    assert owners <= set(started)
    assert code == 0 and "Traceback" not in err, err[-2000:]
    assert [pid for pid in started if pid in processes()] == []


def test_daemon_sigterm_mid_crawl_stops_the_job_in_order(tmp_path: Path) -> None:
    """SIGTERM while the service crawls 1,500 articles: exit 0 within the stop's grace,
    the run ``interrupted`` with what it stored counted, no process left."""
    db = tmp_path / "stop.db"
    with Farm(extra=1500, sites=["laodong_en"]) as farm:
        proc = _run_daemon(tmp_path, db, farm, ["laodong_en"], "1h")
        try:
            _wait(lambda: any(r["status"] == "running" for r in _runs(db))
                  or proc.poll() is not None, 120, "a running crawl")
            time.sleep(1.0)  # pages in hand
        finally:
            code, err, started = _stop(proc)
    assert code == 0 and "Traceback" not in err, err[-2000:]
    (run,) = _runs(db)
    assert run["status"] == "interrupted", run
    assert [pid for pid in started if pid in processes()] == []
