"""Backfill a source's archive from its sitemaps: newest first, bounded memory, resumable.

    newswatch backfill SOURCE [--limit N] [--since DATE] [--retry-failed]

A new source's archive can be hundreds of thousands of URLs behind a sitemap index. A
plain crawl reads every child sitemap at once and queues every article in memory (about
10 KB per URL: Scrapy's scheduler queue, its duplicate filter, the spider's seen set). A
backfill instead (``crawler.spiders.backfill.BackfillSpider``):

- reads the index, orders its children newest first (``<lastmod>``, else a date in the
  child's URL, ``CHILD_DATES``; undated children first, as they are most often the news
  sitemap), and reads one child at a time, only when the previous one is used up;
- writes each child's article URLs, newest first, to the ``backfill_urls`` table (the
  frontier on disk), and feeds requests from it a window at a time
  (``BackfillSpider.window``), so Scrapy's queue stays short; a URL already stored in
  ``articles`` is never requested (asked of SQLite, not of an in-memory set);
- keeps its cursor in SQLite (``backfills``, ``backfill_sitemaps``, ``backfill_urls``;
  migration 8): stopped by Ctrl-C, SIGTERM or a kill, the next ``newswatch backfill
  SOURCE`` goes on where it stopped and refetches no stored article. URLs that failed
  (HTTP errors, no article text) are kept ``failed`` with their reason and skipped until
  ``--retry-failed``.

Politeness stays on: the source's delay and concurrency per site, robots.txt,
back-off on 429/503 (``crawler.politeness``). Backfilled articles queue no alerts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.processes import Interrupt
from monitor.run.crawl import CrawlResult, crawl
from monitor.sources import DEFAULT_CONFIG, ConfigError, Settings, load_settings
from monitor.store import DEFAULT_DB, BackfillLog, database_to_write
from monitor.store.frontier import FAILED, INTERRUPTED, RUNNING, STOPPED, parse_since

SPIDER = "crawler.spiders.backfill.BackfillSpider"


@dataclass
class BackfillResult:
    """What a backfill session did, and where the source's backfill stands."""

    source: str
    crawl: CrawlResult
    state: str  # done, stopped (the limit), interrupted, failed (monitor.store.frontier)
    counts: dict[str, int] = field(default_factory=dict)  # BackfillLog.counts()
    seconds: float = 0.0

    @property
    def stored_now(self) -> int:
        """Articles stored by this session."""
        return sum(self.crawl.totals[k] for k in ("new", "updated", "duplicate", "irrelevant"))

    @property
    def ok(self) -> bool:
        """The session ran to its end (the archive done, or the limit reached)."""
        return (not self.crawl.interrupted and bool(self.crawl.runs)
                and self.state != FAILED
                and all(run["status"] == "finished" for run in self.crawl.runs))


Progress = Callable[[dict[str, Any]], None]


def check_source(settings: Settings, name: str) -> None:
    """Raise ConfigError when ``name`` is not a source of ``settings`` or lists no
    sitemap to backfill from."""
    source = settings.source(name)  # ConfigError: unknown source
    if not source.sitemaps:
        raise ConfigError(f"source {name!r} has no sitemaps: a backfill reads the archive "
                          "from its sitemap index (add `sitemaps:` to its config)")


def backfill(source: str, config: str | Path | Settings = DEFAULT_CONFIG,
             db_path: str | Path = DEFAULT_DB, limit: int | None = None,
             since: str | None = None, retry_failed: bool = False, reset: bool = False,
             variables: Mapping[str, str] | None = None, progress: Progress | None = None,
             scrapy_settings: Mapping[str, Any] | None = None, stop: Interrupt | None = None,
             timeout: float | None = None) -> BackfillResult:
    """Backfill ``source``'s archive into ``db_path`` (see the module doc); blocks until
    the archive is done, ``limit`` articles were requested, or it is stopped.

    ``since`` (ISO date) skips articles and child sitemaps dated before it. ``progress``
    is called about four times a second with ``{"found", "done", "errors", "requests",
    "step", "backfill": {...}}`` (``done``: articles stored this session; ``backfill``:
    ``known`` URLs in the frontier, ``known_done`` of them stored or failed before this
    session, ``children``/``children_read`` child sitemaps, ``failed`` this session).
    ``stop``, SIGINT: as ``monitor.run.crawl.crawl`` (an interrupted session keeps its
    cursor). Raises ConfigError for a bad config, an unknown source, a source without
    sitemaps or a bad ``since``; DatabaseFileError or DatabaseUnavailable for a database
    that cannot be written (as ``crawl``); CrawlError when the crawl process fails.
    """
    since_utc = parse_since(since)
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit {limit}: must be at least 1")
    settings = config if isinstance(config, Settings) else load_settings(config, variables)
    check_source(settings, source)
    database_to_write(db_path, make_folder=True)  # read-only, locked: one line, now
    log = BackfillLog(db_path, source, since_utc)
    try:
        if reset:
            log.reset()
    finally:
        log.close()
    overrides = {
        "NEWSWATCH_SPIDER": SPIDER,
        "NEWSWATCH_BACKFILL_LIMIT": limit or 0,
        "NEWSWATCH_BACKFILL_SINCE": since_utc or "",
        "NEWSWATCH_BACKFILL_RETRY_FAILED": retry_failed,
        # the frontier is in SQLite: none of the incremental crawl's in-memory sets
        "NEWSWATCH_SKIP_STORED": False,  # stored URLs never reach the scheduler anyway
        "NEWSWATCH_CHECK_REMOVALS": False,  # no re-checks of recent articles
        "NEWSWATCH_CONDITIONAL_GET": False,  # sitemaps read in full
        "NEWSWATCH_FETCH_LOG": False,  # its per-URL dictionary grows with the archive
        "NEWSWATCH_HEALTH": False,  # an archive run would skew the source's health baseline
        **(scrapy_settings or {}),
    }
    started = time.monotonic()

    def relay(snapshot: dict[str, dict[str, Any]]) -> None:
        if progress and source in snapshot:
            progress(snapshot[source])

    result = crawl(config=settings, db_path=db_path, sources=[source], progress=relay,
                   scrapy_settings=overrides, alerts=None, stop=stop, timeout=timeout)
    log = BackfillLog(db_path, source, since_utc)
    try:
        row = log.state() or {}
        if row.get("state") == RUNNING:  # the crawl process was killed before closing it
            log.end(INTERRUPTED if result.interrupted else STOPPED)
            row = log.state() or {}
        counts = log.counts()
    finally:
        log.close()
    # what is stored decides: a session that ended on its own before a late Ctrl-C is
    # done or stopped (monitor.run.crawl then reports it not interrupted)
    state = INTERRUPTED if result.interrupted else str(row.get("state") or STOPPED)
    return BackfillResult(source=source, crawl=result, state=state, counts=counts,
                          seconds=time.monotonic() - started)
