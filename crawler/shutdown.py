"""An orderly stop of a running crawl (Ctrl-C, SIGTERM, a stop request), in the crawl
process (``monitor.run.crawl``), that ends within the parent's grace period and never stops
the reactor before every run is recorded.

Scrapy's own SIGINT handler (``CrawlerProcess._signal_shutdown``) had two faults that
lost a run's counts (issue: "0 articles stored" while articles were in the database):

- it stops the reactor as soon as ``Crawler.stop`` returns. When the spider was already
  closing by itself (the crawl had just ended, the ``--limit`` reached), that returns at
  once (``close_spider`` sees a close in progress and only waits for the requests in
  flight), and the reactor stopped in the middle of the first close: the pipelines'
  ``close_spider`` and the ``spider_closed`` handlers never ran, so neither the
  crawl-run row nor the backfill cursor got their counts.
- an orderly close waits for every request the downloader holds, including those queued
  in a site's slot behind its ``download_delay``: with a delay of 1 s and 16 requests
  queued, the stop took longer than the parent's grace (``GRACE_SECONDS``), which then
  killed the process group, and the counts with it.

Here the reactor stops only when every crawl has ended (``CrawlerProcess.start`` with
``stop_after_crawl``), a spider that is closing already is left to finish its close, and
requests still waiting in a download slot (not sent yet) are dropped first: they end as
``IgnoreRequest`` with no errback, so a spider does not count them as failed pages, and
the next crawl fetches them. Requests on the wire still finish (or time out).
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import deferred_from_coro

log = logging.getLogger(__name__)

STOPPING = "newswatch/stopping"  # stat set on a crawler asked to stop (for middlewares)


class NotSentBeforeStop(IgnoreRequest):
    """A request still queued in a download slot when the crawl was asked to stop."""


def stopping(crawler: Any) -> bool:
    """Whether ``crawler`` was asked to stop in order (``stop_in_order``)."""
    stats = getattr(crawler, "_stats", None)
    return bool(stats is not None and stats.get_value(STOPPING))


def drop_queued(downloader: Any) -> int:
    """Fail every request waiting in ``downloader``'s slot queues (not sent yet) with
    ``NotSentBeforeStop``, errback removed (Scrapy then drops it silently). Returns how
    many were dropped."""
    dropped = 0
    for slot in list(getattr(downloader, "slots", {}).values()):
        while slot.queue:
            request, deferred = slot.queue.popleft()
            request.errback = None
            deferred.errback(NotSentBeforeStop("crawl stopped before this request was sent"))
            dropped += 1
    return dropped


def stop_in_order(crawler: Any) -> bool:
    """Start an orderly close (reason ``shutdown``) of ``crawler``'s spider, as Scrapy's
    graceful stop does, without stopping the reactor. A spider already closing finishes
    its own close. Returns False when the crawler has no open spider yet (call again
    when its engine starts: ``engine_started``)."""
    stats = getattr(crawler, "_stats", None)  # (Scrapy's late attribute, unset before start)
    if stats is not None:
        stats.set_value(STOPPING, True)
    try:
        engine = crawler.engine
    except Exception:  # noqa: BLE001 - Scrapy's late attribute: no engine yet
        engine = None
    slot = getattr(engine, "_slot", None)
    # the engine has a slot from the start of ``open_spider_async``, but the spider is
    # open only once that returns (its pipelines opened, ``spider_opened`` sent) and the
    # engine starts: a close before that ran the ``spider_closed`` handlers of a spider
    # never opened (CoreStats asserts its start time: a traceback in the crawl's log).
    # Until then, ``engine_started`` calls this again
    if (engine is None or engine.spider is None or slot is None
            or not getattr(engine, "_starting", False)):
        return False
    if slot.closing is not None:  # closing already (finished, or asked before)
        return True
    # as Scrapy's Engine.stop_async: the spider's start() is read no further
    start = getattr(engine, "_start_request_processing_awaitable", None)
    if start is not None:
        start.cancel()
        engine._start_request_processing_awaitable = None  # noqa: SLF001
    dropped = drop_queued(engine.downloader)
    if dropped:
        log.info("stopping: %d requests not sent yet dropped", dropped)
    deferred_from_coro(engine.close_spider_async(reason="shutdown"))
    return True
