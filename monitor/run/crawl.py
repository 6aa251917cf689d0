"""Run crawls: each in a child process, with progress reported to the parent.

Twisted's reactor cannot be restarted inside one process, and a child process also
isolates the crawl's crashes and memory from the caller (CLI, daemon, tests). The child
runs one Scrapy crawler per source in a single CrawlerProcess.
"""

from __future__ import annotations

import logging
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
from monitor.processes import (
    Interrupt,
    StopGrace,
    die_with_parent,
    group_activity,
    kill_group,
    quiet_resource_tracker,
    runtime,
)
from monitor.sources import DEFAULT_CONFIG, ConfigError, Settings, load_settings, with_recheck
from monitor.store import (
    COUNTS,
    DatabaseFileError,
    DatabaseUnavailable,
    Store,
    database_to_write,
)

Progress = Callable[[dict[str, dict[str, int]]], None]
log = logging.getLogger(__name__)

PROGRESS_EVERY = 0.25  # seconds between progress reports from the child
STOP_POLL = 0.1  # seconds between the crawl process's looks at a stop request
INTERRUPTED = "interrupted"  # crawl-run status of a crawl stopped by Ctrl-C / a stop request
UNREACHABLE = "unreachable"  # crawl-run status: ran to its end, a host never answered


class CrawlError(RuntimeError):
    """The crawl could not run (as opposed to some pages failing). ``database`` is the
    cause when the database could not be written during the crawl (full, read-only,
    locked, a disk error): a ``DatabaseUnavailable`` or ``DatabaseFileError``
    (``monitor.store.database_problem``), else None."""

    def __init__(self, message: str, database: Exception | None = None) -> None:
        super().__init__(message)
        self.database = database


def _database_cause(kinds: Sequence[str | None], message: str) -> Exception:
    """The store's error for a crawl process's fatal ``message``: ``kinds`` holds, per
    source that failed, the class of ``monitor.store.database_problem`` it named, or
    None (the database filled up during the crawl: DatabaseUnavailable)."""
    if "DatabaseFileError" in kinds:
        return DatabaseFileError(message)
    return DatabaseUnavailable(message)  # full, locked, a disk I/O error


def _fatal_error(db_path: Path, names: Sequence[str], fatal: str,
                 kinds: Sequence[str | None], owner: int | None) -> CrawlError:
    """The CrawlError of a crawl whose database could not be written; the runs it left
    open are closed ``failed``."""
    return CrawlError(fatal + _record_failure(db_path, names, fatal, owner),
                      _database_cause(kinds, fatal))


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
    Raises ConfigError for a bad config or unknown source; before starting,
    DatabaseFileError for a database that cannot be written (a read-only file or folder,
    not SQLite) and DatabaseUnavailable for one locked by another process beyond the busy
    timeout (``monitor.store.database_to_write``; a missing folder is created); CrawlError
    when the crawl process fails or the database cannot be written during the crawl (full:
    the run is then recorded ``failed``; ``CrawlError.database`` names the cause).

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
    database_to_write(db_path, make_folder=True)  # one line now, not a crawl's traceback
    reap_orphaned_runs(db_path)  # runs left "running" by crawls killed with kill -9
    quiet_resource_tracker()  # a crawl killed on purpose: said in one line, not by Python
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
    if progress:  # from the first second: the crawl process is starting
        progress({name: {**_STARTING, "step": "starting: crawl process"} for name in names})
    try:
        return _watch(child, events, stop, names, db_path, progress, timeout)
    finally:
        kill_group(child.pid)  # whatever of the crawl's group is left: forkserver, workers
        if own_handler:
            signal.signal(signal.SIGINT, previous)


_STARTING = {"found": 0, "done": 0, "errors": 0, "requests": 0, "in_hand": 0}


def _watch(child: Any, events: Any, stop: Interrupt, names: list[str], db_path: Path,
           progress: Progress | None, timeout: float | None) -> CrawlResult:
    """Follow the crawl child until it ends: progress, stop requests, the time limit."""
    started = time.monotonic()
    run_ids: dict[str, int] = {}
    last: dict[str, dict[str, Any]] = {}  # each source's last progress report
    failure: str | None = None
    fatal: str | None = None
    grace: StopGrace | None = None  # the orderly stop's grace, from when it was asked
    cpu_read: float | None = None  # when the crawl's CPU time was last read
    fatal_kinds: list[str | None] = []  # per failed source (see _database_cause)
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
                    fatal, fatal_kinds = payload
            break
        if stop.count >= 2 or (grace is not None and grace.expired(time.monotonic())):
            if stop.count < 2:  # never silent: what the kill loses is said
                in_hand = sum(c.get("in_hand", 0) for c in last.values())
                log.warning("%s: the orderly stop ran out of time after %.0f s (no "
                            "progress, or its bound); killed with %d pages in hand%s",
                            ", ".join(names), time.monotonic() - grace.asked, in_hand,
                            " (its runs were closed)" if done_ids is not None else "")
            kill_group(child.pid)
            child.join(5)
            break
        if stop.count == 1 and grace is None:  # in hand: pages the stop still stores
            grace = StopGrace(time.monotonic(), sum(c.get("in_hand", 0) for c in last.values()))
            _signal(child, signal.SIGINT)  # Scrapy stops in order: runs end "interrupted"
        if grace is not None and time.monotonic() - (cpu_read or 0.0) >= 0.5:
            cpu_read = time.monotonic()  # the crawl's processes at work: its own group
            grace.activity(*group_activity(child.pid), cpu_read)
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
            if grace is not None:  # the pool still warming up: the pages in hand wait
                grace.progress(sum(c["done"] + c["errors"] for c in last.values()),
                               sum(c.get("in_hand", 0) for c in last.values()),
                               time.monotonic(),
                               starting=any(c.get("starting") for c in payload.values()))
            if progress:
                progress(payload)
        elif kind == "phase":  # the child is starting: what it does, from its first second
            if grace is not None:
                grace.progress(0, 0, time.monotonic(), starting=True)
            if progress:
                progress({name: {**_STARTING, "step": payload} for name in names
                          if name not in last})
        elif kind == "done":
            done_ids = payload
        elif kind == "unreachable":
            unreachable = payload
        elif kind == "failed":
            failure = payload
        elif kind == "fatal":
            fatal, fatal_kinds = payload
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
                raise _fatal_error(db_path, names, fatal, fatal_kinds, child.pid)
        return result
    if fatal:  # the database is full: the child closed its run "failed", or could not
        raise _fatal_error(db_path, names, fatal, fatal_kinds, child.pid)
    if failure or (child.exitcode != 0 and not torn_down):
        _abort_runs(db_path, names, f"aborted: crawl process exit code {child.exitcode}",
                    child.pid)
        raise CrawlError(failure or f"crawl process exited with code {child.exitcode}")
    if done_ids is None or len(done_ids) < len(names):  # ended "well" without every source
        raise CrawlError(f"crawl process ended after recording {len(done_ids or [])} of "
                         f"{len(names)} runs; see its log above")
    _mark_unreachable(db_path, done_ids, unreachable)
    return _result(db_path, done_ids, unreachable=unreachable)


def _mark_unreachable(db_path: Path, run_ids: Sequence[int],
                      unreachable: Mapping[str, Mapping[str, Any]]) -> None:
    """Runs that ran to their end (``finished``) while a host of their source never
    answered (``monitor.run.reach``) end ``unreachable``: the crawl did not see the
    site, and its run must not say it did."""
    sources = sorted({name for info in unreachable.values()
                      for name in info.get("sources") or []})
    if not sources or not run_ids:
        return
    store = Store(db_path)
    try:
        ids, names = ",".join("?" * len(run_ids)), ",".join("?" * len(sources))
        with store.db.conn:
            store.db.execute(f"update crawl_runs set status = ? where status = 'finished' "
                             f"and id in ({ids}) and source in ({names})",
                             [UNREACHABLE, *run_ids, *sources])
    finally:
        store.close()


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
            marks = ",".join("?" * len(names))
            mine = "" if owner is None else " and owner_pid = ?"
            open_runs = store.db.execute(
                f"select count(*) from crawl_runs where status = 'running' and source in "
                f"({marks}){mine}", [*names, *([] if owner is None else [owner])]
            ).fetchone()[0]
            if open_runs:  # (none: nothing to write, e.g. the run record was refused)
                store.abort_running(names, "failed", error=message, owner=owner)
        finally:
            store.close()
    except (sqlite3.Error, OSError) as exc:
        return f" (the crawl run could not be recorded: {exc})"
    return ""


# the progress line's word for a spider that closed, by Scrapy's finish reason: "done"
# only when it ran to its end; a stop asked for (Ctrl-C, the daemon's stop) "interrupted"
ENDED = {"finished": "done", "shutdown": INTERRUPTED, "database_full": "failed",
         "database_error": "failed"}


def _stats(crawler: Any) -> Any:
    """A crawler's stats, or None before its crawl started (a source waiting for its
    site's turn): Scrapy's ``Crawler.stats`` raises RuntimeError until then."""
    return getattr(crawler, "_stats", None)


def _ended(crawler: Any) -> str | None:
    """The progress word of a crawler whose spider closed (``ENDED``; another finish
    reason is shown as it is), None while it runs."""
    stats = _stats(crawler)
    reason = stats.get_value("finish_reason") if stats else None
    return ENDED.get(reason, f"stopped: {reason}") if reason else None


def _step(crawler: Any) -> str:
    """What a crawler is downloading now, for the progress line: "robots.txt", "feed",
    "sitemap", "listing", "article" (the kinds of its requests in flight), "done" or
    "interrupted" once its spider closed (``ENDED``), "starting" before."""
    engine = getattr(crawler, "engine", None)
    if engine is None:
        return _ended(crawler) or "starting"
    active = getattr(getattr(engine, "downloader", None), "active", None) or ()
    kinds = {"robots.txt" if request.url.endswith("/robots.txt")
             else request.meta.get("kind", "page") for request in list(active)}
    order = ["robots.txt", "feed", "sitemap", "listing", "article", "page"]
    if not kinds:
        return _ended(crawler) or "waiting"
    ranked = sorted(kinds, key=lambda k: order.index(k) if k in order else 99)
    return ranked[0] + (f" +{len(ranked) - 1}" if len(ranked) > 1 else "")  # earliest stage


def _in_hand(crawler: Any) -> int:
    """Pages a crawler holds now: requests in its downloader (queued in a slot or on the
    wire) and responses its scraper is still processing (extraction, storage). What an
    orderly stop still has to finish (``StopGrace``)."""
    engine = getattr(crawler, "engine", None)
    if engine is None:
        return 0
    downloading = len(getattr(getattr(engine, "downloader", None), "active", None) or ())
    slot = getattr(getattr(engine, "scraper", None), "slot", None)
    return downloading + (len(slot.active) if slot is not None else 0)


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
        events.put(("phase", "starting: extraction pool"))
        _drop_alert_secrets(overrides.get("NEWSWATCH_ALERTS"))  # before any worker starts
        from crawler import settings as crawler_settings
        from monitor.processes import shutdown_pool, start_pool

        workers = int(overrides.get("NEWSWATCH_EXTRACT_WORKERS",
                                    crawler_settings.NEWSWATCH_EXTRACT_WORKERS))
        if workers >= 0 and not asked:  # first: the forkserver imports the extractor while
            start_pool(workers)  # Scrapy starts (not at all when already asked to stop)
        events.put(("phase", "starting: loading Scrapy"))
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
        from crawler.ssrf import allowance

        try:  # NEWSWATCH_ALLOW_PRIVATE (setting or environment): one line when bad
            allowance(settings)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        events.put(("phase", "starting: opening sources"))
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
            stats = _stats(previous) if previous is not None else None
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

        from monitor.processes import pool_ready

        def report() -> None:
            snapshot = {}
            starting = not pool_ready()
            for name, crawler in crawlers:
                stats = _stats(crawler)
                if stats is None:  # a source waiting for its site's turn
                    continue
                done = sum(stats.get_value(f"newswatch/{k}", 0)
                           for k in ("new", "irrelevant", "duplicate", "updated", "unchanged",
                                     "skipped"))
                snapshot[name] = {"found": stats.get_value("newswatch/found", 0),
                                  "done": done, "errors": stats.get_value("newswatch/errors", 0),
                                  "run_id": stats.get_value("newswatch/run_id", 0),
                                  "requests": stats.get_value("downloader/request_count", 0),
                                  "in_hand": _in_hand(crawler), "starting": starting,
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
        started = [stats for _, c in crawlers if (stats := _stats(c)) is not None]
        events.put(("done", [stats.get_value("newswatch/run_id") for stats in started
                             if stats.get_value("newswatch/run_id")]))
        fatal = [stats.get_value("newswatch/fatal") for stats in started
                 if stats.get_value("newswatch/fatal")]
        if fatal:  # the database is full, or refused the run (crawler.pipelines)
            kinds = [stats.get_value("newswatch/fatal_kind") for stats in started
                     if stats.get_value("newswatch/fatal")]
            events.put(("fatal", ("; ".join(dict.fromkeys(fatal)), kinds)))
        shutdown_pool()
        shutdown_writers()
    except ConfigError as exc:
        events.put(("failed", str(exc)))
        raise SystemExit(2) from None
    except BaseException:
        events.put(("failed", traceback.format_exc(limit=5)))
        raise
