"""Scrapy settings for newswatch (``scrapy crawl news -a source=NAME`` reads these)."""

BOT_NAME = "newswatch"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# product/version, plus the operator's contact when the sources file sets `contact:`
# (monitor.run.crawl adds it; crawler.politeness.user_agent); no address is made up here
USER_AGENT = "newswatch/0.1 (news monitor)"
ROBOTSTXT_USER_AGENT = "newswatch"  # the token robots.txt groups are matched against
ROBOTSTXT_OBEY = True

CONCURRENT_REQUESTS = 32
# Per-source concurrency and delay come from config (DOWNLOAD_SLOTS, set by the spider).
# This value also sizes Twisted's keep-alive pool per host: kept above any source's
# concurrency, else connections are closed and reopened all the time.
CONCURRENT_REQUESTS_PER_DOMAIN = 16
CONCURRENT_ITEMS = 1  # an article response yields one item; each costs a task per response
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 0
RETRY_TIMES = 2
RETRY_GIVE_UP_LOG_LEVEL = "DEBUG"  # the spider logs one ERROR per failed URL, with its reason
NEWSWATCH_RETRY_AFTER_MAX = 60  # seconds: the longest Retry-After newswatch will honour
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False  # no listening port in a daemon that reads the web
LOG_LEVEL = "INFO"
LOG_FORMATTER = "crawler.logformatter.OneLineLogFormatter"  # "Dropped: reason", no item dump
STATS_CLASS = "crawler.stats.CrawlStatsCollector"  # Scrapy's, without its per-access shim
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"

ITEM_PIPELINES = {
    "crawler.pipelines.ExtractPipeline": 300,
    "crawler.pipelines.StorePipeline": 800,
}

# newswatch's own settings
NEWSWATCH_CONFIG = "config/sources.yaml"  # sources file; demo: config/demo.yaml
NEWSWATCH_DB = "newswatch.db"
NEWSWATCH_EXTRACT_WORKERS = 0  # extraction processes; 0 = one per CPU core
NEWSWATCH_ALERTS = "config/alerts.yaml"  # alert rules and channels ("" = no alerts)
NEWSWATCH_STORE_BATCH = 50  # articles per SQLite transaction (flushed every second anyway)
# a crawl worker's (issue 32; set per job by monitor.run.worker): {"redis": URL, "fleet":
# name, "worker": name, "job": id}: every batch also goes to the fleet's article stream
NEWSWATCH_FLEET: dict[str, object] = {}
# incremental crawling (crawler/middlewares.py; docs/USAGE.md "Incremental crawling")
NEWSWATCH_FETCH_LOG = True  # record every response's validators in the `fetches` table
NEWSWATCH_CONDITIONAL_GET = True  # If-None-Match / If-Modified-Since from that log; 304 = skip
NEWSWATCH_FETCH_LOG_CACHE = False  # the log as saved kept between crawls (the warm crawl service)
NEWSWATCH_SKIP_STORED = True  # links to stored articles not due for a re-check: not fetched
# the re-check schedule is each source's `recheck:` (min, max, budget; docs/USAGE.md
# "Re-checks", monitor.changes.recheck). Legacy (before issue 29): stored articles
# published within this many days are also due at every crawl (within the budget);
# None: only the schedule
NEWSWATCH_RECHECK_DAYS = None
# SSRF guard (crawler/ssrf.py; docs/SECURITY.md): every host is resolved, the source's own
# included, and refused when it answers a non-public address nobody allowed; the answer
# checked is the one connected to (crawler.ssrf.PinnedResolver, below)
NEWSWATCH_SSRF_GUARD = True
# non-public addresses allowed for every host: None = the environment variable of that
# name; "1"/"all" (the farm, the tests) or "127.0.0.16/32,10.8.0.0/16"; a source's own
# hosts: its `allow_private` in the sources file
NEWSWATCH_ALLOW_PRIVATE = None
NEWSWATCH_DNS_HOSTS: dict[str, list[str]] = {}  # {name: [address]}: answered before DNS
TWISTED_DNS_RESOLVER = "crawler.ssrf.PinnedResolver"  # one lookup per host, pinned
NEWSWATCH_CHECK_REMOVALS = True  # request due articles no link points at; gone ones: removed
NEWSWATCH_HEALTH = True  # judge the source's health after each run (off in a backfill)
NEWSWATCH_REFUSE_REDIRECT_LOOPS = True  # a redirect back into its own chain: one error line

# Only http(s) is fetched (crawler/ssrf.py refuses other schemes too): no handler for
# file:, data:, s3: or ftp: is built for each source's crawler. HTTP/1.1 is Scrapy's
# handler with a close that cannot fire twice (crawler/handlers.py)
DOWNLOAD_HANDLERS = {"file": None, "data": None, "s3": None, "ftp": None,
                     "http": "crawler.handlers.OnceClosingHTTP11DownloadHandler",
                     "https": "crawler.handlers.OnceClosingHTTP11DownloadHandler"}

# Middlewares newswatch has no use for are off (each costs reactor time on every
# request); its own incremental-crawling ones are on.
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware": None,
    "scrapy.downloadermiddlewares.httpproxy.HttpProxyMiddleware": None,
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,
    # retries that honour Retry-After on 429/503 (crawler.middlewares.RetryAfterMiddleware)
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.RetryAfterMiddleware": 550,
    # first: before Offsite (50, which would drop off-domain requests unrecorded), robots.txt
    # (100) and everything else that could connect (crawler/ssrf.py)
    "crawler.ssrf.SsrfGuardMiddleware": 40,
    # Scrapy's offsite filter, its refusals recorded (and counted in the run's ledger)
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawler.middlewares.RecordedOffsiteMiddleware": 50,
    # below Retry (550) and Redirect (600): they see final responses only; the log (540)
    # records a 304 before ConditionalGet (530) turns it into NotModified
    "crawler.middlewares.ConditionalGetMiddleware": 530,
    "crawler.middlewares.FetchLogMiddleware": 540,
    # just outside Redirect (600): sees each 3xx before it is followed, and refuses one
    # back into its own chain (else the duplicate filter drops the repeat unrecorded)
    "crawler.middlewares.RedirectLoopMiddleware": 610,
    # below Retry and Redirect: what a re-check of a known article found (removals)
    "crawler.removals.RemovalCheckMiddleware": 545,
    "crawler.removals.RedirectCheckMiddleware": 605,  # a known article redirected away
    # politeness (crawler/politeness.py): one slot per site, after the SSRF guard and
    # before robots.txt (whose own request then joins the site's slot); robots.txt cache
    # between HttpCompression (590) and Retry (550)
    "crawler.politeness.SiteSlotMiddleware": 45,
    "crawler.politeness.RobotsCacheMiddleware": 580,
}
SPIDER_MIDDLEWARES = {
    # the spider bounds its own fan-out (listing pages, child sitemaps); per-request
    # depth bookkeeping and meta-copy checks only cost time on 2,000-link sitemaps
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None,
    "crawler.middlewares.RecheckWindowMiddleware": 950,  # stored, not due: skipped
    "crawler.removals.RecheckKnownMiddleware": 960,  # due ones, within the budget: re-checked
    # outermost: counts every article request that leaves the spider side (crawler.ledger)
    "crawler.ledger.LedgerMiddleware": 10,
}

# Politeness (crawler/politeness.py; README "Politeness"): the limits in config are kept
# per site (registered domain), exactly, and adapted to how the site answers
DOWNLOADER = "crawler.politeness.PoliteDownloader"  # holds slot concurrency exactly
EXTENSIONS = {
    # off, so not even imported: it imports aiohttp and builds two TLS contexts (0.2 s of
    # every crawl's start; REMOTE_CONTROL_ENABLED is False anyway)
    "scrapy.extensions.remote_control.RemoteControl": None,
    "scrapy.extensions.throttle.AutoThrottle": None,  # replaced by the per-site one:
    "crawler.politeness.SiteThrottle": 0,  # AutoThrottle + 429/503 back-off + Crawl-delay
}
NEWSWATCH_SITE_SLOTS = True  # one download slot per site, with the source's limits
AUTOTHROTTLE_ENABLED = True  # delay follows latency (never below the configured one)
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0  # requests in flight it aims at (config: the ceiling)
AUTOTHROTTLE_MAX_DELAY = 60.0  # seconds: the longest delay throttling or back-off sets
NEWSWATCH_BACKOFF = True  # a 429/503 answer slows the whole site, not only that request
NEWSWATCH_BACKOFF_START = 1.0  # seconds: the least delay after a 429/503; doubles after each
NEWSWATCH_CRAWL_DELAY = True  # robots.txt Crawl-delay above the configured delay is applied
NEWSWATCH_CRAWL_DELAY_MAX = 60.0  # seconds: longer Crawl-delays are capped (and logged)
NEWSWATCH_ROBOTS_CACHE = True  # robots.txt kept between crawls, re-validated conditionally

# Throughput (issue 17; BENCHMARKS.md "Where the time goes"): per-response costs that earn
# nothing. Scrapy parses each callback's source (ast) to warn about generators that
# return a value (none of the spider's do); and spider output is processed by
# CONCURRENT_ITEMS tasks created per response (an article response yields one item).
WARN_ON_GENERATOR_RETURN_VALUE = False
