"""SSRF through the source's own domain (issue 34, hole 1): a hostile site points
``internal.<its domain>`` at an internal address and links to it, or redirects an article
to ``/admin/delete-everything?confirm=1`` there. The guard skipped every host under a
configured domain; now every host is resolved and checked, the source's own included,
and the address checked is the one connected to (crawler/ssrf.py).

Real crawls of real servers on loopback. Names resolve through ``NEWSWATCH_DNS_HOSTS``
(the crawl's resolver answers them before any DNS query: none leaves the machine), so
the refusal runs through the same check a DNS answer does. ``127.0.0.66`` stands in for
the hostile site's public address (``NEWSWATCH_ALLOW_PRIVATE=127.0.0.66/32``); the
"internal" service listens on 127.0.0.1 and records every request it gets."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from crawler import ledger
from monitor.run import crawl

PUBLIC = "127.0.0.66"  # the hostile site's "public" address (allowed below)
INTERNAL = "127.0.0.1"  # where internal.hostile.test points
ADMIN = "/admin/delete-everything?confirm=1"
ARTICLE = ("<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
           + "<p>Trade officials from Viet Nam and the United States met in Ha Noi on "
             "Monday to review two-way commerce and supply chains.</p>" * 4
           + "</article></body></html>")


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, dict[str, str], bytes]]
    hits: list[str]

    def do_GET(self) -> None:  # noqa: N802
        self.hits.append(self.path)
        status, headers, body = self.routes.get(self.path, (404, {}, b"not here"))
        self.send_response(status)
        for name, value in {"Content-Type": "text/html; charset=utf-8", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class Server:
    """One HTTP/1.0 server (a connection per request), its requests recorded in
    ``hits``."""

    def __init__(self, host: str, port: int = 0) -> None:
        self.hits: list[str] = []
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        handler = type("Handler", (_Handler,), {"routes": self.routes, "hits": self.hits})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _pair() -> tuple[Server, Server]:
    """The hostile site on PUBLIC and the internal service on INTERNAL, on one port
    (so that a name rebinding from one to the other reaches the internal service)."""
    for _ in range(50):
        site = Server(PUBLIC)
        try:
            return site, Server(INTERNAL, site.port)
        except OSError:
            site.close()
    raise RuntimeError("no port free on both loopback addresses")


@pytest.fixture
def servers() -> Iterator[tuple[Server, Server]]:
    site, internal = _pair()
    internal.routes[ADMIN] = (200, {}, b"<p>everything deleted</p>")
    internal.routes["/a/direct-3"] = (200, {}, ARTICLE.format(title="Internal").encode())
    yield site, internal
    site.close()
    internal.close()


def _hostile_site(site: Server, internal: Server) -> None:
    inside = f"http://internal.hostile.test:{internal.port}"
    site.routes["/robots.txt"] = (200, {"Content-Type": "text/plain"}, b"")
    site.routes["/news"] = (200, {}, (
        "<html><body><a href='/a/normal-1'>one</a> <a href='/a/to-admin-2'>two</a> "
        f"<a href='{inside}/a/direct-3'>three</a></body></html>").encode())
    site.routes["/a/normal-1"] = (200, {}, ARTICLE.format(title="Normal").encode())
    site.routes["/a/to-admin-2"] = (302, {"Location": inside + ADMIN}, b"")


def _config(path: Path, site: Server, allow_private: str = "false") -> Path:
    path.write_text(
        "sources:\n  - name: hostile\n    title: Hostile\n    language: en\n"
        "    domains: [hostile.test]\n"
        f"    listings: ['http://www.hostile.test:{site.port}/news']\n"
        "    article_pattern: '/a/'\n    download_delay: 0\n"
        f"    allow_private: {allow_private}\n", encoding="utf-8")
    return path


def _crawl(tmp_path: Path, config: Path, **settings: Any) -> dict[str, Any]:
    result = crawl(config, tmp_path / "r.db", alerts=None, scrapy_settings={
        "NEWSWATCH_ALLOW_PRIVATE": f"{PUBLIC}/32",
        "NEWSWATCH_DNS_HOSTS": {"www.hostile.test": [PUBLIC],
                                "internal.hostile.test": [INTERNAL]},
        "DOWNLOAD_TIMEOUT": 5, "RETRY_ENABLED": False, **settings})
    (run,) = result.runs
    assert run["status"] == "finished"
    return run


def test_own_subdomain_on_an_internal_address_is_refused(
        tmp_path: Path, servers: tuple[Server, Server]) -> None:
    site, internal = servers
    _hostile_site(site, internal)
    run = _crawl(tmp_path, _config(tmp_path / "hostile.yaml", site))
    assert internal.hits == []  # never asked, least of all the admin path
    assert ADMIN not in internal.hits
    assert sorted(site.hits) == ["/a/normal-1", "/a/to-admin-2", "/news", "/robots.txt"]
    book = ledger.load(run["ledger"])
    assert book is not None and book["pages"].get("refused") == 2, book  # link + redirect
    detail = run["error_detail"]
    why = ("refused (SSRF guard): host internal.hostile.test resolves to non-public "
           "address 127.0.0.1, and the source does not allow it")
    for url in (f"http://internal.hostile.test:{internal.port}{ADMIN}",
                f"http://internal.hostile.test:{internal.port}/a/direct-3"):
        assert f"{url}: {why}" in detail, detail
    assert "not stored: refused 2" in ledger.dropped(book)  # what the crawl summary says


def test_the_same_site_allowed_private_reaches_the_internal_service(
        tmp_path: Path, servers: tuple[Server, Server]) -> None:
    """The control: the names do resolve to the internal service, and only the check
    stands between it and the crawl (an intranet source says ``allow_private: true``)."""
    site, internal = servers
    _hostile_site(site, internal)
    run = _crawl(tmp_path, _config(tmp_path / "intranet.yaml", site, "true"))
    assert sorted(internal.hits) == sorted([ADMIN, "/a/direct-3", "/robots.txt"])
    assert "refused" not in (ledger.load(run["ledger"]) or {}).get("pages", {})


def test_a_name_that_rebinds_is_connected_to_at_the_address_checked(
        tmp_path: Path, servers: tuple[Server, Server]) -> None:
    """DNS rebinding: ``www.hostile.test`` answers the public address to its first lookup
    and the internal one to every later lookup (tests/security/rebinding.py). Every
    request opens its own connection (HTTP/1.0), and every one reaches the public site:
    the answer checked is the one connected to."""
    site, internal = servers
    _hostile_site(site, internal)
    site.routes["/news"] = (200, {}, b"".join(
        f"<a href='/a/normal-{n}'>{n}</a>".encode() for n in range(1, 9)))
    for n in range(1, 9):
        site.routes[f"/a/normal-{n}"] = (200, {}, ARTICLE.format(title=f"N{n}").encode())
    run = _crawl(tmp_path, _config(tmp_path / "rebind.yaml", site),
                 TWISTED_DNS_RESOLVER="tests.security.rebinding.RebindingResolver",
                 NEWSWATCH_DNS_HOSTS={"www.hostile.test": [PUBLIC, INTERNAL]})
    assert internal.hits == []
    assert len(site.hits) == 10 and run["errors"] == 0, (site.hits, run["error_detail"])

