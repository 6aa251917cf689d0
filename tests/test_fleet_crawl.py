"""Crawl workers on the farm (``newswatch worker``, monitor.run.worker; issue 32): real
`newswatch worker` processes (the warm crawl service, real Scrapy crawls of farm sites on
loopback), a real redis-server, the database's one writer (``monitor.fleet.Intake``, run
as ``python -m tests.fleet_procs writer``) and real SQLite files. Workers run in
directories of their own and are never given the daemon's database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from monitor.farm import Farm
from monitor.fleet import JobQueue, Keys, connect, job_context, offer_round, site_jobs
from monitor.sources import DEMO_CONFIG, Source, load_settings
from monitor.store import Store

from .conftest import REPO
from .redis_server import RedisServer, environment, wait_for

# (not marked timing: they wait on conditions and passed beside two CPU burners; the
# fleet beside burners is tests/test_fleet_farm.py, which keeps CI within its time)

KEYS = Keys("t")
SITES = ["baochinhphu_en", "laodong_en", "laodong_vi", "vietnam_vn", "mofa_en"]
CLI = [sys.executable, "-m", "monitor.cli"]


def _sources(farm: Farm, names: list[str]) -> list[Source]:
    settings = load_settings(DEMO_CONFIG, farm.config_variables())
    return [settings.source(name) for name in names]


def _worker(url: str, cwd: Path, *args: str) -> subprocess.Popen[str]:
    """``newswatch worker`` in ``cwd`` (its scratch state in ./newswatch-worker)."""
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([*CLI, "worker", "--fleet", "t", *args],
                            cwd=cwd, env={**environment(), "NEWSWATCH_REDIS": url},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _writer(url: str, db: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.fleet_procs", "writer", url, str(db)],
                            cwd=REPO, env=environment(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _drained(client: Any) -> bool:
    """Every entry sent was stored and acknowledged (the writer deletes what it acked)."""
    try:
        pending = client.xpending(KEYS.stream, KEYS.group)["pending"]
    except Exception:  # noqa: BLE001 - the group does not exist yet
        return False
    return client.xlen(KEYS.stream) == 0 and pending == 0


def _stop_writer(writer: subprocess.Popen[str]) -> dict[str, Any]:
    writer.send_signal(signal.SIGTERM)
    out, err = writer.communicate(timeout=30)
    assert writer.returncode == 0, err[-3000:]
    return json.loads(out.splitlines()[-1])


def _stored(db: Path) -> dict[str, Any]:
    store = Store(db)
    try:
        rows = store.db.execute("select source, url from articles").fetchall()
        versions = store.db.execute("select article_id, count(*) from versions "
                                    "group by article_id having count(*) > 1").fetchall()
        runs = list(store.db.query("select source, status, found, new, irrelevant, "
                                   "duplicate, unchanged, ledger from crawl_runs order by id"))
        fetches = store.db.execute("select count(*) from fetches").fetchone()[0]
    finally:
        store.close()
    return {"urls": sorted(url for _, url in rows), "by_source": rows,
            "versions_twice": versions, "runs": runs, "fetches": fetches}


def test_a_worker_killed_mid_crawl_has_its_site_crawled_again_by_another(
        redis_server: RedisServer, tmp_path: Path) -> None:
    """`kill -9` of a `newswatch worker` in the middle of a real crawl (some batches
    stored): its job is re-offered when its short lease expires, another worker crawls
    the site again; every article stored once (the re-sent ones are `unchanged`), no
    version twice, the source's run stored once."""
    client = connect(redis_server.url)
    db = tmp_path / "daemon" / "newswatch.db"
    db.parent.mkdir()
    Store(db).close()
    with Farm(sites=["laodong_en"]) as farm:
        # a polite site (0.4 s between requests): the crawl lasts long enough to be cut
        source = _sources(farm, ["laodong_en"])[0].model_copy(update={"download_delay": 0.4})
        assert JobQueue(client, KEYS).offer(site_jobs([source], "r1")[0]).status == "queued"
        writer = _writer(redis_server.url, db)
        doomed = _worker(redis_server.url, tmp_path / "machine0", "--lease", "3")
        survivor = None
        try:
            def batches() -> int:  # entries sent so far (stored ones leave the stream)
                try:
                    return int(client.xinfo_stream(KEYS.stream)["entries-added"])
                except Exception:  # noqa: BLE001 - no stream yet
                    return 0

            wait_for(lambda: batches() >= 1 or doomed.poll() is not None, 60,
                     "a first batch sent")
            assert doomed.poll() is None, doomed.communicate()[1][-3000:]
            os.kill(doomed.pid, signal.SIGKILL)
            assert doomed.wait(timeout=10) == -signal.SIGKILL
            sent_before = batches()
            killed = time.monotonic()
            survivor = _worker(redis_server.url, tmp_path / "machine1", "--once", "--lease",
                               "20")
            _, err = survivor.communicate(timeout=150)
            assert survivor.returncode == 0, err[-3000:]
            assert time.monotonic() - killed >= 2.5  # (not before the lease expired)
            wait_for(lambda: _drained(client), 30, "the stream stored")
            counts = _stop_writer(writer)["counts"]
        finally:
            for proc in (doomed, survivor, writer):
                if proc is not None and proc.poll() is None:
                    proc.kill()
    stored = _stored(db)
    assert sent_before >= 1 and counts.get("unchanged", 0) >= 1  # sent twice, stored once
    assert len(stored["urls"]) == len(set(stored["urls"])) >= 15
    assert not stored["versions_twice"]
    assert [r["source"] for r in stored["runs"]] == ["laodong_en"]  # the survivor's run
    run = stored["runs"][0]
    assert run["status"] == "finished"
    # nothing lost: the survivor's crawl sent every article the site has
    assert run["new"] + run["irrelevant"] + run["duplicate"] + run["unchanged"] == len(
        stored["urls"])
    assert JobQueue(client, KEYS).counters().get("reoffered") == 1


def test_a_second_round_reads_its_context_not_the_database(
        redis_server: RedisServer, tmp_path: Path) -> None:
    """A round's context (the fetch log, stored URLs and their re-check schedule, read
    from the daemon's database by ``job_context``) makes a worker's next crawl of a site
    conditional: fewer requests, nothing new; the three articles due are re-checked and
    their new schedules come back to the daemon's database, the one the site deleted
    with its first gone check. Its size per stored article is printed."""
    from monitor.fleet import Intake
    from monitor.run import CrawlWorker

    client = connect(redis_server.url)
    db = tmp_path / "daemon.db"
    store = Store(db)
    worker = None
    try:
        with Farm(sites=["mofa_en"]) as farm:
            sources = _sources(farm, ["mofa_en"])
            runs, sizes = [], []
            for round_name in ("r1", "r2"):
                if round_name == "r2":  # three articles due now, one of them deleted
                    due = [r[0] for r in store.db.execute(
                        "select url from articles order by id limit 3").fetchall()]
                    with store.db.conn:
                        store.db.execute(f"update articles set check_next = "
                                         f"'2000-01-01T00:00:00Z' where url in "
                                         f"({', '.join('?' * len(due))})", due)
                    state = farm.sites["mofa_en"]
                    slug = next(a.slug for a in state.articles
                                if farm.url_of("mofa_en", a.slug) == due[0])
                    farm.unpublish("mofa_en", slug)
                context = job_context(store, sources)
                sizes.append((len(json.dumps(context)),
                              len(json.dumps(context["mofa_en"]["articles"])),
                              len(context["mofa_en"]["articles"]["rows"])))
                offer_round(JobQueue(client, KEYS), sources, round_name, context)
                worker = CrawlWorker(redis_server.url, "t", tmp_path / "machine",
                                     scrapy_settings={"NEWSWATCH_EXTRACT_WORKERS": 1})
                counts = worker.run(once=True)
                assert counts["jobs"] == 1 and counts["runs"] == 1, counts
                intake = Intake(client, store, KEYS)
                intake.start()
                while intake.poll(block_ms=100):
                    pass
                runs.append(store.runs()[-1])
        checked = {r[0]: r[1:] for r in store.db.execute(
            "select url, check_count, gone_checks, check_next > '2001' from articles "
            "where url in (?, ?, ?)", due).fetchall()}
    finally:
        store.close()
    assert checked == {due[0]: (1, 1, 1), due[1]: (1, 0, 1), due[2]: (1, 0, 1)}, checked
    first, second = runs
    assert first["new"] + first["irrelevant"] >= 10 and first["status"] == "finished"
    assert second["status"] == "finished" and second["new"] + second["irrelevant"] == 0
    assert second["requests"] < first["requests"]  # 304s and settled URLs
    _, article_bytes, articles = sizes[1]
    assert articles == first["new"] + first["irrelevant"] + first["duplicate"]
    print(f"context: {article_bytes / articles:.0f} bytes per stored article "
          f"({sizes[1][0]} bytes for {articles} articles with the fetch log)")


@pytest.mark.parametrize(("args", "env", "code", "said"), [
    ([], {}, 2, "error: no Redis URL: give --redis URL or set NEWSWATCH_REDIS"),
    (["--fleet", "a b"], {"NEWSWATCH_REDIS": "redis://127.0.0.1:9/0"}, 2,
     "error: --fleet: fleet name 'a b'"),
    (["--redis", "redis://:s3cret-pw@127.0.0.1:9/0"], {}, 3,
     "error: redis://***@127.0.0.1:9/0: cannot connect"),
])
def test_worker_errors_are_one_line_with_their_exit_code(
        args: list[str], env: dict[str, str], code: int, said: str, tmp_path: Path) -> None:
    """No Redis URL, a bad fleet name (2), a Redis that cannot be reached (3): one line,
    the password never shown."""
    base = {k: v for k, v in environment().items() if k != "NEWSWATCH_REDIS"}
    proc = subprocess.run([*CLI, "worker", "--workdir", str(tmp_path / "w"), *args],
                          cwd=REPO, env={**base, **env}, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(said), proc.stderr
    assert "s3cret" not in proc.stderr + proc.stdout


def test_a_batch_redis_refuses_fails_the_job_which_is_crawled_again(
        redis_server: RedisServer, tmp_path: Path) -> None:
    """Redis refuses writes (full: `maxmemory` with `noeviction`) while a worker crawls:
    the batch it refuses is not stored in the scratch database either, the job fails
    (counted `not_sent`), is released, and is crawled again once Redis takes writes:
    every article stored once, one run for the source."""
    import threading

    from monitor.fleet import Intake
    from monitor.run import CrawlWorker

    client = connect(redis_server.url)
    db = tmp_path / "daemon.db"
    with Farm(sites=["laodong_en"]) as farm:
        source = _sources(farm, ["laodong_en"])[0].model_copy(update={"download_delay": 0.4})
        JobQueue(client, KEYS).offer(site_jobs([source], "r1")[0])
        worker = CrawlWorker(redis_server.url, "t", tmp_path / "machine", lease_seconds=30,
                             scrapy_settings={"NEWSWATCH_EXTRACT_WORKERS": 1})
        done: list[Any] = []
        thread = threading.Thread(target=lambda: done.append(worker.run(once=True)),
                                  daemon=True)
        thread.start()
        try:
            wait_for(lambda: client.xlen(KEYS.stream) >= 1, 60, "a first batch sent")
            client.config_set("maxmemory", "1")  # full: every write refused (noeviction)

            def refused() -> int:
                stats = client.info("commandstats").get("cmdstat_xadd", {})
                return int(stats.get("rejected_calls", 0))

            wait_for(lambda: refused() >= 1, 60, "a batch refused")
            client.config_set("maxmemory", "0")
            thread.join(timeout=150 * 4)
        finally:
            client.config_set("maxmemory", "0")
            worker.request_stop()
            thread.join(timeout=60)
    counts = done[0]
    assert counts["not_sent"] == 1 and counts["not_sent_articles"] >= 1, counts
    assert counts["errors"] == 1 and counts["jobs"] == 1 and counts["runs"] == 1, counts
    assert JobQueue(client, KEYS).counters().get("released") == 1
    store = Store(db)
    try:
        intake = Intake(client, store, KEYS)
        intake.start()
        while intake.poll(block_ms=100):
            pass
        urls = [r[0] for r in store.db.execute("select url from articles").fetchall()]
        runs = store.runs()
    finally:
        store.close()
    assert len(urls) == len(set(urls)) >= 15 and not intake.counts.get("refused")
    assert [(r["source"], r["status"]) for r in runs] == [("laodong_en", "finished")]
    assert runs[0]["new"] + runs[0]["irrelevant"] + runs[0]["duplicate"] == len(urls)


def test_sigterm_stops_the_crawl_in_order_releases_the_job_and_exits_0(
        redis_server: RedisServer, tmp_path: Path) -> None:
    """SIGTERM to `newswatch worker` mid-crawl: the crawl stops in order, no run is sent,
    the job is released (re-offered at once, not after its lease), the worker leaves the
    registry and exits 0."""
    client = connect(redis_server.url)
    with Farm(sites=["laodong_en"]) as farm:
        source = _sources(farm, ["laodong_en"])[0].model_copy(update={"download_delay": 0.4})
        queue = JobQueue(client, KEYS)
        queue.offer(site_jobs([source], "r1")[0])
        worker = _worker(redis_server.url, tmp_path / "machine", "--lease", "600")
        try:
            wait_for(lambda: client.xlen(KEYS.stream) >= 1 or worker.poll() is not None, 60,
                     "a first batch sent")
            # a second worker in the same directory is refused: the scratch database is
            # the first one's (exit 2, one line)
            second = _worker(redis_server.url, tmp_path / "machine", "--once")
            _, second_err = second.communicate(timeout=60)
            assert second.returncode == 2, second_err
            assert second_err.strip().splitlines() == [
                f"error: --workdir {tmp_path / 'machine' / 'newswatch-worker'} is in use by "
                f"another worker (pid {worker.pid}); give each worker a --workdir of its "
                "own"], second_err
            worker.send_signal(signal.SIGTERM)
            _, err = worker.communicate(timeout=90)
        finally:
            if worker.poll() is None:
                worker.kill()
    assert worker.returncode == 0, err[-3000:]
    assert "Traceback" not in err
    assert len(queue.queued()) == 1  # re-offered at once
    assert queue.counters().get("released") == 1 and not queue.holders()
    kinds = [fields["kind"] for _, fields in client.xrange(KEYS.stream)]
    assert "batch" in kinds and "run" not in kinds, kinds
    assert not client.hgetall(KEYS.workers)  # it left the registry
