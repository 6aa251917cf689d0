"""The backfill spider: one source's archive from its sitemaps, newest first, with the
frontier in SQLite (``monitor.run.backfill``; ``newswatch backfill SOURCE``).

    scrapy crawl backfill -a source=NAME   (or monitor.run.backfill.backfill)

Unlike ``NewsSpider``, which queues every link it finds, this one feeds Scrapy from
``start()`` a window of requests at a time: the sitemap index first, then one child
sitemap (its URLs written to ``backfill_urls``), then that child's articles, a window at
a time, then the next child. Memory does not grow with the archive: no per-URL set, no
duplicate-filter fingerprints (requests are ``dont_filter``: the frontier's unique index
dedupes), a scheduler queue of at most ``window`` requests.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import scrapy
from scrapy import signals
from scrapy.exceptions import CloseSpider
from scrapy.http import Response

from crawler.middlewares import NotModified
from crawler.spiders.news import NewsSpider, _declares_entities
from monitor.sources import canonicalize, discovery
from monitor.store import (
    BackfillLog,
    database_problem,
    iso_utc,
    order_children,
    order_entries,
)
from monitor.store.frontier import DONE, FAILED, INTERRUPTED, STOPPED

BATCH = 200  # frontier rows read from SQLite at a time
READ_TIMEOUT = 600.0  # seconds a sitemap may take (retries, Retry-After waits included)


class BackfillSpider(NewsSpider):
    """Backfill one configured source from its sitemaps (see the module doc)."""

    name = "backfill"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit = 0
        self.since: str | None = None
        self.retry_failed = False
        self.window = 16
        self.outstanding = 0  # article requests yielded and not answered yet
        self.requested = 0
        self.failures: list[tuple[int, str]] = []  # (frontier id, reason), to write
        self.failed = 0
        self.progress: dict[str, Any] = {}
        self._room: asyncio.Event | None = None
        self._read: asyncio.Event | None = None  # a sitemap was read (or failed)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newswatch-backfill")
        self._log: BackfillLog | None = None  # lives on the pool's thread
        self._exhausted = False
        self._index_failed = False  # an index could not be fetched or read
        self._ended = False  # the spider closed: its cursor is written, its pool gone

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> BackfillSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.limit = settings.getint("NEWSWATCH_BACKFILL_LIMIT", 0)
        spider.since = settings.get("NEWSWATCH_BACKFILL_SINCE") or None
        spider.retry_failed = settings.getbool("NEWSWATCH_BACKFILL_RETRY_FAILED")
        assert spider.source is not None
        # enough queued to keep every slot of the site busy, no more
        spider.window = max(16, 4 * spider.source.concurrency)
        crawler.signals.connect(spider._scheduler_empty, signal=signals.scheduler_empty)
        crawler.signals.connect(spider._dropped, signal=signals.item_dropped)
        crawler.signals.connect(spider._closed, signal=signals.spider_closed)
        return spider

    # -- SQLite, on a thread of its own --------------------------------------------------
    def _db_call(self, method: str, *args: Any) -> Any:
        if self._log is None:
            self._log = BackfillLog(self.crawler.settings.get("NEWSWATCH_DB"),
                                    self.source.name, self.since)  # type: ignore[union-attr]
        return getattr(self._log, method)(*args)

    async def _db(self, method: str, *args: Any) -> Any:
        if self._ended:  # closed (a stop while start() was waiting): read no further
            raise CloseSpider("shutdown")
        try:
            return await asyncio.wrap_future(self._pool.submit(self._db_call, method, *args))
        except (sqlite3.Error, OSError) as exc:
            if not self._database_failed(exc):
                raise
            raise CloseSpider("database_error") from None

    def _database_failed(self, exc: BaseException) -> bool:
        """The cursor could not be written (full, locked beyond the busy timeout,
        read-only, a disk error): the crawl's fatal error, one line naming the cause
        (``monitor.store.database_problem``). False when it is no such problem."""
        problem = database_problem(exc, self.crawler.settings.get("NEWSWATCH_DB"))
        if problem is None:
            return False
        stats = self.crawler.stats
        if not stats.get_value("newswatch/fatal"):
            stats.set_value("newswatch/fatal", str(problem))
            stats.set_value("newswatch/fatal_kind", type(problem).__name__)
        return True

    def _publish(self, **changes: Any) -> None:
        """Progress for the console (``monitor.run.crawl`` relays ``newswatch/backfill``)."""
        self.progress.update(changes, requested=self.requested, failed=self.failed)
        self.crawler.stats.set_value("newswatch/backfill", dict(self.progress))

    # -- the feed ------------------------------------------------------------------------
    async def start(self) -> AsyncIterator[scrapy.Request]:
        """The index, then each child and its articles, a window at a time."""
        assert self.source is not None
        self._room, self._read = asyncio.Event(), asyncio.Event()
        await self._db("begin", self.retry_failed)
        counts = await self._db("counts")
        self._publish(known=counts["urls"], known_done=counts["stored"] + counts["failed"],
                      children=counts["children"], children_read=counts["children_read"],
                      entries_read=0, read_now=0)
        for url in self.source.sitemaps:  # the index (or a plain sitemap: one child)
            self._read.clear()
            yield scrapy.Request(url, self.parse_index, errback=self.on_sitemap_error,
                                 meta={"kind": "sitemap"}, dont_filter=True)
            await self._wait_read(url)
        after = 0
        while True:
            await self._flush_failures()
            rows = await self._db("next_urls", after, BATCH)
            if not rows:
                child = await self._db("next_child")
                if child is None:
                    self._exhausted = True
                    return
                child_id, url = child
                self._read.clear()
                yield scrapy.Request(url, self.parse_child, errback=self.on_sitemap_error,
                                     meta={"kind": "sitemap", "child_id": child_id},
                                     dont_filter=True)
                await self._wait_read(url)
                continue
            for row_id, url, published, title, language in rows:
                if self.limit and self.requested >= self.limit:
                    return
                while self.outstanding >= self.window:
                    self._room.clear()
                    try:
                        await asyncio.wait_for(self._room.wait(), 1.0)
                    except TimeoutError:
                        pass
                after = row_id
                self.outstanding += 1
                self.requested += 1
                self.crawler.stats.inc_value("newswatch/found")
                self._ledger().discovered()  # crawler.ledger: its own links, each requested
                self._ledger().link("requested")
                if self.requested % 50 == 0:
                    self._publish()
                meta: dict[str, Any] = {"kind": "article", "via": "sitemap",
                                        "backfill_id": row_id}
                if published or title or language:
                    meta["hints"] = {"published": published, "title": title,
                                     "language": language}
                yield scrapy.Request(url, self.parse_article, errback=self.on_error,
                                     meta=meta, dont_filter=True)

    async def _wait_read(self, url: str) -> None:
        """Until the sitemap just requested was read or failed (bounded: a request some
        middleware dropped without an answer must not hang the backfill)."""
        assert self._read is not None
        try:
            await asyncio.wait_for(self._read.wait(), READ_TIMEOUT)
        except TimeoutError:
            self.record_error(url, f"sitemap not answered after {READ_TIMEOUT:.0f} s; "
                              "skipped in this session")

    def _answered(self) -> None:
        self.outstanding = max(0, self.outstanding - 1)
        if self._room is not None and self.outstanding < self.window:
            self._room.set()

    def _scheduler_empty(self) -> None:
        if self._room is not None:  # whatever the count says, the queue is empty
            self._room.set()

    # -- sitemaps ------------------------------------------------------------------------
    def _doc(self, response: Response) -> discovery.SitemapDoc | None:
        try:
            body = discovery.maybe_gunzip(response.body, self._max_size())
        except discovery.UnreadableGzip as exc:
            self._unreadable(response.url, f"unreadable sitemap: {exc}")
            return None
        if _declares_entities(body):
            self._unreadable(response.url, "sitemap refused: it declares XML entities")
            return None
        try:
            return discovery.parse_sitemap(body, self.source.timezone if self.source else None)
        except ValueError as exc:
            self._unreadable(response.url, f"unreadable sitemap: {exc}")
            return None

    async def parse_index(self, response: Response) -> AsyncIterator[Any]:
        """Record the index's children; a plain sitemap is its own one child."""
        try:
            doc = self._doc(response)
            if doc is None:
                self._index_failed = True
                return
            if doc.kind == "sitemapindex":
                await self._add_children(response, doc)
            else:
                await self._db("add_children", [(response.url, None)])
                child_id = await self._db("child_id", response.url)
                if child_id is not None:
                    await self._add_entries(child_id, response, doc)
        finally:
            self._read.set()  # type: ignore[union-attr]
        return
        yield  # an async generator: Scrapy awaits it

    async def _add_children(self, response: Response, doc: discovery.SitemapDoc) -> None:
        assert self.source is not None
        children = []
        for entry in doc.entries:
            url = discovery.join(response.url, entry.url or "")
            if not url:
                self._malformed(response.url, entry.url)
            elif not self.source.owns_host(discovery.urlsplit(url).hostname or ""):
                self.record_error(response.url, f"child sitemap off the source's domains "
                                  f"skipped: {url[:200]}")
            else:
                children.append((url, doc.lastmods.get(entry.url or "")))
        ordered = order_children((url, lastmod) for url, lastmod in children)
        added = await self._db("add_children", ordered)
        counts = await self._db("counts")
        self.crawler.stats.inc_value("newswatch/backfill_children", added)
        self._publish(children=counts["children"], children_read=counts["children_read"])

    async def parse_child(self, response: Response) -> AsyncIterator[Any]:
        """Write a child's article URLs, newest first, to the frontier."""
        child_id = response.meta["child_id"]
        try:
            doc = self._doc(response)
            if doc is None:
                await self._db("child_failed", child_id, "unreadable")
                return
            if doc.kind == "sitemapindex":  # an index of indexes: its children join the
                await self._add_children(response, doc)  # list (each URL once: no loop)
                await self._db("add_entries", child_id, [])
                return
            await self._add_entries(child_id, response, doc)
        except Exception as exc:  # noqa: BLE001 - recorded; the next child is read
            self.crawler.stats.inc_value("newswatch/parse_failures")
            self.record_error(response.url, f"sitemap parse failed: {type(exc).__name__}: {exc}")
            await self._db("child_failed", child_id, str(exc))
        finally:
            self._read.set()  # type: ignore[union-attr]
        return
        yield  # an async generator: Scrapy awaits it

    async def _add_entries(self, child_id: int, response: Response,
                           doc: discovery.SitemapDoc) -> None:
        assert self.source is not None
        hints: dict[str, tuple[str | None, str | None, str | None]] = {}
        dated: list[tuple[str, str | None]] = []
        for entry in doc.entries:
            url = discovery.join(response.url, entry.url or "")
            if not url:
                self._malformed(response.url, entry.url)
                continue
            canonical = canonicalize(discovery.drop_tracking(url, self.rules))
            if not self.source.is_article_url(canonical):
                self.crawler.stats.inc_value("newswatch/backfill_not_articles")
                continue
            when = entry.published or iso_utc(doc.lastmods.get(entry.url or ""))
            if canonical not in hints:
                hints[canonical] = (when, entry.title, entry.language)
                dated.append((canonical, when))
        rows = [(url, *hints[url]) for url, _ in order_entries(dated)]
        added = await self._db("add_entries", child_id, rows)
        self.crawler.stats.inc_value("newswatch/backfill_listed", added["entries"])
        progress = self.progress
        self._publish(known=progress.get("known", 0) + added["new"],
                      known_done=progress.get("known_done", 0) + added["stored"],
                      children_read=progress.get("children_read", 0) + 1,
                      entries_read=progress.get("entries_read", 0) + added["new"],
                      read_now=progress.get("read_now", 0) + 1)

    def on_sitemap_error(self, failure: Any) -> None:
        """A sitemap that could not be fetched: recorded; the next child is read."""
        request = getattr(failure, "request", None)
        try:
            if request is not None and not request.meta.get("child_id"):
                self._index_failed = True
            if request is not None and request.meta.get("child_id") and not failure.check(
                    NotModified):
                self._pool.submit(self._db_call, "child_failed", request.meta["child_id"],
                                  failure.getErrorMessage() or failure.type.__name__)
            self.on_error(failure)
        finally:
            self._read.set()  # type: ignore[union-attr]

    # -- articles ------------------------------------------------------------------------
    def parse_article(self, response: Response) -> Iterator[dict[str, Any]]:
        """As ``NewsSpider.parse_article``; a page that gives no item is failed."""
        self._answered()
        produced = False
        for item in super().parse_article(response):
            produced = True
            yield item
        if not produced:
            self._fail(response.meta.get("backfill_id"), "not an article page")

    def on_error(self, failure: Any) -> None:
        """As ``NewsSpider.on_error``; a failed article is kept ``failed`` with why."""
        request = getattr(failure, "request", None)
        if request is not None and request.meta.get("kind") == "article":
            self._answered()
            self._fail(request.meta.get("backfill_id"),
                       failure.getErrorMessage() or failure.type.__name__)
        super().on_error(failure)

    def _dropped(self, item: Any, response: Response, exception: BaseException,
                 **kwargs: Any) -> None:
        if response is not None:
            self._fail(response.meta.get("backfill_id"), f"dropped: {exception}")

    def _fail(self, row_id: int | None, reason: str) -> None:
        if row_id is not None:
            self.failures.append((row_id, reason))
            self.failed += 1

    async def _flush_failures(self) -> None:
        if self.failures:
            rows, self.failures = self.failures, []
            await self._db("mark_failed", rows)

    # -- the end -------------------------------------------------------------------------
    def _closed(self, spider: Any, reason: str) -> None:
        """Write the failures and the session's state: ``done`` when nothing is left,
        ``interrupted`` after a stop, ``failed`` when a sitemap index could not be read,
        else ``stopped`` (the limit)."""
        rows, self.failures = self.failures, []
        self._ended = True
        self._publish()  # the session's final failed count, for the last progress report

        def finish() -> None:
            self._db_call("mark_failed", rows)
            counts = self._db_call("counts")
            if reason != "finished":
                state = INTERRUPTED
            elif self._index_failed:  # nothing read to resume from: failed, said why
                state = FAILED
            else:
                left = counts["pending"] + counts["children_pending"]
                state = DONE if self._exhausted and not left else STOPPED
            self._db_call("end", state)
            assert self._log is not None
            self._log.close()
            self._log = None

        try:
            self._pool.submit(finish).result()
        except (sqlite3.Error, OSError) as exc:  # the cursor stays as it was: said once
            if not self._database_failed(exc):
                raise
        finally:
            self._pool.shutdown(wait=True)
