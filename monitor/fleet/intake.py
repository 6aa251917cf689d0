"""The article stream, the database's side: the one SQLite writer of a fleet.

For each stream entry (``monitor.fleet.transport``), in stream order:

1. skip it if the inbox (``monitor.store.inbox``) already holds its id or its sender's
   message id (counted ``already_stored``);
2. otherwise store it (a batch: ``monitor.changes.Ingestor``, as the crawl's writer process
   does, ``monitor.processes.writer.ingest_batch``; a run: one closed ``crawl_runs`` row, its
   fetch log and the check state its crawl changed, ``monitor.fleet.context.apply_checks``,
   with the ``removed`` alerts of articles found removed) and write its inbox row in the
   SAME SQLite transaction;
3. after the commit, acknowledge it in Redis (XACK) and delete it from the stream (XDEL).

A writer killed between 2 and 3 leaves the entry pending in the consumer group. On its
next start (``start``) the writer first claims every pending entry of the group
(XAUTOCLAIM from id 0: there is one writer per database, the daemon's lock says so), finds
those already stored in the inbox, acknowledges them without storing them again, and
stores the rest. Every entry is therefore stored exactly once.

An entry that cannot be read (not JSON, an unknown kind, fields missing) is never run, and
one the store cannot take (an article without its text, a field of the wrong type; its
transaction rolled back) is not retried: either gets an inbox row ``refused: <reason>``
and is acknowledged (counted ``refused``), so it never holds up the entries behind it. The
database's own trouble (``sqlite3.OperationalError``: a full disk, a lock, I/O) is raised
with the entry left pending: it is stored on a later start.

If Redis lost data (restarted without its append-only file, flushed), ``start`` says so
in ``warnings`` (counted ``redis_lost``): the fleet's epoch key, which the writer set and
recorded, is gone, or the stream's last id is below the highest id the inbox stored.
Jobs lost with it are offered again by the next round.

Test hook: ``NEWSWATCH_FLEET_KILL_AFTER_COMMIT=N`` makes the writer SIGKILL itself right
after its Nth commit, before the acknowledgement (tests/test_fleet_stream.py).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import redis

from monitor.alerts import AlertConfig
from monitor.changes import Ingestor
from monitor.fleet.connect import Keys
from monitor.fleet.context import apply_checks
from monitor.fleet.transport import BATCH, RUN, ensure_group
from monitor.fleet.wire import WireError, loads
from monitor.store import Store, inbox

KILL_AFTER_COMMIT_ENV = "NEWSWATCH_FLEET_KILL_AFTER_COMMIT"


def _id_key(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


class Intake:
    """Reads a fleet's article stream into ``store`` as consumer ``consumer`` of the
    group. ``count``: entries read per call; ``alerts``: the alert rules the Ingestor
    writes outbox rows for (as the crawl's writer does). Call ``start``, ``poll`` and
    ``run`` on the thread that opened ``store`` (sqlite3 keeps a connection to its
    thread): the daemon opens the writer's Store on the writer's thread.

    ``after_run(payload, run_id)``: called on this thread for each run stored, after its
    commit and before its acknowledgement (at most once per run; the daemon judges the
    source's health there); what it raises is counted ``after_run_errors``.

    ``counts``: entries, stored, articles, runs, already_stored, refused,
    refused_articles (the articles of batches refused whole), deleted (an entry deleted
    from the stream before it was read: data Redis lost), redis_unreachable (times
    ``run`` lost Redis and waited for it), redelivered, redis_lost, starts, and the articles'
    statuses (new, updated, ...). ``warnings``: what the writer found lost."""

    def __init__(self, client: redis.Redis, store: Store, keys: Keys | None = None,
                 alerts: AlertConfig | None = None, consumer: str = "writer",
                 count: int = 16,
                 after_run: Callable[[dict[str, Any], int], None] | None = None) -> None:
        self.redis = client
        self.store = store
        self.keys = keys or Keys()
        self.consumer = consumer
        self.count = count
        self.ingestor = Ingestor(store, alerts)
        self.after_run = after_run
        self.counts: Counter[str] = Counter()
        self.warnings: list[str] = []
        self._commits = 0
        self._epoch: str | None = None  # the fleet's epoch key as the last start saw it
        self.restart = False  # poll found Redis lost its data: run starts over
        kill = os.environ.get(KILL_AFTER_COMMIT_ENV, "")
        self._kill_after = int(kill) if kill.isdigit() else 0

    # -- start: what was pending ---------------------------------------------------------
    def start(self) -> int:
        """Create the group if needed, say what Redis lost (``warnings``), then store the
        group's pending entries (a previous writer's, read but not acknowledged); how many
        entries were handled."""
        ensure_group(self.redis, self.keys)
        self._check_continuity()
        handled, cursor = 0, "0-0"
        while True:
            cursor, entries, deleted = self._autoclaim(cursor)
            for entry_id in deleted:
                self.counts["deleted"] += 1
                self.warnings.append(f"stream entry {entry_id} was pending but is gone from "
                                     "Redis: its articles were not stored")
            for entry_id, fields in entries:
                self._handle(entry_id, fields)
                handled += 1
            if cursor == "0-0":
                self.counts["starts"] += 1  # (counted once done: the group read, losses said)
                return handled

    def _autoclaim(self, cursor: str) -> tuple[str, list[tuple[str, Any]], list[str]]:
        answer = self.redis.xautoclaim(self.keys.stream, self.keys.group, self.consumer,
                                       min_idle_time=0, start_id=cursor, count=100)
        cursor, entries = str(answer[0]), answer[1]
        deleted = [str(i) for i in answer[2]] if len(answer) > 2 else []
        # an entry deleted from the stream comes back as (id, None) in some versions
        deleted += [str(i) for i, fields in entries if fields is None]
        return cursor, [(str(i), f) for i, f in entries if f is not None], deleted

    def _check_continuity(self) -> None:
        """Warn when Redis lost data since this database last read it: the fleet's epoch
        key (set by the first writer, persisted like every key) is gone or another (all
        data lost: no append-only file, a flush, another server), or the stream's last
        id is below the highest id stored here (the end of the stream lost). Each loss
        is reported once."""
        conn = self.store.db.conn
        stored = inbox.last_stream_id(conn, self.keys.stream)
        recorded = inbox.state(conn, "redis_epoch")
        current = self.redis.get(self.keys.epoch)
        if current is None:
            self.redis.set(self.keys.epoch, uuid.uuid4().hex, nx=True)
            current = self.redis.get(self.keys.epoch)
        lost = None
        if recorded is not None and current != recorded:
            lost = ("Redis lost its data (the fleet's epoch key is gone: restarted without "
                    "its append-only file, flushed, or another server)")
        elif stored is not None and inbox.state(conn, "lost_after") != stored:
            last = str(self.redis.xinfo_stream(self.keys.stream)["last-generated-id"])
            if _id_key(last) < _id_key(stored):
                lost = (f"Redis lost stream entries: this database stored entry {stored}, "
                        f"the stream's last entry is now {last}")
        values = {"redis_epoch": str(current)}
        self._epoch = str(current)
        if lost:
            self.counts["redis_lost"] += 1
            self.warnings.append(f"{lost}: articles sent since were not stored; the next "
                                 "round crawls their sources again")
            if stored is not None:
                values["lost_after"] = stored
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            inbox.set_state(conn, values)

    # -- reading -------------------------------------------------------------------------
    def lost_since_start(self) -> bool:
        """Whether the fleet's epoch key changed since ``start`` (Redis lost its data
        meanwhile: a sender may have made the stream and group again before this writer's
        next read, which then fails with nothing). One GET."""
        return self._epoch is not None and self.redis.get(self.keys.epoch) != self._epoch

    def poll(self, block_ms: int = 1000) -> int:
        """Read and store new entries, waiting up to ``block_ms`` for the first; when
        none came, the entries delivered to this writer and not acknowledged (counted
        ``redelivered``); how many were handled."""
        answer = self.redis.xreadgroup(self.keys.group, self.consumer,
                                       {self.keys.stream: ">"}, count=self.count,
                                       block=block_ms)
        handled = 0
        if answer and self.lost_since_start():
            # Redis lost its data while this read waited, and a sender made the stream
            # again: these entries stay pending (delivered to this writer); ``run`` starts
            # over, says what was lost, then stores them
            self.restart = True
            return 0
        for _, entries in answer or []:
            for entry_id, fields in entries:
                self._handle(str(entry_id), fields)
                handled += 1
        if not handled:
            # idle: entries delivered to this writer but never handled (a reply lost when
            # Redis went away, which redis-py's own retry hides) are read again, by id
            answer = self.redis.xreadgroup(self.keys.group, self.consumer,
                                           {self.keys.stream: "0"}, count=self.count)
            for _, entries in answer or []:
                for entry_id, fields in entries:
                    if fields is None:  # deleted from the stream before it was handled
                        self.counts["deleted"] += 1
                        self._acknowledge(str(entry_id))
                        continue
                    self.counts["redelivered"] += 1
                    self._handle(str(entry_id), fields)
                    handled += 1
        return handled

    def run(self, stop: threading.Event, block_ms: int = 1000) -> None:
        """``start``, then ``poll`` until ``stop`` is set. While Redis is unreachable (a
        restart) it waits and reads again, starting over (pending entries first) once
        Redis answers; a Redis that came back without the stream (its data lost) is
        started over too, and ``start`` says what was lost. SQLite errors are raised."""
        started = False
        while not stop.is_set():
            try:
                if not started:
                    self.start()
                    started = True
                elif self.restart or self.lost_since_start():  # Redis lost its data:
                    self.restart = started = False  # start() says so
                    continue
                self.poll(block_ms)
            except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                if started:
                    self.counts["redis_unreachable"] += 1
                started = False
                stop.wait(0.2)
            except redis.ResponseError as exc:
                # the stream or its group is gone (a read blocked on it is UNBLOCKED, the
                # next one says NOGROUP): Redis lost its data; start() says so
                if not str(exc).startswith(("NOGROUP", "UNBLOCKED")):
                    raise
                started = False

    # -- one entry -----------------------------------------------------------------------
    def _handle(self, entry_id: str, fields: dict[str, str]) -> None:
        self.counts["entries"] += 1
        conn = self.store.db.conn
        message = fields.get("message") or entry_id
        if inbox.stored(conn, entry_id, message):
            self.counts["already_stored"] += 1
            self._acknowledge(entry_id)
            return
        kind = fields.get("kind")
        try:
            payload = loads(fields.get("data", ""))
            if not isinstance(payload, dict) or kind not in (BATCH, RUN):
                raise WireError(f"unknown kind {kind!r}")
            source = payload["source"]
            if not isinstance(source, str):
                raise WireError("source is not text")
            rows = ([(article, url) for article, url in payload["rows"]]
                    if kind == BATCH else [])
        except (WireError, KeyError, TypeError, ValueError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self._refuse(entry_id, message, kind, reason)
            return

        def remember(c: sqlite3.Connection) -> None:
            inbox.remember(c, entry_id, message, self.keys.stream, self.consumer,
                           inbox.STORED, kind=kind, source=source,
                           worker=payload.get("worker"), job=payload.get("job"),
                           articles=len(rows))

        run_id = 0
        try:
            if kind == BATCH:
                statuses = self.ingestor.ingest(source, rows, within=remember)
            else:
                with conn:
                    conn.execute("BEGIN IMMEDIATE")
                    run_id = inbox.add_run(conn, payload)
                    # the check state its crawl changed (re-check clocks, removals)
                    apply_checks(self.store, source, payload.get("checks") or [],
                                 self.ingestor.alerts)
                    remember(conn)
        except sqlite3.OperationalError:
            raise  # the database's trouble (full, locked, I/O): the entry waits, pending
        except Exception as exc:  # noqa: BLE001 - the entry's content: refused, not retried
            # (rolled back) an article or run the store cannot take (a field missing or
            # of the wrong type): retried it would fail again and hold up every entry
            # behind it, so it is refused with its reason, like an entry that is not JSON
            self._refuse(entry_id, message, kind,
                         f"not storable: {type(exc).__name__}: {exc}".splitlines()[0][:300],
                         articles=len(rows))
            return
        if kind == BATCH:
            self.counts.update(statuses)
            self.counts["articles"] += len(rows)
        else:
            self.counts["runs"] += 1
        self.counts["stored"] += 1
        self._committed()
        if kind == RUN and self.after_run is not None:
            # (the source's health: after the commit, before the acknowledgement, so at
            # most once; an observer: its failure never holds up the stream)
            try:
                self.after_run(payload, run_id)
            except Exception:  # noqa: BLE001 - counted; the run is stored
                self.counts["after_run_errors"] += 1
        self._acknowledge(entry_id)

    def _refuse(self, entry_id: str, message: str, kind: str | None, reason: str,
                articles: int = 0) -> None:
        """An inbox row ``refused: reason`` (with the entry's article count), counted."""
        conn = self.store.db.conn
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            inbox.remember(conn, entry_id, message, self.keys.stream, self.consumer,
                           f"refused: {reason}", kind=str(kind)[:20], articles=articles)
        self.counts["refused"] += 1
        self.counts["refused_articles"] += articles
        self._committed()
        self._acknowledge(entry_id)

    def _committed(self) -> None:
        self._commits += 1
        if self._kill_after and self._commits >= self._kill_after:
            os.kill(os.getpid(), signal.SIGKILL)  # test hook: between commit and XACK

    def _acknowledge(self, entry_id: str) -> None:
        """XACK then XDEL, in one MULTI; retried while Redis is away (the entry is stored:
        if this fails for good it is skipped as already stored next time)."""
        deadline = time.monotonic() + 30
        while True:
            try:
                with self.redis.pipeline(transaction=True) as pipe:
                    pipe.xack(self.keys.stream, self.keys.group, entry_id)
                    pipe.xdel(self.keys.stream, entry_id)
                    pipe.execute()
                return
            except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)
