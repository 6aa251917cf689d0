"""Running newswatch: crawls, the daemon, backfills and the demo.

``crawl`` runs the Scrapy project (``crawler/``) in a child process and streams its
progress; ``daemon`` schedules crawls per source (APScheduler), delivers alerts and
reports ``status``; ``dispatch`` is its side of a fleet of crawl workers (``newswatch run
--redis``: due crawls offered as jobs in Redis, the one SQLite writer); ``worker`` is a
fleet's crawl worker (``newswatch worker``: the warm crawl service fed by jobs from
Redis, docs/SCALE.md); ``control`` asks the running daemon to crawl a source now
(``newswatch check``); ``recheck`` fetches one stored article again (``newswatch
recheck``); ``service`` is the warm crawl service the daemon runs its crawls in (one
long-lived crawl process, jobs as JSON-able dicts); ``backfill`` reads a source's archive
from its sitemaps; ``demo`` crawls the replica farm; ``reach`` sums up hosts a crawl
could not reach.
"""

from monitor.run.backfill import backfill
from monitor.run.control import ControlError, NoDaemon, NotTaken, Refused, check
from monitor.run.crawl import CrawlError, CrawlResult, crawl
from monitor.run.daemon import Daemon, status
from monitor.run.reach import host_of
from monitor.run.recheck import RecheckResult, UnknownArticle, recheck
from monitor.run.service import CrawlService
from monitor.run.worker import CrawlWorker

__all__ = ["ControlError", "CrawlError", "CrawlResult", "CrawlService", "CrawlWorker",
           "Daemon", "NoDaemon",
           "NotTaken", "RecheckResult", "Refused", "UnknownArticle", "backfill", "check", "crawl",
           "host_of", "recheck", "status"]
