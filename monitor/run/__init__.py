"""Running newswatch: crawls, the daemon, backfills and the demo.

``crawl`` runs the Scrapy project (``crawler/``) in a child process and streams its
progress; ``daemon`` schedules crawls per source (APScheduler), delivers alerts and
reports ``status``; ``backfill`` reads a source's archive from its sitemaps; ``demo``
crawls the replica farm; ``reach`` sums up hosts a crawl could not reach.
"""

from monitor.run.backfill import backfill
from monitor.run.crawl import CrawlError, CrawlResult, crawl
from monitor.run.daemon import Daemon, status
from monitor.run.reach import host_of

__all__ = ["CrawlError", "CrawlResult", "Daemon", "backfill", "crawl", "host_of", "status"]
