"""Politeness: the limits in config are promises to each site, and are kept.

A *site* is what one operator runs: the registered domain of a host (``www.vietnam.vn``
and ``vietnam.vn`` are one site, so are ``en.laodong.vn`` and ``laodong.vn``), and every
host of one source (``domains:``) belongs to that source's site. One site is one Scrapy
download slot, so its concurrency and delay are one budget however many host names its
links use. (Sources on one site are crawled one after the other, never at once:
``monitor.run.crawl`` and the daemon see to that, see ``site_of``.)

Components, each built by ``from_crawler`` and switched by a setting, Scrapy style:

- ``PoliteDownloader`` (``DOWNLOADER``): Scrapy's downloader, with the slot concurrency
  counted when a request leaves the slot's queue, not when its download coroutine first
  runs. Scrapy 2.19 on the asyncio reactor pops the whole queue before any of them runs
  when the slot has no delay: a source with ``concurrency: 2`` and ``download_delay: 0``
  had 13 requests in flight. Its slots also carry a hard ``floor`` under the randomised
  delay (robots.txt ``Crawl-delay`` is a minimum, not an average). In a slot with a
  delay, the delay also counts from the moment the previous answer arrived, not only
  from when the previous request left the queue (Scrapy's rule): a busy process (a
  first-time import, a long parse) can send a dequeued request seconds late, and the
  next one then went out 0.05 s after it where the site asked for 0.5 s. Counting from
  the end of a fetch is Nutch's ``fetcher.server.delay`` and Heritrix's rule.
- ``SiteSlotMiddleware`` (``NEWSWATCH_SITE_SLOTS``): puts every request of a site in one
  slot (``request.meta["download_slot"]``) with the source's concurrency and delay.
- ``SiteThrottle`` (extension; ``AUTOTHROTTLE_ENABLED``, ``NEWSWATCH_BACKOFF``): Scrapy's
  AutoThrottle algorithm on the same signal (``response_downloaded``), per site, never
  below the configured delay nor above ``AUTOTHROTTLE_MAX_DELAY``; a 429 or 503 answer
  backs the whole site off (to its ``Retry-After``; without one, the delay doubles, at
  least ``NEWSWATCH_BACKOFF_START`` seconds), and answers that are not errors bring it
  back.
  It also applies robots.txt ``Crawl-delay`` (``NEWSWATCH_CRAWL_DELAY``) to the site when
  it asks for more than the config, up to ``NEWSWATCH_CRAWL_DELAY_MAX`` seconds.
- ``RobotsCacheMiddleware`` (``NEWSWATCH_ROBOTS_CACHE``): keeps each robots.txt (body and
  validators) in the database between crawls, and asks for it again with a conditional
  GET; a 304 answer is served from the cache.
"""

from __future__ import annotations

import logging
import sqlite3
from time import monotonic
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.core.downloader import Downloader, Slot, _process_pending_io, _slot_jitter
from scrapy.exceptions import NotConfigured
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Response
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import _schedule_coro
from scrapy.utils.httpobj import urlparse_cached

from crawler.middlewares import retry_after_seconds
from monitor.sources import registered_domain, site_of
from monitor.store import now

logger = logging.getLogger(__name__)

def site_key(host: str, source: Any | None = None) -> str:
    """The site of ``host``: its source's site when the source owns it, else its
    registered domain. Two hosts of one source share a key even when they are two IP
    addresses (a farm) or two unrelated names."""
    if source is not None and source.owns_host(host):
        return site_of(source)
    return registered_domain(host)


def user_agent(contact: str | None = None) -> str:
    """newswatch's User-Agent: product/version, and the operator's ``contact`` (a URL or
    an e-mail address from the sources file) when there is one.

    >>> user_agent("mailto:news-ops@example.org")  # doctest: +SKIP
    'newswatch/0.1.0 (news monitor; +mailto:news-ops@example.org)'
    """
    try:
        from importlib.metadata import PackageNotFoundError, version

        release = version("newswatch")
    except PackageNotFoundError:  # running from a checkout that is not installed
        release = "0.1"
    return f"newswatch/{release} (news monitor; +{contact})" if contact else (
        f"newswatch/{release} (news monitor)")


# -- the downloader ------------------------------------------------------------------------
class PoliteSlot(Slot):
    """A download slot whose randomised delay never goes under ``floor`` seconds."""

    def __init__(self, concurrency: int, delay: float, jitter: float | None = None,
                 floor: float = 0.0) -> None:
        super().__init__(concurrency, delay, jitter)
        self.floor = floor

    def download_delay(self) -> float:
        return max(self.floor, super().download_delay())


class PoliteDownloader(Downloader):
    """Scrapy's downloader with the slot concurrency held exactly, and ``PoliteSlot``s.

    ``per_slot_settings`` (``DOWNLOAD_SLOTS``) entries may carry a ``floor`` (seconds).
    """

    def _get_slot(self, request: Request, spider: Any = None) -> tuple[str, Slot]:
        key = self.get_slot_key(request)
        if key not in self.slots:
            conf = self.per_slot_settings.get(key, {})
            self.slots[key] = PoliteSlot(
                conf.get("concurrency", self.ip_concurrency or self.domain_concurrency),
                conf.get("delay", self._delay), _slot_jitter(conf, self._jitter),
                floor=conf.get("floor", 0.0))
            self._start_slot_gc()
        return key, self.slots[key]

    def _process_queue(self, slot: Slot) -> None:
        # Scrapy's, plus one line: the request counts as transferring from the moment it
        # leaves the queue (its coroutine adds it again, a set, once it runs)
        if slot.latercall:
            return
        moment = monotonic()
        delay = slot.download_delay()
        if delay:
            penalty = delay - moment + slot.lastseen
            if penalty > 0:
                slot.latercall = call_later(penalty, self._latercall, slot)
                return
        while slot.queue and slot.free_transfer_slots() > 0:
            slot.lastseen = moment
            request, queue_dfd = slot.queue.popleft()
            slot.transferring.add(request)
            _schedule_coro(self._wait_for_download(slot, request, queue_dfd))
            if delay:  # no burst when a delay is set
                self._process_queue(slot)
                break

    async def _download(self, slot: Slot, request: Request) -> Response:
        # Scrapy's (2.19), plus one line: in a slot with a delay, the delay counts from
        # this answer's arrival too (see the module docstring)
        slot.transferring.add(request)
        try:
            response: Response = await self.handlers.download_request_async(request)
            self.signals.send_catch_log(signal=signals.response_downloaded,
                                        response=response, request=request,
                                        spider=self.crawler.spider)
            return response
        except Exception:
            await _process_pending_io()
            raise
        finally:
            slot.transferring.remove(request)
            if slot.delay:
                slot.lastseen = max(slot.lastseen, monotonic())
            self._process_queue(slot)
            self.signals.send_catch_log(signal=signals.request_left_downloader,
                                        request=request, spider=self.crawler.spider)


def _downloader(crawler: Any) -> Downloader | None:
    engine = getattr(crawler, "engine", None)
    return getattr(engine, "downloader", None)


def _slot_settings(crawler: Any, key: str) -> dict[str, Any]:
    """The per-slot settings of ``key`` (created empty): survive Scrapy's slot GC."""
    downloader = _downloader(crawler)
    if downloader is None:
        return {}
    return downloader.per_slot_settings.setdefault(key, {})


# -- one slot per site ----------------------------------------------------------------------
class SiteSlotMiddleware:
    """Downloader middleware: every request of a site goes to the site's slot, which has
    the source's ``concurrency`` and ``download_delay``."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler: Any) -> SiteSlotMiddleware:
        if not crawler.settings.getbool("NEWSWATCH_SITE_SLOTS", True):
            raise NotConfigured
        return cls(crawler)

    def spider_opened(self, spider: Any) -> None:
        source = getattr(spider, "source", None)
        if source is None:
            return
        conf = _slot_settings(self.crawler, site_of(source))
        conf.update({"concurrency": source.concurrency, "delay": source.download_delay})
        target = getattr(source, "target_concurrency", None)
        if target:
            conf["target"] = min(float(target), float(source.concurrency))

    def process_request(self, request: Request) -> None:
        if "download_slot" in request.meta:
            return
        host = urlparse_cached(request).hostname or ""
        source = getattr(self.crawler.spider, "source", None)
        request.meta["download_slot"] = site_key(host, source)


# -- load adapted to the site ---------------------------------------------------------------
class SiteThrottle(AutoThrottle):
    """AutoThrottle per site within the configured limits, site-wide back-off on 429/503,
    and robots.txt Crawl-delay (see the module docstring).

    Delays, per site slot, in seconds: ``floor`` = max(configured delay, Crawl-delay);
    AutoThrottle moves the delay between ``floor`` and ``AUTOTHROTTLE_MAX_DELAY``. The
    concurrency stays the configured one: AutoThrottle only ever asks for less.
    """

    def __init__(self, crawler: Any) -> None:
        settings = crawler.settings
        self.throttle = settings.getbool("AUTOTHROTTLE_ENABLED")
        self.backoff = settings.getbool("NEWSWATCH_BACKOFF", True)
        self.crawl_delay = settings.getbool("NEWSWATCH_CRAWL_DELAY", True)
        if not (self.throttle or self.backoff or self.crawl_delay):
            raise NotConfigured
        self.crawler = crawler
        self.debug = settings.getbool("AUTOTHROTTLE_DEBUG")
        self.target_concurrency = settings.getfloat("AUTOTHROTTLE_TARGET_CONCURRENCY", 1.0)
        if self.target_concurrency <= 0:
            raise NotConfigured("AUTOTHROTTLE_TARGET_CONCURRENCY must be higher than 0")
        self.maxdelay = settings.getfloat("AUTOTHROTTLE_MAX_DELAY", 60.0)
        self.backoff_start = settings.getfloat("NEWSWATCH_BACKOFF_START", 1.0)
        self.crawl_delay_max = settings.getfloat("NEWSWATCH_CRAWL_DELAY_MAX", 60.0)
        self.backed_off: dict[str, float] = {}  # site -> when it was last backed off
        self.robots_agent = (settings.get("ROBOTSTXT_USER_AGENT")
                             or settings.get("USER_AGENT") or "*")
        crawler.signals.connect(self._response_downloaded, signal=signals.response_downloaded)
        if self.crawl_delay:
            crawler.signals.connect(self._robots_parsed, signal=signals.robots_parsed)

    def floor(self, key: str) -> float:
        """The least delay of the site ``key``: its configured delay, its Crawl-delay."""
        conf = _slot_settings(self.crawler, key)
        downloader = _downloader(self.crawler)
        default = downloader._delay if downloader is not None else 0.0
        return max(float(conf.get("delay", default)), float(conf.get("floor", 0.0)))

    def _response_downloaded(self, response: Response, request: Request,
                             spider: Any = None) -> None:
        key = request.meta.get("download_slot")
        downloader = _downloader(self.crawler)
        slot = downloader.slots.get(key) if downloader is not None and key else None
        if slot is None:
            return
        before = slot.delay
        floor = self.floor(key)
        if response.status in (429, 503):
            if not self.backoff:
                return
            asked = retry_after_seconds(response.headers.get(b"Retry-After")) or 0.0
            sent = monotonic() - float(request.meta.get("download_latency") or 0.0)
            if asked:  # the site said how long: the whole site waits that, not more
                slot.delay = min(self.maxdelay, max(slot.delay, asked, floor))
            else:
                # doubles once per round: an answer to a request sent before the last
                # back-off says nothing about the slower pace (TCP's rule, once per RTT)
                grow = 2 * slot.delay if sent >= self.backed_off.get(key, 0.0) else slot.delay
                slot.delay = min(self.maxdelay, max(grow, self.backoff_start, floor))
            self.backed_off[key] = monotonic()
            self.crawler.stats.inc_value("newswatch/backoff")
            logger.info("%s answered %d: its delay is now %.1f s", key, response.status,
                        slot.delay)
            return
        latency = request.meta.get("download_latency")
        if monotonic() - float(latency or 0.0) < self.backed_off.get(key, 0.0):
            return  # sent before the last back-off: says nothing of the slower pace yet
        if (self.throttle and latency is not None
                and not request.meta.get("autothrottle_dont_adjust_delay")):
            target = _slot_settings(self.crawler, key).get("target", self.target_concurrency)
            self._adjust(slot, latency, response.status, floor, target)
        elif slot.delay > floor and response.status < 400:
            slot.delay = max(floor, slot.delay / 2)  # back-off without AutoThrottle: recover
        if self.debug and slot.delay != before:
            logger.info("slot %s: delay %.3f -> %.3f s (latency %s, status %d)", key, before,
                        slot.delay, latency, response.status)

    def _adjust(self, slot: Slot, latency: float, status: int, floor: float,
                concurrency: float) -> None:
        """AutoThrottle's rule (``AutoThrottle._adjust_delay``), aiming at ``concurrency``
        requests in flight, between ``floor`` and the max delay; except that any answer
        below 400 may lower the delay: a redirect chain or a run of 304s must not keep a
        site backed off that answers them well."""
        target = latency / concurrency
        new = min(max(floor, target, (slot.delay + target) / 2), self.maxdelay)
        if status >= 400 and new <= slot.delay:  # small fast error pages: no speed-up
            return
        slot.delay = new

    def _robots_parsed(self, robotparser: Any, request: Request) -> None:
        """Apply the site's robots.txt Crawl-delay when it asks for more than the config."""
        crawl_delay = getattr(robotparser, "crawl_delay", None)
        asked = crawl_delay(self.robots_agent) if callable(crawl_delay) else None
        if not asked or asked <= 0:
            return
        host = urlparse_cached(request).hostname or ""
        key = request.meta.get("download_slot") or site_key(
            host, getattr(self.crawler.spider, "source", None))
        if asked > self.crawl_delay_max:
            logger.warning("%s: robots.txt asks for Crawl-delay %g s; newswatch waits at "
                           "most %g s (NEWSWATCH_CRAWL_DELAY_MAX)", key, asked,
                           self.crawl_delay_max)
            asked = self.crawl_delay_max
        conf = _slot_settings(self.crawler, key)
        if asked <= max(float(conf.get("delay", 0.0)), float(conf.get("floor", 0.0))):
            return
        conf["floor"] = asked
        self.crawler.stats.set_value("newswatch/crawl_delay", asked)
        downloader = _downloader(self.crawler)
        slot = downloader.slots.get(key) if downloader is not None else None
        if slot is not None:
            if isinstance(slot, PoliteSlot):
                slot.floor = asked
            slot.delay = max(slot.delay, asked)
        logger.info("%s: robots.txt Crawl-delay %g s applied", key, asked)


# -- robots.txt kept between crawls ------------------------------------------------------------
ROBOTS_TABLE = """CREATE TABLE IF NOT EXISTS robots_cache (
    url TEXT PRIMARY KEY, body BLOB, etag TEXT, last_modified TEXT, fetched TEXT)"""


class RobotsCacheMiddleware:
    """Downloader middleware: robots.txt kept in the database (table ``robots_cache``)
    between crawls, re-validated with a conditional GET; a 304 is answered from the cache.

    Sits outside Scrapy's RobotsTxtMiddleware's own download (its robots.txt request
    passes through every downloader middleware); only requests for ``/robots.txt`` made
    with ``dont_obey_robotstxt`` (the robots middleware's own) are touched.
    """

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.db_path = crawler.settings.get("NEWSWATCH_DB")
        self.cache: dict[str, tuple[bytes, str | None, str | None]] = {}
        self.pending: dict[str, tuple[bytes, str | None, str | None]] = {}
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Any) -> RobotsCacheMiddleware:
        if not (crawler.settings.getbool("NEWSWATCH_ROBOTS_CACHE", True)
                and crawler.settings.getbool("ROBOTSTXT_OBEY")
                and crawler.settings.get("NEWSWATCH_DB")):
            raise NotConfigured
        return cls(crawler)

    @staticmethod
    def _is_robots(request: Request) -> bool:
        return (request.meta.get("dont_obey_robotstxt") is True
                and urlsplit(request.url).path == "/robots.txt")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db_path, timeout=30)
        conn.execute(ROBOTS_TABLE)
        return conn

    def _cached(self, url: str) -> tuple[bytes, str | None, str | None] | None:
        if url not in self.cache:
            try:
                conn = self._connect()
                try:
                    row = conn.execute("SELECT body, etag, last_modified FROM robots_cache "
                                       "WHERE url = ?", (url,)).fetchone()
                finally:
                    conn.close()
            except sqlite3.Error as exc:
                logger.warning("robots.txt cache not readable: %s", exc)
                row = None
            if row is None:
                return None
            self.cache[url] = (bytes(row[0]), row[1], row[2])
        return self.cache[url]

    def process_request(self, request: Request) -> None:
        if not self._is_robots(request):
            return
        cached = self._cached(request.url)
        if cached is None:
            return
        _body, etag, last_modified = cached
        if etag:
            request.headers.setdefault(b"If-None-Match", etag)
        if last_modified:
            request.headers.setdefault(b"If-Modified-Since", last_modified)

    def process_response(self, request: Request, response: Response) -> Response:
        if not self._is_robots(request):
            return response
        cached = self.cache.get(request.url)
        if response.status == 304 and cached is not None:
            self.crawler.stats.inc_value("newswatch/robots_not_modified")
            return response.replace(status=200, body=cached[0])
        if response.status == 200:
            etag = response.headers.get(b"ETag")
            modified = response.headers.get(b"Last-Modified")
            entry = (response.body, etag.decode("latin-1") if etag else None,
                     modified.decode("latin-1") if modified else None)
            if entry[1] or entry[2]:  # nothing to re-validate with: not worth keeping
                self.cache[request.url] = self.pending[request.url] = entry
        return response

    def spider_closed(self, spider: Any, reason: str = "finished") -> None:
        if not self.pending:
            return
        try:
            conn = self._connect()
            try:
                with conn:
                    conn.executemany(
                        "INSERT OR REPLACE INTO robots_cache VALUES (?, ?, ?, ?, ?)",
                        [(url, body, etag, modified, now())
                         for url, (body, etag, modified) in self.pending.items()])
            finally:
                conn.close()
        except sqlite3.Error as exc:
            logger.warning("robots.txt cache not saved: %s", exc)
        self.pending = {}
