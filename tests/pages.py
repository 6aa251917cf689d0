"""A tiny real HTTP server for tests whose pages a test sets and changes: path -> page.

Several servers can share one port on different loopback addresses (one site's bare
and ``m.`` hosts). Pages carry an ETag of their bytes and answer If-None-Match.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

Page = tuple[int, str, dict[str, str]]  # status, body, extra headers


class PageServer:
    """Serve ``pages`` (path with query -> body, or (status, body, headers), or a callable
    returning either) on ``host``; 404 for anything else."""

    def __init__(self, host: str, port: int = 0) -> None:
        self.pages: dict[str, str | Page | Callable[[], str | Page]] = {}
        self.hits: dict[str, int] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                owner.hits[self.path] = owner.hits.get(self.path, 0) + 1
                page = owner.pages.get(self.path)
                if callable(page):
                    page = page()
                if page is None:
                    status, body, headers = 404, "<html><body>not found</body></html>", {}
                elif isinstance(page, str):
                    status, body, headers = 200, page, {}
                else:
                    status, body, headers = page
                data = body.encode("utf-8")
                etag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
                if status == 200 and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(status)
                content_type = headers.pop("Content-Type", "text/html; charset=utf-8") \
                    if isinstance(headers, dict) else "text/html; charset=utf-8"
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                if status == 200:
                    self.send_header("ETag", etag)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.host = host
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> PageServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def sources_file(path: Path, name: str, domains: list[str], listings: list[str],
                 pattern: str, extra: str = "") -> Path:
    """A sources file with one source (no profile, no delay)."""
    quoted = ", ".join(f'"{d}"' for d in domains)
    urls = ", ".join(f'"{u}"' for u in listings)
    path.write_text(f"""sources:
  - name: {name}
    title: Test site
    language: en
    domains: [{quoted}]
    listings: [{urls}]
    article_pattern: '{pattern}'
    download_delay: 0
{extra}""", encoding="utf-8")
    return path


def alerts_file(path: Path, extra_rules: str = "") -> Path:
    """Alert rules writing to a webhook that is never delivered to (the outbox is what
    the tests count)."""
    path.write_text(f"""channels:
  hook:
    webhook: "${{NW_HOOK_URL}}"
rules:
  - name: all
    kinds: [new, updated, removed]
    channels: [hook]
{extra_rules}""", encoding="utf-8")
    return path
