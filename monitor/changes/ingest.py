"""Turn extracted articles into stored knowledge: versions, stories, relevance.

For each article of a batch, in one transaction:

1. Same canonical URL seen before: unchanged text only refreshes ``last_seen``; changed
   text is a new *version* with a diff (the article row keeps the latest).
2. New URL: it joins an existing *story* when it is an exact copy (same text hash), a
   near duplicate (MinHash LSH), or the other-language report of the same event;
   otherwise it opens a new story.

``analyze`` does the CPU-heavy, database-free part (relevance, signature, entities) and
runs in the extraction workers; ``Ingestor`` does the lookups and writes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from monitor.alerts import AlertConfig
from monitor.changes import dedupe, edits, recheck, volatile
from monitor.changes.diff import unified_diff, word_diff_html
from monitor.judge import Topic, judge
from monitor.store import (
    DUPLICATE,
    IRRELEVANT,
    LABEL_VERDICTS,
    NEW,
    UNCHANGED,
    UPDATED,
    Store,
    now,
)


def analyze(article: dict[str, Any], topic: Topic | None = None) -> dict[str, Any]:
    """Add relevance (score, verdict, reasons), a MinHash signature and the entities."""
    verdict = judge(article.get("title"), article["text"], article.get("lead"), topic)
    return {
        **article,
        "topic": verdict.topic, "relevance": round(verdict.score, 4),
        "relevant": verdict.relevant, "reasons": verdict.reasons,
        "signature": dedupe.signature(article["text"]),
        "entities": dedupe.entities(article.get("title"), article["text"]),
    }


def _masked(row: dict[str, Any], article: dict[str, Any]) -> dict[str, Any]:
    """The fields an edit is judged on, the text with its volatile spans masked (the
    generic rules and the source profile's, carried as ``article["volatile_rules"]``)."""
    extra = article.get("volatile_rules") or ()

    def plain(key: str) -> str | None:
        value = row.get(key)
        return volatile.plain(value) if value else value
    return {"title": plain("title"), "lead": plain("lead"), "author": plain("author"),
            "published": row.get("published"),
            "text": volatile.mask(row.get("text") or "", extra)}


def _differs(existing: dict[str, Any], article: dict[str, Any]) -> bool:
    """Whether ``article`` is a new version of the stored row: its masked text, title or
    byline differ (case, spacing and volatile text aside)."""
    old, new = _masked(existing, article), _masked(article, article)
    if old["text"].casefold() != new["text"].casefold():
        return True
    return any(" ".join((old[k] or "").split()).casefold()
               != " ".join((new[k] or "").split()).casefold()
               for k in ("title", "author") if new[k])


def _first_check(url: str, published_utc: str | None, stamp: str,
                 bounds: tuple[float, float] | None) -> dict[str, Any]:
    """The re-check schedule of an article stored for the first time (``recheck``;
    ``bounds``: the source's (min, max) interval in seconds, carried with the article by
    the crawler; None: the defaults), its first wait spread by its URL."""
    seen = recheck.epoch(stamp) or 0.0
    clock = recheck.first_check(recheck.epoch(published_utc), seen,
                                recheck.Bounds(*bounds) if bounds else recheck.Bounds(),
                                recheck.spread_of(url))
    return recheck.columns(clock)


def _utc(published: str | None) -> str | None:
    parsed = dedupe.parse_time(published)
    return parsed.astimezone(UTC).isoformat(timespec="seconds") if parsed else None


class Ingestor:
    """Stores analysed articles into a :class:`Store`."""

    def __init__(self, store: Store, alerts: AlertConfig | None = None) -> None:
        self.store = store
        self.db = store.db
        self.alerts = alerts or AlertConfig()

    def ingest(self, source: str, batch: list[tuple[dict[str, Any], str]],
               within: Callable[[sqlite3.Connection], None] | None = None) -> list[str]:
        """Store a batch in one transaction; a status per article, in order:
        new, irrelevant, duplicate, updated or unchanged. ``within`` runs last inside the
        transaction, before the commit, for writes that must commit with the batch or not
        at all (monitor.fleet.intake: the stream entry's inbox row)."""
        return self.ingest_many([(source, batch)], within)[0]

    def ingest_many(self, batches: list[tuple[str, list[tuple[dict[str, Any], str]]]],
                    within: Callable[[sqlite3.Connection], None] | None = None
                    ) -> list[list[str]]:
        """Store several sources' batches ``[(source, [(article, fetched_url)])]`` in one
        transaction, in order, as ``ingest`` would one after the other; each batch's
        statuses. Any error rolls all of them back. One commit for many small batches
        (a crawl's sources each flush a few articles a second) is the cheaper write:
        1.0 against 1.2-1.4 ms an article in batches of two (BENCHMARKS.md, issue 33).
        ``within``: as for ``ingest``."""
        stamp = now()
        self._touched: set[int] = set()
        with self.db.conn:
            # the write lock before the first read: another source's writer (each crawler
            # has its own connection) cannot commit between this batch's story lookups and
            # its inserts, so an EN and a VI report stored at once still find each other
            self.db.conn.execute("BEGIN IMMEDIATE")
            statuses = [[self._one(source,
                                   article if "signature" in article else analyze(article),
                                   fetched_url, stamp)
                         for article, fetched_url in batch]
                        for source, batch in batches]
            for story_id in self._touched:  # once per story per transaction
                self._refresh_story(story_id, stamp)
            if within is not None:
                within(self.db.conn)
        return statuses

    # -- one article -----------------------------------------------------------------------
    def _one(self, source: str, article: dict[str, Any], fetched_url: str, stamp: str) -> str:
        existing = self._first(
            "select id, source, content_hash, version, story_id, published, text, title, "
            "lead, author, removed, label from articles where url = ?", [article["url"]])
        if existing is not None:
            if existing["content_hash"] == article["content_hash"] or not _differs(
                    existing, article):
                self.db.execute("update articles set last_seen = ?, gone_checks = 0, "
                                "removed = null, removed_reason = null where id = ?",
                                [stamp, existing["id"]])
                return UNCHANGED
            self._new_version(existing, article, fetched_url, stamp)
            return UPDATED
        story_id, link, duplicate_of = self._find_story(article)
        row = self._row(source, article, fetched_url, stamp)
        row.update({"first_seen": stamp, "updated": None, "version": 1, "story_id": story_id,
                    "link": link, "duplicate_of": duplicate_of})
        row.update(_first_check(row["url"], row["published_utc"], stamp,
                                article.get("recheck_bounds")))
        if story_id is None:
            row["story_id"] = self._new_story(article, stamp)
        article_id = self._insert("articles", row)
        self._add_version(article_id, 1, article, diff=None, word_diff=None, stamp=stamp)
        self._index(article_id, article["signature"])
        self._index_event(article_id, article)
        self._touched.add(row["story_id"])
        if story_id is not None:
            return DUPLICATE
        if not article["relevant"]:
            return IRRELEVANT
        self.alerts.enqueue(self.db, "new", {**row, "id": article_id}, stamp)  # same transaction
        return NEW

    def _row(self, source: str, article: dict[str, Any], fetched_url: str,
             stamp: str) -> dict[str, Any]:
        return {
            "url": article["url"], "source": source, "title": article.get("title"),
            "author": article.get("author"), "published": article.get("published"),
            "published_utc": _utc(article.get("published")),
            "language": article.get("language"), "lead": article.get("lead"),
            "text": article["text"], "content_hash": article["content_hash"],
            "fetched_url": fetched_url, "last_seen": stamp, "topic": article["topic"],
            "relevance": article["relevance"], "relevant": int(article["relevant"]),
            "judged_relevant": int(article["relevant"]),
            "reasons": json.dumps(article["reasons"], ensure_ascii=False),
            "entities": json.dumps(article["entities"], ensure_ascii=False),
            "signature": article["signature"],
        }

    def _new_version(self, existing: dict[str, Any], article: dict[str, Any],
                     fetched_url: str, stamp: str) -> None:
        version = (existing["version"] or 1) + 1
        old, new = _masked(existing, article), _masked(article, article)
        diff = unified_diff(old["text"], new["text"], f"v{version - 1}", f"v{version}")
        kinds = edits.classify(old, new)
        changes = edits.changed_sentences(old["text"], new["text"])
        self._add_version(existing["id"], version, article, diff,
                          word_diff_html(old["text"], new["text"]), stamp,
                          kinds=kinds, changes=changes)
        row = self._row(existing["source"], article, fetched_url, stamp)
        row.update({"version": version, "updated": stamp,
                    "published": article.get("published") or existing["published"],
                    "removed": None, "removed_reason": None, "gone_checks": 0})
        if existing.get("label") in LABEL_VERDICTS:  # the analyst's label outranks the judge
            row["relevant"] = int(LABEL_VERDICTS[existing["label"]])
        self.db["articles"].update(existing["id"], row)
        self.db.execute("delete from lsh_bands where article_id = ?", [existing["id"]])
        self._index(existing["id"], article["signature"])
        self._index_event(existing["id"], article)
        self._touched.add(existing["story_id"])
        self.alerts.enqueue(self.db, "updated", {**row, "id": existing["id"],
                                                 "story_id": existing["story_id"],
                                                 "edits": kinds}, stamp)

    def _add_version(self, article_id: int, version: int, article: dict[str, Any],
                     diff: str | None, word_diff: str | None, stamp: str,
                     kinds: list[str] | None = None,
                     changes: list[dict[str, str]] | None = None) -> None:
        self._insert("versions", {
            "article_id": article_id, "version": version, "content_hash": article["content_hash"],
            "title": article.get("title"), "text": article["text"], "diff": diff,
            "word_diff": word_diff, "seen": stamp,
            "kinds": json.dumps(kinds or [], ensure_ascii=False),
            "changes": json.dumps(changes or [], ensure_ascii=False),
        })

    # -- stories ---------------------------------------------------------------------------
    def _find_story(self, article: dict[str, Any]) -> tuple[int | None, str | None, int | None]:
        """(story id, how it matched, article it duplicates), or Nones for a new story."""
        copy = self._first("select id, story_id from articles where content_hash = ? limit 1",
                           [article["content_hash"]])
        if copy:
            return copy["story_id"], "copy", copy["id"]
        near = self._nearest(article["signature"])
        if near:
            return near["story_id"], "near", near["id"]
        other = self._same_event_elsewhere(article)
        if other:
            return other["story_id"], "translation", None
        return None, None, None

    def _nearest(self, signature: bytes) -> dict[str, Any] | None:
        keys = dedupe.band_keys(signature)
        marks = ",".join("?" * len(keys))
        candidates = self.db.execute(
            f"select distinct a.id, a.story_id, a.signature from lsh_bands b "
            f"join articles a on a.id = b.article_id where b.key in ({marks})", keys).fetchall()
        best, best_score = None, dedupe.NEAR_THRESHOLD
        for article_id, story_id, other in candidates:
            score = dedupe.similarity(signature, other)
            if score >= best_score:
                best, best_score = {"id": article_id, "story_id": story_id}, score
        return best

    def _same_event_elsewhere(self, article: dict[str, Any]) -> dict[str, Any] | None:
        published = _utc(article.get("published"))
        keys = dedupe.event_keys(article["entities"])
        if not published or not article.get("language") or not keys:
            return None
        when = datetime.fromisoformat(published)
        window = dedupe.CROSS_LANGUAGE_WINDOW
        marks = ",".join("?" * len(keys))
        rows = self.db.execute(
            f"select a.id, a.story_id, a.entities, a.published from event_keys k "
            f"join articles a on a.id = k.article_id "
            f"where k.key in ({marks}) and k.language != ? and k.published_utc between ? and ? "
            f"group by k.article_id having count(*) >= ? order by count(*) desc",
            [*keys, article["language"], (when - window).isoformat(),
             (when + window).isoformat(), dedupe.MIN_SHARED_KEYS],
        ).fetchall()
        mine = {"entities": article["entities"], "published": article.get("published")}
        for article_id, story_id, entities, other_published in rows:
            theirs = {"entities": json.loads(entities), "published": other_published}
            if dedupe.same_event(mine, theirs):
                return {"id": article_id, "story_id": story_id}
        return None

    def _index_event(self, article_id: int, article: dict[str, Any]) -> None:
        self.db.execute("delete from event_keys where article_id = ?", [article_id])
        published = _utc(article.get("published"))
        if not published or not article.get("language"):
            return
        self.db.conn.executemany(
            "insert into event_keys (key, article_id, language, published_utc) "
            "values (?, ?, ?, ?)",
            [(key, article_id, article["language"], published)
             for key in set(dedupe.event_keys(article["entities"]))])

    def _new_story(self, article: dict[str, Any], stamp: str) -> int:
        return self._insert("stories", {
            "title": article.get("title"), "first_seen": stamp, "updated": stamp, "articles": 0,
            "languages": "[]", "relevant": 0, "relevance": 0.0,
        })

    def _refresh_story(self, story_id: int, stamp: str) -> None:
        # one query and a plain UPDATE (sqlite-utils' update re-reads the row and the
        # table's schema each call: the writer's hot path, BENCHMARKS.md issue 17)
        rows = self.db.execute(
            "select language, count(*), max(relevance), max(relevant) from articles "
            "where story_id = ? group by language", [story_id]).fetchall()
        count = sum(row[1] for row in rows)
        best = max((row[2] for row in rows if row[2] is not None), default=None)
        relevant = max((row[3] for row in rows if row[3] is not None), default=None)
        languages = sorted(row[0] for row in rows if row[0] is not None)
        self.db.execute("update stories set articles = ?, relevance = ?, relevant = ?, "
                        "updated = ?, languages = ? where id = ?",
                        [count, best, relevant, stamp, json.dumps(languages), story_id])

    def _index(self, article_id: int, signature: bytes) -> None:
        self.db.conn.executemany("insert into lsh_bands (key, article_id) values (?, ?)",
                                 [(key, article_id) for key in dedupe.band_keys(signature)])

    def _insert(self, table: str, row: dict[str, Any]) -> int:
        """Plain INSERT (the hot path: sqlite-utils' insert re-inspects the table each call)."""
        columns = ", ".join(row)
        marks = ", ".join("?" * len(row))
        cursor = self.db.conn.execute(f"insert into {table} ({columns}) values ({marks})",
                                      list(row.values()))
        return int(cursor.lastrowid)

    def _first(self, sql: str, params: list[Any]) -> dict[str, Any] | None:
        cursor = self.db.execute(sql, params)
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([c[0] for c in cursor.description], row, strict=True))
