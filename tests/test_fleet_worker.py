"""A crawl worker killed with SIGKILL mid-job (monitor.fleet.Worker; issue 32): its job
is taken by another worker once its lease expires and crawled again; with the database's
writer (monitor.fleet.Intake) running beside them, every article is stored once, as new
once, and every source's run once. Real processes, a real redis-server and SQLite file;
the crawl is a stand-in that sends fixed articles (the warm crawl service, issue 33, is
what `newswatch worker` will run)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from monitor.fleet import JobQueue, Keys, connect, status
from monitor.store import Store

from .conftest import REPO
from .redis_server import RedisServer, environment, wait_for

KEYS = Keys("t")



def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.fleet_procs", *args], cwd=REPO,
                            env=environment(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_a_worker_killed_mid_job_is_replaced_and_nothing_is_stored_twice(
        redis_server: RedisServer, tmp_path: Path) -> None:
    client = connect(redis_server.url)
    queue = JobQueue(client, KEYS)
    sites = {"a.vn": ["a1", "a2"], "b.vn": ["b1"], "c.vn": ["c1"]}
    for site, names in sites.items():
        queue.offer({"id": f"r1/{site}", "round": "r1", "site": site,
                     "sources": [{"name": n} for n in names]})
    db = tmp_path / "fleet.db"
    Store(db).close()
    writer = start("writer", redis_server.url, str(db))
    doomed = start("worker", redis_server.url, "doomed", "1.0", "2")
    survivor = None
    try:
        # the doomed worker sends two batches of a1 (a.vn's job), then hangs: killed
        events = [json.loads(doomed.stdout.readline()) for _ in range(3)]  # type: ignore[union-attr]
        assert events[-1] == {"hanging": "r1/a.vn"}, (events, doomed.stderr)
        doomed.send_signal(signal.SIGKILL)
        assert doomed.wait(timeout=10) == -signal.SIGKILL
        seen = status(client, KEYS, stale_seconds=60)
        assert seen["workers"]["doomed"]["holds"] == ["r1/a.vn"]
        assert seen["jobs"]["queued"] == ["r1/b.vn", "r1/c.vn"]
        # (its own lease is long: a renew starved on a busy machine must not lose a job)
        survivor = start("worker", redis_server.url, "survivor", "5.0", "-1")
        out, err = survivor.communicate(timeout=60)
        assert survivor.returncode == 0, err[-3000:]
        assert json.loads(out.splitlines()[-1]) == {"counts": {"jobs": 3}}
        took = [json.loads(line)["sent"] for line in out.splitlines() if '"sent"' in line]
        assert "r1/a.vn" in took  # the dead worker's job, crawled again whole

        def stored() -> dict[str, Any] | None:
            store = Store(db)
            try:
                urls = store.db.execute("select url, count(*) from articles group by url")
                runs = store.db.execute("select source, count(*) from crawl_runs group by "
                                        "source").fetchall()
                done = {"urls": dict(urls.fetchall()), "runs": dict(runs)}
            finally:
                store.close()
            return done if len(done["urls"]) == 48 and len(done["runs"]) == 4 else None

        done = wait_for(stored, what="48 articles and 4 runs stored")
        assert set(done["urls"].values()) == {1}  # each article once
        assert done["runs"] == {"a1": 1, "a2": 1, "b1": 1, "c1": 1}  # each source's run once
        wait_for(lambda: status(client, KEYS)["stream"]["entries"] == 0, what="stream drained")
        writer.send_signal(signal.SIGTERM)
        counts = json.loads(writer.communicate(timeout=30)[0].splitlines()[-1])["counts"]
        # a1's first 6 articles came twice: stored new once, then unchanged (alerts once)
        assert counts["new"] + counts.get("irrelevant", 0) + counts.get("duplicate", 0) == 48
        assert counts["unchanged"] == 6
        final = status(client, KEYS, stale_seconds=0.5)
        assert final["jobs"] == {"queued": [], "held": {}, "failed": {}}
        assert final["counters"]["reoffered"] == 1 and final["counters"]["finished"] == 3
        assert final["workers"]["doomed"]["state"] == "silent"
        assert "survivor" not in final["workers"]  # it left cleanly
    finally:
        for proc in (doomed, survivor, writer):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=10)
