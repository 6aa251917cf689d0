"""The whole fleet on the farm, as a user runs it (issue 32's "Must show"): the daemon
(`newswatch run --redis`, the one SQLite writer), three `newswatch worker` processes,
each in a directory of its own and never given the database, a real `redis-server`, a
real webhook receiver, farm sites on loopback that count what they see.

Rounds come every few seconds; new articles are published meanwhile; one worker is
killed (`kill -9`) while it holds a job. At the end: every article stored once, the same
set of URLs as a one-machine `newswatch crawl` of the same farm, every `new` alert queued
once and delivered once, and each site never saw more requests in flight, or two starts
closer, than its settings allow (``Farm.load``: counted by the server, across all
workers)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.farm import Farm
from monitor.fleet import JobQueue, Keys, connect
from monitor.sources import DEMO_CONFIG
from monitor.store import Store

from .channels import SECRET, Receiver
from .conftest import REPO
from .redis_server import RedisServer, environment, wait_for

pytestmark = pytest.mark.timing  # real processes and crawls on a shared machine

CLI = [sys.executable, "-m", "monitor.cli"]
FLEET = "farm"
SITES = ["baochinhphu_en", "laodong_en", "laodong_vi", "vietnam_vn", "mofa_en", "vov_en"]
CONCURRENCY, DELAY = 2, 0.05  # every source's limits (seconds between two requests)


def _config(tmp_path: Path) -> Path:
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    data["sources"] = [{**s, "interval": "4s", "jitter": "0s", "concurrency": CONCURRENCY,
                        "download_delay": DELAY, "target_concurrency": None}
                       for s in data["sources"] if s["name"] in SITES]
    assert len(data["sources"]) == len(SITES)
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _alerts(tmp_path: Path) -> Path:
    path = tmp_path / "alerts.yaml"
    path.write_text('channels:\n  hook:\n    webhook: "${NW_HOOK_URL}"\n'
                    '    secret: "${NW_HOOK_SECRET}"\n'
                    "rules:\n  - name: all-new\n    kinds: [new]\n    channels: [hook]\n",
                    encoding="utf-8")
    return path


def _stored(db: Path) -> dict[str, Any]:
    if not db.exists():
        return {"urls": [], "runs": {}, "alerts": [], "sent": 0, "versions_twice": []}
    store = Store(db)
    try:
        d = store.db
        return {
            "urls": sorted(r[0] for r in d.execute("select url from articles")),
            "runs": dict(d.execute("select source, count(*) from crawl_runs group by source")),
            "alerts": [tuple(r) for r in d.execute("select kind, article_id from alerts")],
            "sent": d.execute("select count(*) from alerts where status = 'sent'").fetchone()[0],
            "versions_twice": d.execute(
                "select article_id, content_hash, count(*) from versions group by "
                "article_id, content_hash having count(*) > 1").fetchall()}
    except Exception:  # noqa: BLE001 - the daemon has not set the database up yet
        return {"urls": [], "runs": {}, "alerts": [], "sent": 0, "versions_twice": []}
    finally:
        store.close()


def test_three_workers_and_the_daemon_on_the_farm(redis_server: RedisServer,
                                                  tmp_path: Path) -> None:
    config, alerts, db = _config(tmp_path), _alerts(tmp_path), tmp_path / "daemon" / "nw.db"
    db.parent.mkdir()
    client = connect(redis_server.url)
    queue = JobQueue(client, Keys(FLEET))
    receiver = Receiver()
    procs: list[subprocess.Popen[str]] = []
    try:
        with Farm(sites=SITES) as farm:
            env = {**environment(), **farm.config_variables(), "NW_HOOK_URL": receiver.url,
                   "NW_HOOK_SECRET": SECRET}
            log = (tmp_path / "daemon.log").open("w")
            daemon = subprocess.Popen(
                [*CLI, "run", "--config", str(config), "--db", str(db), "--alerts-config",
                 str(alerts), "--deliver-every", "1", "--redis", redis_server.url,
                 "--fleet", FLEET], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=log, text=True)
            procs.append(daemon)
            workers = {}
            for n in range(3):  # machines: a directory each, no database path
                cwd = tmp_path / f"machine{n}"
                cwd.mkdir()
                proc = subprocess.Popen(
                    [*CLI, "worker", "--fleet", FLEET, "--lease", "5"], cwd=cwd,
                    env={**environment(), "NEWSWATCH_REDIS": redis_server.url},
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                procs.append(proc)
                workers[proc.pid] = proc
            wait_for(lambda: len(_stored(db)["runs"]) == len(SITES), 120,
                     "a first run of every source")
            published = [farm.publish({
                "site": site, "slug": f"fleet-story-{n}", "lang": "en",
                "title": f"Vietnam and the United States sign fleet accord {n}",
                "topic": "vn-us", "published": "2026-12-07T08:00:00+07:00",
                "paragraphs": [f"Vietnam and the United States signed accord number {n} "
                               "in Hanoi on Monday, officials of both countries said."] * 4})
                for n, site in enumerate(["laodong_en", "vov_en"])]

            def held_by_a_worker() -> tuple[str, int] | None:
                for job, holder in queue.holders().items():
                    pid = int(str(holder.get("worker", "")).rsplit(":", 1)[-1] or 0)
                    if pid in workers and workers[pid].poll() is None:
                        return job, pid
                return None

            wait_for(lambda: held_by_a_worker() is not None, 60, "a job held by a worker")
            held = held_by_a_worker()
            assert held is not None
            os.kill(held[1], signal.SIGKILL)  # mid-job: its lease expires, re-offered
            workers[held[1]].wait(10)
            runs_at_kill = _stored(db)["runs"]

            def settled() -> bool:
                found = _stored(db)
                return (all(u in found["urls"] for u in published)
                        and all(found["runs"].get(s, 0) >= runs_at_kill.get(s, 0) + 2
                                for s in SITES)
                        and found["sent"] == len(found["alerts"]) > 0)

            wait_for(settled, 150, "two more rounds of every source, every alert sent")
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(90) == 0, (tmp_path / "daemon.log").read_text()[-3000:]
            for proc in workers.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    assert proc.wait(90) == 0, proc.stderr.read()[-3000:] if proc.stderr else ""
            load = farm.load()
            # one machine: `newswatch crawl` of the same farm (published articles included)
            reference = tmp_path / "one-machine.db"
            one = subprocess.run([*CLI, "crawl", "--config", str(config), "--db",
                                  str(reference), "--no-alerts"], cwd=REPO, env=env,
                                 capture_output=True, text=True, timeout=300)
            assert one.returncode == 0, one.stderr[-3000:]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        receiver.close()
    found, single = _stored(db), _stored(reference)
    assert found["urls"] == single["urls"] and len(set(found["urls"])) == len(found["urls"])
    assert all(u in found["urls"] for u in published)
    assert found["versions_twice"] == []
    # every `new` alert queued once (one per article) and delivered once
    assert len(found["alerts"]) == len(set(found["alerts"]))
    assert len(receiver.keys) == len(set(receiver.keys)) == found["sent"]
    # politeness across the three workers, counted by the farm
    assert set(load) >= set(SITES), load
    for site, seen in load.items():
        assert seen["most_in_flight"] <= CONCURRENCY, (site, seen)
        assert seen["min_gap"] is None or seen["min_gap"] >= DELAY / 2, (site, seen)
