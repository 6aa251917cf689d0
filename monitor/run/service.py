"""The warm crawl service: one long-lived crawl process that runs crawl jobs as they come.

``monitor.run.crawl.crawl`` starts a process tree per crawl (a spawned interpreter,
Scrapy, the extraction forkserver and workers, the writer): about 3.4 CPU-seconds before
the first request, which a daemon polling hundreds of sources cannot pay per poll
(issue 33). The service starts that tree once and keeps it warm: a Twisted reactor,
Scrapy, the extraction pool (``monitor.processes.workers``: relevance model and
extractor loaded once per worker) and the writer (``monitor.processes.writer``). Each
job opens its crawlers in that reactor, and ends when they have closed their runs.

Messages are plain JSON-able dicts both ways (no pickled objects), so that the job
source is pluggable: ``LocalJobs`` (multiprocessing queues, the daemon's own service) or,
later, a Redis queue feeding remote workers (issue 32). To the service::

    {"type": "job", "id": str, "sources": [Source as JSON], "contact": str | None,
     "timezone": str, "timeout": seconds | None, "alerts": path | None,
     "settings": {Scrapy setting: JSON value}}
    {"type": "stop", "id": str, "now": bool}      # a job: stop in order, or at once
    {"type": "shutdown", "now": bool}             # every job stops; the process exits

From the service, ``{"job": id | None, "kind": kind, "payload": ...}`` with the kinds of
``monitor.run.crawl``'s crawl process: ``phase`` (str), ``progress`` ({source: counts}),
``unreachable`` ({host: info}), ``failed`` (str), ``fatal`` ([message, [kinds]]),
``done`` ([run ids]); and ``aborted`` ({"status": str, "runs": [ids]}): a job past its
time limit (or a stop that ran out of grace) whose runs the service closed with
``status`` (``aborted: no end after N s``, ``interrupted``). ``ready`` (job None, pid)
when the service takes jobs.

Guarantees, as a crawl process's: sources of one site in one job take turns (one
politeness budget); a job past its ``timeout`` is stopped in order
(``crawler.shutdown.stop_in_order``), and when the stop runs out of grace
(``monitor.processes.StopGrace``) its runs are closed ``aborted: no end after N s`` and
the job is reported; its crawlers, abandoned, end on their own (download timeouts) and
their runs keep that status; a new job of a source with an abandoned crawl still open
waits for it. A page that kills an extraction worker fails that page only (the pool is
replaced: ``shared_pool``). The process leads its own process group and dies with its
parent (``die_with_parent``); SIGTERM or SIGINT stop every job in order, then it exits.

``CrawlService`` is the parent's side (the daemon's): it starts the process, routes its
events to the job that waits for them, restarts it when it dies (the runs it had open
are closed ``aborted: crawl service died``, said in one log line) and recycles it after
``recycle_jobs`` jobs or when its process group's RSS passes ``recycle_rss`` bytes.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import queue as queue_module
import signal
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from monitor.processes import (
    MAX_GRACE_SECONDS,
    Interrupt,
    StopGrace,
    die_with_parent,
    group_rss,
    kill_group,
    quiet_resource_tracker,
    runtime,
)
from monitor.run.crawl import (
    INTERRUPTED,
    CrawlError,
    CrawlResult,
    _abort_runs,
    _fatal_error,
    _in_hand,
    _mark_interrupted,
    _mark_unreachable,
    _result,
    _salvage_counts,
    _stats,
    _step,
)
from monitor.run.reach import _URL, Reachability
from monitor.sources import ConfigError, Settings

log = logging.getLogger("newswatch.service")

WATCH_EVERY = 0.5  # seconds: progress reports, looks at time limits and stop graces
RECYCLE_JOBS = 5000  # jobs before the service is recycled (a fresh process tree)
RECYCLE_RSS = 2048 * 2**20  # bytes: the service's process group RSS that recycles it
RSS_EVERY = 10.0  # seconds between two measures of the service's RSS
START_SECONDS = 120.0  # the longest the service may take to say ``ready``
DIED = "aborted: crawl service died"  # run status: the service ended with the run open


class JobSource(Protocol):
    """Where a service takes its jobs and sends its events: plain JSON-able dicts."""

    def get(self, timeout: float) -> dict[str, Any] | None:
        """The next message for the service, or None after ``timeout`` seconds."""

    def put(self, event: dict[str, Any]) -> None:
        """Send one event."""


class LocalJobs:
    """A ``JobSource`` over two multiprocessing queues (the daemon's own service)."""

    def __init__(self, jobs: Any, events: Any) -> None:
        self.jobs, self.events = jobs, events

    def get(self, timeout: float) -> dict[str, Any] | None:
        try:
            return self.jobs.get(timeout=timeout)
        except queue_module.Empty:
            return None

    def put(self, event: dict[str, Any]) -> None:
        self.events.put(event)


# -- the service process ---------------------------------------------------------------------
def _service_child(db_path: str, overrides: dict[str, Any], jobs: Any, events: Any,
                   parent: int) -> None:
    """The spawned service process: its own group, dies with ``parent``, then ``serve``."""
    die_with_parent(parent)
    os.setpgid(0, 0)
    runtime.tune_crawl_process()
    asked: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, _: asked.append(signum))
    signal.signal(signal.SIGTERM, lambda signum, _: asked.append(signum))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked by the parent
    serve(LocalJobs(jobs, events), db_path, overrides, asked)


@dataclass
class _Job:
    """A job in the service process (reactor thread only)."""

    id: str
    names: list[str]
    timeout: float | None
    started: float
    crawlers: list[tuple[str, Any]] = field(default_factory=list)
    reach: Any = None
    stop: str | None = None  # "limit" (its time limit) or "stop" (asked)
    grace: StopGrace | None = None
    chains: int = 0  # site turn chains still running
    errors: list[str] = field(default_factory=list)
    abandoned: str | None = None  # the status its runs were closed with
    hooks: list[Any] = field(default_factory=list)  # its signal handlers (weakly connected)


def serve(jobs: JobSource, db_path: str, overrides: Mapping[str, Any],
          asked: list[int] | None = None) -> None:
    """Run crawl jobs from ``jobs`` into ``db_path`` until a ``shutdown`` message (or a
    signal noted in ``asked``), in this process: the reactor, the extraction pool and
    the writer stay warm between jobs. ``overrides`` are Scrapy settings over the
    project's (``crawler.settings``). Blocks; returns when every job has ended."""
    asked = asked if asked is not None else []
    from crawler import settings as crawler_settings
    from monitor.processes import pool_ready, shutdown_pool, shutdown_writers, start_pool

    jobs.put({"job": None, "kind": "phase", "payload": "starting: extraction pool"})
    workers = int(overrides.get("NEWSWATCH_EXTRACT_WORKERS",
                                crawler_settings.NEWSWATCH_EXTRACT_WORKERS))
    if workers >= 0:
        start_pool(workers)
    import scrapy.core.downloader.handlers.http11  # noqa: F401  (see monitor.run.crawl)
    from scrapy import signals
    from scrapy.crawler import Crawler, CrawlerRunner
    from scrapy.settings import Settings as ScrapySettings
    from scrapy.utils.log import configure_logging
    from scrapy.utils.misc import build_from_crawler, load_object
    from scrapy.utils.reactor import install_reactor
    from twisted.internet import task
    from twisted.python.failure import Failure

    from crawler.politeness import site_of, user_agent
    from crawler.shutdown import stop_in_order
    from crawler.spiders.news import NewsSpider
    from crawler.ssrf import allowance
    from monitor.alerts import load_alert_config, withhold_secrets
    from monitor.store import Store

    base = ScrapySettings()
    base.setmodule(crawler_settings, priority="project")
    # the fetch log as saved stays in memory between jobs (crawler.middlewares.FetchLog)
    base.update({"NEWSWATCH_DB": db_path, "LOG_LEVEL": "WARNING",
                 "NEWSWATCH_FETCH_LOG_CACHE": True, **overrides}, priority="cmdline")
    allowance(base)  # NEWSWATCH_ALLOW_PRIVATE: checked once (the caller checked it)
    install_reactor(base["TWISTED_REACTOR"], base["ASYNCIO_EVENT_LOOP"])
    from twisted.internet import reactor

    configure_logging(base)
    runner = CrawlerRunner(base)
    resolver = build_from_crawler(load_object(base["TWISTED_DNS_RESOLVER"]), runner,
                                  reactor=reactor)
    resolver.install_on_reactor()
    reactor.getThreadPool().adjustPoolsize(maxthreads=base.getint("REACTOR_THREADPOOL_MAXSIZE"))
    spider_class = (load_object(base["NEWSWATCH_SPIDER"]) if base.get("NEWSWATCH_SPIDER")
                    else NewsSpider)
    keep = base.get("LOG_LEVEL") == "DEBUG"
    router = _ReachRouter()
    running: dict[str, _Job] = {}
    abandoned: list[_Job] = []  # jobs reported aborted whose crawlers have not ended
    alerts: dict[str, Any] = {}  # path -> (stamp, NEWSWATCH_ALERTS, last good AlertConfig)
    pid = os.getpid()
    closing: list[bool] = []  # a shutdown was asked: no new job; exit once idle

    def alert_config(path: str | None) -> Any:
        """What the crawlers' NEWSWATCH_ALERTS get: the file's path while it loads (the
        pipelines read it once per change: ``crawler.pipelines``; a path is also far
        cheaper to copy with the settings than the rules), else the last good rules."""
        if not path:
            return ""
        try:
            stamp = os.stat(path).st_mtime_ns
        except OSError:
            stamp = None
        known = alerts.get(path)  # (stamp, what the crawlers get, the last good rules)
        if known is not None and known[0] == stamp:
            return known[1]
        try:
            config = load_alert_config(path)
        except ConfigError as exc:  # the last good one stays, as in the daemon
            if known is None:
                raise
            log.warning("alerts file %s does not load (%s); the last good one is used",
                        path, exc)
            alerts[path] = (stamp, known[2], known[2])
            return known[2]
        withhold_secrets(config)  # the channels' variables leave this process
        alerts[path] = (stamp, path, config)
        return path

    prepared: dict[tuple[Any, ...], Any] = {}  # (contact, alerts, settings): Scrapy settings

    def job_settings_for(contact: str | None, alerts_value: Any,
                         extra: Mapping[str, Any]) -> Any:
        """The Scrapy settings of a job, built once per contact, alerts and overrides
        (a deep copy of every setting: 20 ms; each crawler copies them once more)."""
        key = (contact, alerts_value if isinstance(alerts_value, str) else id(alerts_value),
               json.dumps(dict(extra), sort_keys=True, default=str))
        if key not in prepared:
            if len(prepared) > 16:
                prepared.clear()
            job = base.copy()
            job.set("USER_AGENT", user_agent(contact), priority="project")
            job.update({"NEWSWATCH_ALERTS": alerts_value, **extra}, priority="cmdline")
            prepared[key] = job
        return prepared[key]

    def send(job: _Job, kind: str, payload: Any) -> None:
        jobs.put({"job": job.id, "kind": kind, "payload": payload})

    def report(job: _Job) -> None:
        snapshot = {}
        starting = not pool_ready()
        for name, crawler in job.crawlers:
            stats = _stats(crawler)
            if stats is None:
                continue
            done = sum(stats.get_value(f"newswatch/{k}", 0)
                       for k in ("new", "irrelevant", "duplicate", "updated", "unchanged",
                                 "skipped"))
            snapshot[name] = {"found": stats.get_value("newswatch/found", 0), "done": done,
                              "errors": stats.get_value("newswatch/errors", 0),
                              "run_id": stats.get_value("newswatch/run_id", 0),
                              "requests": stats.get_value("downloader/request_count", 0),
                              "in_hand": _in_hand(crawler), "starting": starting,
                              "step": _step(crawler)}
        if snapshot:
            send(job, "progress", snapshot)
        if job.grace is not None:
            job.grace.progress(sum(c["done"] + c["errors"] for c in snapshot.values()),
                               sum(c["in_hand"] for c in snapshot.values()),
                               time.monotonic(), starting=starting)

    def run_ids(job: _Job) -> list[int]:
        return [stats.get_value("newswatch/run_id") for _, c in job.crawlers
                if (stats := _stats(c)) is not None and stats.get_value("newswatch/run_id")]

    def stop_job(job: _Job, why: str) -> None:
        if job.stop is None:
            job.stop = why
            job.grace = StopGrace(time.monotonic(),
                                  sum(_in_hand(c) for _, c in job.crawlers))
            for _, crawler in job.crawlers:
                stop_in_order(crawler)  # (not open yet: at its engine_started)

    def abandon(job: _Job) -> None:
        """A stop that ran out of grace: close the job's runs, report it; its crawlers
        end on their own and keep that status (``finish``)."""
        status = (f"aborted: no end after {job.timeout:.0f} s" if job.stop == "limit"
                  else INTERRUPTED)
        job.abandoned = status
        running.pop(job.id, None)
        abandoned.append(job)
        ids = run_ids(job)
        store = Store(db_path)
        try:
            store.abort_running(job.names, status, owner=pid)
        finally:
            store.close()
        log.warning("%s: stop ran out of grace; runs closed %r", ", ".join(job.names), status)
        send(job, "aborted", {"status": status, "runs": ids})
        detach(job)

    def detach(job: _Job) -> None:
        router.remove(job.id)

    def finish(job: _Job) -> None:
        """Every crawler of ``job`` has ended."""
        if job.abandoned is not None:  # reported already: its runs keep their status
            abandoned.remove(job)
            ids = run_ids(job)
            if ids:
                store = Store(db_path)
                try:
                    marks = ",".join("?" * len(ids))
                    with store.db.conn:
                        store.db.execute(f"update crawl_runs set status = ? where id in "
                                         f"({marks})", [job.abandoned, *ids])
                finally:
                    store.close()
            return
        running.pop(job.id, None)
        report(job)
        detach(job)
        if job.stop == "limit":  # stopped in order at its time limit: recorded as such
            status = f"aborted: no end after {job.timeout:.0f} s"
            ids = run_ids(job)
            store = Store(db_path)
            try:
                store.abort_running(job.names, status, owner=pid)
                if ids:
                    marks = ",".join("?" * len(ids))
                    with store.db.conn:
                        store.db.execute(f"update crawl_runs set status = ? where id in "
                                         f"({marks})", [status, *ids])
            finally:
                store.close()
            send(job, "aborted", {"status": status, "runs": ids})
            return
        send(job, "unreachable", job.reach.unreachable())
        started = [stats for _, c in job.crawlers if (stats := _stats(c)) is not None]
        fatal = [stats.get_value("newswatch/fatal") for stats in started
                 if stats.get_value("newswatch/fatal")]
        if fatal:
            kinds = [stats.get_value("newswatch/fatal_kind") for stats in started
                     if stats.get_value("newswatch/fatal")]
            send(job, "fatal", ["; ".join(dict.fromkeys(fatal)), kinds])
        if job.errors and not run_ids(job):
            send(job, "failed", "; ".join(job.errors))
        send(job, "done", run_ids(job))

    def start_job(message: dict[str, Any]) -> None:
        names = [s.get("name", "?") for s in message.get("sources") or []]
        job = _Job(str(message["id"]), names, message.get("timeout"), time.monotonic())
        busy = {n for j in abandoned for n in j.names} & set(names)
        if busy and not closing:  # an abandoned crawl of the source is still open
            reactor.callLater(1.0, start_job, message)
            return
        if closing:
            send(job, "done", [])
            return
        try:
            settings = Settings.model_validate({
                "sources": message["sources"], "contact": message.get("contact"),
                **({"timezone": message["timezone"]} if message.get("timezone") else {})})
            job_settings = job_settings_for(settings.contact,
                                            alert_config(message.get("alerts")),
                                            message.get("settings") or {})
        except (ConfigError, ValueError) as exc:
            send(job, "failed", str(exc).splitlines()[0] if str(exc) else repr(exc))
            send(job, "done", [])
            return
        job.reach = Reachability(keep=keep)
        router.add(job.id, job.reach, [settings.source(name) for name in names])
        router.attach()
        running[job.id] = job
        turns: dict[str, list[tuple[str, Any]]] = {}
        for name in names:
            crawler = Crawler(spider_class, job_settings)
            crawler.signals.connect(job.reach.response_received,
                                    signal=signals.response_received)
            crawler.signals.connect(router.attach, signal=signals.engine_started)
            # a stop asked while this crawler was opening: it closes once its engine
            # starts. Held by the job and connected weakly: a strong connection would
            # keep every crawler of the service's life in pydispatch's registry
            def hook(crawler: Any = crawler) -> None:
                if job.stop:
                    stop_in_order(crawler)

            job.hooks.append(hook)
            crawler.signals.connect(hook, signal=signals.engine_started)
            job.crawlers.append((name, crawler))
            turns.setdefault(site_of(settings.source(name)), []).append((name, crawler))

        def next_turn(result: Any, queue: list[tuple[str, Any]]) -> None:
            if isinstance(result, Failure):  # a crawler that could not run
                job.errors.append(result.getErrorMessage())
                log.error("job %s: %s", job.id, result.getTraceback())
            if queue and not job.stop:
                name, crawler = queue.pop(0)
                runner.crawl(crawler, source=settings.source(name)).addBoth(next_turn, queue)
                return
            job.chains -= 1
            if job.chains == 0:
                finish(job)

        job.chains = len(turns)
        for queue in turns.values():
            next_turn(None, queue)

    def handle(message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "job":
            start_job(message)
        elif kind == "stop":
            job = running.get(str(message.get("id")))
            if job is not None:
                stop_job(job, "stop")
                if message.get("now"):
                    abandon(job)
        elif kind == "shutdown":
            shutdown(bool(message.get("now")))

    def shutdown(now: bool) -> None:
        if not closing:
            closing.append(True)
        for job in list(running.values()):
            stop_job(job, "stop")
            if now:
                abandon(job)
        if now and reactor.running:
            reactor.stop()

    def tick() -> None:
        current = time.monotonic()
        if len(asked) >= 2:  # SIGTERM / SIGINT to the service itself: twice, at once
            shutdown(True)
        elif asked and not closing:  # once: every job stops in order
            shutdown(False)
        for job in list(running.values()):
            report(job)
            if (job.stop is None and job.timeout is not None
                    and current - job.started > job.timeout):
                log.warning("%s: no end after %.0f s, stopping", ", ".join(job.names),
                            job.timeout)
                stop_job(job, "limit")
            if job.grace is not None and job.grace.expired(current):
                abandon(job)
        if closing and not running and reactor.running:
            reactor.stop()

    def read() -> None:  # a thread: blocking reads of the job source
        while reactor.running or not closing:
            try:
                message = jobs.get(0.5)
            except (EOFError, OSError):
                break
            if message is not None:
                reactor.callFromThread(handle, message)

    reactor.callWhenRunning(lambda: jobs.put({"job": None, "kind": "ready", "payload": pid}))
    task.LoopingCall(tick).start(WATCH_EVERY, now=False)
    threading.Thread(target=read, name="newswatch-service-jobs", daemon=True).start()
    runtime.freeze()
    reactor.run(installSignalHandlers=False)
    shutdown_pool()
    shutdown_writers()


class _ReachRouter(logging.Filter):
    """One logging filter for the whole service: a record goes to the ``Reachability``
    of the job whose source logged it (``record.spider``), or, without one, of the job
    whose source owns the failing URL's host, so that jobs running together do not
    share answers and failures. (Scrapy replaces its root handler whenever a crawler
    starts: ``attach`` adds the filter again, as ``Reachability.attach`` does.)"""

    def __init__(self) -> None:
        super().__init__()
        self.jobs: dict[str, tuple[Reachability, list[Any]]] = {}  # job id -> (reach, sources)

    def add(self, job_id: str, reach: Reachability, sources: list[Any]) -> None:
        self.jobs[job_id] = (reach, sources)

    def remove(self, job_id: str) -> None:
        self.jobs.pop(job_id, None)

    def attach(self, **_: Any) -> None:
        for handler in logging.root.handlers:
            handler.addFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not self.jobs:
            return True
        source = getattr(getattr(record, "spider", None), "source", None)
        for reach, sources in list(self.jobs.values()):
            if source is not None:
                if any(s.name == source.name for s in sources):
                    return reach.filter(record)
                continue
            url = _URL.search(record.getMessage())
            host = (urlsplit(url.group(0)).hostname or "") if url else ""
            if host and any(s.owns_host(host) for s in sources):
                return reach.filter(record)
        return True


# -- the parent's side -----------------------------------------------------------------------
class ServiceDied(CrawlError):
    """The crawl service ended while the job ran (killed, crashed)."""


class _Instance:
    """One service process and its queues (a restart makes a new one)."""

    def __init__(self, db_path: Path, overrides: Mapping[str, Any]) -> None:
        context = multiprocessing.get_context("spawn")
        self.jobs: Any = context.Queue()
        self.events: Any = context.Queue()
        self.process = context.Process(
            target=_service_child, name="newswatch-service",
            args=(str(db_path), dict(overrides), self.jobs, self.events, os.getpid()))
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self.process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        self.pid: int = self.process.pid
        self.ready = threading.Event()
        self.ended = False  # its end was handled (``CrawlService._ended``)
        self.jobs_done = 0


class CrawlService:
    """The parent's side of the warm crawl service (module docstring).

    ``crawl`` runs one job (one source, or the sources of one site) and blocks like
    ``monitor.run.crawl.crawl``, returning a ``CrawlResult`` or raising ``CrawlError``.
    Thread-safe: the daemon's crawl threads call it at once. ``close`` stops it."""

    def __init__(self, db_path: str | Path, scrapy_settings: Mapping[str, Any] | None = None,
                 recycle_jobs: int = RECYCLE_JOBS, recycle_rss: int = RECYCLE_RSS) -> None:
        self.db_path = Path(db_path).resolve()
        self.overrides = dict(scrapy_settings or {})
        self.recycle_jobs = recycle_jobs
        self.recycle_rss = recycle_rss
        self.lock = threading.Condition()
        self.instance: _Instance | None = None
        self.waiting: dict[str, queue_module.Queue[dict[str, Any]]] = {}  # job id -> events
        self.active = 0  # jobs sent and not ended
        self.draining = False  # a recycle waits for the jobs running to end
        self.closed = False
        self.restarts = 0
        self.recycles = 0
        self.rss_read = 0.0
        self.rss = 0  # the last RSS measured (bytes)
        self.pids: list[int] = []  # every service process started, in order
        # every service process is started from this one thread, which lives as long as
        # the CrawlService: Linux sends the parent-death signal (die_with_parent) when
        # the *thread* that started a process ends, and a restart or a recycle happens
        # on short-lived threads
        self.starter = ThreadPoolExecutor(1, thread_name_prefix="newswatch-service-start")

    # -- the process -----------------------------------------------------------------------
    def _start(self) -> _Instance:
        quiet_resource_tracker()
        instance = self.starter.submit(_Instance, self.db_path, self.overrides).result()
        self.pids.append(instance.pid)
        threading.Thread(target=self._dispatch, args=(instance,), daemon=True,
                         name=f"newswatch-service-{instance.pid}").start()
        return instance

    def _dispatch(self, instance: _Instance) -> None:
        """Route the instance's events to the jobs waiting for them (a thread)."""
        while True:
            try:
                event = instance.events.get(timeout=0.2)
            except queue_module.Empty:
                if not instance.process.is_alive():
                    self._ended(instance)
                    return
                continue
            except (EOFError, OSError, ValueError):
                if not instance.process.is_alive():
                    self._ended(instance)
                    return
                continue
            job = event.get("job")
            if job is None:
                if event.get("kind") == "ready":
                    instance.ready.set()
                continue
            with self.lock:
                target = self.waiting.get(job)
            if target is not None:
                target.put(event)

    def _ended(self, instance: _Instance) -> None:
        """The service process ended: unless closed on purpose, its open runs are
        closed ``aborted: crawl service died``, its jobs told, and a new one started."""
        with self.lock:
            if instance.ended:
                return
            instance.ended = True
            planned = self.closed or self.instance is not instance
            if self.instance is instance:
                self.instance = None
            waiting = list(self.waiting.values()) if not planned else []
        instance.process.join(1)
        kill_group(instance.pid)
        if planned:
            return
        code = instance.process.exitcode
        status = f"{DIED} (exit code {code})"
        closed = _close_runs_of(self.db_path, instance.pid, status)
        for target in waiting:
            target.put({"kind": "died", "payload": status})
        with self.lock:
            if self.closed:
                return
            self.restarts += 1
            if self.instance is None:  # else a caller's _instance() started one meanwhile
                self.instance = self._start()  # (both did: one was left behind, orphaned)
            new = self.instance
            self.lock.notify_all()
        log.error("crawl service (pid %d) died (exit code %s): %d running run(s) marked "
                  "aborted; restarted as pid %d", instance.pid, code, closed, new.pid)

    def _instance(self) -> _Instance:
        """The running instance (started, or recycled, first); under ``lock``."""
        while self.draining and not self.closed:
            self.lock.wait(0.5)
        if self.closed:
            raise CrawlError("the crawl service is closed")
        if self.instance is None or not self.instance.process.is_alive():
            if self.instance is not None:  # died: said by its dispatcher
                self.lock.wait(0.5)
                if self.instance is not None and self.instance.process.is_alive():
                    return self.instance
            self.instance = self._start()
        return self.instance

    def _recycle_due(self, instance: _Instance) -> str | None:
        """Why the instance should be recycled now (after a job), or None."""
        if instance.jobs_done >= self.recycle_jobs:
            return f"after {instance.jobs_done} jobs"
        current = time.monotonic()
        if current - self.rss_read >= RSS_EVERY:
            self.rss_read = current
            self.rss = group_rss(instance.pid)
            if self.rss > self.recycle_rss:
                return (f"its RSS {self.rss / 2**20:.0f} MB over {self.recycle_rss / 2**20:.0f}"
                        " MB")
        return None

    def _recycle(self, instance: _Instance, why: str) -> None:
        """Replace ``instance`` once no job runs (called with no job of this thread)."""
        with self.lock:
            if self.draining or self.instance is not instance:
                return
            self.draining = True
            while self.active and not self.closed:
                self.lock.wait(0.5)
        try:
            self._stop_instance(instance, now=False)
        finally:
            with self.lock:
                self.recycles += 1
                if self.instance is instance:
                    self.instance = None
                if not self.closed:
                    self.instance = self._start()
                    log.info("crawl service (pid %d) recycled %s: new pid %d", instance.pid,
                             why, self.instance.pid)
                self.draining = False
                self.lock.notify_all()

    def _stop_instance(self, instance: _Instance, now: bool) -> None:
        instance.ended = True  # an end on purpose, not a death
        try:
            instance.jobs.put({"type": "shutdown", "now": now})
        except (OSError, ValueError):
            pass
        instance.process.join(5 if now else MAX_GRACE_SECONDS + 5)
        kill_group(instance.pid)
        instance.process.join(5)

    def close(self, now: bool = False) -> None:
        """Stop the service: running jobs stop in order (``now``: at once), then its
        process group ends. Later ``crawl`` calls raise CrawlError."""
        with self.lock:
            self.closed = True
            instance, self.instance = self.instance, None
            self.lock.notify_all()
        if instance is not None:
            self._stop_instance(instance, now)
        self.starter.shutdown(wait=False)

    def start(self, wait: float | None = START_SECONDS) -> int:
        """Start the service now (else at the first job); with ``wait``, until it says
        it is ready. Returns its pid."""
        with self.lock:
            instance = self._instance()
        if wait:
            instance.ready.wait(wait)
        return instance.pid

    @property
    def pid(self) -> int | None:
        """The running service process's pid (None: not started)."""
        instance = self.instance
        return instance.pid if instance is not None else None

    # -- jobs ------------------------------------------------------------------------------
    def crawl(self, settings: Settings, names: Sequence[str], timeout: float | None = None,
              stop: Interrupt | None = None, alerts: str | Path | None = None,
              progress: Callable[[dict[str, dict[str, int]]], None] | None = None,
              scrapy_settings: Mapping[str, Any] | None = None) -> CrawlResult:
        """Crawl ``names`` (sources of ``settings``; several only when they share a
        site, which then take turns) in the service, within ``timeout`` seconds;
        ``alerts`` is the alerts file whose rules queue alerts (its last good version).
        ``stop`` asks the job to stop (once: in order; twice: at once);
        ``scrapy_settings``: this job's Scrapy settings over the service's (JSON-able: a
        crawl worker's ``NEWSWATCH_FLEET``). Blocks until the
        job ended; returns its ``CrawlResult`` or raises ``CrawlError`` (a time limit:
        the runs closed ``aborted: no end after N s``; the service died:
        ``ServiceDied``)."""
        names = list(names)
        sources = [settings.source(name).model_dump(mode="json") for name in names]
        stop = stop if stop is not None else Interrupt()
        job_id = uuid.uuid4().hex
        events: queue_module.Queue[dict[str, Any]] = queue_module.Queue()
        with self.lock:
            instance = self._instance()
            self.waiting[job_id] = events
            self.active += 1
        try:
            instance.jobs.put({"type": "job", "id": job_id, "sources": sources,
                               "contact": settings.contact, "timezone": settings.timezone,
                               "timeout": timeout, "alerts": str(alerts) if alerts else None,
                               "settings": dict(scrapy_settings or {})})
            result = self._watch(instance, job_id, events, names, timeout, stop, progress)
        finally:
            with self.lock:
                self.waiting.pop(job_id, None)
                self.active -= 1
                instance.jobs_done += 1
                self.lock.notify_all()
        why = None if self.closed else self._recycle_due(instance)
        if why:
            self._recycle(instance, why)
        return result

    def _watch(self, instance: _Instance, job_id: str, events: queue_module.Queue[Any],
               names: list[str], timeout: float | None, stop: Interrupt,
               progress: Callable[[dict[str, dict[str, int]]], None] | None) -> CrawlResult:
        """Follow one job: its events, the stop request, the service's death."""
        owner = instance.pid
        started = time.monotonic()
        run_ids: dict[str, int] = {}
        last: dict[str, dict[str, Any]] = {}
        asked = 0  # stop requests passed on
        failure = fatal = None
        fatal_kinds: list[str | None] = []
        unreachable: dict[str, dict[str, Any]] = {}
        # a service that no longer answers for the job (wedged): killed and restarted
        backstop = None if timeout is None else timeout + MAX_GRACE_SECONDS + 30
        while True:
            if stop.count > asked:
                asked = stop.count
                try:
                    instance.jobs.put({"type": "stop", "id": job_id, "now": asked >= 2})
                except (OSError, ValueError):
                    pass
            try:
                event = events.get(timeout=0.1)
            except queue_module.Empty:
                if not instance.process.is_alive() and not instance.ended:
                    threading.Thread(target=self._ended, args=(instance,), daemon=True).start()
                if backstop is not None and time.monotonic() - started > backstop:
                    log.error("crawl service (pid %d) gave no end of %s %.0f s after its "
                              "time limit: killed", owner, ", ".join(names),
                              time.monotonic() - started - (timeout or 0))
                    kill_group(owner)
                    backstop = None
                continue
            kind, payload = event.get("kind"), event.get("payload")
            if kind == "progress":
                for name, counts in payload.items():
                    if counts.get("run_id"):
                        run_ids[name] = counts["run_id"]
                    last[name] = counts
                if progress:
                    progress(payload)
            elif kind == "phase" and progress:
                progress({name: {"step": payload} for name in names})
            elif kind == "unreachable":
                unreachable = payload
            elif kind == "failed":
                failure = payload
            elif kind == "fatal":
                fatal, fatal_kinds = payload[0], list(payload[1])
            elif kind == "died":
                _salvage_counts(self.db_path, run_ids, last)
                raise ServiceDied(f"crawl of {', '.join(names)}: {payload}")
            elif kind == "aborted":
                ids = sorted({*payload.get("runs", []), *run_ids.values()})
                if payload.get("status") == INTERRUPTED:
                    _salvage_counts(self.db_path, run_ids, last)
                    return _result(self.db_path, ids, interrupted=True,
                                   unreachable=unreachable)
                raise CrawlError(f"crawl of {', '.join(names)} stopped after "
                                 f"{timeout or 0:.0f} s: {payload.get('status')}")
            elif kind == "done":
                return self._done(owner, names, payload, stop, failure, fatal, fatal_kinds,
                                  unreachable)

    def _done(self, owner: int, names: list[str], done_ids: list[int], stop: Interrupt,
              failure: str | None, fatal: str | None, fatal_kinds: list[str | None],
              unreachable: dict[str, dict[str, Any]]) -> CrawlResult:
        """The result of a job that ended (as ``monitor.run.crawl._watch`` makes it)."""
        if stop:
            _mark_interrupted(self.db_path, names, done_ids, owner)
            result = _result(self.db_path, done_ids, interrupted=True,
                             unreachable=unreachable)
            if (len(done_ids) >= len(names) and result.runs
                    and all(run["status"] != INTERRUPTED for run in result.runs)):
                result.interrupted = False  # every run had ended on its own
            if fatal:
                raise _fatal_error(self.db_path, names, fatal, fatal_kinds, owner)
            return result
        if fatal:
            raise _fatal_error(self.db_path, names, fatal, fatal_kinds, owner)
        if failure:
            _abort_runs(self.db_path, names, f"aborted: {failure[:200]}", owner)
            raise CrawlError(failure)
        if len(done_ids) < len(names):
            _abort_runs(self.db_path, names, "aborted: the job recorded no run", owner)
            raise CrawlError(f"crawl job of {', '.join(names)} recorded {len(done_ids)} of "
                             f"{len(names)} runs; see the daemon's log")
        _mark_unreachable(self.db_path, done_ids, unreachable)
        return _result(self.db_path, done_ids, unreachable=unreachable)


def _close_runs_of(db_path: Path, owner: int, status: str) -> int:
    """Close every run still ``running`` that process ``owner`` opened; returns how many."""
    if not db_path.exists():
        return 0
    from monitor.store import Store

    store = Store(db_path)
    try:
        names = [row[0] for row in store.db.execute(
            "select distinct source from crawl_runs where status = 'running' and "
            "owner_pid = ?", [owner]).fetchall()]
        if not names:
            return 0
        return store.abort_running(names, status, owner=owner)
    except Exception:  # noqa: BLE001 - said, the restart goes on
        log.exception("runs of the crawl service (pid %d) could not be closed", owner)
        return 0
    finally:
        store.close()

