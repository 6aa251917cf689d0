"""Run crawls: each in a child process, with progress reported to the parent.

Twisted's reactor cannot be restarted inside one process, and a child process also
isolates the crawl's crashes and memory from the caller (CLI, daemon, tests). The child
runs one Scrapy crawler per source in a single CrawlerProcess.
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queue_module
import signal
import sqlite3
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.alerts import ALERTS_FILE, AlertConfig, load_alert_config, withhold_secrets
from monitor.processes import GRACE_SECONDS, Interrupt, die_with_parent, kill_group, runtime
from monitor.sources import DEFAULT_CONFIG, ConfigError, Settings, load_settings, with_recheck
from monitor.store import COUNTS, Store

Progress = Callable[[dict[str, dict[str, int]]], None]
PROGRESS_EVERY = 0.25  # seconds between progress reports from the child
STOP_POLL = 0.1  # seconds between the crawl process's looks at a stop request
INTERRUPTED = "interrupted"  # crawl-run status of a crawl stopped by Ctrl-C / a stop request


class CrawlError(RuntimeError):
    """The crawl could not run (as opposed to some pages failing)."""


@dataclass
class CrawlResult:
    """What a crawl did: one crawl-run row per source."""

    db_path: Path
    runs: list[dict[str, Any]] = field(default_factory=list)
    interrupted: bool = False  # stopped by Ctrl-C / a stop request
    # hosts that failed at the connection level and never answered:
    # {"host:port": {"failures": n, "reason": str, "sources": [names]}}
    unreachable: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def totals(self) -> dict[str, int]:
        """Counts summed over sources."""
        return {k: sum(int(run.get(k) or 0) for run in self.runs) for k in COUNTS}

    @property
    def failed_sources(self) -> list[str]:
        """Sources whose run did not finish, or with a host that never answered."""
        names = {run["source"] for run in self.runs if run["status"] != "finished"}
        for info in self.unreachable.values():
            names.update(info.get("sources") or [])
        return sorted(names)

    @property
    def ok(self) -> bool:
        """Every source's crawl ran to its end and every host answered."""
        return (not self.interrupted and bool(self.runs) and not self.unreachable
                and all(run["status"] == "finished" for run in self.runs))


def crawl(config: str | Path | Settings = DEFAULT_CONFIG, db_path: str | Path = "newswatch.db",
          sources: Sequence[str] | None = None, variables: Mapping[str, str] | None = None,
          progress: Progress | None = None, scrapy_settings: Mapping[str, Any] | None = None,
          timeout: float | None = None,
          alerts: str | Path | AlertConfig | None = ALERTS_FILE,
          stop: Interrupt | None = None,
          recheck: Mapping[str, Any] | None = None) -> CrawlResult:
    """Crawl ``sources`` (default: all in ``config``) into ``db_path``; blocks until done.

    ``config`` is a sources file, or settings already loaded (the daemon passes its last
    good config, so a broken file on disk does not stop its crawls). ``progress`` is
    called with ``{source: {"found", "done", "errors"}}`` as pages are stored. ``alerts``
    is the alerts file whose rules queue alerts with the articles (None: queue none).
    ``recheck`` (``min``, ``max``: durations such as "0s", "7d"; ``budget``: re-checks per
    hour) goes over every source's ``recheck:`` (``monitor.sources.with_recheck``).
    Raises ConfigError for a bad config or unknown source, CrawlError when the crawl
    process fails or the database is full (the run is then recorded ``failed``).

    ``stop`` asks a running crawl to stop (``monitor.processes.lifecycle.Interrupt``: once = in
    order, twice = at once); without it, in the main thread, SIGINT (Ctrl-C) does that for
    the duration of the call. An interrupted crawl returns what it stored, with
    ``interrupted`` set and its runs marked ``interrupted``. Every process of the crawl
    is gone when this returns (``monitor.processes.lifecycle``).
    """
    if alerts and not isinstance(alerts, AlertConfig):  # the caller's error, before any crawl
        alerts = load_alert_config(alerts)
    overrides = {"NEWSWATCH_ALERTS": alerts or "", **(scrapy_settings or {})}
    config_arg: str | dict[str, Any]
    if isinstance(config, Settings):
        settings = with_recheck(config, recheck)
        config_arg = settings.model_dump()
    else:  # fail fast, in the caller, on bad config
        settings, config_arg = load_settings(config, variables), str(config)
        if recheck and any(v is not None for v in recheck.values()):
            settings = with_recheck(settings, recheck)
            config_arg = settings.model_dump()  # the child crawls these, not the file
    names = list(sources) if sources else [s.name for s in settings.sources]
    for name in names:
        settings.source(name)
    db_path = Path(db_path).resolve()
    reap_orphaned_runs(db_path)  # runs left "running" by crawls killed with kill -9
    context = multiprocessing.get_context("spawn")
    events: multiprocessing.Queue[tuple[str, Any]] = context.Queue()
    child = context.Process(
        target=_crawl_child, name="newswatch-crawl",
        args=(config_arg, dict(variables or {}), names, str(db_path),
              overrides, events, os.getpid()),
    )
    own_handler = stop is None and threading.current_thread() is threading.main_thread()
    stop = stop if stop is not None else Interrupt()
    # the child starts with SIGINT blocked (the mask is inherited through fork and exec)
    # until it leads its own process group and has its handler: a Ctrl-C to the terminal,
    # or this process's stop request, while it imports waits for it, pending, instead of
    # raising KeyboardInterrupt in its imports. Per thread: works in the daemon's threads.
    previous = signal.getsignal(signal.SIGINT) if own_handler else None
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        child.start()
    finally:
        if own_handler:
            signal.signal(signal.SIGINT, lambda *_: stop.request())
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    try:
        return _watch(child, events, stop, names, db_path, progress, timeout)
    finally:
        kill_group(child.pid)  # whatever of the crawl's group is left: forkserver, workers
        if own_handler:
            signal.signal(signal.SIGINT, previous)


def _watch(child: Any, events: Any, stop: Interrupt, names: list[str], db_path: Path,
           progress: Progress | None, timeout: float | None) -> CrawlResult:
    """Follow the crawl child until it ends: progress, stop requests, the time limit."""
    started = time.monotonic()
    run_ids: dict[str, int] = {}
    last: dict[str, dict[str, Any]] = {}  # each source's last progress report
    failure: str | None = None
    fatal: str | None = None
    asked: float | None = None  # when the child was asked to stop in order
    done_ids: list[int] | None = None
    unreachable: dict[str, dict[str, Any]] = {}
    torn_down = False  # the crawl was done; only its process's teardown ran out of time
    while True:
        if timeout is not None and time.monotonic() - started > timeout:
            if done_ids is None:
                _stop(child)
                _abort_runs(db_path, names, f"aborted: no end after {timeout:.0f} s",
                            child.pid)
                raise CrawlError(f"crawl of {', '.join(names)} killed after {timeout:.0f} s")
            kill_group(child.pid)  # every run closed in time: a finished crawl
            child.join(5)
            torn_down = True
            for kind, payload in _drained(events):
                if kind == "fatal":
                    fatal = payload
            break
        if stop.count >= 2 or (asked is not None
                               and time.monotonic() - asked > GRACE_SECONDS):
            kill_group(child.pid)
            child.join(5)
            break
        if stop.count == 1 and asked is None:
            asked = time.monotonic()
            _signal(child, signal.SIGINT)  # Scrapy stops in order: runs end "interrupted"
        try:
            kind, payload = events.get(timeout=0.1)
        except queue_module.Empty:
            if not child.is_alive():
                break
            continue
        except (EOFError, OSError):  # the child died while writing
            if not child.is_alive():
                break
            continue
        if kind == "progress":
            for name, counts in payload.items():
                if counts.get("run_id"):
                    run_ids[name] = counts["run_id"]
                last[name] = counts
            if progress:
                progress(payload)
        elif kind == "done":
            done_ids = payload
        elif kind == "unreachable":
            unreachable = payload
        elif kind == "failed":
            failure = payload
        elif kind == "fatal":
            fatal = payload
    child.join()
    if stop:  # interrupted: whatever was stored stays; its runs end "interrupted"
        ids = done_ids if done_ids is not None else list(run_ids.values())
        if done_ids is None:  # killed before its runs were closed: counts from here
            _salvage_counts(db_path, run_ids, last)
        _mark_interrupted(db_path, names, ids, child.pid)
        ids = sorted({*ids, *_owned_runs(db_path, names, child.pid)})  # every run it opened
        result = _result(db_path, ids, interrupted=True, unreachable=unreachable)
        if (done_ids is not None and len(done_ids) >= len(names) and result.runs
                and all(run["status"] != INTERRUPTED for run in result.runs)):
            # every run had ended on its own when the stop came (a Ctrl-C just after
            # the end): what is stored says finished, and so does the result
            result.interrupted = False
            if fatal:
                raise CrawlError(fatal + _record_failure(db_path, names, fatal, child.pid))
        return result
    if fatal:  # the database is full: the child closed its run "failed", or could not
        raise CrawlError(fatal + _record_failure(db_path, names, fatal, child.pid))
    if failure or (child.exitcode != 0 and not torn_down):
        _abort_runs(db_path, names, f"aborted: crawl process exit code {child.exitcode}",
                    child.pid)
        raise CrawlError(failure or f"crawl process exited with code {child.exitcode}")
    if done_ids is None or len(done_ids) < len(names):  # ended "well" without every source
        raise CrawlError(f"crawl process ended after recording {len(done_ids or [])} of "
                         f"{len(names)} runs; see its log above")
    return _result(db_path, done_ids, unreachable=unreachable)


def _drained(events: Any) -> list[tuple[str, Any]]:
    """The events still waiting in the queue of a crawl process that has ended."""
    found = []
    while True:
        try:
            found.append(events.get_nowait())
        except (queue_module.Empty, EOFError, OSError):
            return found


def _result(db_path: Path, run_ids: Sequence[int], interrupted: bool = False,
            unreachable: dict[str, dict[str, Any]] | None = None) -> CrawlResult:
    unreachable = unreachable or {}
    if not run_ids or not db_path.exists():
        return CrawlResult(db_path=db_path, interrupted=interrupted, unreachable=unreachable)
    store = Store(db_path)
    try:
        return CrawlResult(db_path=db_path, runs=store.runs(run_ids), interrupted=interrupted,
                           unreachable=unreachable)
    finally:
        store.close()


def _signal(child: Any, sig: int) -> None:
    try:
        os.kill(child.pid, sig)
    except (ProcessLookupError, TypeError):
        pass


def _stop(child: Any) -> None:
    """A crawl past its time limit: SIGKILL to its whole process group (crawl process,
    forkserver, extraction workers). Stored batches stay; the run is closed by the
    caller."""
    kill_group(child.pid)
    if child.is_alive():
        child.kill()
    child.join(5)


def reap_orphaned_runs(db_path: str | Path) -> list[int]:
    """Close the runs of ``db_path`` left ``running`` by crawl processes that are gone
    (``Store.reap_orphaned_runs``), of every source; runs of live crawls stay. Returns
    the ids closed (none when the database does not exist yet)."""
    if not Path(db_path).exists():
        return []
    store = Store(db_path)
    try:
        return store.reap_orphaned_runs()
    finally:
        store.close()


def _abort_runs(db_path: Path, names: Sequence[str], status: str,
                owner: int | None = None) -> None:
    """Close the crawl-run rows a dead crawl left open (status "running"): those its
    process ``owner`` (pid) opened, when given; another crawl's stay."""
    if not db_path.exists():
        return
    store = Store(db_path)
    try:
        store.abort_running(names, status, owner=owner)
    finally:
        store.close()


def _mark_interrupted(db_path: Path, names: Sequence[str], run_ids: Sequence[int],
                      owner: int | None = None) -> None:
    """Runs of an interrupted crawl: those left open (by its process ``owner``, when
    given), and those Scrapy closed because it was asked to stop ("stopped:
    shutdown"), end ``interrupted``."""
    if not db_path.exists():
        return
    store = Store(db_path)
    try:
        store.abort_running(names, INTERRUPTED, owner=owner)
        if run_ids:
            marks = ",".join("?" * len(run_ids))
            with store.db.conn:
                store.db.execute(f"update crawl_runs set status = ? where id in ({marks}) "
                                 "and status = 'stopped: shutdown'", [INTERRUPTED, *run_ids])
        if owner is not None:  # runs closed before their ids reached this process (a
            # second Ctrl-C right after the first: the spiders closed, then the kill)
            marks = ",".join("?" * len(names))
            with store.db.conn:
                store.db.execute(
                    f"update crawl_runs set status = ? where owner_pid = ? and source in "
                    f"({marks}) and status = 'stopped: shutdown'", [INTERRUPTED, owner, *names])
    finally:
        store.close()


def _owned_runs(db_path: Path, names: Sequence[str], owner: int) -> list[int]:
    """Ids of the runs of ``names`` the crawl process ``owner`` (pid) opened."""
    if not db_path.exists():
        return []
    store = Store(db_path)
    try:
        marks = ",".join("?" * len(names))
        return [row[0] for row in store.db.execute(
            f"select id from crawl_runs where owner_pid = ? and source in ({marks})",
            [owner, *names]).fetchall()]
    finally:
        store.close()


def _salvage_counts(db_path: Path, run_ids: Mapping[str, int],
                    last: Mapping[str, Mapping[str, Any]]) -> None:
    """Counts for runs a killed crawl process left open (``running``), which its
    pipeline never closed: ``found``, ``errors`` and ``requests`` from the last progress
    report, and the articles first stored since the run started (``new``, ``duplicate``,
    ``irrelevant``, told apart as ``monitor.changes.ingest`` does) from the database, so that a
    run's counts say what it stored. (Another crawl of the same source storing at the
    same time would be counted too.)"""
    if not run_ids or not db_path.exists():
        return
    store = Store(db_path)
    try:
        with store.db.conn:
            for name, run_id in run_ids.items():
                row = store.db.execute("select started from crawl_runs where id = ? and "
                                       "status = 'running'", [run_id]).fetchone()
                if row is None:
                    continue
                new, duplicate, irrelevant = store.db.execute(
                    "select coalesce(sum(link is null and relevant = 1), 0), "
                    "coalesce(sum(link is not null), 0), "
                    "coalesce(sum(link is null and coalesce(relevant, 0) = 0), 0) "
                    "from articles where source = ? and first_seen >= ?",
                    [name, row[0]]).fetchone()
                seen = last.get(name, {})
                store.db.execute(
                    "update crawl_runs set found = ?, errors = ?, requests = ?, new = ?, "
                    "duplicate = ?, irrelevant = ? where id = ?",
                    [max(int(seen.get("found", 0)), new + duplicate + irrelevant),
                     int(seen.get("errors", 0)), int(seen.get("requests", 0)),
                     new, duplicate, irrelevant, run_id])
    finally:
        store.close()


def _record_failure(db_path: Path, names: Sequence[str], message: str,
                    owner: int | None = None) -> str:
    """Close runs the child (pid ``owner``, when given) left open as ``failed`` with
    ``message``; on a full disk that may fail too: returns a note saying so ("" when
    done)."""
    try:
        store = Store(db_path)
        try:
            store.abort_running(names, "failed", error=message, owner=owner)
        finally:
            store.close()
    except sqlite3.Error as exc:
        return f" (the crawl run could not be recorded: {exc})"
    return ""


def _step(crawler: Any) -> str:
    """What a crawler is downloading now, for the progress line: "robots.txt", "feed",
    "sitemap", "listing", "article" (the kinds of its requests in flight), "done" once
    its spider closed, "starting" before."""
    engine = getattr(crawler, "engine", None)
    if engine is None:
        return "done" if crawler.stats and crawler.stats.get_value("finish_reason") else \
            "starting"
    active = getattr(getattr(engine, "downloader", None), "active", None) or ()
    kinds = {"robots.txt" if request.url.endswith("/robots.txt")
             else request.meta.get("kind", "page") for request in list(active)}
    order = ["robots.txt", "feed", "sitemap", "listing", "article", "page"]
    if not kinds:
        return "done" if crawler.stats.get_value("finish_reason") else "waiting"
    ranked = sorted(kinds, key=lambda k: order.index(k) if k in order else 99)
    return ranked[0] + (f" +{len(ranked) - 1}" if len(ranked) > 1 else "")  # earliest stage


def _drop_alert_secrets(alerts: Any) -> None:
    """In the crawl process: the alert channels' variables leave its environment before
    its forkserver and extraction workers start (they send no alert). The commands that
    start crawls keep them out of this process's environment already (docs/SECURITY.md);
    this covers the library's callers."""
    try:
        config = alerts if isinstance(alerts, AlertConfig) else (
            load_alert_config(alerts) if alerts else None)
    except ConfigError:  # checked by the caller; the pipeline reports it again
        return
    withhold_secrets(config)


def _crawl_child(config: str | dict[str, Any], variables: dict[str, str], names: list[str],
                 db_path: str, overrides: dict[str, Any], events: Any, parent: int) -> None:
    """Child-process body: one CrawlerProcess, one crawler per source.

    It leads its own process group (its forkserver and workers join it), so that a
    terminal's Ctrl-C reaches only the parent, which asks it to stop with SIGINT (or
    SIGTERM): an orderly stop (``crawler.shutdown``: every run recorded with its counts;
    a second signal stops the reactor at once)."""
    die_with_parent(parent)
    os.setpgid(0, 0)
    runtime.tune_crawl_process()  # GC and GIL settings (monitor.processes.runtime)
    asked: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, _: asked.append(signum))
    signal.signal(signal.SIGTERM, lambda signum, _: asked.append(signum))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked by the parent
    try:
        _drop_alert_secrets(overrides.get("NEWSWATCH_ALERTS"))  # before any worker starts
        from crawler import settings as crawler_settings
        from monitor.processes import shutdown_pool, start_pool

        workers = int(overrides.get("NEWSWATCH_EXTRACT_WORKERS",
                                    crawler_settings.NEWSWATCH_EXTRACT_WORKERS))
        if workers >= 0 and not asked:  # first: the forkserver imports the extractor while
            start_pool(workers)  # Scrapy starts (not at all when already asked to stop)
        # imported here, at a shallow stack: its module builds deprecated aliases with
        # inspect.stack(), which reads the source of every frame; imported later, deep in
        # the first crawler's start, that cost 0.2 s of every crawl (issue 17)
        import scrapy.core.downloader.handlers.http11  # noqa: F401
        from scrapy.crawler import CrawlerProcess
        from scrapy.settings import Settings as ScrapySettings
        from twisted.internet import task

        from crawler.spiders.news import NewsSpider
        from monitor.processes import shutdown_writers

        settings = ScrapySettings()
        settings.setmodule(crawler_settings, priority="project")
        if isinstance(config, dict):  # settings loaded by the caller
            sources = Settings.model_validate(config)
        else:
            settings.set("NEWSWATCH_CONFIG", config, priority="cmdline")
            sources = load_settings(config, variables)
        from crawler.politeness import site_of, user_agent

        settings.set("USER_AGENT", user_agent(sources.contact), priority="project")
        settings.update({"NEWSWATCH_DB": db_path, "LOG_LEVEL": "WARNING", **overrides},
                        priority="cmdline")
        process = CrawlerProcess(settings)
        from scrapy import signals

        from monitor.run.reach import Reachability

        reach = Reachability(keep=settings.get("LOG_LEVEL") == "DEBUG")
        reach.attach()
        crawlers = []
        # sources on one site (registered domain) take turns: one site, one budget
        turns: dict[str, list[tuple[str, Any]]] = {}
        spider_class = NewsSpider  # a backfill (monitor.run.backfill) names its own
        if settings.get("NEWSWATCH_SPIDER"):
            from scrapy.utils.misc import load_object

            spider_class = load_object(settings.get("NEWSWATCH_SPIDER"))
        from crawler.shutdown import stop_in_order

        for name in names:
            crawler = process.create_crawler(spider_class)
            crawler.signals.connect(reach.response_received, signal=signals.response_received)
            crawler.signals.connect(reach.attach, signal=signals.engine_started)
            # a stop asked while this crawler was opening: it closes once its engine starts
            crawler.signals.connect(
                lambda crawler=crawler: stop_in_order(crawler) if asked else None,
                signal=signals.engine_started, weak=False)
            crawlers.append((name, crawler))
            turns.setdefault(site_of(sources.source(name)), []).append((name, crawler))

        def next_turn(result: Any, queue: list[tuple[str, Any]], previous: Any = None) -> Any:
            stats = getattr(previous, "stats", None)
            if asked or (stats is not None
                         and stats.get_value("finish_reason") == "shutdown"):
                return result  # asked to stop: the sources still waiting do not start
            if queue:
                name, crawler = queue.pop(0)
                process.crawl(crawler, source=sources.source(name)).addBoth(
                    next_turn, queue, crawler)
            return result

        for queue in turns.values():
            next_turn(None, queue)

        def report() -> None:
            snapshot = {}
            for name, crawler in crawlers:
                stats = crawler.stats
                if stats is None:
                    continue
                done = sum(stats.get_value(f"newswatch/{k}", 0)
                           for k in ("new", "irrelevant", "duplicate", "updated", "unchanged",
                                     "skipped"))
                snapshot[name] = {"found": stats.get_value("newswatch/found", 0),
                                  "done": done, "errors": stats.get_value("newswatch/errors", 0),
                                  "run_id": stats.get_value("newswatch/run_id", 0),
                                  "requests": stats.get_value("downloader/request_count", 0),
                                  "step": _step(crawler)}
                if stats.get_value("newswatch/backfill"):  # a backfill's own progress
                    snapshot[name]["backfill"] = stats.get_value("newswatch/backfill")
            events.put(("progress", snapshot))

        stopping: list[bool] = []

        def stop_if_asked() -> None:  # polled: the signal handler itself only notes it
            if asked and not stopping:
                stopping.append(True)
                for _, crawler in crawlers:  # (crawlers not open yet: at engine_started)
                    stop_in_order(crawler)
            elif len(asked) >= 2 and reactor.running:  # asked twice: at once
                reactor.stop()

        if asked:  # asked to stop before anything was crawled
            events.put(("done", []))
            return
        from twisted.internet import reactor  # the one CrawlerProcess installed

        ticker = task.LoopingCall(report)
        ticker.start(PROGRESS_EVERY, now=False)
        watcher = task.LoopingCall(stop_if_asked)
        watcher.start(STOP_POLL)
        runtime.freeze()  # modules, crawlers, settings: never walked again (processes.runtime)
        # Scrapy's SIGINT/SIGTERM handlers are not installed: on a stop they stop the
        # reactor before a closing spider has recorded its run (crawler.shutdown); this
        # process's handler notes the signal and stop_if_asked closes the spiders in order;
        # the reactor stops when every crawl has ended
        process.start(stop_after_crawl=True, install_signal_handlers=False)
        report()
        events.put(("unreachable", reach.unreachable()))
        # every run is closed and every batch stored (the pipelines awaited them): the
        # crawl is done; stopping the pool and the writer is only this process's teardown
        events.put(("done", [c.stats.get_value("newswatch/run_id") for _, c in crawlers
                             if c.stats is not None and c.stats.get_value("newswatch/run_id")]))
        fatal = [c.stats.get_value("newswatch/fatal") for _, c in crawlers
                 if c.stats is not None and c.stats.get_value("newswatch/fatal")]
        if fatal:  # the database is full (crawler.pipelines.StorePipeline)
            events.put(("fatal", "; ".join(dict.fromkeys(fatal))))
        shutdown_pool()
        shutdown_writers()
    except ConfigError as exc:
        events.put(("failed", str(exc)))
        raise SystemExit(2) from None
    except BaseException:
        events.put(("failed", traceback.format_exc(limit=5)))
        raise
