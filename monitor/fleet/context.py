"""What a crawl reads from the database, carried with its job (issue 32): workers never
open the daemon's SQLite file, so the daemon reads it (``job_context``) and the worker
writes it into its own scratch database before the crawl (``seed_context``).

What the crawl of a source reads from SQLite, and where that lives in a job's context:

- the fetch log (``crawler.middlewares.FetchLog``, ``Store.fetches_for(domains)``):
  ETag / Last-Modified / status / times of the source's feeds, sitemaps and pages, for
  conditional GETs: ``fetches``;
- the stored articles of the source: which URLs are settled (``crawler.removals``:
  ``recheck.checked_urls``, ``removals.known_articles``), which are due for a re-check
  and their schedule (``monitor.changes.recheck.due``: the ``check_*`` clock columns,
  ``published_utc``, ``first_seen``, ``relevant``), whether found removed
  (``removed``, ``gone_checks``); the local ingest of the worker (its counts) compares
  ``content_hash``: ``articles`` (no texts, titles or signatures: the crawl does not read
  them; the one SQLite writer, the daemon's Intake, is what stores and diffs);
- the re-check budget already spent in the budget window (``recheck.spent``: the sum of
  the ledgers' ``recheck.checked`` of the source's recent runs): ``recheck_spent``.

Not carried: ``robots_cache`` (a worker keeps its own, re-validated by conditional GET:
the cost is one robots.txt fetch per site on a worker's first job of it), the runs'
health history (``source_health``: the daemon judges health from the runs it stores),
the StorePipeline's ``start_run`` / ``finish_run`` (the worker's run is sent whole at
the end: ``ArticleStream.send_run``).

Shape (plain JSON; rows as lists under their column names, to keep it small)::

    {source name: {"articles": {"columns": [ARTICLE_COLUMNS], "rows": [[...], ...]},
                   "fetches": {"columns": [FETCH_COLUMNS], "rows": [[...], ...]},
                   "recheck_spent": int}}

Size: about 400 bytes of JSON per stored article (URL of about 60 characters, content
hash, nine timestamps and counters; 395 measured on the farm, which
tests/test_fleet_crawl.py prints), plus about 230 bytes per fetch-log row; a source of
10,000 stored articles sends about 4 MB with each job.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from monitor.alerts import AlertConfig
from monitor.changes import recheck
from monitor.sources import Source
from monitor.store import Store

# what a crawl's checks of stored articles change (crawler.removals: removals.record_checks,
# recheck.record): sent back with the run (``checks_since``), applied by the daemon's
# writer (``apply_checks``)
STATE_COLUMNS = ("removed", "removed_reason", "gone_checks", "check_next", "check_last",
                 "check_count", "check_changes", "check_origin", "check_exposure",
                 "check_hint")
ARTICLE_COLUMNS = ("url", "content_hash", "version", "relevant", "published_utc",
                   "first_seen", "last_seen", *STATE_COLUMNS)
FETCH_COLUMNS = ("url", "etag", "last_modified", "status", "fetched", "changed")
# what a worker's scratch database is emptied of before each job (``seed_context``): every table
# a crawl or its local ingest writes, except the robots.txt cache and the sources
SCRATCH_TABLES = ("alerts", "event_keys", "lsh_bands", "versions", "articles", "stories",
                  "crawl_runs", "fetches", "health_runs", "source_health")


def job_context(store: Store, sources: Iterable[Source]) -> dict[str, dict[str, Any]]:
    """What the crawl of ``sources`` reads from ``store`` (module docstring), by source
    name; JSON-able. Reads only (a few queries per source)."""
    context: dict[str, dict[str, Any]] = {}
    db = store.db
    columns = ", ".join(ARTICLE_COLUMNS)
    for source in sources:
        rows = db.execute(f"select {columns} from articles where source = ? order by id",
                          [source.name]).fetchall()
        fetches = store.fetches_for(source.domains)
        context[source.name] = {
            "articles": {"columns": list(ARTICLE_COLUMNS), "rows": [list(r) for r in rows]},
            "fetches": {"columns": list(FETCH_COLUMNS),
                        "rows": [[row[c] for c in FETCH_COLUMNS] for row in fetches.values()]},
            "recheck_spent": recheck.spent(store, source.name, time.time()),
        }
    return context


def _rows(part: Any, expected: tuple[str, ...]) -> tuple[list[str], list[list[Any]]]:
    """The columns and rows of one part of a context, checked: only known columns."""
    if not isinstance(part, Mapping):
        return [], []
    columns = [str(c) for c in part.get("columns") or []]
    unknown = set(columns) - set(expected)
    if unknown or "url" not in columns:
        raise ValueError(f"context columns not known: {sorted(unknown) or 'no url'}")
    rows = [list(r) for r in part.get("rows") or [] if len(r) == len(columns)]
    return columns, rows


def seed_context(store: Store, context: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """Make ``store`` (a worker's scratch database, never the daemon's) hold exactly what
    ``context`` says for the job about to run: the tables a crawl writes emptied
    (``SCRATCH_TABLES``: the previous job's state is not this one's), then the job's
    articles, fetch log and spent re-check budget written, in one transaction. Returns
    ``{"articles": n, "fetches": n}``. Raises ValueError for a context with unknown
    columns (nothing written)."""
    parts = {name: (_rows(part.get("articles"), ARTICLE_COLUMNS),
                    _rows(part.get("fetches"), FETCH_COLUMNS),
                    int(part.get("recheck_spent") or 0))
             for name, part in context.items()}
    conn = store.db.conn
    counts = {"articles": 0, "fetches": 0}
    stamp = recheck.stamp(time.time())
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        for table in SCRATCH_TABLES:
            conn.execute(f"delete from {table}")  # noqa: S608 - names from SCRATCH_TABLES
        for name, ((a_cols, a_rows), (f_cols, f_rows), spent) in parts.items():
            if a_rows:
                marks = ", ".join("?" * (len(a_cols) + 1))
                conn.executemany(f"insert or replace into articles (source, {', '.join(a_cols)})"
                                 f" values ({marks})", [[name, *row] for row in a_rows])
            if f_rows:
                marks = ", ".join("?" * len(f_cols))
                conn.executemany(f"insert or replace into fetches ({', '.join(f_cols)}) "
                                 f"values ({marks})", f_rows)
            if spent:  # one closed run that says how many re-checks the window spent
                conn.execute("insert into crawl_runs (source, started, finished, status, "
                             "ledger) values (?, ?, ?, 'context', json_object('recheck', "
                             "json_object('checked', ?)))", [name, stamp, stamp, spent])
            counts["articles"] += len(a_rows)
            counts["fetches"] += len(f_rows)
    return counts


def checks_since(store: Store, context: Mapping[str, Mapping[str, Any]]
                 ) -> dict[str, list[dict[str, Any]]]:
    """In a worker's scratch database after a job's crawl: the stored articles of the
    context whose check state (``STATE_COLUMNS``: re-check clock, gone checks, removal)
    the crawl changed, by source: ``{source: [{"url", STATE_COLUMNS...}]}`` (sent with
    the source's run: ``ArticleStream.send_run(checks=)``)."""
    changed: dict[str, list[dict[str, Any]]] = {}
    columns = ", ".join(STATE_COLUMNS)
    for name, part in context.items():
        a_cols, a_rows = _rows(part.get("articles"), ARTICLE_COLUMNS)
        if not a_rows:
            continue
        before = {row[a_cols.index("url")]: dict(zip(a_cols, row, strict=True))
                  for row in a_rows}
        found = []
        for row in store.db.execute(f"select url, {columns} from articles where source = ?",
                                    [name]).fetchall():
            old = before.get(row[0])
            now_state = dict(zip(STATE_COLUMNS, row[1:], strict=True))
            if old is not None and any(old.get(c, now_state[c]) != now_state[c]
                                       for c in STATE_COLUMNS):
                found.append({"url": row[0], **now_state})
        if found:
            changed[name] = found
    return changed


def apply_checks(store: Store, source: str, rows: Iterable[Mapping[str, Any]],
                 alerts: AlertConfig | None = None) -> int:
    """In the daemon's writer, inside the transaction that stores a worker's run: set the
    check state a crawl of ``source`` found (``checks_since``'s rows) on the stored
    articles; an article found removed now queues its ``removed`` alerts, as a crawl on
    the daemon's machine does (``monitor.changes.removals.record_checks``). Returns how
    many articles were updated. Raises ValueError for a row without a URL."""
    alerts = alerts or AlertConfig()
    db = store.db
    stamp = recheck.stamp(time.time())
    done = 0
    for row in rows:
        url = row.get("url") if isinstance(row, Mapping) else None
        if not isinstance(url, str):
            raise ValueError("a check row without its url")
        found = db.execute("select id, story_id, version, source, topic, relevance, "
                           "relevant, removed from articles where url = ? and source = ?",
                           [url, source]).fetchone()
        if found is None:
            continue
        article_id, story_id, version, _, topic, relevance, relevant, removed = found
        values = {c: row.get(c) for c in STATE_COLUMNS if c in row}
        if not values:
            continue
        db.execute("update articles set " + ", ".join(f"{c} = ?" for c in values)
                   + " where id = ?", [*values.values(), article_id])
        done += 1
        if removed is None and values.get("removed"):
            alerts.enqueue(db, "removed", {
                "id": article_id, "story_id": story_id, "version": version or 1,
                "source": source, "topic": topic, "relevance": relevance,
                "relevant": relevant}, stamp)
    return done
