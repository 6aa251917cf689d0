"""The crawl's stats collector: Scrapy's in-memory one without its per-access shim.

Scrapy 2.19's ``StatsCollector.__getattribute__`` runs Python code on every attribute
read of a collector (its deprecation check of a ``spider`` argument: a cache lookup that
raises AttributeError for every plain attribute, its own ``_stats`` included, then a
wrapper call), about 6 microseconds per ``inc_value`` against 0.2 here. Scrapy's core and
newswatch's middlewares and pipelines update a few dozen stats per page, on the reactor
that is the crawl's serial path (BENCHMARKS.md, issue 33). What it stores, and when, is
unchanged; only the warning about the deprecated ``spider`` argument is not given.
"""

from __future__ import annotations

from scrapy.statscollectors import MemoryStatsCollector


class CrawlStatsCollector(MemoryStatsCollector):
    """``MemoryStatsCollector`` with plain attribute access (``STATS_CLASS``)."""

    __getattribute__ = object.__getattribute__
