"""Item pipelines: extraction off the reactor (a process pool), then storage.

Extraction is CPU-bound; run inside the reactor it would share one core with
downloading and parsing. A pool of worker processes lets every core extract while the
reactor keeps fetching.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from typing import Any

from scrapy import signals
from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task

from crawler import ledger
from crawler.ledger import Ledger
from crawler.removals import recheck_bounds
from monitor.alerts import AlertConfig, load_alert_config
from monitor.processes import DatabaseFull, extract_checked, shared_pool, submit_many
from monitor.store import COUNTS, DATABASE_FULL, Store, database_problem, is_full

log = logging.getLogger(__name__)


_last_good: dict[str, AlertConfig] = {}  # path -> the rules it last loaded to
_warned: set[tuple[str, int | None]] = set()  # (path, stamp) said not to load


def _alert_config(path: str) -> AlertConfig:
    """The alerts file, read once per crawl process while it is unchanged (every source's
    crawler has a StorePipeline: 29 sources read it 29 times, 0.1 s of each start).

    A file that no longer loads gives the rules it last loaded to in this process (the
    daemon's rule: the last good alerts config stays), said in one WARNING; ConfigError
    when it never loaded here. The warm crawl service (monitor.run.service) checks the
    file when a job starts and passes its path; a crawler opening seconds later, under
    load, found it broken meanwhile, and its new articles were stored with no alert
    queued: lost (test_faults, the whole suite beside burners)."""
    try:
        stamp = os.stat(path).st_mtime_ns
    except OSError:
        stamp = None  # missing: load_alert_config says what that means
    try:
        config = _load_alert_config(path, stamp)
    except ValueError as exc:  # monitor.sources.ConfigError: a broken file
        if path not in _last_good:
            raise
        if (path, stamp) not in _warned:  # once per broken version of the file
            _warned.add((path, stamp))
            log.warning("alerts file %s does not load (%s); the last good one is used",
                        path, exc)
        return _last_good[path]
    _last_good[path] = config
    return config


@lru_cache(maxsize=4)
def _load_alert_config(path: str, stamp: int | None) -> AlertConfig:
    return load_alert_config(path)


def forget_fetch_log(crawler: Any) -> None:
    """Do not save this crawl's fetch log: articles were lost (a failed batch, an
    extraction that failed for want of a worker), and a feed logged as fetched would be
    "not modified" next time, its lost articles never found."""
    fetch_log = getattr(crawler, "_newswatch_fetch_log", None)  # crawler.middlewares
    if fetch_log is not None:
        fetch_log.recording = False


class ExtractPipeline:
    """Turn a fetched page into an article dict (``item["article"]``)."""

    def __init__(self, crawler: Any, workers: int) -> None:
        self.crawler = crawler
        self.workers = workers

    @classmethod
    def from_crawler(cls, crawler: Any) -> ExtractPipeline:
        return cls(crawler, crawler.settings.getint("NEWSWATCH_EXTRACT_WORKERS"))

    async def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        source = self.crawler.spider.source
        html = item.pop("html")
        charset = item.pop("content_type", None)
        check = bool(item.pop("check_rules", False))  # the spider's sample of pages
        if self.workers < 0:  # in-process, for debugging
            article, misses = extract_checked(html, item["url"], source.profile,
                                              source.timezone, charset, source.domains, check)
        else:
            try:  # a broken pool refuses the page at once (shared_pool then replaces it)
                future = shared_pool(self.workers).submit(
                    extract_checked, html, item["url"], source.profile, source.timezone,
                    charset, tuple(source.domains), check)
                article, misses = await asyncio.wrap_future(future)
            except Exception as exc:  # a bug or a broken worker: count it, keep crawling
                self.crawler.spider.record_error(item["url"], f"extraction failed: {exc!r}")
                # not the page's fault: the next crawl must find it again, so this crawl's
                # feeds and listings are not logged as seen (they would answer 304)
                forget_fetch_log(self.crawler)
                Ledger.of(self.crawler).page("extraction_failed")
                raise DropItem(f"extraction failed: {item['url']}") from exc
        for miss in misses:  # the profile's rules on this page (monitor.sources.health signals)
            self.crawler.stats.inc_value(f"newswatch/{miss}")
        if article is None:
            Ledger.of(self.crawler).page("no_text")
            self.crawler.spider.record_error(item["url"], "no article text on the page")
            raise DropItem(f"no article text: {item['url']}")
        _health_signals(self.crawler.stats, article, item.pop("hints", None))
        item["article"] = article
        return item


def _health_signals(stats: Any, article: dict[str, Any], hints: dict[str, Any] | None) -> None:
    """Count an extracted article for source health (``monitor.sources.health``): extracted,
    without a date, text length, read generically because the profile's body rule lost
    (``monitor.extract.guard``); a sitemap's or feed's date hint fills a missing date."""
    stats.inc_value("newswatch/extracted")
    if article.get("guard"):
        stats.inc_value("newswatch/body_lost")
    stats.inc_value("newswatch/text_chars", len(article.get("text") or ""))
    if not article.get("published"):
        stats.inc_value("newswatch/no_date")
        if hints and hints.get("published"):
            article["published"] = hints["published"]


_NO_ALERTS = AlertConfig()  # the rules of a crawl that queues no alert


class SharedFlush:
    """One flush a second for every StorePipeline of a database in this crawl process:
    the articles each buffered go to the writer process together, as one transaction
    (``monitor.processes.submit_many``), each pipeline's batch with a future of its own.

    Each source flushing on its own timer sent the writer about a thousand transactions
    of two articles in a farm crawl of 29 sources (2,095 articles): a commit each, and a
    process-pool round trip each on the reactor. The wait is the same (an article is
    handed over within a second); a pipeline whose buffer reaches its batch size still
    flushes it at once, alone."""

    _by_db: dict[str, SharedFlush] = {}

    def __init__(self, db_path: str) -> None:
        self.db_path = db_path
        self.pipelines: list[StorePipeline] = []
        self.loop = task.LoopingCall(self.flush)

    @classmethod
    def join(cls, pipeline: StorePipeline) -> SharedFlush:
        """The database's shared flush, with ``pipeline`` in it (started with the first)."""
        shared = cls._by_db.get(pipeline.db_path)
        if shared is None:
            shared = cls._by_db[pipeline.db_path] = cls(pipeline.db_path)
        shared.pipelines.append(pipeline)
        if not shared.loop.running:
            shared.loop.start(1.0, now=False)
        return shared

    def leave(self, pipeline: StorePipeline) -> None:
        """``pipeline`` is closing (its own buffer flushed first); the timer stops with
        the last one."""
        if pipeline in self.pipelines:
            self.pipelines.remove(pipeline)
        if not self.pipelines:
            if self.loop.running:
                self.loop.stop()
            if self._by_db.get(self.db_path) is self:
                del self._by_db[self.db_path]

    def flush(self, only: StorePipeline | None = None) -> None:
        """Hand every pipeline's buffered articles (or ``only``'s) to the writer: one
        transaction per alerts configuration (a crawl process has one)."""
        taken = [(pipeline, pipeline.take()) for pipeline in
                 ([only] if only is not None else list(self.pipelines))]
        groups: dict[tuple[int, str | None],
                     list[tuple[StorePipeline, list[tuple[dict[str, Any], str]]]]] = {}
        for pipeline, rows in taken:
            if rows:
                job = (pipeline.fleet or {}).get("job")
                groups.setdefault((id(pipeline.alerts), job), []).append((pipeline, rows))
        for members in groups.values():
            futures = submit_many(self.db_path,
                                  [(p.crawler.spider.source.name, rows) for p, rows in members],
                                  members[0][0].alerts, members[0][0].fleet)
            for (pipeline, rows), future in zip(members, futures, strict=True):
                pipeline.track(future, len(rows))
        for pipeline, _ in taken:
            pipeline._count(wait=False)  # noqa: SLF001 - the batches finished so far


class StorePipeline:
    """Save articles in SQLite, a batch per transaction, and keep the crawl-run record.

    Items wait in a small buffer (``NEWSWATCH_STORE_BATCH`` items or one second at most):
    one transaction per batch costs far less than one per article. Batches go to the
    crawl's writer process (``monitor.processes.writer``, shared by every source of the crawl
    process); the run record and the source's health are written on this pipeline's
    own thread.

    The reactor never waits for the database: it keeps fetching while SQLite indexes
    text, commits, or waits for a lock held by a reader. A crawl killed before a flush
    loses only those fetches, which the next crawl repeats; nothing half-written.

    A full database (SQLITE_FULL: disk full, or ``NEWSWATCH_SQLITE_MAX_PAGES``) rolls the
    batch back and stops the crawl: later batches are not tried, pages still arriving are
    counted and dropped, and the run ends ``failed`` with one error line, "database is
    full (disk full or size limit): N articles not stored" (also the stat
    ``newswatch/fatal``, which the crawl runner turns into a CrawlError). A crawl that
    lost articles does not save its fetch log, so the next crawl fetches feeds and
    listings in full and finds them again.
    """

    def __init__(self, crawler: Any, db_path: str, batch_size: int,
                 alerts: AlertConfig | None = None) -> None:
        self.crawler = crawler
        self.db_path = db_path
        self.batch_size = batch_size
        self.alerts = alerts or _NO_ALERTS  # one object: the sources' batches flush together
        # the run record and health (a few writes per run); batches: monitor.processes.writer
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newswatch-db")
        self.store: Store | None = None  # created, used and closed on that thread
        self.health: dict[str, Any] | None = None  # the source's health after this run
        self.run_id: int | None = None
        self.pending: list[dict[str, Any]] = []
        self.writes: list[Future[list[str]]] = []
        self.flusher: SharedFlush | None = None  # the crawl process's flush, once a second
        self.stopping = False  # the reactor's view: the crawl is being stopped
        self.not_stored = 0  # articles lost to a full database (counted on the reactor)
        self.sizes: dict[int, int] = {}  # articles per batch in flight (crawler.ledger)
        self.book: dict[str, Any] | None = None  # the run's ledger when it closed
        self.unopened = False  # the run record could not be written: nothing is stored
        # the source's re-check bounds (min, max seconds): a new article's first schedule
        # (monitor.changes.ingest), carried with each article to the writer
        self.recheck_bounds: tuple[float, float] | None = None
        # a crawl worker's (issue 32): each batch also goes to its fleet's article stream,
        # tagged with the job (monitor.processes.writer; monitor.run.worker sets it)
        fleet = crawler.settings.getdict("NEWSWATCH_FLEET")
        self.fleet: dict[str, Any] | None = dict(fleet) if fleet else None

    @classmethod
    def from_crawler(cls, crawler: Any) -> StorePipeline:
        alerts = crawler.settings.get("NEWSWATCH_ALERTS")  # a file, or rules already loaded
        if alerts and not isinstance(alerts, AlertConfig):
            alerts = _alert_config(str(alerts))
        pipeline = cls(crawler, crawler.settings.get("NEWSWATCH_DB"),
                       crawler.settings.getint("NEWSWATCH_STORE_BATCH", 50), alerts or None)
        # spider_closed carries the finish reason, which close_spider does not
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def _open(self, source: Any) -> int:
        self.store = Store(self.db_path)
        self.store.upsert_sources([source])
        return self.store.start_run(source.name)

    async def open_spider(self) -> None:
        try:
            self.run_id = await asyncio.wrap_future(
                self.writer.submit(self._open, self.crawler.spider.source))
        except (sqlite3.Error, OSError) as exc:
            # the database cannot be written (read-only, locked beyond the busy timeout,
            # full, a disk error: the crawl runner checks first, but it may change):
            # one line naming the cause (monitor.store.database_problem), the crawl's
            # fatal error; the spider closes at once, nothing is stored, no traceback
            problem = database_problem(exc, self.db_path)
            if problem is None:
                raise
            stats = self.crawler.stats
            stats.set_value("newswatch/fatal", str(problem))
            stats.set_value("newswatch/fatal_kind", type(problem).__name__)
            self.stopping = self.unopened = True
            from twisted.internet import reactor

            reactor.callLater(0, self._close_unopened)
            return
        self.crawler.stats.set_value("newswatch/run_id", self.run_id)
        bounds = recheck_bounds(self.crawler.spider.source)
        self.recheck_bounds = (bounds.min, bounds.max)
        self.flusher = SharedFlush.join(self)

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        if self.stopping:  # the database is full: counted, not stored
            self.not_stored += 1
            Ledger.of(self.crawler).page("not_stored")
            return item
        self.pending.append(item)
        if len(self.pending) >= self.batch_size:
            self.flush()
        return item

    def flush(self) -> None:
        """Hand this pipeline's buffered articles to the writer process now (one
        transaction), and count the batches it has finished. The once-a-second flush
        hands every pipeline's together (``SharedFlush``)."""
        if self.flusher is not None:
            self.flusher.flush(only=self)
            return
        rows = self.take()
        if rows:
            self.track(submit_many(self.db_path, [(self.crawler.spider.source.name, rows)],
                                   self.alerts, self.fleet)[0], len(rows))
        self._count(wait=False)

    def take(self) -> list[tuple[dict[str, Any], str]]:
        """The buffered articles as the writer's rows ``(article, url)``, the buffer emptied."""
        batch, self.pending = self.pending, []
        for item in batch:
            item["article"]["recheck_bounds"] = self.recheck_bounds
        return [(item["article"], item["url"]) for item in batch]

    def track(self, write: Future[list[str]], size: int) -> None:
        """A batch of ``size`` articles handed to the writer: counted when it finishes."""
        write.add_done_callback(self._written)
        self.writes.append(write)
        self.sizes[id(write)] = size

    def _written(self, write: Future[list[str]]) -> None:
        """A batch the writer process finished (on the pool's thread): a full database
        stops the crawl now, not at the next flush."""
        if not write.cancelled() and isinstance(write.exception(), DatabaseFull):
            from twisted.internet import reactor

            reactor.callFromThread(self._stop)

    def _count(self, wait: bool) -> None:
        """Add finished batches' statuses to the stats (on the reactor thread)."""
        still = []
        for write in self.writes:
            if not (wait or write.done()):
                still.append(write)
                continue
            ledger = Ledger.of(self.crawler)
            size = self.sizes.pop(id(write), 0)
            try:
                statuses = write.result()
            except DatabaseFull as exc:  # rolled back; one error line when the run ends
                self.not_stored += exc.count
                ledger.page("not_stored", size)
                self._stop()
                continue
            except Exception as exc:  # the transaction rolled back: nothing half-written
                self.crawler.spider.record_error(self.db_path, f"storing a batch failed: {exc}")
                ledger.page("store_failed", size)
                forget_fetch_log(self.crawler)
                continue
            for status in statuses:
                self.crawler.stats.inc_value(f"newswatch/{status}")
                ledger.page(status)
        self.writes = still

    def _close_unopened(self) -> None:
        """The database refused the run record: close the spider before it fetches."""
        if self.crawler.engine is not None and self.crawler.engine.spider is not None:
            deferred_from_coro(self.crawler.engine.close_spider_async(
                reason="database_error"))

    def _stop(self) -> None:
        """The database is full: stop the crawl (once); pages it cannot store are not
        worth fetching."""
        if self.stopping:
            return
        self.stopping = True
        forget_fetch_log(self.crawler)
        # said once, as the run's error line (record_error) and the crawl's fatal error
        log.info("%s: stopping the crawl", DATABASE_FULL)
        if self.crawler.engine is not None and self.crawler.engine.spider is not None:
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="database_full"))

    async def close_spider(self) -> None:
        self.flush()
        if self.flusher is not None:
            self.flusher.leave(self)
            self.flusher = None
        for write in self.writes:  # awaited, not waited for: other sources keep crawling
            try:
                await asyncio.wrap_future(write)
            except Exception:  # noqa: BLE001, S110 - counted by _count below
                pass
        self._count(wait=True)

    def _finish(self, status: str, counts: dict[str, int], errors: list[str] | None,
                book: dict[str, Any] | None = None) -> None:
        assert self.store is not None and self.run_id is not None
        try:
            self.store.finish_run(self.run_id, status, counts, errors, ledger=book)
            self._judge_health(status, counts)
        except sqlite3.Error as exc:  # a full disk may refuse even this: the runner retries
            if not is_full(exc):
                raise
            self.crawler.stats.set_value("newswatch/unrecorded", str(exc))
            log.error("crawl run %s could not be closed: %s", self.run_id, exc)
        finally:
            self.store.close()
            self.store = None

    def _judge_health(self, status: str, counts: dict[str, int]) -> None:
        """Record the run's health signals and judge the source (``monitor.sources.health``); a
        failure here is logged, never the crawl's failure."""
        from monitor.sources import health

        assert self.store is not None and self.run_id is not None
        if not self.crawler.settings.getbool("NEWSWATCH_HEALTH", True):
            return  # a backfill (monitor.run.backfill): not a sample of the source's daily health
        try:
            stats = self.crawler.stats
            signals = health.collect(lambda key: stats.get_value(f"newswatch/{key}"), counts)
            if self.book is not None:  # the ledger's losses, by reason (check_losses)
                signals["losses"] = ledger.losses(self.book)
            # robots.txt is the middleware's, not the source's: its answer is never an error
            signals["requests"] = max(0, signals["requests"] - int(
                stats.get_value("robotstxt/request_count", 0)))
            self.health = health.after_run(self.store.db, self.run_id,
                                           self.crawler.spider.source, signals, status,
                                           self.alerts)
        except Exception:  # noqa: BLE001 - health is an observer of the crawl (even a full disk)
            log.exception("source health of run %s not recorded", self.run_id)

    async def spider_closed(self, spider: Any, reason: str) -> None:
        stats = self.crawler.stats
        if self.unopened:  # the fatal line is said (open_spider); no run to close
            self.writer.shutdown(wait=False)
            return
        failed = self.stopping or reason == "database_full"
        if failed:
            message = f"{DATABASE_FULL}: {self.not_stored} articles not stored"
            self.crawler.spider.record_error(self.db_path, message)
            stats.set_value("newswatch/fatal", message)
        if self.run_id is None:
            return
        counts = {key: stats.get_value(f"newswatch/{key}", 0) for key in COUNTS}
        counts["requests"] = stats.get_value("downloader/request_count", 0)
        status = ("failed" if failed else
                  "finished" if reason == "finished" else f"stopped: {reason}")
        parse_failures = stats.get_value("newswatch/parse_failures", 0)
        if status == "finished" and parse_failures:  # a discovery step raised: not clean
            status = f"partial: {parse_failures} parse step(s) failed"
        source = self.crawler.spider.source.name
        self.book, problems = Ledger.of(self.crawler).close(reason == "finished" and not failed,
                                                         source)
        for problem in problems:  # never silent: an error line of the run
            self.crawler.spider.record_error(source, f"ledger does not balance: {problem}")
        if problems:
            counts["errors"] = stats.get_value("newswatch/errors", 0)
        await asyncio.wrap_future(self.writer.submit(
            self._finish, status, counts, stats.get_value("newswatch/error_detail"),
            self.book))
        self.writer.shutdown(wait=True)
        self.run_id = None
