"""Which hosts a crawl could not reach: connection-level failures summarised per host.

An offline site makes Scrapy log a traceback for its robots.txt and an error line for
every feed, sitemap and page it tries: hundreds of lines saying one thing. In the crawl
process, ``Reachability`` (a logging filter on Scrapy's handler plus a
``response_received`` hook) takes those records out of the log (they stay visible at
``--log-level DEBUG``, demoted), counts them per host, and at the end says which hosts
gave no answer at all: the caller prints one line per host.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

# Twisted / Scrapy failures below HTTP: no connection, or no answer on it
CONNECTION_ERRORS = ("ConnectionRefusedError", "TCPTimedOutError", "TimeoutError",
                     "DNSLookupError", "ConnectError", "ConnectionLost", "ConnectionDone",
                     "ResponseNeverReceived", "ConnectionAborted", "NoRouteError",
                     "UserTimeoutError", "ResponseFailed",
                     # Scrapy 2.19 wraps Twisted's: DNSLookupError, ResponseFailed (the
                     # other wrappers' names contain the Twisted names above)
                     "CannotResolveHostError", "DownloadFailedError")
_URL = re.compile(r"https?://[^\s>'\"]+")


def host_of(url: str) -> str:
    """``host:port`` of ``url`` (as the operator would type it), or ``?``."""
    parts = urlsplit(url)
    return parts.netloc.lower() or "?"


class Reachability(logging.Filter):
    """Counts connection-level failures and answers per host; drops the failures' log
    records unless the log level is DEBUG (then they pass, marked DEBUG)."""

    def __init__(self, keep: bool = False) -> None:
        super().__init__()
        self.keep = keep
        self.failures: dict[str, int] = {}
        self.reasons: dict[str, str] = {}
        self.answered: set[str] = set()
        self.sources: dict[str, set[str]] = {}
        self.held: dict[str, list[logging.LogRecord]] = {}  # of hosts not (yet) answering

    def response_received(self, response: Any, **_: Any) -> None:
        """Scrapy signal handler: this host answered (any HTTP status). Its failures held
        so far are logged now: on a host that answers, a failed page is a page's error."""
        host = host_of(response.url)
        if host in self.answered:
            return
        self.answered.add(host)
        for record in self.held.pop(host, []):
            logging.getLogger(record.name).handle(record)

    def _failure(self, record: logging.LogRecord) -> tuple[str, str] | None:
        """(host, reason) if ``record`` reports a connection-level failure."""
        text = record.getMessage()
        exc = record.exc_info[1] if record.exc_info else None
        names = [type(exc).__name__] if exc is not None else []
        if exc is not None and getattr(exc, "reasons", None):  # ResponseNeverReceived
            names += [type(getattr(r, "value", r)).__name__ for r in exc.reasons]
        hit = next((n for n in CONNECTION_ERRORS
                    if n in text or any(n in name for name in names)), None)
        if hit is None:
            return None
        url = _URL.search(text)
        if url is None:
            return None
        if hit in text:
            reason = text[text.find(hit):].splitlines()[0][:160]
        else:
            reason = f"{hit}: {exc}"[:160]
        return host_of(url.group(0)), reason

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        found = self._failure(record)
        if found is None:
            return True
        host, reason = found
        if host in self.answered:  # a live host: this page's error, logged as it is
            return True
        self.failures[host] = self.failures.get(host, 0) + 1
        self.reasons.setdefault(host, reason)
        source = getattr(getattr(record, "spider", None), "source", None)
        if source is not None:
            self.sources.setdefault(host, set()).add(source.name)
        if self.keep:  # --log-level DEBUG: shown now, as DEBUG
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return True
        self.held.setdefault(host, []).append(record)
        return False

    def unreachable(self) -> dict[str, dict[str, Any]]:
        """{host: {"failures": n, "reason": first reason, "sources": [names]}} of hosts
        that failed at the connection level and never answered (failures counted until
        the host's first answer)."""
        return {host: {"failures": count, "reason": self.reasons[host],
                       "sources": sorted(self.sources.get(host, ()))}
                for host, count in sorted(self.failures.items())
                if host not in self.answered}


    def attach(self, **_: Any) -> None:
        """Filter every root handler (Scrapy's); again whenever a crawler starts, since
        Scrapy may replace its root handler when a crawler applies its settings."""
        for handler in logging.root.handlers:
            handler.addFilter(self)
