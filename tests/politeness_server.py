"""A real HTTP site that records what a crawler does to it: requests in flight, start times.

``Site(hosts=[...])`` serves one small news site on one or more loopback addresses (each
its own ThreadingHTTPServer on an ephemeral port; all of them count as one site):

- ``/robots.txt``: ``robots`` (text), with an ETag; answers 304 to a matching If-None-Match
- ``/sitemap.xml``: ``pages`` article URLs ``/a/<n>.html``, spread over the hosts in turn
- ``/a/<n>.html``: a small article after ``latency(k)`` seconds, where ``k`` is the number
  of article requests the site received before this one; ``status(k)`` may answer
  something else (429, 503) instead

Every request is recorded as a ``Hit`` (host, path, status, start, end: monotonic
seconds, taken when the request line was read and when the answer was written), and the
site keeps the largest number of requests it ever had in flight at once.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from typing import Any

ARTICLE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Vietnam and US talk trade, story {n}</title>
<meta property="article:published_time" content="2026-11-2{d}T08:00:00+07:00"></head>
<body><article><h1>Vietnam and US talk trade, story {n}</h1>
<p>Hanoi and Washington held talks on trade and supply chains on Monday, officials said,
in story number {n} of the politeness test site.</p>
<p>The two sides agreed to meet again next month to continue the talks on tariffs.</p>
</article></body></html>"""


@dataclass
class Hit:
    """One request the site answered."""

    host: str
    path: str
    status: int
    start: float
    end: float
    user_agent: str
    conditional: bool


class Site:
    """One recorded site on ``hosts`` (loopback addresses); a context manager."""

    def __init__(self, hosts: list[str], pages: int = 12, robots: str = "User-agent: *\n"
                 "Allow: /\n", latency: Callable[[int], float] = lambda k: 0.05,
                 status: Callable[[int], int] = lambda k: 200,
                 headers: Callable[[int], dict[str, str]] = lambda k: {}) -> None:
        self.hosts = hosts
        self.pages = pages
        self.robots = robots
        self.latency = latency
        self.status = status
        self.headers = headers
        self.lock = threading.Lock()
        self.hits: list[Hit] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.articles_seen = 0
        self.servers: list[ThreadingHTTPServer] = []
        self.threads: list[threading.Thread] = []

    # -- what the crawler did ------------------------------------------------------------
    def article_hits(self) -> list[Hit]:
        """Article requests, in the order they started."""
        with self.lock:
            return sorted((h for h in self.hits if h.path.startswith("/a/")),
                          key=lambda h: h.start)

    def starts(self) -> list[float]:
        """Start times of every request but robots.txt, sorted."""
        with self.lock:
            return sorted(h.start for h in self.hits if h.path != "/robots.txt")

    def min_gap(self) -> float:
        """The shortest time between two request starts (robots.txt left out)."""
        starts = self.starts()
        return min((b - a for a, b in pairwise(starts)), default=float("inf"))

    # -- the servers ---------------------------------------------------------------------
    @property
    def bases(self) -> list[str]:
        """``http://host:port`` of each address, in the order of ``hosts``."""
        return [f"http://{s.server_address[0]}:{s.server_address[1]}" for s in self.servers]

    def article_url(self, n: int) -> str:
        return f"{self.bases[n % len(self.bases)]}/a/{n}.html"

    def __enter__(self) -> Site:
        for host in self.hosts:
            server = ThreadingHTTPServer((host, 0), _handler(self))
            server.daemon_threads = True
            server.request_queue_size = 64
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            self.servers.append(server)
            self.threads.append(thread)
        return self

    def __exit__(self, *exc: Any) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()

    def source(self, name: str, **limits: Any) -> dict[str, Any]:
        """A sources-file entry for this site (``limits``: download_delay, concurrency...)."""
        return {"name": name, "title": name, "language": "en",
                "domains": list(self.hosts), "sitemaps": [f"{self.bases[0]}/sitemap.xml"],
                "article_pattern": r"/a/\d+\.html$", **limits}


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            start = time.monotonic()
            with site.lock:
                site.in_flight += 1
                site.max_in_flight = max(site.max_in_flight, site.in_flight)
            status, body, extra = 200, b"", {}
            conditional = bool(self.headers.get("If-None-Match"))
            try:
                status, body, extra = self._answer()
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
            finally:
                end = time.monotonic()
                with site.lock:
                    site.in_flight -= 1
                    site.hits.append(Hit(self.server.server_address[0], self.path, status,
                                         start, end, self.headers.get("User-Agent", ""),
                                         conditional))

        def _answer(self) -> tuple[int, bytes, dict[str, str]]:
            path = self.path
            if path == "/robots.txt":
                body = site.robots.encode()
                etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    return 304, b"", {"ETag": etag}
                return 200, body, {"Content-Type": "text/plain", "ETag": etag}
            if path == "/sitemap.xml":
                urls = "".join(f"<url><loc>{site.article_url(n)}</loc></url>"
                               for n in range(site.pages))
                body = ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns='
                        f'"http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>')
                return 200, body.encode(), {"Content-Type": "application/xml"}
            if path.startswith("/a/") and path.endswith(".html"):
                with site.lock:
                    k = site.articles_seen
                    site.articles_seen += 1
                time.sleep(site.latency(k))
                status = site.status(k)
                n = path[3:-5]
                if status != 200:
                    return status, b"busy", {"Content-Type": "text/plain", **site.headers(k)}
                body = ARTICLE.format(n=n, d=int(n) % 9 + 1).encode()
                return 200, body, {"Content-Type": "text/html; charset=utf-8"}
            return 404, b"not found", {"Content-Type": "text/plain"}

    return Handler
