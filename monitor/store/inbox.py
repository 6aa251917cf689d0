"""The fleet's inbox: which Redis Stream entries this database has stored.

``monitor.fleet.intake`` (the daemon's side of the article stream) stores each entry's
articles or finished crawl run and its inbox row in ONE transaction, and acknowledges the
entry in Redis only after the commit. A writer killed between the two reads the entry
again on its next start, finds it here and skips it: every entry is stored exactly once.

Every function here writes in the caller's open transaction and never commits.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from monitor.store.db import COUNTS, now

STORED = "stored"  # an inbox row's outcome: the entry's articles or run are in the database


def stored(conn: sqlite3.Connection, stream_id: str, message: str | None = None) -> bool:
    """Whether the entry ``stream_id`` (or another entry with the sender's ``message``
    id: an XADD retried after a lost reply) has an inbox row."""
    row = conn.execute("select 1 from fleet_inbox where stream_id = ? or message = ?",
                       [stream_id, message or stream_id]).fetchone()
    return row is not None


def remember(conn: sqlite3.Connection, stream_id: str, message: str, stream: str,
             consumer: str, outcome: str, kind: str | None = None,
             source: str | None = None, worker: str | None = None, job: str | None = None,
             articles: int = 0) -> None:
    """Add the inbox row of one entry (``outcome``: ``stored``, or ``refused: <reason>``
    for an entry that could not be read)."""
    conn.execute(
        "insert into fleet_inbox (stream_id, message, stream, consumer, received, kind, "
        "source, worker, job, articles, outcome) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [stream_id, message, stream, consumer, now(), kind, source, worker, job, articles,
         outcome])


def add_run(conn: sqlite3.Connection, run: dict[str, Any]) -> int:
    """A crawl run a worker finished, as one closed ``crawl_runs`` row, and its fetch log
    rows (``run["fetches"]``: ``{url, etag, last_modified, status, fetched, changed}``);
    the run's id. ``run``: ``{"source", "started", "finished", "status", "counts":
    {COUNTS}, "ledger": {...} | None, "error_detail": [str]}``."""
    counts = run.get("counts") or {}
    ledger = run.get("ledger")
    cursor = conn.execute(
        f"insert into crawl_runs (source, started, finished, status, error_detail, ledger, "
        f"{', '.join(COUNTS)}) values (?, ?, ?, ?, ?, ?, {', '.join('?' * len(COUNTS))})",
        [run["source"], run.get("started") or now(), run.get("finished") or now(),
         run["status"], "\n".join((run.get("error_detail") or [])[:50]) or None,
         json.dumps(ledger, sort_keys=True) if ledger is not None else None,
         *(int(counts.get(k, 0)) for k in COUNTS)])
    fetches = run.get("fetches") or []
    if fetches:
        conn.executemany(
            "insert or replace into fetches (url, etag, last_modified, status, fetched, "
            "changed) values (:url, :etag, :last_modified, :status, :fetched, :changed)",
            [{k: f.get(k) for k in ("url", "etag", "last_modified", "status", "fetched",
                                    "changed")} for f in fetches])
    return int(cursor.lastrowid or 0)


def last_stream_id(conn: sqlite3.Connection, stream: str) -> str | None:
    """The highest entry id of ``stream`` stored here (None before the first): if Redis
    ever hands out lower ids again, it lost the entries in between."""
    row = conn.execute(
        "select stream_id from fleet_inbox where stream = ? order by "
        "cast(substr(stream_id, 1, instr(stream_id, '-') - 1) as integer) desc, "
        "cast(substr(stream_id, instr(stream_id, '-') + 1) as integer) desc limit 1",
        [stream]).fetchone()
    return row[0] if row else None


def state(conn: sqlite3.Connection, key: str) -> str | None:
    """A value the fleet's writer keeps about the Redis it reads (``fleet_state``)."""
    row = conn.execute("select value from fleet_state where key = ?", [key]).fetchone()
    return row[0] if row else None


def set_state(conn: sqlite3.Connection, values: dict[str, str]) -> None:
    """Set ``fleet_state`` values (in the caller's transaction)."""
    conn.executemany("insert or replace into fleet_state (key, value) values (?, ?)",
                     list(values.items()))
