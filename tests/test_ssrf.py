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

from crawler.ssrf import (
    ALLOW_ENV,
    Allowance,
    Refused,
    SsrfGuardMiddleware,
    allowance,
    blocked_address,
    refusal,
)
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
    "http://[::ffff:127.0.0.1]/", "http://[::]/", "http://100.64.0.1/", "http://[64:ff9b::a00:1]/",
    "http://[2002:7f00:1::]/", "http://224.0.0.1/", "http://240.0.0.1/",
    "https://internal.example/", "http://metadata.example/", "http://v6.example/",
])
def test_private_loopback_link_local_hosts_are_refused(url: str) -> None:
    reason = refusal(url, ["news.example"], _resolver)
    assert reason is not None and "non-public address" in reason


@pytest.mark.parametrize("url", [
    # the source's own domain and its subdomains are resolved and checked too (issue 34)
    "http://internal.news.example/admin/delete-everything?confirm=1",
    "http://metadata.news.example/", "http://v6.news.example/", "http://news.example:81/",
])
def test_the_sources_own_hosts_are_checked_too(url: str) -> None:
    table = {"internal.news.example": ["10.1.2.3"], "metadata.news.example": ["169.254.169.254"],
             "v6.news.example": ["2606:4700::1", "fd00::5"], "news.example": ["127.0.0.1"]}
    reason = refusal(url, ["news.example"], lambda host: table.get(host, []))
    assert reason is not None and "the source does not allow it" in reason, reason


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "ftp://127.0.0.1/x", "data:text/html,<p>x</p>", "s3://bucket/key",
    "gopher://127.0.0.1:25/", "javascript:alert(1)",
])
def test_non_web_schemes_are_refused(url: str) -> None:
    reason = refusal(url, ["127.0.0.1"], _resolver, Allowance(everything=True),
                     Allowance(everything=True))
    assert reason is not None and "scheme" in reason


@pytest.mark.parametrize("url", [
    "http://news.example/a", "https://www.news.example/b", "http://93.184.215.14/",
    "http://172.32.0.1/", "http://192.169.0.1/", "http://unresolvable.example/",
])
def test_public_hosts_are_allowed(url: str) -> None:
    assert refusal(url, ["news.example"], _resolver) is None


def test_private_addresses_only_where_allowed() -> None:
    intranet = Allowance.parse(["10.0.0.0/24"])
    # a source's allow_private: its own hosts, in its networks
    assert refusal("http://10.0.0.7/intranet", ["10.0.0.7"], _resolver, intranet) is None
    assert refusal("http://127.0.0.12:8800/x-1.ldo", ["127.0.0.12"], _resolver,
                   Allowance.parse(True)) is None
    assert "does not allow" in (refusal("http://10.0.1.7/", ["10.0.1.7"], _resolver, intranet)
                                or "")
    # never for another host, even in its networks
    assert "not one of the source's domains" in (
        refusal("http://10.0.0.8/", ["10.0.0.7"], _resolver, intranet) or "")
    # NEWSWATCH_ALLOW_PRIVATE: every host, in its networks
    farm = Allowance.parse("127.0.0.0/8")
    assert refusal("http://127.0.0.1:6379/", [], _resolver, everywhere=farm) is None
    assert refusal("http://10.0.0.1/", [], _resolver, everywhere=farm) is not None


@pytest.mark.parametrize(("text", "everything", "networks"), [
    (None, False, 0), ("", False, 0), ("0", False, 0), ("false", False, 0),
    ("1", True, 0), ("true", True, 0), ("all", True, 0), (True, True, 0),
    ("127.0.0.16/32, 10.8.0.0/16", False, 2), ("127.0.0.16", False, 1), (["::1"], False, 1),
])
def test_allowance_values(text: object, everything: bool, networks: int) -> None:
    found = Allowance.parse(text)
    assert found.everything is everything and len(found.networks) == networks


def test_a_bad_allowance_is_one_line() -> None:
    with pytest.raises(ValueError, match="'10.0.0.0/33' is not a network"):
        allowance(environ={ALLOW_ENV: "10.0.0.0/33"})
    assert allowance({ALLOW_ENV: ""}, environ={ALLOW_ENV: "1"}) == Allowance()  # setting wins
    assert allowance({}, environ={ALLOW_ENV: "1"}) == Allowance(everything=True)


def test_blocked_address_ranges() -> None:
    import ipaddress

    for text, blocked in [("127.0.0.1", True), ("::1", True), ("10.0.0.1", True),
                          ("172.16.5.5", True), ("172.15.255.255", False),
                          ("192.168.0.1", True), ("169.254.169.254", True),
                          ("fc00::1", True), ("fe80::1", True), ("0.0.0.0", True),
                          ("8.8.8.8", False), ("2001:4860:4860::8888", False)]:
        assert blocked_address(ipaddress.ip_address(text)) is blocked, text


def _guard(domains: list[str], allow_private: object = False,
           ) -> tuple[SsrfGuardMiddleware, Any, list[tuple[str, str]]]:
    errors: list[tuple[str, str]] = []
    crawler = get_crawler(settings_dict={"NEWSWATCH_SSRF_GUARD": True,
                                         "NEWSWATCH_ALLOW_PRIVATE": ""})
    crawler.spider = SimpleNamespace(
        source=SimpleNamespace(domains=domains, allow_private=allow_private),
        record_error=lambda url, why: errors.append((url, why)))
    crawler.stats.open_spider()
    return SsrfGuardMiddleware.from_crawler(crawler), crawler, errors


def test_redirect_from_a_source_page_to_a_private_host_is_refused() -> None:
    guard, crawler, errors = _guard(["127.0.0.12"], allow_private=True)
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
    assert settings.get("TWISTED_DNS_RESOLVER") == "crawler.ssrf.PinnedResolver"  # pinned
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
        f"    domains: ['{host}']\n    allow_private: true\n"
        f"    feeds: ['{refused[0]}', '{refused[1]}']\n"
        f"    sitemaps: ['{base}/index.xml']\n"
        f"    listings: ['{refused[2]}']\n"
        "    article_pattern: '-\\d+$'\n    download_delay: 0\n",
        encoding="utf-8")
    # the guard makes a timeout moot; were it to fail, the crawl would not hang for long
    # nothing allowed for every host (the suite's default allows all: tests/conftest.py);
    # the source's own host by its allow_private
    result = crawl(config, tmp_path / "r.db",
                   scrapy_settings={"DOWNLOAD_TIMEOUT": 3, "RETRY_ENABLED": False,
                                    "NEWSWATCH_ALLOW_PRIVATE": ""})
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
    assert "non-public address 169.254.169.254, and it is not one of the source's" in detail
    assert "non-public address 10.0.0.1" in detail
    assert run["errors"] == len(refused) + len(bad_children)
