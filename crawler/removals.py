"""Re-checks of known articles and what they find (``monitor.changes.removals`` and
``monitor.changes.recheck`` decide).

- ``RecheckPlan`` (one per crawler): which stored articles this crawl re-checks. When the
  spider opens it reads the source's due articles (``monitor.changes.recheck.due``: their
  next-check time has come) and the budget left in the sliding hour, and chooses the most
  valuable (``recheck.choose``); the rest are *deferred* (counted in the ledger, still
  due). A link whose feed or sitemap says the article changed since its last check
  (``<lastmod>``, Atom ``<updated>``) is re-checked too while the budget lasts.
- ``RecheckKnownMiddleware`` (spider middleware, ``NEWSWATCH_CHECK_REMOVALS``): after the
  source's start requests, requests the chosen articles, even when no feed, sitemap or
  listing links them any more (a deleted article leaves those first), after discovery's
  requests (a lower priority: new articles first). Conditional GETs, so an unchanged
  article costs a 304.
- ``RemovalCheckMiddleware`` (and ``RedirectCheckMiddleware`` for redirects, before
  they are followed) (downloader middlewares): for each request of a known
  article URL, notes what the site answered: found (200, 304), gone (404/410, a redirect
  to a page that is no article of the source, a removal notice) or failed (5xx after
  retries, a timeout). A gone page raises :class:`Gone` (not an error of the crawl, not
  parsed). The notes are stored when the spider closes, in one transaction, and so is
  each checked article's next check (``recheck.record``).

The schedule's bounds and budget are the source's ``recheck:`` (``newswatch crawl|run
--recheck-*`` put theirs over it: ``monitor.sources.with_recheck``). Setting
``NEWSWATCH_RECHECK_DAYS`` (legacy): articles published within that many days are due at
every crawl too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import scrapy
from scrapy import Request, signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

from crawler.ledger import Ledger
from monitor.alerts import AlertConfig, load_alert_config
from monitor.changes import recheck, removals
from monitor.changes import rules as change_rules
from monitor.store import Store

log = logging.getLogger(__name__)


class Gone(IgnoreRequest):
    """A known article's site says it is gone (404/410, section redirect, notice)."""


RECHECK_PRIORITY = -10  # re-check requests wait behind discovery's (priority 0)


def recheck_bounds(source: Any) -> recheck.Bounds:
    """The source's bounds on an article's interval (its ``recheck:`` min and max)."""
    config = getattr(source, "recheck", None)
    return recheck.Bounds.of(config) if config is not None else recheck.Bounds()


class RecheckPlan:
    """This crawl's re-checks of the source's stored articles (``monitor.changes.recheck``):
    chosen when the spider opens, within the source's budget; the rest deferred. Its
    ledger counts (``crawler.ledger``): ``due``, ``deferred`` and ``budget`` when it is
    made, ``checked`` as each re-check request is made."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.loaded = False
        self.started = 0.0  # when the plan was made (epoch seconds)
        self.stored: dict[str, float] = {}  # every stored article: URL -> last check
        self.removed: set[str] = set()  # stored articles found removed
        self.chosen: list[str] = []  # most valuable first
        self.chosen_set: set[str] = set()
        self.deferred: set[str] = set()
        self.budget = 0  # re-checks this crawl may make
        self.extra = 0  # re-checks beyond the chosen (a hint, a removed article linked)
        self.checked: set[str] = set()  # re-check requests made
        self.hints: dict[str, float] = {}  # hinted changed, over budget: URL -> time
        self.dropped: set[str] = set()  # links to stored articles dropped in this crawl
        self.bounds = recheck.Bounds()

    @classmethod
    def existing(cls, crawler: Any) -> RecheckPlan | None:
        """The crawler's plan if one was made (None: no re-checks in this crawl yet)."""
        return getattr(crawler, "_newswatch_recheck_plan", None)

    @classmethod
    def of(cls, crawler: Any) -> RecheckPlan:
        """The crawler's plan (made on first use, once the spider has its source)."""
        plan = getattr(crawler, "_newswatch_recheck_plan", None)
        if plan is None:
            plan = cls(crawler)
            crawler._newswatch_recheck_plan = plan
        plan.load()
        return plan

    def load(self) -> None:
        if self.loaded:
            return
        self.loaded = True
        settings, source = self.crawler.settings, self.crawler.spider.source
        self.bounds = recheck_bounds(source)
        per_hour = recheck.budget_per_hour(getattr(source, "recheck", None),
                                           source.download_delay)
        window = settings.get("NEWSWATCH_RECHECK_DAYS")
        self.started = now = time.time()
        store = Store(settings.get("NEWSWATCH_DB"))
        try:
            self.stored, self.removed = recheck.checked_urls(store, source.name)
            due = recheck.due(store, source.name, now,
                              float(window) if window not in (None, "") else None)
            self.budget = recheck.run_budget(per_hour, recheck.spent(store, source.name, now))
        finally:
            store.close()
        chosen, deferred = recheck.choose(((d.url, d.clock, d.relevant) for d in due), now,
                                          self.budget)
        self.chosen, self.chosen_set, self.deferred = chosen, set(chosen), set(deferred)
        ledger = Ledger.of(self.crawler)
        ledger.recheck("budget", self.budget)
        ledger.recheck("due", len(due))
        ledger.recheck("deferred", len(deferred))

    def request(self, url: str) -> None:
        """A re-check request for ``url`` is made (counted once)."""
        if url not in self.checked:
            self.checked.add(url)
            Ledger.of(self.crawler).recheck("checked")

    def admit(self, url: str, hints: Mapping[str, Any] | None = None) -> bool | None:
        """Whether a link discovery found to ``url`` is requested: None when no article
        is stored there (a new one: always); True when it is one this crawl re-checks
        (chosen; or, while the budget lasts, flagged changed by its feed or sitemap, or
        found removed and linked again); False when it is not due, or over the budget
        (then counted deferred)."""
        last = self.stored.get(url)
        if last is None:
            return None
        if url in self.chosen_set:
            self.request(url)
            return True
        modified = recheck.epoch((hints or {}).get("modified"))
        # (times are whole seconds: a change in the second of the last check counts)
        hinted = modified is not None and modified >= last
        if not (hinted or url in self.removed):
            return False
        if len(self.chosen) + self.extra < self.budget:
            self.extra += 1
            self.request(url)
            self.crawler.stats.inc_value("newswatch/recheck_hinted" if hinted
                                         else "newswatch/recheck_relinked")
            return True
        if url not in self.deferred and url not in self.hints:
            Ledger.of(self.crawler).recheck("deferred")
        if modified is not None:
            self.hints[url] = modified
        return False

    def readmit(self, url: str, hints: Mapping[str, Any] | None) -> bool:
        """A later link to a stored article this crawl dropped (an earlier link without a
        modification time): whether its feed's or sitemap's time makes it a re-check now
        (``admit``). The first link to an article decides otherwise: the rest are
        ``seen``."""
        if url not in self.dropped or not (hints or {}).get("modified"):
            return False
        if self.admit(url, hints):
            self.dropped.discard(url)
            return True
        return False


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
        plan = getattr(self.crawler, "_newswatch_recheck_plan", None)
        hints = plan.hints if plan is not None else {}
        if not (self.seen or hints):
            return
        setting = self.crawler.settings.get("NEWSWATCH_ALERTS")
        alerts = setting if isinstance(setting, AlertConfig) else (
            load_alert_config(setting) if setting else AlertConfig())
        store = self._store()
        try:
            found = removals.record_checks(store, self.seen, alerts) if self.seen else []
            # each checked article's next check (its new version, if any, is stored: the
            # pipelines closed before this signal)
            bounds = plan.bounds if plan is not None else recheck_bounds(spider.source)
            started = plan.started if plan is not None and plan.started else time.time()
            recheck.record(store, {url: state for url, (state, _) in self.seen.items()},
                           time.time(), bounds, recheck.stamp(started - 1), hints)
        finally:
            store.close()
        if found:
            self.crawler.stats.inc_value("newswatch/removed", len(found))
            log.info("%d article(s) removed by their site", len(found))


class RecheckKnownMiddleware(BaseSpiderMiddleware):
    """Spider middleware: adds the re-check requests of the crawl's plan (``RecheckPlan``:
    the due articles that fit the budget), after discovery's."""

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
        plan = RecheckPlan.of(self.crawler)
        seen = getattr(spider, "seen_articles", set())
        for url in plan.chosen:
            if url in seen:
                continue
            seen.add(url)
            plan.request(url)
            self.crawler.stats.inc_value("newswatch/rechecked")
            self.crawler.stats.inc_value("ledger/rechecked")  # crawler.ledger
            yield scrapy.Request(url, spider.parse_article, errback=spider.on_error,
                                 priority=RECHECK_PRIORITY,
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
