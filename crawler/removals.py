"""Re-checks of known articles and what they find (``monitor.changes.removals`` decides).

- ``RecheckKnownMiddleware`` (spider middleware, ``NEWSWATCH_CHECK_REMOVALS``): after the
  source's start requests, requests every relevant, not removed article published within
  the re-check window (``NEWSWATCH_RECHECK_DAYS``), even when no feed, sitemap or
  listing links it any more (a deleted article leaves those first). Conditional GETs,
  so an unchanged article costs a 304.
- ``RemovalCheckMiddleware`` (and ``RedirectCheckMiddleware`` for redirects, before
  they are followed) (downloader middlewares): for each request of a known
  article URL, notes what the site answered: found (200, 304), gone (404/410, a redirect
  to a page that is no article of the source, a removal notice) or failed (5xx after
  retries, a timeout). A gone page raises :class:`Gone` (not an error of the crawl, not
  parsed). The notes are stored when the spider closes, in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import scrapy
from scrapy import Request, signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

from monitor.alerts import AlertConfig, load_alert_config
from monitor.changes import removals
from monitor.changes import rules as change_rules
from monitor.store import Store

log = logging.getLogger(__name__)


class Gone(IgnoreRequest):
    """A known article's site says it is gone (404/410, section redirect, notice)."""


class _Checks:
    """One crawl's observations of known URLs, shared by the two middlewares."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.known: dict[str, dict[str, Any]] | None = None
        self.seen: dict[str, tuple[str, str]] = {}
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def of(cls, crawler: Any) -> _Checks:
        checks = getattr(crawler, "_newswatch_removal_checks", None)
        if checks is None:
            checks = cls(crawler)
            crawler._newswatch_removal_checks = checks
        return checks

    def _store(self) -> Store:
        return Store(self.crawler.settings.get("NEWSWATCH_DB"))

    def known_urls(self) -> dict[str, dict[str, Any]]:
        if self.known is None:
            store = self._store()
            try:
                self.known = removals.known_articles(store, self.crawler.spider.source.name)
            finally:
                store.close()
        return self.known

    def note(self, url: str, state: str, reason: str) -> None:
        if url in self.known_urls():
            if state == removals.FAILED and url in self.seen:
                return  # a later success or gone answer of this crawl wins
            self.seen[url] = (state, reason)

    def spider_closed(self, spider: Any, reason: str = "finished") -> None:
        if not self.seen:
            return
        setting = self.crawler.settings.get("NEWSWATCH_ALERTS")
        alerts = setting if isinstance(setting, AlertConfig) else (
            load_alert_config(setting) if setting else AlertConfig())
        store = self._store()
        try:
            found = removals.record_checks(store, self.seen, alerts)
        finally:
            store.close()
        if found:
            self.crawler.stats.inc_value("newswatch/removed", len(found))
            log.info("%d article(s) removed by their site", len(found))


class RecheckKnownMiddleware(BaseSpiderMiddleware):
    """Spider middleware: adds re-check requests for known recent relevant articles."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> RecheckKnownMiddleware:
        if not crawler.settings.getbool("NEWSWATCH_CHECK_REMOVALS", True):
            raise NotConfigured
        _Checks.of(crawler)
        return cls(crawler)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for item in start:
            yield item
        spider = self.crawler.spider
        store = Store(self.crawler.settings.get("NEWSWATCH_DB"))
        try:
            urls = removals.due_for_check(store, spider.source.name,
                                          self.crawler.settings.getfloat(
                                              "NEWSWATCH_RECHECK_DAYS", 3))
        finally:
            store.close()
        seen = getattr(spider, "seen_articles", set())
        for url in urls:
            if url in seen:
                continue
            seen.add(url)
            self.crawler.stats.inc_value("newswatch/rechecked")
            self.crawler.stats.inc_value("ledger/rechecked")  # crawler.ledger
            yield scrapy.Request(url, spider.parse_article, errback=spider.on_error,
                                 meta={"kind": "article", "via": "recheck", "recheck": True})


class RemovalCheckMiddleware:
    """Downloader middleware: what the site answered for known article URLs."""

    def __init__(self, checks: _Checks) -> None:
        self.checks = checks

    @classmethod
    def from_crawler(cls, crawler: Any) -> RemovalCheckMiddleware:
        if not crawler.settings.getbool("NEWSWATCH_CHECK_REMOVALS", True):
            raise NotConfigured
        return cls(_Checks.of(crawler))

    def process_response(self, request: Request, response: Response) -> Response:
        if request.meta.get("kind") != "article":
            return response
        url = (request.meta.get("redirect_urls") or [request.url])[0]
        if url not in self.checks.known_urls():
            return response
        status = response.status
        reason = None
        if status in change_rules.GONE_STATUSES:
            reason = f"HTTP {status}"
        elif status >= 500:
            self.checks.note(url, removals.FAILED, f"HTTP {status}")
            return response
        elif status in (200, 203) and request.meta.get("redirect_urls") and not (
                self.checks.crawler.spider.source.is_article_url(response.url)):
            reason = f"redirected to {response.url}"
        elif status == 200 and removals.is_removal_notice(response.body):
            reason = "removal notice"
        if reason:
            self.checks.note(url, removals.GONE, reason)
            self.checks.crawler.stats.inc_value("newswatch/gone")
            raise Gone(f"gone: {url} ({reason})")
        if status in (200, 203, 304):
            self.checks.note(url, removals.OK, f"HTTP {status}")
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        if request.meta.get("kind") == "article":
            url = (request.meta.get("redirect_urls") or [request.url])[0]
            self.checks.note(url, removals.FAILED, type(exception).__name__)


class RedirectCheckMiddleware(RemovalCheckMiddleware):
    """Downloader middleware just outside Redirect: a known article that redirects to a
    page that is no article of its source (its section, the home page) is gone. Seen
    here, before the redirect is followed: the target is often a listing this crawl
    already fetched, which the duplicate filter would drop unseen."""

    def process_response(self, request: Request, response: Response) -> Response:
        if request.meta.get("kind") != "article" or response.status not in (
                301, 302, 303, 307, 308) or b"Location" not in response.headers:
            return response
        url = (request.meta.get("redirect_urls") or [request.url])[0]
        if url not in self.checks.known_urls():
            return response
        target = response.urljoin(response.headers[b"Location"].decode("latin-1"))
        if self.checks.crawler.spider.source.is_article_url(target):
            return response  # moved to another article URL: followed as usual
        reason = f"redirected to {target}"
        self.checks.note(url, removals.GONE, reason)
        self.checks.crawler.stats.inc_value("newswatch/gone")
        raise Gone(f"gone: {url} ({reason})")

    def process_exception(self, request: Request, exception: Exception) -> None:
        return None
