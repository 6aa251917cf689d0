"""The backfill frontier and cursor in SQLite (``backfills``, ``backfill_sitemaps``,
``backfill_urls``; migration 8), and the order a backfill reads an archive in: children
of a sitemap index newest first (``<lastmod>``, else a date in the child's URL), the
entries of each child newest first.

Used by the backfill command (``monitor.run.backfill``) and its spider
(``crawler.spiders.backfill``); see docs/BACKFILL.md.
"""

from __future__ import annotations

import calendar
import re
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.sources import ConfigError
from monitor.store.db import Store, now
from monitor.store.dbfile import BUSY_TIMEOUT, busy_timeout

# Dates in child sitemap URLs, most precise first (rules are data): a named group per
# part; a child dated this way sorts at the end of its period (its newest possible entry).
CHILD_DATES = (
    re.compile(r"(?<!\d)(?P<y>(?:19|20)\d\d)[-_/.]?(?P<m>0[1-9]|1[0-2])[-_/.]?"
               r"(?P<d>0[1-9]|[12]\d|3[01])(?!\d)"),
    re.compile(r"(?<!\d)(?P<y>(?:19|20)\d\d)[-_/.](?P<m>0[1-9]|1[0-2])(?!\d)"),
    re.compile(r"(?<!\d)(?P<y>(?:19|20)\d\d)(?P<m>0[1-9]|1[0-2])(?![\d])"),
    re.compile(r"(?<![\d])(?P<y>(?:19|20)\d\d)(?![\d])"),
)

# Session states of a backfill (the ``backfills.state`` column), one meaning each
# (docs/BACKFILL.md): running (a session is at work, or was killed before it could say
# otherwise), done (nothing left), stopped (the session's --limit was reached: work left,
# resume), interrupted (Ctrl-C, SIGTERM, the daemon's stop: resume), failed (a sitemap
# index could not be fetched or read, e.g. the site was unreachable: nothing to resume,
# run it again when the site answers).
RUNNING, DONE, STOPPED, INTERRUPTED, FAILED = (
    "running", "done", "stopped", "interrupted", "failed")
STATES = (RUNNING, DONE, STOPPED, INTERRUPTED, FAILED)
RESUMABLE = (STOPPED, INTERRUPTED)  # states whose summary prints the resume command


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
        wait = busy_timeout(2 * BUSY_TIMEOUT)  # outlasts a Store's wait by default
        self.conn = sqlite3.connect(str(db_path), timeout=wait)
        self.conn.execute(f"pragma busy_timeout = {int(wait * 1000)}")
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
        """End the session with ``state`` (done, stopped, interrupted, failed)."""
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
