"""A small real HTTP server for discovery tests: fixed paths → (status, body, headers),
on 127.0.0.1 with an ephemeral port; gzip on the wire when a route asks for it."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

ARTICLE_PARAGRAPHS = [
    "Deputy Prime Minister Bui Thanh Son received the US Ambassador in Hanoi on Monday; the "
    "two sides discussed cooperation in trade, investment and education in the coming period.",
    "The Ambassador said Washington wanted to deepen the comprehensive strategic partnership "
    "and expand exchanges between universities of both countries.",
    "Both sides agreed to prepare for the next round of economic talks later this year.",
]


def article_html(title: str, body_class: str = "story") -> bytes:
    """An article page with a dated meta tag and three paragraphs."""
    paragraphs = "".join(f"<p>{p} ({title})</p>" for p in ARTICLE_PARAGRAPHS)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}'
            '</title><meta property="article:published_time" '
            'content="2024-03-25T14:30:00+07:00"></head><body><div class="nav">'
            f'<a href="/">Home</a></div><article class="{body_class}"><h1>{title}</h1>'
            f"{paragraphs}</article></body></html>").encode()


@dataclass
class Route:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    gzip_wire: bool = False  # send gzipped with Content-Encoding: gzip
    headers: dict[str, str] = field(default_factory=dict)


class Site:
    """Routes served on 127.0.0.1:<port>; ``{{BASE}}`` in a body becomes the base URL."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                site.hits.append(self.path)
                route = site.routes.get(self.path) or site.routes.get(self.path.split("?")[0])
                if route is None:
                    route = Route(b"not found", "text/plain", 404)
                body = route.body.replace(b"{{BASE}}", site.base.encode())
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                if route.gzip_wire:
                    body = gzip.compress(body)
                    self.send_header("Content-Encoding", "gzip")
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, path: str, body: bytes | str, **kwargs: Any) -> None:
        self.routes[path] = Route(body.encode() if isinstance(body, str) else body, **kwargs)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def serving() -> Iterator[Site]:
    site = Site()
    try:
        yield site
    finally:
        site.close()


def source_config(path: Path, site: Site, feeds: list[str] = (), sitemaps: list[str] = (),
                  listings: list[str] = (), pattern: str = r"/news/[a-z0-9-]+-\d{4}\.html$",
                  name: str = "testsite") -> Path:
    """A sources file with one source on ``site``."""
    data = {"sources": [{
        "name": name, "title": "Test site", "language": "en", "domains": ["127.0.0.1"],
        "feeds": [site.base + f for f in feeds], "sitemaps": [site.base + s for s in sitemaps],
        "listings": [site.base + u for u in listings], "article_pattern": pattern,
        "download_delay": 0}]}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path
