"""Run crawls: each in a child process, with progress reported to the parent.

Twisted's reactor cannot be restarted inside one process, and a child process also
isolates the crawl's crashes and memory from the caller (CLI, daemon, tests). The child
runs one Scrapy crawler per source in a single CrawlerProcess.
"""

from __future__ import annotations

import multiprocessing
import queue as queue_module
import signal
import sqlite3
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.alerts import ALERTS_FILE, AlertConfig, load_alert_config
from monitor.config import DEFAULT_CONFIG, ConfigError, Settings, load_settings
from monitor.store import COUNTS, Store

Progress = Callable[[dict[str, dict[str, int]]], None]
PROGRESS_EVERY = 0.25  # seconds between progress reports from the child


class CrawlError(RuntimeError):
    """The crawl could not run (as opposed to some pages failing)."""


@dataclass
class CrawlResult:
    """What a crawl did: one crawl-run row per source."""

    db_path: Path
    runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        """Counts summed over sources."""
        return {k: sum(int(run.get(k) or 0) for run in self.runs) for k in COUNTS}

    @property
    def ok(self) -> bool:
        """Every source's crawl ran to its end."""
        return bool(self.runs) and all(run["status"] == "finished" for run in self.runs)


def crawl(config: str | Path | Settings = DEFAULT_CONFIG, db_path: str | Path = "newswatch.db",
          sources: Sequence[str] | None = None, variables: Mapping[str, str] | None = None,
          progress: Progress | None = None, scrapy_settings: Mapping[str, Any] | None = None,
          timeout: float | None = None,
          alerts: str | Path | AlertConfig | None = ALERTS_FILE) -> CrawlResult:
    """Crawl ``sources`` (default: all in ``config``) into ``db_path``; blocks until done.

    ``config`` is a sources file, or settings already loaded (the daemon passes its last
    good config, so a broken file on disk does not stop its crawls). ``progress`` is
    called with ``{source: {"found", "done", "errors"}}`` as pages are stored. ``alerts``
    is the alerts file whose rules queue alerts with the articles (None: queue none).
    Raises ConfigError for a bad config or unknown source, CrawlError when the crawl
    process fails or the database is full (the run is then recorded ``failed``).
    """
    if alerts and not isinstance(alerts, AlertConfig):  # the caller's error, before any crawl
        alerts = load_alert_config(alerts)
    overrides = {"NEWSWATCH_ALERTS": alerts or "", **(scrapy_settings or {})}
    if isinstance(config, Settings):
        settings, config_arg = config, config.model_dump()
    else:  # fail fast, in the caller, on bad config
        settings, config_arg = load_settings(config, variables), str(config)
    names = list(sources) if sources else [s.name for s in settings.sources]
    for name in names:
        settings.source(name)
    db_path = Path(db_path).resolve()
    context = multiprocessing.get_context("spawn")
    events: multiprocessing.Queue[tuple[str, Any]] = context.Queue()
    child = context.Process(
        target=_crawl_child, name="newswatch-crawl",
        args=(config_arg, dict(variables or {}), names, str(db_path),
              overrides, events),
    )
    child.start()
    started = time.monotonic()
    run_ids: list[int] = []
    failure: str | None = None
    fatal: str | None = None
    while True:
        if timeout is not None and time.monotonic() - started > timeout:
            _stop(child)
            _abort_runs(db_path, names, f"aborted: no end after {timeout:.0f} s")
            raise CrawlError(f"crawl of {', '.join(names)} killed after {timeout:.0f} s")
        try:
            kind, payload = events.get(timeout=0.5)
        except queue_module.Empty:
            if not child.is_alive():
                break
            continue
        if kind == "progress" and progress:
            progress(payload)
        elif kind == "done":
            run_ids = payload
        elif kind == "failed":
            failure = payload
        elif kind == "fatal":
            fatal = payload
    child.join()
    if fatal:  # the database is full: the child closed its run "failed", or could not
        raise CrawlError(fatal + _record_failure(db_path, names, fatal))
    if failure or child.exitcode != 0:
        _abort_runs(db_path, names, f"aborted: crawl process exit code {child.exitcode}")
        raise CrawlError(failure or f"crawl process exited with code {child.exitcode}")
    if len(run_ids) < len(names):  # the child ended "well" without crawling every source
        raise CrawlError(f"crawl process ended after recording {len(run_ids)} of "
                         f"{len(names)} runs; see its log above")
    store = Store(db_path)
    try:
        return CrawlResult(db_path=db_path, runs=store.runs(run_ids))
    finally:
        store.close()


def _stop(child: Any) -> None:
    """SIGTERM, then SIGKILL if the child does not go."""
    child.terminate()
    child.join(5)
    if child.is_alive():
        child.kill()
        child.join(5)


def _abort_runs(db_path: Path, names: Sequence[str], status: str) -> None:
    """Close the crawl-run rows a dead crawl left open (status "running")."""
    if not db_path.exists():
        return
    store = Store(db_path)
    try:
        store.abort_running(names, status)
    finally:
        store.close()


def _record_failure(db_path: Path, names: Sequence[str], message: str) -> str:
    """Close runs the child left open as ``failed`` with ``message``; on a full disk that
    may fail too: returns a note saying so ("" when done)."""
    try:
        store = Store(db_path)
        try:
            store.abort_running(names, "failed", error=message)
        finally:
            store.close()
    except sqlite3.Error as exc:
        return f" (the crawl run could not be recorded: {exc})"
    return ""


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies: a crawl must not outlive a
    daemon killed with -9 (it would race the restarted daemon's crawl of the source)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the parent's timeout still applies
        pass


def _crawl_child(config: str | dict[str, Any], variables: dict[str, str], names: list[str],
                 db_path: str, overrides: dict[str, Any], events: Any) -> None:
    """Child-process body: one CrawlerProcess, one crawler per source."""
    _die_with_parent()
    try:
        from scrapy.crawler import CrawlerProcess
        from scrapy.settings import Settings as ScrapySettings
        from twisted.internet import task

        from crawler import settings as crawler_settings
        from crawler.spiders.news import NewsSpider
        from monitor.workers import shutdown_pool, start_pool

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
        workers = settings.getint("NEWSWATCH_EXTRACT_WORKERS")
        if workers >= 0:
            start_pool(workers)  # workers warm up while Scrapy starts
        process = CrawlerProcess(settings)
        crawlers = []
        # sources on one site (registered domain) take turns: one site, one budget
        turns: dict[str, list[tuple[str, Any]]] = {}
        for name in names:
            crawler = process.create_crawler(NewsSpider)
            crawlers.append((name, crawler))
            turns.setdefault(site_of(sources.source(name)), []).append((name, crawler))

        def next_turn(result: Any, queue: list[tuple[str, Any]], previous: Any = None) -> Any:
            stats = getattr(previous, "stats", None)
            if stats is not None and stats.get_value("finish_reason") == "shutdown":
                return result  # SIGTERM: the sources still waiting do not start
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
                                  "done": done, "errors": stats.get_value("newswatch/errors", 0)}
            events.put(("progress", snapshot))

        ticker = task.LoopingCall(report)
        ticker.start(PROGRESS_EVERY, now=False)
        process.start(stop_after_crawl=True)
        report()
        shutdown_pool()
        events.put(("done", [c.stats.get_value("newswatch/run_id") for _, c in crawlers
                             if c.stats is not None and c.stats.get_value("newswatch/run_id")]))
        fatal = [c.stats.get_value("newswatch/fatal") for _, c in crawlers
                 if c.stats is not None and c.stats.get_value("newswatch/fatal")]
        if fatal:  # the database is full (crawler.pipelines.StorePipeline)
            events.put(("fatal", "; ".join(dict.fromkeys(fatal))))
    except ConfigError as exc:
        events.put(("failed", str(exc)))
        raise SystemExit(2) from None
    except BaseException:
        events.put(("failed", traceback.format_exc(limit=5)))
        raise
