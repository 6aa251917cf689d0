"""SSRF and scope: local, private and non-web URLs are refused before any connection."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy import Request
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.http import HtmlResponse
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from crawler.ssrf import Refused, SsrfGuardMiddleware, blocked_address, refusal
from monitor.farm import Farm
from monitor.run import crawl

PUBLIC = {"news.example": ["93.184.215.14"], "internal.example": ["10.1.2.3"],
          "metadata.example": ["169.254.169.254"], "v6.example": ["2606:4700::1", "fd00::5"]}


def _resolver(host: str) -> list[str]:
    return PUBLIC.get(host, [])  # no network: a fixed table


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://127.255.255.254:8080/x", "http://[::1]/",
    "http://10.0.0.1/", "http://10.255.1.1/", "http://172.16.0.1/", "http://172.31.255.255/",
    "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data/", "http://169.254.1.1/",
    "http://[fc00::1]/", "http://[fd12:3456::1]/", "http://[fe80::1]/", "http://0.0.0.0/",
    "http://[::ffff:127.0.0.1]/", "http://[::]/",
    "https://internal.example/", "http://metadata.example/", "http://v6.example/",
])
def test_private_loopback_link_local_hosts_are_refused(url: str) -> None:
    reason = refusal(url, ["news.example"], _resolver)
    assert reason is not None and "not a configured domain" in reason


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "ftp://127.0.0.1/x", "data:text/html,<p>x</p>", "s3://bucket/key",
    "gopher://127.0.0.1:25/", "javascript:alert(1)",
])
def test_non_web_schemes_are_refused(url: str) -> None:
    reason = refusal(url, ["127.0.0.1"], _resolver)
    assert reason is not None and "scheme" in reason


@pytest.mark.parametrize("url", [
    "http://news.example/a", "https://www.news.example/b", "http://93.184.215.14/",
    "http://172.32.0.1/", "http://192.169.0.1/", "http://unresolvable.example/",
    "http://127.0.0.12:8800/politics/x-1.ldo",  # configured: the farm's own address
    "http://10.0.0.7/intranet",  # configured: a site on the deployment's own network
])
def test_public_and_configured_hosts_are_allowed(url: str) -> None:
    assert refusal(url, ["news.example", "127.0.0.12", "10.0.0.7"], _resolver) is None


def test_blocked_address_ranges() -> None:
    import ipaddress

    for text, blocked in [("127.0.0.1", True), ("::1", True), ("10.0.0.1", True),
                          ("172.16.5.5", True), ("172.15.255.255", False),
                          ("192.168.0.1", True), ("169.254.169.254", True),
                          ("fc00::1", True), ("fe80::1", True), ("0.0.0.0", True),
                          ("8.8.8.8", False), ("2001:4860:4860::8888", False)]:
        assert blocked_address(ipaddress.ip_address(text)) is blocked, text


def _guard(domains: list[str]) -> tuple[SsrfGuardMiddleware, Any, list[tuple[str, str]]]:
    errors: list[tuple[str, str]] = []
    crawler = get_crawler(settings_dict={"NEWSWATCH_SSRF_GUARD": True})
    crawler.spider = SimpleNamespace(source=SimpleNamespace(domains=domains),
                                     record_error=lambda url, why: errors.append((url, why)))
    crawler.stats.open_spider()
    return SsrfGuardMiddleware.from_crawler(crawler), crawler, errors


def test_redirect_from_a_source_page_to_a_private_host_is_refused() -> None:
    guard, crawler, errors = _guard(["127.0.0.12"])
    page = Request("http://127.0.0.12:8800/politics/a-1.ldo", meta={"kind": "article"})
    assert guard.process_request(page) is None  # the source's own page: allowed
    redirect = RedirectMiddleware.from_crawler(crawler)
    for target in ("http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/admin",
                   "http://127.0.0.1:6379/", "file:///etc/passwd"):
        response = HtmlResponse(page.url, status=302, headers={"Location": target},
                                request=page)
        follow = redirect.process_response(page, response)
        if target.startswith("file:"):
            # Scrapy itself does not follow a redirect to a non-http(s) scheme; were it
            # to (an older or patched RedirectMiddleware), the guard still refuses it
            assert follow is response
            follow = page.replace(url=target)
        assert isinstance(follow, Request) and follow.url == target  # as the engine gets it
        with pytest.raises(Refused):
            guard.process_request(follow)
    assert [url for url, _ in errors] == ["http://169.254.169.254/latest/meta-data/",
                                          "http://10.0.0.1/admin", "http://127.0.0.1:6379/",
                                          "file:///etc/passwd"]
    assert crawler.stats.get_value("newswatch/refused") == 4


def test_guard_is_switched_by_its_setting() -> None:
    from scrapy.exceptions import NotConfigured

    crawler = get_crawler(settings_dict={"NEWSWATCH_SSRF_GUARD": False})
    with pytest.raises(NotConfigured):
        SsrfGuardMiddleware.from_crawler(crawler)
    from crawler import settings as project

    settings = Settings()
    settings.setmodule(project)
    assert settings.getbool("NEWSWATCH_SSRF_GUARD")
    middlewares = settings.getdict("DOWNLOADER_MIDDLEWARES")
    # before Offsite (50), so a refusal is recorded, and robots.txt (100)
    assert middlewares["crawler.ssrf.SsrfGuardMiddleware"] < 50


class _Recorder(BaseHTTPRequestHandler):
    body: dict[str, bytes] = {}
    hits: list[str]

    def do_GET(self) -> None:  # noqa: N802
        self.hits.append(self.path)
        body = self.body.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args: object) -> None:
        pass


def _serve(host: str, body: dict[str, bytes]) -> tuple[ThreadingHTTPServer, list[str]]:
    hits: list[str] = []
    handler = type("Handler", (_Recorder,), {"body": body, "hits": hits})
    server = ThreadingHTTPServer((host, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, hits


@pytest.fixture
def servers() -> Iterator[list[ThreadingHTTPServer]]:
    running: list[ThreadingHTTPServer] = []
    yield running
    for server in running:
        server.shutdown()
        server.server_close()


def test_crawl_refuses_private_and_non_web_urls_before_connecting(
        farm: Farm, tmp_path, servers: list[ThreadingHTTPServer]) -> None:
    # a trap on 127.0.0.1 (loopback, not a configured domain): it must never be reached
    trap, trap_hits = _serve("127.0.0.1", {})
    servers.append(trap)
    loopback = f"http://127.0.0.1:{trap.server_address[1]}/latest"
    bad_children = ["file:///etc/passwd", "ftp://127.0.0.1/x", "http://192.168.1.1/s.xml",
                    f"http://127.0.0.1:{trap.server_address[1]}/child.xml",
                    "http://[::1]/s.xml"]
    index = ("<?xml version='1.0' encoding='UTF-8'?>\n"
             "<sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
             + "".join(f"<sitemap><loc>{u}</loc></sitemap>" for u in bad_children)
             + "</sitemapindex>").encode()
    # the source's own host: 127.0.0.12, the farm's laodong_en address
    host = farm.variables["FARM_LAODONG_EN_HOST"]
    assert host == "127.0.0.12"
    site, site_hits = _serve(host, {"/robots.txt": b"", "/index.xml": index})
    servers.append(site)
    base = f"http://{host}:{site.server_address[1]}"
    refused = ["http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", loopback]
    config = tmp_path / "ssrf.yaml"
    config.write_text(
        "sources:\n  - name: ssrf\n    title: t\n    language: en\n"
        f"    domains: ['{host}']\n"
        f"    feeds: ['{refused[0]}', '{refused[1]}']\n"
        f"    sitemaps: ['{base}/index.xml']\n"
        f"    listings: ['{refused[2]}']\n"
        "    article_pattern: '-\\d+$'\n    download_delay: 0\n",
        encoding="utf-8")
    # the guard makes a timeout moot; were it to fail, the crawl would not hang for long
    result = crawl(config, tmp_path / "r.db",
                   scrapy_settings={"DOWNLOAD_TIMEOUT": 3, "RETRY_ENABLED": False})
    (run,) = result.runs
    assert run["status"] == "finished"
    assert trap_hits == []
    assert sorted(site_hits) == ["/index.xml", "/robots.txt"]
    assert run["requests"] == 2  # only the source's robots.txt and sitemap index
    detail = run["error_detail"]
    for url in [*refused, *bad_children]:
        line = next((x for x in detail.splitlines() if x.startswith(url + ": ")), None)
        assert line is not None, url
        assert "refused (SSRF guard)" in line
    assert "scheme 'file' not allowed" in detail and "scheme 'ftp' not allowed" in detail
    assert "non-public address 169.254.169.254" in detail
    assert "non-public address 10.0.0.1" in detail
    assert run["errors"] == len(refused) + len(bad_children)
