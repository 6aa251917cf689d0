"""The generic news spider: one source's feeds, sitemaps and listing pages → article pages.

    scrapy crawl news -a source=laodong_en [-a config=config/demo.yaml]

Discovery is config, not code: every article link found is canonicalised (tracking
parameters dropped) before it is requested, so a story linked from the feed, the sitemap
and a listing page is fetched once.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any

import feedparser
import scrapy
from scrapy import signals
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from crawler.middlewares import FetchLog, NotModified, RedirectLoop
from crawler.removals import Gone
from crawler.ssrf import Refused
from monitor.config import Source, load_settings
from monitor.urls import canonicalize

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
        # body bytes received per request in flight: Scrapy cancels a body that grows past
        # DOWNLOAD_MAXSIZE (no Content-Length to refuse it by) with an empty
        # DownloadCancelledError; this count lets on_error say why
        self.received: weakref.WeakKeyDictionary[scrapy.Request, int] = (
            weakref.WeakKeyDictionary())

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> NewsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        if spider.source is None:
            path = spider._config_path or crawler.settings.get("NEWSWATCH_CONFIG")
            spider.source = load_settings(path).source(str(spider._source_arg))
        spider.allowed_domains = list(spider.source.domains)
        # politeness per source: delay and concurrency for each of its hosts
        slot = {"delay": spider.source.download_delay, "concurrency": spider.source.concurrency}
        slots = dict(crawler.settings.getdict("DOWNLOAD_SLOTS"))
        slots.update({domain: slot for domain in spider.source.domains})
        crawler.settings.set("DOWNLOAD_SLOTS", slots, priority="spider")
        crawler.signals.connect(spider.bytes_received, signal=signals.bytes_received)
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
    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        """Article links from an RSS or Atom feed."""
        if _declares_entities(response.body):
            self.record_error(response.url, "feed refused: it declares XML entities")
            return
        parsed = feedparser.parse(response.body, response_headers={
            "content-location": response.url})
        if parsed.bozo and not parsed.entries:
            self.record_error(response.url, f"unreadable feed: {parsed.get('bozo_exception')}")
            return
        linkless = 0
        for entry in parsed.entries:
            link = entry.get("link")
            if link:
                yield from self._article_request(response.urljoin(link), "feed")
            else:
                linkless += 1
        if linkless:
            self.record_error(response.url, f"{linkless} feed entries without a link skipped")

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        """Article links from a sitemap; child sitemaps from an index (bounded)."""
        body = response.body
        if response.url.endswith(".gz") or body[:2] == b"\x1f\x8b":
            body = gunzip(body, max_size=self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
        if response.url.endswith("/robots.txt"):
            locs = list(sitemap_urls_from_robots(response.text, base_url=response.url))
            kind = "sitemapindex"
        elif _declares_entities(body):
            self.record_error(response.url, "sitemap refused: it declares XML entities")
            return
        else:
            try:
                sitemap = Sitemap(body)
            except Exception as exc:  # lxml raises several types on broken XML
                self.record_error(response.url, f"unreadable sitemap: {exc}")
                return
            kind = sitemap.type
            locs = [entry["loc"] for entry in sitemap if entry.get("loc")]
        if kind == "sitemapindex":
            # an index often lists its children without <lastmod>: its body does not change
            # when a child does, so it is always fetched in full and its children
            # conditionally (a 304 here would hide an edited article's new lastmod)
            FetchLog.of(self.crawler).forget_validators(response.url)
            followed = locs[:max(0, MAX_CHILD_SITEMAPS - self.child_sitemaps)]
            if len(followed) < len(locs):
                self.record_error(response.url, f"sitemap index lists {len(locs)} sitemaps; "
                                  f"followed the first {len(followed)} (at most "
                                  f"{MAX_CHILD_SITEMAPS} per crawl)")
            self.child_sitemaps += len(followed)
            for loc in followed:
                yield scrapy.Request(response.urljoin(loc), self.parse_sitemap,
                                     errback=self.on_error, meta={"kind": "sitemap"})
            return
        for loc in locs:
            yield from self._article_request(response.urljoin(loc), "sitemap")

    def parse_listing(self, response: Response) -> Iterator[scrapy.Request]:
        """Article links from a listing page, then its next page (bounded)."""
        assert self.source is not None
        for href in response.css("a::attr(href)").getall():
            yield from self._article_request(response.urljoin(href), "listing")
        page = response.meta.get("page", 1)
        following = response.css("a[rel~=next]::attr(href)").get()
        if following and page < self.source.max_listing_pages:
            yield scrapy.Request(response.urljoin(following), self.parse_listing,
                                 errback=self.on_error, meta={"kind": "listing", "page": page + 1})

    def _article_request(self, url: str, via: str) -> Iterator[scrapy.Request]:
        assert self.source is not None
        canonical = canonicalize(url)
        if not self.source.is_article_url(canonical) or canonical in self.seen_articles:
            return
        self.seen_articles.add(canonical)
        self.crawler.stats.inc_value("newswatch/found")
        yield scrapy.Request(canonical, self.parse_article, errback=self.on_error,
                             meta={"kind": "article", "via": via})

    # -- articles --------------------------------------------------------------------------
    def parse_article(self, response: Response) -> Iterator[dict[str, Any]]:
        """Hand the page to the pipelines (extraction runs off the reactor)."""
        assert self.source is not None
        content_type = response.headers.get("Content-Type", b"").decode("latin-1")
        if not hasattr(response, "text"):
            self.record_error(response.url, f"not a text page ({content_type or '?'})")
            return
        binary = next((kind for magic, kind in _BINARY_MAGIC if response.body.startswith(magic)),
                      None)
        if binary:
            self.record_error(response.url, f"{binary} bytes served as {content_type or '?'}")
            return
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
        }

    def on_error(self, failure: Any) -> None:
        """Count and log a failed request (HTTP error, timeout, refused connection).

        A request that robots.txt forbids is skipped, not an error: it is what we were
        told to do. A page answered 304 (not modified) is neither: nothing to parse.
        """
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        if failure.check(NotModified):  # a 304: counted by ConditionalGetMiddleware
            return
        if failure.check(Gone):  # a known article its site removed: crawler.removals
            return
        if failure.check(Refused):  # recorded as an error by the SSRF guard
            return
        message = failure.getErrorMessage()
        if failure.check(IgnoreRequest) and not failure.check(HttpError) and (
                message in SKIPPED_REASONS):
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
