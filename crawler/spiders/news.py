"""The generic news spider: one source's feeds, sitemaps and listing pages → article pages.

    scrapy crawl news -a source=laodong_en [-a config=config/demo.yaml]

Discovery is config, not code: every article link found is canonicalised (tracking
parameters dropped) before it is requested, so a story linked from the feed, the sitemap
and a listing page is fetched once.
"""

from __future__ import annotations

import functools
import inspect
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import scrapy
from scrapy import signals
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.sitemap import sitemap_urls_from_robots
from twisted.internet import threads
from twisted.internet.defer import DeferredLock

from crawler.ledger import Ledger
from crawler.middlewares import FetchLog, NotModified, RedirectLoop
from crawler.removals import Gone, RecheckPlan
from crawler.ssrf import Refused
from monitor.sources import Source, canonicalize, discovery, load_settings
from monitor.sources.health import failure_kind
from monitor.store import frontier, order_children

MAX_CHILD_SITEMAPS = 200  # a sitemap index may not fan out further than this
# IgnoreRequest reasons that are a choice, not a failure; any other (a redirect loop, a
# decompression bomb) is an error of the crawl run
SKIPPED_REASONS = {"Forbidden by robots.txt"}
# plain words for download errors whose exceptions carry no message
_PLAIN = {"ResponseDataLossError": "connection closed before the whole body arrived",
          "ResponseFailed": "connection lost while reading the response"}

_BINARY_MAGIC = ((b"\x89PNG", "PNG"), (b"%PDF-", "PDF"), (b"GIF8", "GIF"),
                 (b"\xff\xd8\xff", "JPEG"), (b"PK\x03\x04", "ZIP"))


def _declares_entities(body: bytes) -> bool:
    """An XML prolog that declares entities: a billion-laughs bomb or an external-entity
    (XXE) probe. Real feeds and sitemaps never need one."""
    return b"<!ENTITY" in body[:65536].upper()


MAX_UNMATCHED_EXAMPLES = 5  # article-like links that failed the pattern, kept per run
RULE_CHECK_ALL, RULE_CHECK_EVERY = 50, 10  # article pages whose profile rules are checked


def _recorded(step: str) -> Callable[..., Any]:
    """Wrap a discovery parse step (a generator of requests, or an async one): any
    exception it raises is a recorded error of the crawl run (URL and reason), counted in
    ``newswatch/parse_failures`` so that the run does not end a clean ``finished``.
    Requests yielded before the exception are kept. A child sitemap's step then asks for
    the next child (``NewsSpider.next_child``), however it ended."""

    def fail(self: NewsSpider, response: Response, exc: Exception) -> None:
        self.crawler.stats.inc_value("newswatch/parse_failures")
        self.crawler.stats.inc_value("newswatch/discovery_failed")
        self.record_error(response.url, f"{step} parse failed: {type(exc).__name__}: {exc}")

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.isasyncgenfunction(method):
            @functools.wraps(method)
            async def guarded_async(self: NewsSpider, response: Response) -> AsyncIterator[Any]:
                try:
                    async for result in method(self, response):
                        yield result
                except Exception as exc:  # noqa: BLE001 - recorded, never lost
                    fail(self, response, exc)
                else:
                    self.crawler.stats.inc_value("newswatch/discovery_ok")
                self.next_child(response.request)
            return guarded_async

        @functools.wraps(method)
        def guarded(self: NewsSpider, response: Response) -> Iterator[Any]:
            try:
                yield from method(self, response)
            except Exception as exc:  # noqa: BLE001 - recorded, never lost
                fail(self, response, exc)
            else:
                self.crawler.stats.inc_value("newswatch/discovery_ok")
        return guarded

    return wrap


class NewsSpider(scrapy.Spider):
    """Crawl one configured source."""

    name = "news"

    def __init__(self, source: str | Source | None = None, config: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if source is None:
            raise ValueError("missing source: scrapy crawl news -a source=NAME")
        self._config_path = config
        self._source_arg = source
        self.source: Source | None = source if isinstance(source, Source) else None
        self.seen_articles: set[str] = set()
        self.child_sitemaps = 0
        self.rules = discovery.load_rules()
        self.unmatched_seen: set[str] = set()
        self.autodiscovered: set[str] = set()
        self.stale_after_hours = 0.0  # 0: never skip by hinted date (NEWSWATCH_STALE_AFTER)
        self._stale: str | None = None
        # body bytes received per request in flight: Scrapy cancels a body that grows past
        # DOWNLOAD_MAXSIZE (no Content-Length to refuse it by) with an empty
        # DownloadCancelledError; this count lets on_error say why
        self.received: weakref.WeakKeyDictionary[scrapy.Request, int] = (
            weakref.WeakKeyDictionary())
        self.ledger: Ledger | None = None  # the run's ledger (crawler.ledger), from_crawler
        # bounded discovery: article links still to take this round from sitemaps and feeds
        # (the source's max_urls_per_round), child sitemaps waiting, read one at a time
        self.budget: int | None = None
        self.children: list[tuple[str, str | None]] = []  # (url, lastmod or URL date)
        self.child_in_flight = False
        self._discovery_lock = DeferredLock()  # one sitemap or feed of the source at a time

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> NewsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        if spider.source is None:
            path = spider._config_path or crawler.settings.get("NEWSWATCH_CONFIG")
            spider.source = load_settings(path).source(str(spider._source_arg))
        spider.allowed_domains = list(spider.source.domains)
        spider.ledger = Ledger.of(crawler)
        if not crawler.settings.getbool("NEWSWATCH_SITE_SLOTS", True):
            # politeness per source without site slots (crawler.politeness, which gives the
            # whole site one slot with these limits): delay and concurrency per host
            slot = {"delay": spider.source.download_delay,
                    "concurrency": spider.source.concurrency}
            slots = dict(crawler.settings.getdict("DOWNLOAD_SLOTS"))
            slots.update({domain: slot for domain in spider.source.domains})
            crawler.settings.set("DOWNLOAD_SLOTS", slots, priority="spider")
        crawler.signals.connect(spider.bytes_received, signal=signals.bytes_received)
        crawler.signals.connect(spider._dropped_request, signal=signals.request_dropped)
        return spider

    def bytes_received(self, data: bytes, request: scrapy.Request, **kwargs: Any) -> None:
        """Count a response's body bytes as they arrive (see ``received``)."""
        self.received[request] = self.received.get(request, 0) + len(data)

    # -- entry points ----------------------------------------------------------------------
    async def start(self) -> AsyncIterator[scrapy.Request]:
        """Requests for every feed, sitemap and listing page of the source."""
        assert self.source is not None
        for url in self.source.feeds:
            yield scrapy.Request(url, self.parse_feed, errback=self.on_error,
                                 meta={"kind": "feed"})
        for url in self.source.sitemaps:
            yield scrapy.Request(url, self.parse_sitemap, errback=self.on_error,
                                 meta={"kind": "sitemap"})
        for url in self.source.listings:
            yield scrapy.Request(url, self.parse_listing, errback=self.on_error,
                                 meta={"kind": "listing", "page": 1})

    # -- discovery -------------------------------------------------------------------------
    # Bounded discovery (docs/SOURCES.md, docs/SECURITY.md): a round takes at most
    # ``max_urls_per_round`` article links from the source's sitemaps and feeds, the newest
    # first where dates are known; the rest are counted ``over_cap`` (crawler.ledger) and
    # left for ``newswatch backfill``. Each document is read incrementally in a thread
    # (``monitor.sources.discovery``: no tree of the whole document, at most the links still
    # to take kept), one document of the source at a time; the children of a sitemap index
    # are read one at a time, newest first, and not at all once the round's links are taken.
    def _remaining(self) -> int:
        assert self.source is not None
        if self.budget is None:
            self.budget = self.source.max_urls_per_round
        return self.budget

    def _take(self, total: int, taken: int) -> None:
        """A document held ``total`` links, of which ``taken`` are read: the rest are
        ``over_cap``."""
        self.budget = max(0, self._remaining() - taken)
        self._ledger().discovered(total)
        self._ledger().link("over_cap", total - taken)
        if total > taken:
            self.crawler.stats.inc_value("newswatch/over_cap", total - taken)

    @_recorded("feed")
    async def parse_feed(self, response: Response) -> AsyncIterator[scrapy.Request]:
        """Article links from a feed: RSS 0.9x/1.0 (RDF)/2.0, Atom or JSON Feed. An
        entry's URL is its link, else an absolute http(s) id (``rdf:about``), else an
        alternate link (``monitor.sources.discovery.entry_url``). At most the round's
        remaining links are taken, newest first (``discovery.parse_feed``'s ``limit``)."""
        try:
            body = discovery.maybe_gunzip(response.body, self._max_size())
        except discovery.UnreadableGzip as exc:
            self._unreadable(response.url, f"unreadable feed: {exc}")
            return
        if _declares_entities(body):
            self._unreadable(response.url, "feed refused: it declares XML entities")
            return
        await maybe_deferred_to_future(self._discovery_lock.acquire())
        try:
            feed = await maybe_deferred_to_future(threads.deferToThread(
                discovery.parse_feed, body, response.url, self.source.timezone,
                limit=self._remaining()))
            del body
            if feed.error:
                self._unreadable(response.url, feed.error)
                return
            self._take(feed.total, len(feed.entries))
        finally:
            self._discovery_lock.release()
        linkless = 0
        for entry in feed.entries:
            if entry.url:
                for request in self._article_request(entry.url, "feed", entry):
                    yield request
            else:
                linkless += 1
        self._ledger().link("no_link", linkless)
        if linkless:
            self.record_error(response.url, f"{linkless} feed entries without a link skipped")

    @_recorded("sitemap")
    async def parse_sitemap(self, response: Response) -> AsyncIterator[scrapy.Request]:
        """Article links from a sitemap; child sitemaps from an index (at most
        ``MAX_CHILD_SITEMAPS`` a crawl, read one at a time, newest first). Gzip is
        recognised by its magic bytes, never by the file name (a ``.xml.gz`` served with
        ``Content-Encoding: gzip`` arrives already unpacked). Google News tags are read
        as hints (``monitor.sources.discovery.parse_sitemap``). At most the round's
        remaining links are taken, newest first."""
        entries: list[discovery.Entry] = []
        lastmods: dict[str, str] = {}
        if response.url.endswith("/robots.txt"):
            locs = list(sitemap_urls_from_robots(response.text, base_url=response.url))
            kind, total = "sitemapindex", len(locs)
        else:
            try:
                body = discovery.maybe_gunzip(response.body, self._max_size())
            except discovery.UnreadableGzip as exc:
                self._unreadable(response.url, f"unreadable sitemap: {exc}")
                return
            if _declares_entities(body):
                self._unreadable(response.url, "sitemap refused: it declares XML entities")
                return
            await maybe_deferred_to_future(self._discovery_lock.acquire())
            try:
                try:
                    sitemap = await maybe_deferred_to_future(threads.deferToThread(
                        discovery.parse_sitemap, body, self.source.timezone,
                        limit=self._remaining(),
                        index_limit=max(0, MAX_CHILD_SITEMAPS - self.child_sitemaps)))
                except ValueError as exc:
                    self._unreadable(response.url, f"unreadable sitemap: {exc}")
                    return
                finally:
                    del body
                kind, total = sitemap.kind, sitemap.total
                entries, lastmods = sitemap.entries, sitemap.lastmods
                locs = [entry.url for entry in entries if entry.url]
                if kind != "sitemapindex":
                    self._take(total, len(entries))
            finally:
                self._discovery_lock.release()
        if kind == "sitemapindex":
            # an index often lists its children without <lastmod>: its body does not change
            # when a child does, so it is always fetched in full and its children
            # conditionally (a 304 here would hide an edited article's new lastmod)
            FetchLog.of(self.crawler).forget_validators(response.url)
            followed = locs[:max(0, MAX_CHILD_SITEMAPS - self.child_sitemaps)]
            if len(followed) < total:
                self.record_error(response.url, f"sitemap index lists {total} sitemaps; "
                                  f"followed the first {len(followed)} (at most "
                                  f"{MAX_CHILD_SITEMAPS} per crawl)")
            self.child_sitemaps += len(followed)
            children = []
            for loc in followed:  # any scheme: the SSRF guard refuses, with a reason
                child = discovery.join(response.url, loc)
                if child:
                    children.append((child, frontier.child_sortkey(child, lastmods.get(loc))))
                else:
                    self._malformed(response.url, loc)
            self.children = order_children([*self.children, *children])
            return
        for entry in entries:
            url = discovery.join(response.url, entry.url or "")
            if url:
                for request in self._article_request(url, "sitemap", entry):
                    yield request
            else:
                self._ledger().link("malformed")
                self._malformed(response.url, entry.url)

    def next_child(self, done: scrapy.Request | None = None) -> None:
        """Schedule the next child sitemap to read, once none is in flight (``done``: a
        request that just ended). A child refused or dropped as it is scheduled (the SSRF
        guard, the offsite filter, a repeat: each recorded there) gives way to the next
        at once. None once the round's links are taken: the children left are counted
        unread (the ledger's ``unread_sitemaps``: ``newswatch backfill`` reads them)."""
        if done is not None and done.meta.get("child"):
            self.child_in_flight = False
        while not self.child_in_flight and self.children:
            if self._remaining() <= 0:
                unread, self.children = len(self.children), []
                self._ledger().count("unread_sitemaps", unread)
                self.logger.warning("%s: %d child sitemaps not read: max_urls_per_round (%d) "
                                    "reached", self.source.name, unread,
                                    self.source.max_urls_per_round)
                return
            url, _ = self.children.pop(0)
            request = scrapy.Request(url, self.parse_sitemap, errback=self.on_error,
                                     meta={"kind": "sitemap", "child": True})
            self.crawler.engine.crawl(request)  # its request_scheduled handlers run now
            meta = request.meta
            self.child_in_flight = not (meta.get("newswatch_refused")
                                        or meta.get("newswatch_offsite")
                                        or meta.get("newswatch_dropped"))

    def _dropped_request(self, request: scrapy.Request, spider: Any = None) -> None:
        """A request the scheduler dropped (a repeat): noted for ``next_child``."""
        request.meta["newswatch_dropped"] = True

    @_recorded("listing")
    def parse_listing(self, response: Response) -> Iterator[scrapy.Request]:
        """Article links from a listing page, then its next page (bounded). The first
        page's announced feeds (``<link rel=alternate type=application/rss+xml|...>``) not
        in the config are fetched too (feed autodiscovery)."""
        assert self.source is not None
        page = response.meta.get("page", 1)
        if page == 1:
            yield from self._autodiscovered(response)
        hrefs = response.css("a::attr(href)").getall()
        self._ledger().discovered(len(hrefs))
        for href in hrefs:
            url = discovery.join(response.url, href)
            if url:
                yield from self._article_request(url, "listing")
            else:
                self._ledger().link("malformed")
                self._malformed(response.url, href)
        following = response.css("a[rel~=next]::attr(href)").get()
        if following and page < self.source.max_listing_pages:
            url = discovery.join(response.url, following)
            if url:
                yield scrapy.Request(url, self.parse_listing, errback=self.on_error,
                                     meta={"kind": "listing", "page": page + 1})

    def _autodiscovered(self, response: Response) -> Iterator[scrapy.Request]:
        assert self.source is not None
        triples = [(link.attrib.get("rel"), link.attrib.get("type"), link.attrib.get("href"))
                   for link in response.css("link[rel][href]")]
        for url in discovery.autodiscover(triples, response.url):
            try:
                host = discovery.urlsplit(url).hostname or ""
            except ValueError:
                continue
            known = {canonicalize(feed) for feed in self.source.feeds}
            if (not self.source.owns_host(host) or canonicalize(url) in known
                    or url in self.autodiscovered):
                continue
            self.autodiscovered.add(url)
            self.crawler.stats.inc_value("newswatch/feeds_autodiscovered")
            yield scrapy.Request(url, self.parse_feed, errback=self.on_error,
                                 meta={"kind": "feed", "autodiscovered": True})

    def _malformed(self, page: str, link: str | None) -> None:
        self.crawler.stats.inc_value("newswatch/malformed_links")
        self.record_error(page, f"malformed link skipped: {str(link)[:200]!r}")

    def _unreadable(self, url: str, reason: str) -> None:
        """A feed or sitemap that could not be read: an error, and a health signal."""
        self.crawler.stats.inc_value("newswatch/unreadable")
        self.record_error(url, reason)

    def _ledger(self) -> Ledger:
        if self.ledger is None:  # a spider built without from_crawler (a unit test)
            self.ledger = Ledger.of(self.crawler)
        return self.ledger

    def _max_size(self) -> int:
        return self.crawler.settings.getint("DOWNLOAD_MAXSIZE")

    def _stale_cutoff(self) -> str | None:
        """Hinted publication dates before this (UTC ISO) are stale: not fetched."""
        assert self.source is not None
        setting = self.crawler.settings.get("NEWSWATCH_STALE_AFTER")
        if self._stale is None:
            hours = float(setting) if setting not in (None, "") else self.stale_after_hours
            self._stale = ((datetime.now(UTC) - timedelta(hours=hours)).isoformat(
                timespec="seconds") if hours > 0 else "")
        return self._stale or None

    def _article_request(self, url: str, via: str,
                         hints: discovery.Entry | None = None) -> Iterator[scrapy.Request]:
        """A request for an article link: tracking parameters dropped, canonicalised,
        tested against the source's pattern (an article-like link that fails it is
        counted ``unmatched``, with a few examples kept), fetched once per crawl; a link
        whose hinted publication date is stale is skipped. Each link ends under one
        ledger outcome (``crawler.ledger.LINK_OUTCOMES``)."""
        assert self.source is not None
        ledger = self._ledger()
        try:
            canonical = canonicalize(discovery.drop_tracking(url, self.rules))
            host = discovery.urlsplit(canonical).hostname or ""
        except ValueError:  # (an unparsable port or host)
            ledger.link("malformed")
            return
        if canonical in self.seen_articles:
            plan = RecheckPlan.existing(self.crawler)
            if hints is not None and hints.modified and plan is not None and plan.readmit(
                    canonical, {"modified": hints.modified}):
                # an earlier link to this stored article was dropped (not due); this
                # one's lastmod says it changed since its last check: re-checked now (no
                # longer a skipped article; the dropped request stays settled in the ledger)
                self.crawler.stats.inc_value("newswatch/skipped", -1)
                ledger.link("requested")
                yield scrapy.Request(canonical, self.parse_article, errback=self.on_error,
                                     meta={"kind": "article", "via": via, "recheck": True})
                return
            ledger.link("seen")
            return
        if not self.source.is_article_url(canonical):
            if not self.source.owns_host(host):
                ledger.link("off_site")
            elif discovery.looks_like_article(canonical, self.rules):
                ledger.link("unmatched")
                if canonical not in self.unmatched_seen:
                    self.unmatched_seen.add(canonical)
                    stats = self.crawler.stats
                    stats.inc_value("newswatch/unmatched")
                    examples = stats.get_value("newswatch/unmatched_examples") or []
                    if len(examples) < MAX_UNMATCHED_EXAMPLES:
                        stats.set_value("newswatch/unmatched_examples",
                                        [*examples, canonical])
            else:
                ledger.link("not_article")
            return
        self.seen_articles.add(canonical)
        cutoff = self._stale_cutoff()
        if hints is not None and hints.published and cutoff and hints.published < cutoff:
            self.crawler.stats.inc_value("newswatch/stale")
            ledger.link("stale")
            return
        if len(canonical) > self.crawler.settings.getint("URLLENGTH_LIMIT", 2083):
            ledger.link("too_long")  # Scrapy's UrlLengthMiddleware would drop it unsaid
            self.record_error(canonical[:200], "article URL longer than URLLENGTH_LIMIT")
            return
        meta: dict[str, Any] = {"kind": "article", "via": via}
        if hints is not None and (hints.published or hints.title or hints.language
                                  or hints.modified):
            meta["hints"] = {"published": hints.published, "title": hints.title,
                             "language": hints.language, "modified": hints.modified}
        try:  # a URL only Scrapy refuses (a port out of range) must not end the whole feed
            request = scrapy.Request(canonical, self.parse_article, errback=self.on_error,
                                     meta=meta)
        except ValueError:
            ledger.link("malformed")
            self._malformed(url, url)
            return
        ledger.link("requested")
        self.crawler.stats.inc_value("newswatch/found")
        yield request

    # -- articles --------------------------------------------------------------------------
    def parse_article(self, response: Response) -> Iterator[dict[str, Any]]:
        """Hand the page to the pipelines (extraction runs off the reactor)."""
        assert self.source is not None
        content_type = response.headers.get("Content-Type", b"").decode("latin-1")
        if not isinstance(response, TextResponse):  # (hasattr "text" would decode the body)
            self._ledger().page("not_text")
            self.record_error(response.url, f"not a text page ({content_type or '?'})")
            return
        binary = next((kind for magic, kind in _BINARY_MAGIC if response.body.startswith(magic)),
                      None)
        if binary:
            self._ledger().page("not_text")
            self.record_error(response.url, f"{binary} bytes served as {content_type or '?'}")
            return
        check_rules = self._profile_signals(response)
        yield {
            "source": self.source.name,
            "url": response.url,
            "requested_url": response.request.url if response.request else response.url,
            # raw bytes: the extractor checks the declared charset instead of trusting it
            "html": response.body,
            "content_type": content_type or None,
            "status": response.status,
            "etag": (response.headers.get("ETag") or b"").decode("latin-1") or None,
            "last_modified": (response.headers.get("Last-Modified") or b"").decode("latin-1")
            or None,
            "via": response.meta.get("via"),
            "hints": response.meta.get("hints"),
            # the profile's rules are tried on this page by the extraction worker, on the
            # tree it parses anyway (crawler.pipelines counts the misses)
            "check_rules": check_rules,
        }

    def _profile_signals(self, response: Response) -> bool:
        """Health signals of an article page: whether the profile's body and date rules
        matched (``newswatch/pages``; of ``newswatch/rule_pages`` checked,
        ``newswatch/body_miss`` and ``newswatch/date_rule_miss``). Whether this page's
        rules are checked: the extraction worker tries them (``monitor.processes.workers``), off
        the reactor, and ``crawler.pipelines`` counts the misses."""
        assert self.source is not None
        stats = self.crawler.stats
        stats.inc_value("newswatch/pages")
        pages = stats.get_value("newswatch/pages", 0)
        # every page of an incremental crawl, a sample of a backfill (the first
        # RULE_CHECK_ALL, then one in RULE_CHECK_EVERY)
        if pages > RULE_CHECK_ALL and pages % RULE_CHECK_EVERY:
            return False
        stats.inc_value("newswatch/rule_pages")
        return True

    def on_error(self, failure: Any) -> None:
        """Count and log a failed request (HTTP error, timeout, refused connection); a
        failed child sitemap gives way to the next one (``next_child``).

        A request that robots.txt forbids is skipped, not an error: it is what we were
        told to do. A page answered 304 (not modified) is neither: nothing to parse.
        """
        self._failed(failure)
        request = getattr(failure, "request", None)
        if request is not None and request.meta.get("child"):
            self.next_child(request)

    def _failed(self, failure: Any) -> None:
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        kind = request.meta.get("kind") if request is not None else None
        if failure.check(NotModified):  # a 304: counted by ConditionalGetMiddleware
            if kind in ("feed", "sitemap", "listing"):
                self.crawler.stats.inc_value("newswatch/discovery_ok")
            return
        article = kind == "article"
        if failure.check(Gone):  # a known article its site removed: crawler.removals
            if article:
                self._ledger().page("gone")
            return
        if failure.check(Refused):  # recorded as an error by the SSRF guard
            if article:
                self._ledger().page("refused")
            return
        message = failure.getErrorMessage()
        if failure.check(IgnoreRequest) and not failure.check(HttpError) and (
                message in SKIPPED_REASONS):
            if article:
                self._ledger().page("robots")
            self.crawler.stats.inc_value("newswatch/skipped")
            self.logger.info("%s: skipped (%s)", url, message or "ignored")
            return
        if failure.check(HttpError):
            reason = f"HTTP {failure.value.response.status}"
        elif failure.check(IgnoreRequest):  # a redirect loop, a decompression bomb, ...
            reason = f"refused: {message}"
        elif failure.check(DownloadCancelledError) and not message and request is not None:
            reason = f"DownloadCancelledError: {self._cancelled(request)}"
        else:
            reason = f"{failure.type.__name__}: {message or _PLAIN.get(failure.type.__name__, '?')}"
        self.crawler.stats.inc_value(f"newswatch/fail/{failure_kind(failure)}")
        if article:
            self._ledger().page("failed")
        if kind in ("feed", "sitemap", "listing"):
            self.crawler.stats.inc_value("newswatch/discovery_failed")
        redirects = request.meta.get("redirect_urls") if request is not None else None
        if redirects:  # recorded under the URL that was found, not under a redirect hop
            url = redirects[0]
            if not failure.check(RedirectLoop):  # (its reason already names every hop)
                reason = f"{reason} (redirected to {request.url})"
        self.record_error(url, reason)

    def _cancelled(self, request: scrapy.Request) -> str:
        """Why a download was cancelled without a message: most often a body without
        Content-Length that grew past the size cap while it streamed."""
        received = self.received.get(request, 0)
        maxsize = request.meta.get("download_maxsize",
                                   self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
        if maxsize and received > maxsize:
            return (f"received {received} bytes, larger than download max size ({maxsize}); "
                    "cancelled while the body streamed")
        return f"download cancelled after {received} bytes"

    def record_error(self, url: str, reason: str) -> None:
        """Count an error in the crawl stats, keep its line for the crawl run, log it."""
        self.crawler.stats.inc_value("newswatch/errors")
        errors = self.crawler.stats.get_value("newswatch/error_detail") or []
        errors.append(f"{url}: {reason}")
        self.crawler.stats.set_value("newswatch/error_detail", errors[-100:])
        self.logger.error("%s: %s", url, reason)
