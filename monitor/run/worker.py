"""A crawl worker of a fleet (issue 32; docs/SCALE.md): ``newswatch worker --redis URL``.

One component, two job sources: the worker runs the same warm crawl service as the
daemon (``monitor.run.service.CrawlService``: one long-lived crawl process, its time
limits, its process group that dies with the worker, a page that kills an extraction
worker failing that page only), fed by the fleet's job queue (``monitor.fleet.Worker``:
take a job, keep its lease, heartbeat, finish) instead of the daemon's schedule.

Per job (``crawl_job``):

1. the worker's scratch database (``WORKDIR/scratch.db``, a cache of this worker: never
   the daemon's file, which a worker never opens) is emptied and seeded with the job's
   context (``monitor.fleet.context.seed``: fetch log, stored URLs and their re-check
   schedule, re-check budget spent), so the crawl reads from SQLite what it would read on
   the daemon's machine;
2. the service crawls the job's sources (those of one site take turns) with the job's
   ``NEWSWATCH_FLEET`` setting: the crawl's writer process sends each batch of analysed
   articles to the fleet's article stream, tagged with the job, then stores it in the
   scratch database (its counts, ledger and re-check state stay the crawl's own;
   ``monitor.processes.writer``);
3. each source's run (status, counts, ledger, times, error lines, the fetch-log rows it
   saved, and the check state its crawl changed on stored articles: re-check clocks,
   gone checks, removals, ``monitor.fleet.context.checks_since``) is sent with
   ``send_run``, after its batches.

A job fails, and is released (re-offered at once, ``Worker.counts["errors"]``), when a
batch could not be sent (Redis away longer than the stream's retry: counted
``not_sent``, the articles in ``not_sent_articles``), when the crawl service died under
it, or when the worker is stopped mid-job (SIGTERM: the crawl stops in order, its runs
are not sent, another worker crawls the site again). What was sent before is stored once
either way (the daemon's Intake: exactly once; an article sent again is ``unchanged``).
A job at its time limit sends its runs as they were closed (``aborted: no end after N
s``) and is finished, like a daemon's crawl. A job whose lease was lost (``out.lost``:
cut off from Redis longer than the lease) is stopped; its new holder crawls it again.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from monitor.fleet import JobOutput, Keys, Worker, checks_since, connect, seed_context
from monitor.processes import Interrupt
from monitor.run.crawl import CrawlError
from monitor.run.service import CrawlService, ServiceDied
from monitor.sources import Settings, seconds
from monitor.store import COUNTS, Store

log = logging.getLogger("newswatch.worker")

SCRATCH_DB = "scratch.db"  # the worker's scratch database, in its working directory
LOCK_FILE = "worker.lock"  # held by the worker using the directory (one at a time)
DEFAULT_WORKDIR = "newswatch-worker"  # under the current directory
DEFAULT_TIMEOUT = 3600.0  # seconds: a job's time limit when its sources give none


class WorkdirBusy(Exception):
    """Another worker uses the working directory (its scratch database is that worker's)."""


def _lock_workdir(workdir: Path) -> int:
    """Hold ``workdir/worker.lock`` (an exclusive ``flock``) for this process's life; the
    lock's file descriptor. Raises WorkdirBusy when another worker holds it."""
    path = workdir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise WorkdirBusy(f"{workdir} is in use by another worker (pid {holder}); give each "
                          "worker a --workdir of its own") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


class JobFailed(CrawlError):
    """A job that must be crawled again: a batch not sent, or the worker stopped."""


class CrawlWorker:
    """A fleet's crawl worker: ``Worker`` (queue, lease, heartbeat) around a warm
    ``CrawlService`` on the scratch database in ``workdir``.

    ``redis_url``: the fleet's Redis (password, TLS: ``monitor.fleet.connect``); raises
    ``monitor.fleet.RedisUnavailable`` when it cannot be reached, ``WorkdirBusy`` when
    another worker uses ``workdir``, ValueError for a bad fleet name. ``scrapy_settings``:
    Scrapy settings over the project's for every job (as the daemon's). ``counts``: jobs,
    errors, lost (``Worker``'s), not_sent (jobs failed for a batch not sent),
    not_sent_articles, interrupted, died, runs (sent)."""

    DEFAULT_WORKDIR = DEFAULT_WORKDIR
    WorkdirBusy = WorkdirBusy

    def __init__(self, redis_url: str, fleet: str | None = None,
                 workdir: str | Path = DEFAULT_WORKDIR, lease_seconds: float = 60.0,
                 scrapy_settings: dict[str, Any] | None = None, name: str | None = None,
                 retry_seconds: float = 30.0) -> None:
        self.redis_url = redis_url
        self.keys = Keys(fleet) if fleet else Keys()
        self.client = connect(redis_url)
        self.worker = Worker(self.client, self.keys, name=name, lease_seconds=lease_seconds)
        self.workdir = Path(workdir).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._lock = _lock_workdir(self.workdir)  # one worker per working directory
        self.scratch = self.workdir / SCRATCH_DB
        Store(self.scratch).close()  # created (migrated) before the service opens it
        self.retry_seconds = retry_seconds
        # the fetch log is read from the scratch database each job (seeded from the job),
        # never kept in memory between jobs; alerts are the daemon's (its Intake queues them)
        overrides = {"NEWSWATCH_FETCH_LOG_CACHE": False, "NEWSWATCH_ALERTS": "",
                     **(scrapy_settings or {})}
        self.service = CrawlService(self.scratch, scrapy_settings=overrides)
        self.stop = Interrupt()  # the current job's stop (SIGTERM, a lost lease)
        self.stopping = False  # no next job (set from a signal handler: a plain flag)
        self.counts: Counter[str] = self.worker.counts

    @property
    def name(self) -> str:
        return self.worker.name

    # -- one job ----------------------------------------------------------------------------
    def crawl_job(self, job: dict[str, Any], out: JobOutput) -> None:
        """The crawl function ``Worker`` calls (module docstring); raises JobFailed or
        ServiceDied for a job to crawl again."""
        self.stop = stop = Interrupt()
        if self.stopping:
            raise JobFailed("the worker is stopping")
        settings = Settings.model_validate({
            "sources": job["sources"], "contact": job.get("contact"),
            **({"timezone": job["timezone"]} if job.get("timezone") else {})})
        names = [source.name for source in settings.sources]
        store = Store(self.scratch)
        try:
            seeded = seed_context(store, job.get("context") or {})
        finally:
            store.close()
        timeout = float(job.get("timeout") or sum(
            seconds(s.crawl_timeout) for s in settings.sources) or DEFAULT_TIMEOUT)
        fleet = {"redis": self.redis_url, "fleet": self.keys.name, "worker": self.name,
                 "job": out.job_id, "retry_seconds": self.retry_seconds}
        watching = threading.Event()

        def watch_lease() -> None:  # a lost lease: the job is another worker's now
            while not watching.wait(0.2):
                if out.lost.is_set() and not stop:
                    log.warning("job %s: lease lost; stopping its crawl", out.job_id)
                    stop.request()

        watcher = threading.Thread(target=watch_lease, name="lease-watch", daemon=True)
        watcher.start()
        log.info("job %s: %s (%d stored articles, %d fetch-log rows in its context)",
                 out.job_id, ", ".join(names), seeded["articles"], seeded["fetches"])
        error = None
        try:
            result = self.service.crawl(settings, names, timeout=timeout, stop=stop,
                                        scrapy_settings={"NEWSWATCH_FLEET": fleet})
            interrupted = result.interrupted
        except ServiceDied:
            self.counts["died"] += 1
            raise
        except CrawlError as exc:  # a time limit, a failure: its runs are sent as closed
            error, interrupted = str(exc), bool(stop)
        finally:
            watching.set()
            watcher.join()
        if out.lost.is_set():
            return  # the new holder crawls the sites again (Worker counts it lost)
        if interrupted:
            self.counts["interrupted"] += 1
            raise JobFailed(f"job {out.job_id} stopped before its end")
        runs = self._runs(settings)
        store = Store(self.scratch)
        try:  # the check state the crawl changed on stored articles, sent with the runs
            checks = checks_since(store, job.get("context") or {})
        finally:
            store.close()
        failed = sum(int(((run.get("ledger") or {}).get("pages") or {}).get("store_failed", 0))
                     for run in runs)
        if failed:
            self.counts["not_sent"] += 1
            self.counts["not_sent_articles"] += failed
            raise JobFailed(f"job {out.job_id}: {failed} articles not sent or not stored "
                            "(see the runs' errors); the job is crawled again")
        if error and not runs:
            raise JobFailed(error)
        for run in runs:
            out.send_run(run["source"], run["status"], run["counts"], ledger=run["ledger"],
                         started=run["started"], finished=run["finished"],
                         error_detail=run["error_detail"], fetches=run["fetches"],
                         checks=checks.pop(run["source"], []), health=run["health"])
            self.counts["runs"] += 1

    def _runs(self, settings: Settings) -> list[dict[str, Any]]:
        """The runs of the job that just ended (the scratch database holds only its own),
        each with the fetch-log rows it saved."""
        store = Store(self.scratch)
        try:
            rows = list(store.db.query("select * from crawl_runs where status != 'context' "
                                       "order by id"))
            fetches = [dict(r) for r in store.db.query(
                "select url, etag, last_modified, status, fetched, changed from fetches")]
            # the health signals the crawl recorded (``health.after_run`` in the scratch
            # database): the daemon judges the source by them, with its own history
            signals = {r["run_id"]: r["signals"] for r in store.db.query(
                "select run_id, signals from health_runs")}
        finally:
            store.close()
        runs = []
        for row in rows:
            started = row["started"] or ""
            ledger = json.loads(row["ledger"]) if row.get("ledger") else None
            runs.append({
                "source": row["source"], "status": row["status"], "started": row["started"],
                "finished": row["finished"] or time.strftime("%Y-%m-%dT%H:%M:%S"),
                "counts": {k: int(row.get(k) or 0) for k in COUNTS},
                "ledger": ledger,
                "error_detail": (row["error_detail"] or "").splitlines(),
                "health": json.loads(signals[row["id"]]) if signals.get(row["id"]) else None,
                # the rows this run saved (a fetch log is saved when its crawl finished)
                "fetches": [f for f in fetches if (f["fetched"] or "") >= started]})
        if len(runs) > 1:  # two sources of one site: each its own domains' rows
            store = Store(self.scratch)
            try:
                for run in runs:
                    mine = store.fetches_for(settings.source(run["source"]).domains)
                    run["fetches"] = [f for f in run["fetches"] if f["url"] in mine]
            finally:
                store.close()
        return runs

    # -- the loop ---------------------------------------------------------------------------
    def run(self, max_jobs: int | None = None, once: bool = False,
            idle: float = 1.0) -> Counter[str]:
        """Take and crawl jobs until ``request_stop`` (or, with ``once``, until no job is
        queued or held; with ``max_jobs``, after that many jobs); closes the service and
        frees the working directory at the end (a worker runs once). Returns
        ``counts``."""
        queue = self.worker.queue
        self.service.start()
        done = 0
        beating = threading.Event()

        def beat_loop() -> None:  # heartbeats while a job runs too
            while not beating.wait(self.worker.beat_every):
                try:
                    self.worker._beat()  # noqa: SLF001 - the Worker's own heartbeat
                except Exception:  # noqa: BLE001, S112 - Redis away: the next beat
                    continue

        threading.Thread(target=beat_loop, name="heartbeat", daemon=True).start()
        try:
            while not self.stopping:
                if max_jobs is not None and done >= max_jobs:
                    break
                try:
                    taken = self.worker.run_one(self.crawl_job)
                except (CrawlError, OSError) as exc:
                    log.warning("%s", str(exc).splitlines()[0] if str(exc) else exc)
                    done += 1
                    continue
                except Exception as exc:  # noqa: BLE001 - Redis away: wait for it
                    log.warning("worker: %s", str(exc).splitlines()[0] if str(exc) else exc)
                    self._pause(idle)
                    continue
                if taken is not None:
                    done += 1
                    continue
                if once and not queue.queued() and not queue.holders():
                    break
                self._pause(min(idle, 0.2) if once else idle)
        finally:
            beating.set()
            self.service.close()
            os.close(self._lock)  # the working directory is free for the next worker
            try:
                self.worker.registry.leave(self.name)
            except Exception:  # noqa: BLE001, S110 - Redis away: its heartbeat goes stale
                pass
        return self.counts

    def _pause(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(0.05)

    def request_stop(self) -> None:
        """Stop after the current job (which stops in order and is released); safe from a
        signal handler (no lock taken)."""
        self.stopping = True
        self.stop.request()
