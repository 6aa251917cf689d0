"""Incremental crawling: what makes a re-crawl of unchanged sites cheap.

Three small components, each built by ``from_crawler`` and switched by a setting:

- ``FetchLogMiddleware`` (``NEWSWATCH_FETCH_LOG``): records every response (URL, ETag,
  Last-Modified, status, when fetched, when it last changed) in the ``fetches`` table.
- ``ConditionalGetMiddleware`` (``NEWSWATCH_CONDITIONAL_GET``): sends If-None-Match /
  If-Modified-Since from that log for feeds, sitemaps, listings and articles due for a
  change check; a 304 answer is "not modified" and never reaches the spider.
- ``RecheckWindowMiddleware`` (``NEWSWATCH_SKIP_STORED``): a link to an article already
  stored is requested only when this crawl re-checks it (its next check is due and it
  fits the budget, or its feed or sitemap says it changed: ``crawler.removals.RecheckPlan``).

The fetch log of the source's domains is read once (one query) and written once, in one
transaction, when the spider closes; in between it lives in memory.

Also here: ``RetryAfterMiddleware`` (Retry-After on 429/503) and
``RedirectLoopMiddleware`` (``NEWSWATCH_REFUSE_REDIRECT_LOOPS``: a redirect back to a
URL of its own chain is refused and recorded, instead of being dropped in silence).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy import Request, signals
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import response_status_message
from w3lib.url import canonicalize_url, safe_url_string

from crawler.removals import RecheckPlan
from monitor.store import Store, now

CONDITIONAL_KINDS = frozenset({"feed", "sitemap", "listing"})

logger = logging.getLogger(__name__)


class NotModified(IgnoreRequest):
    """The server answered 304: the page is as it was at the last fetch."""


class RedirectLoop(IgnoreRequest):
    """A redirect back to a URL already in the request's redirect chain."""


# The fetch log as saved, per (database, source domains), kept between crawls by a
# long-lived crawl process (the warm crawl service, monitor.run.service) that sets
# NEWSWATCH_FETCH_LOG_CACHE: a poll then reads no SQLite rows to know its validators (the
# query scans the whole log: tens of milliseconds once it holds a month of articles).
# Only saved rows enter it (a crawl that does not save its fetches leaves it as it was);
# another process's writes to the log are not seen (a one-off crawl beside the daemon):
# the cost is a full fetch where a 304 would have done. Sources whose log holds more than
# FETCH_CACHE_MAX rows are read from SQLite each time (memory).
_SAVED: dict[tuple[str, tuple[str, ...]], dict[str, dict[str, Any]]] = {}
FETCH_CACHE_MAX = 50_000


class FetchLog:
    """The fetch log of one crawl, shared by the middlewares (one per crawler)."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.db_path = crawler.settings.get("NEWSWATCH_DB")
        self.entries: dict[str, dict[str, Any]] | None = None
        self.dirty: dict[str, dict[str, Any]] = {}
        self.recording = False
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def of(cls, crawler: Any) -> FetchLog:
        """The crawler's fetch log, created on first use."""
        log = getattr(crawler, "_newswatch_fetch_log", None)
        if log is None:
            log = cls(crawler)
            crawler._newswatch_fetch_log = log
        return log

    def spider_opened(self, spider: Any) -> None:
        self._load()

    def _key(self) -> tuple[str, tuple[str, ...]] | None:
        """This crawl's key in the saved-log cache (None: the cache is off)."""
        if not self.crawler.settings.getbool("NEWSWATCH_FETCH_LOG_CACHE"):
            return None
        source = getattr(self.crawler.spider, "source", None)
        return str(self.db_path), tuple(getattr(source, "domains", None) or [])

    def _load(self) -> dict[str, dict[str, Any]]:
        if self.entries is None:
            key = self._key()
            if key is not None and key in _SAVED:
                self.entries = dict(_SAVED[key])  # rows are replaced, never changed
                return self.entries
            source = getattr(self.crawler.spider, "source", None)
            domains = list(getattr(source, "domains", None) or [])
            store = Store(self.db_path)
            try:
                self.entries = store.fetches_for(domains)
            finally:
                store.close()
            if key is not None and len(self.entries) <= FETCH_CACHE_MAX:
                _SAVED[key] = dict(self.entries)
        return self.entries

    def get(self, url: str) -> dict[str, Any] | None:
        """What the log knows about ``url`` (from this crawl or an earlier one)."""
        return self._load().get(url)

    def record(self, url: str, response: Response) -> bool:
        """Log one response; returns whether the page changed since the last fetch."""
        previous = self.get(url)
        etag = _header(response, b"ETag")
        last_modified = _header(response, b"Last-Modified")
        stamp = now()
        if response.status == 304:
            changed = False
            etag = etag or (previous or {}).get("etag")
            last_modified = last_modified or (previous or {}).get("last_modified")
        elif previous is None or previous["status"] not in (200, 304) or response.status != 200:
            changed = previous is None or previous["status"] != response.status
        else:
            # a 200 again: changed when its validators changed (or it has none to compare)
            changed = (not (etag or last_modified)
                       or (etag, last_modified) != (previous["etag"], previous["last_modified"]))
        row = {"url": url, "etag": etag, "last_modified": last_modified,
               "status": response.status, "fetched": stamp,
               "changed": stamp if changed or previous is None else previous["changed"]}
        self._load()[url] = row
        self.dirty[url] = row
        return changed

    def forget_validators(self, url: str) -> None:
        """Fetch ``url`` in full next time: no If-None-Match / If-Modified-Since. For a
        sitemap index, whose body stays the same when only its child sitemaps change."""
        row = self._load().get(url)
        if row is not None:
            row = {**row, "etag": None, "last_modified": None}
            self._load()[url] = row
            self.dirty[url] = row

    def spider_closed(self, spider: Any, reason: str = "finished") -> None:
        """Write this crawl's fetches, one transaction, on a connection of its own.

        Only a crawl that finished writes them: after a stop (time limit, SIGTERM) a feed
        or sitemap logged as seen would be answered 304 next time, and the articles this
        crawl had not reached yet would never be found."""
        if reason != "finished":
            if self.dirty:
                logger.warning("crawl %s: fetch log of %d pages not saved; the next crawl "
                               "fetches them in full", reason, len(self.dirty))
            self.dirty = {}
            return
        if not (self.recording and self.dirty):
            return
        store = Store(self.db_path)
        try:
            store.save_fetches(self.dirty.values())
        finally:
            store.close()
        key = self._key()
        if key is not None and key in _SAVED:
            _SAVED[key].update(self.dirty)
        self.crawler.stats.set_value("newswatch/fetches_logged", len(self.dirty))
        self.dirty = {}


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


class FetchLogMiddleware:
    """Downloader middleware: log every final response (after retries and redirects)."""

    def __init__(self, log: FetchLog) -> None:
        self.log = log
        log.recording = True

    @classmethod
    def from_crawler(cls, crawler: Any) -> FetchLogMiddleware:
        if not crawler.settings.getbool("NEWSWATCH_FETCH_LOG"):
            raise NotConfigured
        return cls(FetchLog.of(crawler))

    def process_response(self, request: Request, response: Response) -> Response:
        self.log.record(request.url, response)
        return response


class ConditionalGetMiddleware:
    """Downloader middleware: conditional GETs from the fetch log; a 304 answer raises
    ``NotModified`` (counted as ``newswatch/not_modified``) instead of reaching the spider."""

    def __init__(self, log: FetchLog, stats: Any) -> None:
        self.log = log
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> ConditionalGetMiddleware:
        if not crawler.settings.getbool("NEWSWATCH_CONDITIONAL_GET"):
            raise NotConfigured
        return cls(FetchLog.of(crawler), crawler.stats)

    def process_request(self, request: Request) -> None:
        kind = request.meta.get("kind")
        if kind not in CONDITIONAL_KINDS and not (kind == "article"
                                                  and request.meta.get("recheck")):
            return
        entry = self.log.get(request.url)
        if not entry or entry["status"] not in (200, 304):
            return
        if entry["etag"] and b"If-None-Match" not in request.headers:
            request.headers[b"If-None-Match"] = entry["etag"]
        if entry["last_modified"] and b"If-Modified-Since" not in request.headers:
            request.headers[b"If-Modified-Since"] = entry["last_modified"]
        request.meta["conditional"] = True

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status != 304 or not request.meta.get("conditional"):
            return response
        self.stats.inc_value("newswatch/not_modified")
        if request.meta.get("kind") == "article":
            self.stats.inc_value("newswatch/unchanged")  # re-checked, and as stored
            self.stats.inc_value("ledger/page/not_modified")  # crawler.ledger
        raise NotModified(f"not modified: {request.url}")


class RecheckWindowMiddleware(BaseSpiderMiddleware):
    """Spider middleware: drop requests for stored articles this crawl does not re-check
    (``crawler.removals.RecheckPlan``: not due, or over the budget), counted as
    ``newswatch/skipped`` and ``settled``; a stored article it re-checks is requested
    conditionally. New articles pass untouched."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> RecheckWindowMiddleware:
        if not crawler.settings.getbool("NEWSWATCH_SKIP_STORED"):
            raise NotConfigured
        return cls(crawler)

    def get_processed_request(self, request: Request,
                              response: Response | None) -> Request | None:
        if request.meta.get("kind") != "article" or request.meta.get("recheck"):
            return request
        plan = RecheckPlan.of(self.crawler)
        admitted = plan.admit(request.url, request.meta.get("hints"))
        if admitted is None:
            return request
        if not admitted:
            plan.dropped.add(request.url)  # a later link's lastmod may still make it due
            self.crawler.stats.inc_value("newswatch/skipped")
            self.crawler.stats.inc_value("ledger/settled")  # crawler.ledger
            return None
        request.meta["recheck"] = True
        return request


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's retry middleware, honouring ``Retry-After`` on 429 and 503.

    The retry of that one request waits what the server asked (seconds or an HTTP date),
    at most ``NEWSWATCH_RETRY_AFTER_MAX`` seconds; the reactor keeps serving every other
    request meanwhile. No wait when no retry is left.
    """

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.max_wait = settings.getfloat("NEWSWATCH_RETRY_AFTER_MAX", 60.0)

    async def process_response(self, request: Request, response: Response,
                               spider: Any = None) -> Request | Response:
        retries = request.meta.get("retry_times", 0)
        limit = request.meta.get("max_retry_times", self.max_retry_times)
        if (response.status in (429, 503) and response.status in self.retry_http_codes
                and not request.meta.get("dont_retry") and retries < limit):
            wait = retry_after_seconds(response.headers.get(b"Retry-After"))
            if wait:
                await self._wait(min(wait, self.max_wait))
        if request.meta.get("dont_retry", False):
            return response
        if response.status in self.retry_http_codes:
            return self._retry(request, response_status_message(response.status)) or response
        return response


    async def _wait(self, seconds: float) -> None:
        """Sleep ``seconds``, or less when the crawl is asked to stop: the request waiting
        is in progress, and an orderly stop waits for it (``crawler.shutdown``); its retry
        is then not sent."""
        from crawler.shutdown import stopping

        crawler = getattr(self, "crawler", None)
        end = asyncio.get_running_loop().time() + seconds
        while not (crawler is not None and stopping(crawler)):
            left = end - asyncio.get_running_loop().time()
            if left <= 0:
                return
            await asyncio.sleep(min(left, 0.2))


def retry_after_seconds(value: bytes | None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class RedirectLoopMiddleware:
    """Downloader middleware: refuse a redirect whose target is already in the request's
    redirect chain (A → B → A), raising ``RedirectLoop`` so the errback records it.

    Without it Scrapy's duplicate filter drops the repeated request in silence: the page
    is neither stored nor recorded. It sits just outside Scrapy's RedirectMiddleware
    (600), so it sees each 3xx before that middleware follows it; the chain is the
    ``redirect_urls`` that middleware keeps in ``request.meta``. URLs are compared the
    way request fingerprints compare them (``canonicalize_url``).
    """

    REDIRECTS = frozenset({301, 302, 303, 307, 308})

    @classmethod
    def from_crawler(cls, crawler: Any) -> RedirectLoopMiddleware:
        if not crawler.settings.getbool("NEWSWATCH_REFUSE_REDIRECT_LOOPS"):
            raise NotConfigured
        return cls()

    def process_response(self, request: Request, response: Response) -> Response:
        location = response.headers.get(b"Location")
        meta = request.meta
        if (response.status not in self.REDIRECTS or not location or meta.get("dont_redirect")
                or meta.get("handle_httpstatus_all")
                or response.status in meta.get("handle_httpstatus_list", ())):
            return response  # not a redirect Scrapy would follow
        target = response.urljoin(safe_url_string(location))
        chain = [*meta.get("redirect_urls", []), request.url]
        if canonicalize_url(target) in {canonicalize_url(url) for url in chain}:
            raise RedirectLoop(f"redirect loop ({' → '.join(chain)} → back to {target})")
        return response


class RecordedOffsiteMiddleware(OffsiteMiddleware):
    """Scrapy's offsite filter (downloader middleware), with its refusals recorded.

    Scrapy's drops an off-domain request when it is scheduled (a redirect to another
    host, a feed's link elsewhere) with one DEBUG line per domain and no errback: the run
    said nothing. Here each refusal is an error line of the run, and an article request
    counts ``off_site`` in the run's ledger (``crawler.ledger``). A request the SSRF guard
    already refused (and recorded) is not recorded twice.
    """

    def request_scheduled(self, request: Request, spider: Any) -> None:
        try:
            super().request_scheduled(request, spider)
        except IgnoreRequest:
            request.meta["newswatch_offsite"] = True  # (a child sitemap's next goes on)
            if not request.meta.get("newswatch_refused"):
                host = urlparse_cached(request).hostname or "?"
                if request.meta.get("kind") == "article":
                    self.crawler.stats.inc_value("ledger/page/off_site")
                record = getattr(self.crawler.spider, "record_error", None)
                if record is not None:
                    record(request.url, f"refused: {host} is not one of the source's "
                           "domains (off-site)")
            raise
