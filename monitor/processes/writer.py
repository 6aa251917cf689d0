"""The crawl's SQLite writer, in a process of its own.

Every source's crawler in a crawl process hands its batches of analysed articles
(``crawler.pipelines.StorePipeline``) to one writer process per database file, which
runs ``monitor.changes.ingest.Ingestor`` on its own connection, one transaction per batch
(``submit``) or per group of batches (``submit_many``: the crawl's sources flushed
together once a second), in the order they were sent.

Why a process: the writer's lookups, story matching and inserts are Python, about 1 ms
per article. On a thread of the crawl process they held the GIL that Scrapy's reactor
needs: the reactor waited for it after every socket call, and the crawl process was the
crawl's bottleneck (BENCHMARKS.md, issue 17). One writer for every source also ends the
contention of 29 connections for SQLite's write lock.

The process is forked from the extraction pool's forkserver (``monitor.processes.workers``), so it
dies with the crawl process like the workers (``monitor.processes.lifecycle``): a crawl killed
mid-batch leaves that batch's transaction rolled back, nothing half-written.
"""

from __future__ import annotations

import atexit
import signal
import sqlite3
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from monitor.alerts import AlertConfig
from monitor.store import DATABASE_FULL, is_full

_writers: dict[str, ProcessPoolExecutor] = {}
_store: Any = None  # in the writer process: its Store
_full = False  # in the writer process: the database said SQLITE_FULL, later batches fail
_streams: dict[tuple[str, str, str], Any] = {}  # in the writer process: (url, fleet, worker)


class NotSent(Exception):
    """A crawl worker's batch could not be sent to its fleet's article stream (Redis away
    longer than the stream's retry, or an article that is not JSON): nothing of it was
    stored, and the worker fails the job (monitor.run.worker)."""

    def __init__(self, count: int, reason: str) -> None:
        super().__init__(f"not sent to the article stream: {count} articles ({reason})")
        self.count, self.reason = count, reason

    def __reduce__(self) -> tuple[type[NotSent], tuple[int, str]]:
        return NotSent, (self.count, self.reason)  # crosses the process boundary whole


def _send(fleet: dict[str, Any] | None,
          batches: list[tuple[str, list[tuple[dict[str, Any], str]]]]) -> None:
    """In the writer process of a crawl worker (``fleet``: ``{"redis": URL, "fleet":
    name, "worker": name, "job": id}``, the crawl's ``NEWSWATCH_FLEET`` setting): send
    each batch to the fleet's article stream, tagged with the job, before it is stored
    in the worker's scratch database. Raises NotSent (nothing stored)."""
    if not fleet:
        return
    import redis

    from monitor.fleet import ArticleStream, Keys, RedisUnavailable, WireError, connect

    key = (str(fleet["redis"]), str(fleet.get("fleet") or ""), str(fleet.get("worker") or ""))
    try:
        stream = _streams.get(key)
        if stream is None:
            stream = _streams[key] = ArticleStream(
                connect(key[0]), Keys(key[1]) if key[1] else Keys(), worker=key[2],
                retry_seconds=float(fleet.get("retry_seconds") or 30.0))
        for source, rows in batches:
            stream.send(source, rows, job=fleet.get("job"))
    except (redis.RedisError, RedisUnavailable, WireError, OSError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise NotSent(sum(len(rows) for _, rows in batches), reason) from None


class DatabaseFull(Exception):
    """SQLite said SQLITE_FULL: ``count`` articles of a batch were not stored."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{DATABASE_FULL}: {count} articles not stored")
        self.count = count

    def __reduce__(self) -> tuple[type[DatabaseFull], tuple[int]]:
        return DatabaseFull, (self.count,)  # crosses the process boundary whole


def _writer_init(db_path: str) -> None:
    """The writer process's initializer: die with the forkserver (which dies with the
    crawl process), ignore the terminal's Ctrl-C (the crawl process decides how to
    stop), open the database."""
    global _store
    from monitor.processes import _forkserver_guard
    from monitor.processes.lifecycle import die_with_parent
    from monitor.store import Store

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(_forkserver_guard.FORKSERVER_PID)
    _store = Store(db_path)


def ingest_batch(source: str, rows: list[tuple[dict[str, Any], str]],
                 alerts: AlertConfig | None, fleet: dict[str, Any] | None = None) -> list[str]:
    """In the writer process: store one batch (``Ingestor.ingest``: a status per article,
    in order); a crawl worker's (``fleet``) is sent to its article stream first
    (``_send``). Raises DatabaseFull on SQLITE_FULL (the batch rolled back) and for every
    batch after it; NotSent; other SQLite errors as they are (the batch rolled back)."""
    global _full
    from monitor.changes import Ingestor

    if _full:
        raise DatabaseFull(len(rows))
    _send(fleet, [(source, rows)])
    try:
        return Ingestor(_store, alerts).ingest(source, rows)
    except sqlite3.Error as exc:
        if is_full(exc):
            _full = True
            raise DatabaseFull(len(rows)) from None
        raise


def ingest_batches(batches: list[tuple[str, list[tuple[dict[str, Any], str]]]],
                   alerts: AlertConfig | None,
                   fleet: dict[str, Any] | None = None) -> list[list[str]]:
    """In the writer process: store several sources' batches in one transaction
    (``Ingestor.ingest_many``: each batch's statuses, in order); a crawl worker's
    (``fleet``) are sent to its article stream first, one entry per batch. Errors as
    ``ingest_batch``'s, for all the batches together (all rolled back); DatabaseFull
    counts every article of them."""
    global _full
    from monitor.changes import Ingestor

    count = sum(len(rows) for _, rows in batches)
    if _full:
        raise DatabaseFull(count)
    _send(fleet, batches)
    try:
        return Ingestor(_store, alerts).ingest_many(batches)
    except sqlite3.Error as exc:
        if is_full(exc):
            _full = True
            raise DatabaseFull(count) from None
        raise


def shared_writer(db_path: str) -> ProcessPoolExecutor:
    """This process's writer for ``db_path`` (started on first use; one process). A
    writer that died abruptly is replaced; the batches it held fail with
    BrokenProcessPool (rolled back: SQLite never keeps half a transaction)."""
    writer = _writers.get(db_path)
    if writer is not None and writer._broken:  # noqa: SLF001 - the writer died abruptly
        writer.shutdown(wait=False, cancel_futures=True)  # (its batches: counted errors)
        writer = None
    if writer is None:
        from monitor.processes.workers import forkserver_context

        writer = ProcessPoolExecutor(max_workers=1, mp_context=forkserver_context(),
                                     initializer=_writer_init, initargs=(db_path,))
        if not _writers:
            atexit.register(shutdown_writers)
        _writers[db_path] = writer
    return writer


def submit(db_path: str, source: str, rows: list[tuple[dict[str, Any], str]],
           alerts: AlertConfig | None, fleet: dict[str, Any] | None = None
           ) -> Future[list[str]]:
    """Queue a batch for the writer of ``db_path``; the future resolves to its statuses
    (or raises what ``ingest_batch`` raised). ``fleet``: a crawl worker's stream
    (``ingest_batch``)."""
    return shared_writer(db_path).submit(ingest_batch, source, rows, alerts, fleet)


def submit_many(db_path: str, batches: list[tuple[str, list[tuple[dict[str, Any], str]]]],
                alerts: AlertConfig | None, fleet: dict[str, Any] | None = None
                ) -> list[Future[list[str]]]:
    """Queue several sources' batches for the writer of ``db_path`` as one transaction
    (``ingest_batches``); a future per batch, resolving to its statuses. When the
    transaction fails every batch's future raises: DatabaseFull with that batch's own
    count, NotSent with its own count, any other error as it is (all of them were rolled
    back). ``fleet``: a crawl worker's stream (``ingest_batches``)."""
    futures: list[Future[list[str]]] = [Future() for _ in batches]
    try:
        group = shared_writer(db_path).submit(ingest_batches, batches, alerts, fleet)
    except Exception as exc:  # noqa: BLE001 - the writer refused them: every batch fails
        for future in futures:
            future.set_exception(exc)
        return futures

    def settle(done: Future[list[list[str]]]) -> None:
        try:
            results = done.result()
        except DatabaseFull:
            for future, (_, rows) in zip(futures, batches, strict=True):
                future.set_exception(DatabaseFull(len(rows)))
        except NotSent as exc:
            for future, (_, rows) in zip(futures, batches, strict=True):
                future.set_exception(NotSent(len(rows), exc.reason))
        except BaseException as exc:  # noqa: BLE001 - handed to every batch's future
            for future in futures:
                future.set_exception(exc)
        else:
            for future, statuses in zip(futures, results, strict=True):
                future.set_result(statuses)

    group.add_done_callback(settle)
    return futures


def shutdown_writers() -> None:
    """Finish the queued batches and stop every writer process."""
    while _writers:
        _, writer = _writers.popitem()
        writer.shutdown(wait=True)
