"""Download handlers: Scrapy's HTTP/1.1 handler with a close that cannot fire twice.

``scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler.close`` closes the
keep-alive pool (``HTTPConnectionPool.closeCachedConnections``: a graceful
``loseConnection`` of every idle connection, gathered in one Deferred) and, because that
can hang, fires the same Deferred itself after ``_disconnect_timeout`` (1 s). When the
connections take longer than that to close (a loaded machine, a peer that does not read),
both fire it: the late close raises ``AlreadyCalledError`` inside Twisted, which logs an
"Unhandled error in Deferred" traceback at the end of an otherwise finished crawl (seen
in the daemon's log in CI; scrapy/scrapy#999 added the timeout, #2653 discusses its
limits). Here the timeout and the close each end the wait once, whichever comes first;
the other is a no-op. An error while closing an idle connection is not the crawl's.
"""

from __future__ import annotations

from typing import Any

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred


class OnceClosingHTTP11DownloadHandler(HTTP11DownloadHandler):
    """``HTTP11DownloadHandler`` whose ``close`` waits for the idle connections to close,
    at most ``_disconnect_timeout`` seconds (Scrapy's 1 s), and never fires twice."""

    async def close(self) -> None:
        from twisted.internet import reactor

        closed: Deferred[None] = Deferred()

        def end_wait(_: Any = None) -> None:
            if not closed.called:
                closed.callback(None)

        # addBoth returns None: a failure to close an idle connection is not logged later
        self._pool.closeCachedConnections().addBoth(end_wait)
        timer = reactor.callLater(self._disconnect_timeout, end_wait)  # type: ignore[attr-defined]
        try:
            await maybe_deferred_to_future(closed)
        finally:
            if timer.active():
                timer.cancel()
