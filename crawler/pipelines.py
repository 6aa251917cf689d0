"""Item pipelines: extraction off the reactor (a process pool), then storage.

Extraction is CPU-bound; run inside the reactor it would share one core with
downloading and parsing. A pool of worker processes lets every core extract while the
reactor keeps fetching.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from scrapy import signals
from scrapy.exceptions import DropItem
from twisted.internet import task

from monitor.alerts import AlertConfig, load_alert_config
from monitor.ingest import Ingestor
from monitor.store import COUNTS, Store
from monitor.workers import extract_and_analyze, extract_in_pool, shared_pool


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
        if self.workers < 0:  # in-process, for debugging
            article = extract_and_analyze(html, item["url"], source.profile, source.timezone,
                                          charset)
        else:
            future = extract_in_pool(shared_pool(self.workers), html, item["url"],
                                     source.profile, source.timezone, charset)
            try:
                article = await asyncio.wrap_future(future)
            except Exception as exc:  # a bug or a broken worker: count it, keep crawling
                self.crawler.spider.record_error(item["url"], f"extraction failed: {exc!r}")
                raise DropItem(f"extraction failed: {item['url']}") from exc
        if article is None:
            self.crawler.spider.record_error(item["url"], "no article text on the page")
            raise DropItem(f"no article text: {item['url']}")
        item["article"] = article
        return item


class StorePipeline:
    """Save articles in SQLite, a batch per transaction, from one writer thread, and keep
    the crawl-run record.

    Items wait in a small buffer (``NEWSWATCH_STORE_BATCH`` items or one second at most):
    one transaction per batch costs far less than one per article. All database work runs
    on a single writer thread: the reactor keeps fetching while SQLite indexes text,
    commits, or waits for a lock held by a reader. A crawl killed before a flush loses
    only those fetches, which the next crawl repeats; nothing half-written.
    """

    def __init__(self, crawler: Any, db_path: str, batch_size: int,
                 alerts: AlertConfig | None = None) -> None:
        self.crawler = crawler
        self.db_path = db_path
        self.batch_size = batch_size
        self.alerts = alerts or AlertConfig()
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newswatch-db")
        self.store: Store | None = None  # created, used and closed on the writer thread
        self.run_id: int | None = None
        self.pending: list[dict[str, Any]] = []
        self.writes: list[Future[list[str]]] = []
        self.flusher: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> StorePipeline:
        alerts_file = crawler.settings.get("NEWSWATCH_ALERTS")
        pipeline = cls(crawler, crawler.settings.get("NEWSWATCH_DB"),
                       crawler.settings.getint("NEWSWATCH_STORE_BATCH", 50),
                       load_alert_config(alerts_file) if alerts_file else None)
        # spider_closed carries the finish reason, which close_spider does not
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def _open(self, source: Any) -> int:
        self.store = Store(self.db_path)
        self.store.upsert_sources([source])
        return self.store.start_run(source.name)

    def open_spider(self) -> None:
        self.run_id = self.writer.submit(self._open, self.crawler.spider.source).result()
        self.crawler.stats.set_value("newswatch/run_id", self.run_id)
        self.flusher = task.LoopingCall(self.flush)
        self.flusher.start(1.0, now=False)

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        self.pending.append(item)
        if len(self.pending) >= self.batch_size:
            self.flush()
        return item

    def flush(self) -> None:
        """Hand the buffered articles to the writer thread (one transaction), and count
        the batches it has finished."""
        if self.pending:
            batch, self.pending = self.pending, []
            source = self.crawler.spider.source.name
            rows = [(item["article"], item["url"]) for item in batch]
            self.writes.append(self.writer.submit(self._ingest, source, rows))
        self._count(wait=False)

    def _ingest(self, source: str, rows: list[tuple[dict[str, Any], str]]) -> list[str]:
        assert self.store is not None
        return Ingestor(self.store, self.alerts).ingest(source, rows)

    def _count(self, wait: bool) -> None:
        """Add finished batches' statuses to the stats (on the reactor thread)."""
        still = []
        for write in self.writes:
            if not (wait or write.done()):
                still.append(write)
                continue
            try:
                statuses = write.result()
            except Exception as exc:  # the transaction rolled back: nothing half-written
                self.crawler.spider.record_error(self.db_path, f"storing a batch failed: {exc}")
                continue
            for status in statuses:
                self.crawler.stats.inc_value(f"newswatch/{status}")
        self.writes = still

    def close_spider(self) -> None:
        if self.flusher is not None and self.flusher.running:
            self.flusher.stop()
        self.flush()
        self._count(wait=True)

    def _finish(self, status: str, counts: dict[str, int], errors: list[str] | None) -> None:
        assert self.store is not None and self.run_id is not None
        self.store.finish_run(self.run_id, status, counts, errors)
        self.store.close()
        self.store = None

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.run_id is None:
            return
        stats = self.crawler.stats
        counts = {key: stats.get_value(f"newswatch/{key}", 0) for key in COUNTS}
        counts["requests"] = stats.get_value("downloader/request_count", 0)
        status = "finished" if reason == "finished" else f"stopped: {reason}"
        self.writer.submit(self._finish, status, counts,
                           stats.get_value("newswatch/error_detail")).result()
        self.writer.shutdown(wait=True)
        self.run_id = None
