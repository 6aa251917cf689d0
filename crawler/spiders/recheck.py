"""The re-check spider: one stored article fetched again now (``newswatch recheck
URL|ID``; ``monitor.run.recheck``).

It requests exactly one URL (``NEWSWATCH_RECHECK_URL``), the stored article's canonical
URL, as the news spider re-checks a known article (``meta["recheck"]``): through every
downloader middleware of a crawl, so the SSRF guard, robots.txt and the site's politeness
apply, the request is conditional (If-None-Match / If-Modified-Since from the fetch log,
a 304 is "not modified"), a 404/410, a redirect away or a removal notice is a removal
check (``crawler.removals``), and a page with text goes through extraction and the
Ingestor like any other (a new version with its diff and edit kinds, alerts queued).

It reads no feed, sitemap or listing, and the two spider middlewares that add or drop
article requests by date (``RecheckWindowMiddleware``: stored articles older than the
window are not fetched; ``RecheckKnownMiddleware``: recent relevant articles re-checked
for removal) are off for it: the one URL asked for is fetched whatever its age, and no
other. In the run's ledger its request is ``rechecked`` (``crawler.ledger``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import scrapy

from crawler import settings as project_settings
from crawler.removals import Gone
from crawler.spiders.news import NewsSpider

# the project's spider middlewares less the two that choose article requests by date
SPIDER_MIDDLEWARES = {**project_settings.SPIDER_MIDDLEWARES,
                      "crawler.middlewares.RecheckWindowMiddleware": None,
                      "crawler.removals.RecheckKnownMiddleware": None}


class RecheckSpider(NewsSpider):
    """Fetch one stored article of a configured source again (see the module doc)."""

    name = "recheck"
    custom_settings = {"SPIDER_MIDDLEWARES": SPIDER_MIDDLEWARES}

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """The one request: ``NEWSWATCH_RECHECK_URL``, as a re-check of a known article."""
        url = self.crawler.settings.get("NEWSWATCH_RECHECK_URL")
        if not url:
            raise ValueError("NEWSWATCH_RECHECK_URL is not set: the URL to re-check")
        self.seen_articles.add(url)
        self.crawler.stats.inc_value("newswatch/rechecked")
        self._ledger().count("rechecked")  # issued = rechecked (crawler.ledger)
        meta: dict[str, Any] = {"kind": "article", "via": "recheck", "recheck": True}
        yield scrapy.Request(url, self.parse_article, errback=self.on_error, meta=meta,
                             dont_filter=True)

    def on_error(self, failure: Any) -> None:
        """As the news spider; a page found gone is no error, but why it is gone is noted
        in the run's ``error_detail`` (``<url>: gone: <url> (<reason>)``, not counted as an
        error): the re-check's one line says it (``monitor.run.recheck``)."""
        if failure.check(Gone):
            request = getattr(failure, "request", None)
            url = ((request.meta.get("redirect_urls") or [request.url])[0]
                   if request is not None else "?")
            notes = self.crawler.stats.get_value("newswatch/error_detail") or []
            self.crawler.stats.set_value("newswatch/error_detail",
                                         [*notes, f"{url}: {failure.getErrorMessage()}"])
        super().on_error(failure)
