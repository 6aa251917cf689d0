"""SSRF guard: no request leaves for a local, private or non-web address.

``SsrfGuardMiddleware`` (``NEWSWATCH_SSRF_GUARD``) checks every request when it is
scheduled and again before every other downloader middleware that could connect
(robots.txt included): start URLs, links from feeds, sitemaps and listings, and the new
requests RedirectMiddleware makes for redirect targets (they are scheduled and pass
through ``process_request`` again). It refuses

- any scheme but http and https (``file:``, ``ftp:``, ``data:``, ``s3:`` ...), and
- any host that is, or resolves to, a loopback, private, link-local or unspecified
  address (127/8, ::1, 10/8, 172.16/12, 192.168/16, 169.254/16, fc00::/7, fe80::/10,
  0.0.0.0),

unless the host is one of the source's configured domains: a deployment that watches a
site on its own network says so in the config (the demo names the farm's 127.0.0.x hosts).
A refusal raises ``Refused`` (an ``IgnoreRequest``), counts ``newswatch/refused`` and is
recorded as an error of the crawl run, with the URL and the reason.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.exceptions import IgnoreRequest, NotConfigured

ALLOWED_SCHEMES = frozenset({"http", "https"})

BLOCKED_NETWORKS = tuple(ipaddress.ip_network(net) for net in (
    "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches the local host on Linux
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
    "169.254.0.0/16",  # link-local, cloud metadata (169.254.169.254)
    "::/128", "::1/128", "fc00::/7", "fe80::/10",
))

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], list[str]]


class Refused(IgnoreRequest):
    """The SSRF guard refused a request before any connection was made."""


def blocked_address(address: Address) -> bool:
    """True for a loopback, private, link-local or unspecified address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return any(address in net for net in BLOCKED_NETWORKS if net.version == address.version)


def resolve(host: str) -> list[str]:
    """Every address ``host`` resolves to (empty when it does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []  # the downloader will report the DNS failure itself
    return [str(info[4][0]).split("%", 1)[0] for info in infos]


def owns_host(host: str, domains: Iterable[str]) -> bool:
    """The rule of ``Source.owns_host``: one of the domains or a subdomain of one."""
    return any(host == d or host.endswith("." + d) for d in (d.lower() for d in domains))


def refusal(url: str, domains: Iterable[str] = (),
            resolver: Resolver = resolve) -> str | None:
    """Why ``url`` must not be fetched, or None when it may be."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
    except ValueError as exc:
        return f"unparsable URL ({exc})"
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        return f"scheme {scheme or '(none)'!r} not allowed (http and https only)"
    if not host:
        return "no host"
    if owns_host(host, domains):
        return None
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = []
        for text in resolver(host):
            try:
                addresses.append(ipaddress.ip_address(text))
            except ValueError:
                continue
        for address in addresses:
            if blocked_address(address):
                return (f"host {host} resolves to non-public address {address} "
                        "and is not a configured domain")
        return None
    if blocked_address(addresses[0]):
        return f"non-public address {addresses[0]} is not a configured domain"
    return None


class SsrfGuardMiddleware:
    """Downloader middleware: refuse requests for local, private or non-web URLs."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.addresses: dict[str, list[str]] = {}  # per host, resolved once per crawl

    @classmethod
    def from_crawler(cls, crawler: Any) -> SsrfGuardMiddleware:
        if not crawler.settings.getbool("NEWSWATCH_SSRF_GUARD"):
            raise NotConfigured
        guard = cls(crawler)
        # Scrapy's OffsiteMiddleware drops off-domain requests, unrecorded, when they are
        # scheduled: the guard checks there too (every handler runs), so a refusal is
        # recorded; process_request covers what is downloaded without being scheduled
        crawler.signals.connect(guard.request_scheduled, signal=signals.request_scheduled)
        return guard

    def _resolve(self, host: str) -> list[str]:
        if host not in self.addresses:
            self.addresses[host] = resolve(host)
        return self.addresses[host]

    def request_scheduled(self, request: Request, spider: Any) -> None:
        # a refusal here drops the request without an errback (Scrapy's engine): the
        # ledger counts it (crawler.ledger), and the recorded offsite filter skips it
        try:
            self.process_request(request)
        except Refused:
            request.meta["newswatch_refused"] = True
            if request.meta.get("kind") == "article":
                self.crawler.stats.inc_value("ledger/page/refused")
            raise

    def process_request(self, request: Request) -> None:
        spider = self.crawler.spider
        source = getattr(spider, "source", None)
        domains = list(getattr(source, "domains", None) or [])
        reason = refusal(request.url, domains, self._resolve)
        if reason is None:
            return
        reason = f"refused (SSRF guard): {reason}"
        self.crawler.stats.inc_value("newswatch/refused")
        record = getattr(spider, "record_error", None)
        if record is not None:
            record(request.url, reason)
        raise Refused(f"{request.url}: {reason}")
