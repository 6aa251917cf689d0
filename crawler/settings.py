"""Scrapy settings for newswatch (``scrapy crawl news -a source=NAME`` reads these)."""

BOT_NAME = "newswatch"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

USER_AGENT = "newswatch/0.1 (news monitor; +https://github.com/newswatch/newswatch)"
ROBOTSTXT_OBEY = True

CONCURRENT_REQUESTS = 32
# Per-source concurrency and delay come from config (DOWNLOAD_SLOTS, set by the spider).
# This value also sizes Twisted's keep-alive pool per host: kept above any source's
# concurrency, else connections are closed and reopened all the time.
CONCURRENT_REQUESTS_PER_DOMAIN = 16
CONCURRENT_ITEMS = 16  # an article response yields one item; the default 100 costs CPU
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 0
RETRY_TIMES = 2
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False  # no listening port in a daemon that reads the web
LOG_LEVEL = "INFO"
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

# Middlewares newswatch has no use for: each one costs reactor time on every request.
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware": None,
    "scrapy.downloadermiddlewares.httpproxy.HttpProxyMiddleware": None,
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,
}
SPIDER_MIDDLEWARES = {
    # the spider bounds its own fan-out (listing pages, child sitemaps); per-request
    # depth bookkeeping and meta-copy checks only cost time on 2,000-link sitemaps
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None,
}
