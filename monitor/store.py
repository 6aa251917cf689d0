"""SQLite storage through sqlite-utils: sources, articles, crawl runs, full-text search.

WAL mode so readers (Datasette, ``newswatch status``) never block the crawler. The schema
evolves by numbered migrations tracked in ``PRAGMA user_version``, never by rebuilding.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from monitor.config import Source

DEFAULT_DB = Path("newswatch.db")

NEW, UPDATED, UNCHANGED = "new", "updated", "unchanged"


def now() -> str:
    """Current UTC time, ISO 8601."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _m1_initial(db: sqlite_utils.Database) -> None:
    db["sources"].create({
        "name": str, "title": str, "language": str, "domains": str, "added": str,
    }, pk="name")
    db["articles"].create({
        "id": int, "url": str, "source": str, "title": str, "author": str,
        "published": str, "language": str, "lead": str, "text": str, "content_hash": str,
        "fetched_url": str, "first_seen": str, "last_seen": str, "updated": str,
    }, pk="id", foreign_keys=[("source", "sources", "name")])
    db["articles"].create_index(["url"], unique=True)
    db["articles"].create_index(["source", "published"])
    db["articles"].create_index(["content_hash"])
    db["articles"].enable_fts(["title", "text"], create_triggers=True, tokenize="unicode61")
    db["crawl_runs"].create({
        "id": int, "source": str, "started": str, "finished": str, "status": str,
        "found": int, "new": int, "updated": int, "unchanged": int, "errors": int,
        "requests": int, "error_detail": str,
    }, pk="id")
    db["crawl_runs"].create_index(["source", "started"])


# Append only: a released migration is never edited.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_m1_initial]


class Store:
    """The newswatch database."""

    def __init__(self, path: str | Path = DEFAULT_DB) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite_utils.Database(self.path)
        self.db.execute("PRAGMA busy_timeout = 30000")
        self.db.enable_wal()
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.migrate()

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def migrate(self) -> int:
        """Apply pending migrations; returns the schema version."""
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.db.conn:
                migration(self.db)
                self.db.execute(f"PRAGMA user_version = {number}")
        return len(MIGRATIONS)

    # -- sources -------------------------------------------------------------------------
    def upsert_sources(self, sources: Iterable[Source]) -> None:
        """Record the configured sources (name, title, language, domains)."""
        with self.db.conn:
            for source in sources:
                existing = self._get("sources", "name", source.name)
                self.db["sources"].upsert({
                    "name": source.name, "title": source.title, "language": source.language,
                    "domains": json.dumps(source.domains),
                    "added": existing["added"] if existing else now(),
                }, pk="name")

    # -- articles ------------------------------------------------------------------------
    def save_article(self, source: str, article: dict[str, Any], fetched_url: str) -> str:
        """Insert or update one extracted article; returns "new", "updated" or "unchanged"."""
        return self.save_articles(source, [(article, fetched_url)])[0]

    def save_articles(self, source: str,
                      batch: list[tuple[dict[str, Any], str]]) -> list[str]:
        """Store extracted articles in one transaction; a status per article, in order.

        Keyed by canonical URL: fetching the same story again never adds a row. The same
        text (normalised, hashed) is "unchanged" and only refreshes ``last_seen``.
        """
        stamp = now()
        statuses: list[str] = []
        urls = list({article["url"] for article, _ in batch})
        marks = ",".join("?" * len(urls))
        inserts: dict[str, dict[str, Any]] = {}
        with self.db.conn:
            known = {row["url"]: row for row in self.db["articles"].rows_where(
                f"url in ({marks})", urls, select="id, url, content_hash, published")}
            for article, fetched_url in batch:
                fields = {
                    "title": article.get("title"), "author": article.get("author"),
                    "language": article.get("language"), "lead": article.get("lead"),
                    "text": article["text"], "content_hash": article["content_hash"],
                    "fetched_url": fetched_url, "last_seen": stamp,
                }
                url = article["url"]
                existing = known.get(url)
                if url in inserts:  # the same URL twice in one batch: keep the later text
                    statuses.append(UNCHANGED if inserts[url]["content_hash"]
                                    == article["content_hash"] else UPDATED)
                    inserts[url].update(fields)
                elif existing is None:
                    inserts[url] = {"url": url, "source": source,
                                    "published": article.get("published"),
                                    "first_seen": stamp, "updated": None, **fields}
                    statuses.append(NEW)
                elif existing["content_hash"] == article["content_hash"]:
                    self.db["articles"].update(existing["id"], {"last_seen": stamp})
                    statuses.append(UNCHANGED)
                else:
                    published = article.get("published") or existing["published"]
                    self.db["articles"].update(existing["id"], {
                        **fields, "published": published, "updated": stamp})
                    existing["content_hash"] = article["content_hash"]
                    statuses.append(UPDATED)
            if inserts:
                self.db["articles"].insert_all(inserts.values())
        return statuses

    def article(self, url: str) -> dict[str, Any] | None:
        """The stored article at a canonical URL."""
        return self._get("articles", "url", url)

    def articles(self, source: str | None = None) -> list[dict[str, Any]]:
        """All stored articles, optionally of one source."""
        where = "source = ?" if source else None
        return list(self.db["articles"].rows_where(where, [source] if source else None,
                                                   order_by="id"))

    def search(self, query: str, limit: int = 20) -> list[dict[str, Any]]:
        """Full-text search over title and text, best match first."""
        return list(self.db["articles"].search(query, limit=limit))

    # -- crawl runs ----------------------------------------------------------------------
    def start_run(self, source: str) -> int:
        """Open a crawl-run record."""
        with self.db.conn:
            table = self.db["crawl_runs"].insert({
                "source": source, "started": now(), "status": "running", "found": 0, "new": 0,
                "updated": 0, "unchanged": 0, "errors": 0, "requests": 0,
            })
        return int(table.last_pk)

    def finish_run(self, run_id: int, status: str, counts: dict[str, int],
                   error_detail: list[str] | None = None) -> None:
        """Close a crawl-run record with its counts."""
        fields = {k: int(counts.get(k, 0)) for k in
                  ("found", "new", "updated", "unchanged", "errors", "requests")}
        with self.db.conn:
            self.db["crawl_runs"].update(run_id, {
                **fields, "status": status, "finished": now(),
                "error_detail": "\n".join(error_detail[:50]) if error_detail else None,
            })

    def runs(self, ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
        """Crawl runs, newest last (only ``ids`` when given)."""
        if ids is None:
            return list(self.db["crawl_runs"].rows_where(order_by="id"))
        wanted = list(ids)
        marks = ",".join("?" * len(wanted))
        return list(self.db["crawl_runs"].rows_where(f"id in ({marks})", wanted, order_by="id"))

    def _get(self, table: str, column: str, value: Any) -> dict[str, Any] | None:
        rows = list(self.db[table].rows_where(f"{column} = ?", [value], limit=1))
        return rows[0] if rows else None
