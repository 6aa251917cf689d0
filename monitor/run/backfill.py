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

import calendar
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.processes.lifecycle import Interrupt
from monitor.run.crawl import CrawlResult, crawl
from monitor.sources.config import DEFAULT_CONFIG, ConfigError, Settings, load_settings
from monitor.store.db import DEFAULT_DB, Store, now

SPIDER = "crawler.spiders.backfill.BackfillSpider"

# Dates in child sitemap URLs, most precise first (rules are data): a named group per
# part; a child dated this way sorts at the end of its period (its newest possible entry).
CHILD_DATES = (
    re.compile(r"(?<!\d)(?P<y>(?:19|20)\d\d)[-_/.]?(?P<m>0[1-9]|1[0-2])[-_/.]?"
               r"(?P<d>0[1-9]|[12]\d|3[01])(?!\d)"),
    re.compile(r"(?<!\d)(?P<y>(?:19|20)\d\d)[-_/.](?P<m>0[1-9]|1[0-2])(?!\d)"),
    re.compile(r"(?<!\d)(?P<y>(?:19|20)\d\d)(?P<m>0[1-9]|1[0-2])(?![\d])"),
    re.compile(r"(?<![\d])(?P<y>(?:19|20)\d\d)(?![\d])"),
)

# Session states of a backfill (the ``backfills.state`` column).
RUNNING, DONE, STOPPED, INTERRUPTED = "running", "done", "stopped", "interrupted"


def iso_utc(value: str | None) -> str | None:
    """A W3C datetime (sitemap ``<lastmod>``: a date, or a time with a zone) as
    ``YYYY-MM-DDTHH:MM:SS+00:00``; None when absent or unreadable."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="seconds")


def url_date(url: str) -> str | None:
    """The end of the period a child sitemap's URL names (``sitemap-2024-05.xml`` →
    2024-05-31T23:59:59+00:00; a day, a month or a year), or None."""
    for pattern in CHILD_DATES:
        match = pattern.search(url.rsplit("/", 1)[-1]) or pattern.search(url)
        if not match:
            continue
        parts = match.groupdict()
        year = int(parts["y"])
        month = int(parts.get("m") or 12)
        day = int(parts.get("d") or calendar.monthrange(year, month)[1])
        try:
            return datetime(year, month, day, 23, 59, 59, tzinfo=UTC).isoformat()
        except ValueError:  # 2024-02-31
            continue
    return None


def child_sortkey(url: str, lastmod: str | None) -> str | None:
    """How recent a child sitemap is: its ``<lastmod>``, else a date in its URL."""
    return iso_utc(lastmod) or url_date(url)


def order_children(children: Iterable[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    """(url, sortkey) of child sitemaps, newest first: undated ones first (in their
    order: a news sitemap, most often), then by date, newest first; ties in index order."""
    items = list(children)
    undated = [c for c in items if not c[1]]
    dated = sorted((c for c in items if c[1]), key=lambda c: c[1] or "", reverse=True)
    return undated + dated


def order_entries(entries: Iterable[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    """(url, date) of one sitemap's articles, newest first; undated ones last, in order."""
    items = list(entries)
    dated = sorted((e for e in items if e[1]), key=lambda e: e[1] or "", reverse=True)
    return dated + [e for e in items if not e[1]]


def parse_since(value: str | None) -> str | None:
    """``--since`` (a date or a time, ISO 8601) as UTC ISO; raises ConfigError."""
    if not value:
        return None
    parsed = iso_utc(value)
    if parsed is None:
        raise ConfigError(f"--since {value!r}: not a date (use YYYY-MM-DD)")
    return parsed


class BackfillLog:
    """A source's backfill cursor in SQLite. One connection, used by one thread."""

    def __init__(self, db_path: str | Path, source: str, since: str | None = None) -> None:
        Store(db_path).close()  # created and migrated
        self.conn = sqlite3.connect(str(db_path), timeout=60)
        self.conn.execute("pragma busy_timeout = 60000")
        self.source = source
        self.since = since

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def _eligible(self) -> tuple[str, list[Any]]:
        if self.since:
            return " and (published is null or published >= ?)", [self.since]
        return "", []

    # -- sessions -----------------------------------------------------------------------
    def begin(self, retry_failed: bool = False) -> None:
        """Start a session: the source's row ``running``; failed child sitemaps (and with
        ``retry_failed`` failed articles) back to pending."""
        with self.conn:
            self.conn.execute(
                "insert into backfills (source, state, since, started, updated, sessions) "
                "values (?, ?, ?, ?, ?, 1) on conflict(source) do update set state = "
                "excluded.state, since = excluded.since, updated = excluded.updated, "
                "finished = null, sessions = sessions + 1",
                [self.source, RUNNING, self.since, now(), now()])
            self.conn.execute("update backfill_sitemaps set state = 'pending', error = null "
                              "where source = ? and state = 'failed'", [self.source])
            if retry_failed:
                self.conn.execute("update backfill_urls set state = 'pending', reason = null "
                                  "where source = ? and state = 'failed'", [self.source])

    def end(self, state: str) -> None:
        """End the session with ``state`` (done, stopped, interrupted)."""
        with self.conn:
            self.conn.execute("update backfills set state = ?, updated = ?, finished = ? "
                              "where source = ?", [state, now(), now(), self.source])

    # -- child sitemaps -----------------------------------------------------------------
    def add_children(self, children: Iterable[tuple[str, str | None]]) -> int:
        """Record child sitemaps (url, lastmod); a child read before whose ``<lastmod>``
        is newer now is read again. Returns how many are new."""
        added = 0
        with self.conn:
            for url, lastmod in children:
                key = child_sortkey(url, lastmod)
                cursor = self.conn.execute(
                    "insert or ignore into backfill_sitemaps (source, url, sortkey) "
                    "values (?, ?, ?)", [self.source, url, key])
                added += cursor.rowcount
                if not cursor.rowcount and iso_utc(lastmod):
                    self.conn.execute(
                        "update backfill_sitemaps set state = 'pending', sortkey = ? "
                        "where source = ? and url = ? and state = 'read' and sortkey < ?",
                        [key, self.source, url, key])
        return added

    def next_child(self) -> tuple[int, str] | None:
        """The newest child sitemap not read yet (undated ones first); with ``since``,
        children older than it are never read."""
        where, params = "", []
        if self.since:
            where, params = " and (sortkey is null or sortkey >= ?)", [self.since]
        row = self.conn.execute(
            "select id, url from backfill_sitemaps where source = ? and state = 'pending'"
            f"{where} order by sortkey is not null, sortkey desc, id limit 1",
            [self.source, *params]).fetchone()
        return (row[0], row[1]) if row else None

    def child_id(self, url: str) -> int | None:
        """The id of a recorded child sitemap."""
        row = self.conn.execute("select id from backfill_sitemaps where source = ? and "
                                "url = ?", [self.source, url]).fetchone()
        return row[0] if row else None

    def child_failed(self, child_id: int, error: str) -> None:
        """A child sitemap that could not be read (retried at the next session)."""
        with self.conn:
            self.conn.execute("update backfill_sitemaps set state = 'failed', error = ? "
                              "where id = ?", [error[:500], child_id])

    def add_entries(self, child_id: int,
                    entries: Iterable[tuple[str, str | None, str | None, str | None]]
                    ) -> dict[str, int]:
        """Append a child's articles (url, published, title, language), already in
        order, to the frontier and mark the child read, in one transaction. Returns
        ``{"entries", "new", "stored"}``: how many it lists, how many were not in the
        frontier yet, and how many of those new ones are already stored."""
        rows = list(entries)
        before = self.conn.execute("select coalesce(max(id), 0) from backfill_urls").fetchone()[0]
        with self.conn:
            self.conn.executemany(
                "insert or ignore into backfill_urls (source, url, sitemap_id, published, "
                "title, language) values (?, ?, ?, ?, ?, ?)",
                [(self.source, url, child_id, published, title, language)
                 for url, published, title, language in rows])
            self.conn.execute("update backfill_sitemaps set state = 'read', entries = ?, "
                              "read = ? where id = ?", [len(rows), now(), child_id])
        where, params = self._eligible()
        new, stored = self.conn.execute(
            "select count(*), coalesce(sum(exists (select 1 from articles a where "
            f"a.url = b.url)), 0) from backfill_urls b where source = ? and id > ?{where}",
            [self.source, before, *params]).fetchone()
        return {"entries": len(rows), "new": new, "stored": stored}

    # -- the frontier -------------------------------------------------------------------
    def next_urls(self, after: int, limit: int) -> list[tuple[int, str, str | None,
                                                              str | None, str | None]]:
        """Up to ``limit`` frontier rows after id ``after``, in order: pending, not
        stored, not older than ``since``: (id, url, published, title, language)."""
        where, params = self._eligible()
        return self.conn.execute(
            "select id, url, published, title, language from backfill_urls b "
            "where source = ? and id > ? and state = 'pending'"
            f"{where} and not exists (select 1 from articles a where a.url = b.url) "
            "order by id limit ?", [self.source, after, *params, limit]).fetchall()

    def mark_failed(self, rows: Iterable[tuple[int, str]]) -> int:
        """Mark frontier rows (id, reason) failed: skipped until ``--retry-failed``."""
        rows = list(rows)
        if rows:
            with self.conn:
                self.conn.executemany(
                    "update backfill_urls set state = 'failed', reason = ? where id = ?",
                    [(reason[:300], row_id) for row_id, reason in rows])
        return len(rows)

    def counts(self) -> dict[str, int]:
        """Where the backfill stands: child sitemaps (``children``, ``children_read``,
        ``children_failed``) and articles in the frontier (``urls``, eligible under
        ``since``; ``stored``; ``failed``; ``pending`` = the rest)."""
        children = dict(self.conn.execute(
            "select state, count(*) from backfill_sitemaps where source = ? group by state",
            [self.source]).fetchall())
        due = self.conn.execute(  # pending children a session would still read
            "select count(*) from backfill_sitemaps where source = ? and state = 'pending' "
            "and (? is null or sortkey is null or sortkey >= ?)",
            [self.source, self.since, self.since]).fetchone()[0]
        where, params = self._eligible()
        urls, stored, failed = self.conn.execute(
            "select count(*), coalesce(sum(exists (select 1 from articles a where "
            "a.url = b.url)), 0), coalesce(sum(state = 'failed'), 0) from backfill_urls b "
            f"where source = ?{where}", [self.source, *params]).fetchone()
        failed_unstored = self.conn.execute(
            "select count(*) from backfill_urls b where source = ? and state = 'failed' "
            f"{where} and not exists (select 1 from articles a where a.url = b.url)",
            [self.source, *params]).fetchone()[0]
        return {"children": sum(children.values()), "children_read": children.get("read", 0),
                "children_failed": children.get("failed", 0),
                "children_pending": due,
                "urls": urls, "stored": stored, "failed": failed_unstored,
                "pending": urls - stored - failed_unstored}

    def state(self) -> dict[str, Any] | None:
        """The source's ``backfills`` row, or None before its first backfill."""
        cursor = self.conn.execute("select * from backfills where source = ?", [self.source])
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([c[0] for c in cursor.description], row, strict=True))

    def reset(self) -> None:
        """Forget the source's backfill (its cursor); stored articles stay."""
        with self.conn:
            for table in ("backfill_urls", "backfill_sitemaps", "backfills"):
                self.conn.execute(f"delete from {table} where source = ?", [self.source])


@dataclass
class BackfillResult:
    """What a backfill session did, and where the source's backfill stands."""

    source: str
    crawl: CrawlResult
    state: str  # done, stopped (the limit), interrupted
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
    sitemaps or a bad ``since``; CrawlError when the crawl process fails.
    """
    since_utc = parse_since(since)
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit {limit}: must be at least 1")
    settings = config if isinstance(config, Settings) else load_settings(config, variables)
    check_source(settings, source)
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
