"""SSRF guard: no request leaves for a local, private, reserved or non-web address, and the
address checked is the address connected to.

Two parts, one rule (docs/SECURITY.md, "A hostile site"):

- ``SsrfGuardMiddleware`` (``NEWSWATCH_SSRF_GUARD``) checks every request when it is
  scheduled and again before every other downloader middleware that could connect
  (robots.txt included): start URLs, links from feeds, sitemaps and listings, and the new
  requests RedirectMiddleware makes for redirect targets (they are scheduled and pass
  through ``process_request`` again). It refuses any scheme but http and https, and
  *resolves every host, the source's own domains included*, then refuses the request
  when any address the host resolves to is non-public (``blocked_address``: loopback,
  private, link-local, CGNAT, documentation, multicast, reserved, unspecified; IPv4
  inside IPv6 is read as IPv4) and not allowed (below).
- ``PinnedResolver`` (Scrapy's ``TWISTED_DNS_RESOLVER``) is the only resolver of the
  crawl process: one lookup per host per process, whose answer is what the guard checks
  and what the connection uses, so a name cannot answer a public address to the check
  and a private one to the connection (DNS rebinding). A host whose answer no source's
  guard approved is checked again when it is connected to, under the process-wide
  allowance only: a path around the middleware still cannot connect to a private
  address.

Non-public addresses are allowed only where someone said so:

- ``allow_private`` of a source (sources file): ``true``, or a list of networks, for the
  hosts of *that source's own domains* (an intranet site); a redirect or link from
  another source to those hosts is still refused;
- ``NEWSWATCH_ALLOW_PRIVATE`` (a Scrapy setting; unset, the environment variable of that
  name): ``1``/``true``/``all`` allows every address for every host (the replica farm and
  the test suite run on 127.0.0.0/8), or a comma-separated list of networks
  (``127.0.0.16/32,10.8.0.0/16``).

``NEWSWATCH_DNS_HOSTS`` (a setting: ``{name: [address, ...]}``) answers those names
before any DNS query, like /etc/hosts for the crawl; the tests use it to make a name
resolve to a loopback address with no DNS traffic, through the same checks as a DNS
answer. A refusal raises ``Refused`` (an ``IgnoreRequest``), counts
``newswatch/refused`` (an article: the ledger's page outcome ``refused``) and is recorded
as an error of the crawl run, with the URL and the reason.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import defer, threads
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IResolutionReceiver

log = logging.getLogger(__name__)

ALLOWED_SCHEMES = frozenset({"http", "https"})
ALLOW_ENV = "NEWSWATCH_ALLOW_PRIVATE"  # environment variable (and Scrapy setting)

# Non-public networks (IANA special-purpose registries, RFC 6890 and successors): never
# connected to unless allowed. Python's ``is_global`` is checked as well.
BLOCKED_NETWORKS = tuple(ipaddress.ip_network(net) for net in (
    "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches the local host on Linux
    "10.0.0.0/8", "100.64.0.0/10",  # private; carrier-grade NAT (shared address space)
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local, cloud metadata (169.254.169.254)
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24",  # private, IETF, documentation, benchmarking
    "224.0.0.0/4", "240.0.0.0/4",  # multicast; reserved (and 255.255.255.255)
    "::/128", "::1/128", "100::/64", "2001:db8::/32", "fc00::/7", "fe80::/10", "ff00::/8",
))

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str], list[str]]


class Refused(IgnoreRequest):
    """The SSRF guard refused a request before any connection was made."""


def _embedded(address: Address) -> Address:
    """The IPv4 address an IPv6 address carries (``::ffff:127.0.0.1``, NAT64
    ``64:ff9b::7f00:1``, 6to4 ``2002:7f00:1::``), else ``address``."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in ipaddress.ip_network("64:ff9b::/96"):
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def blocked_address(address: Address) -> bool:
    """True for an address newswatch does not connect to unless allowed: loopback,
    private, link-local, shared (CGNAT), documentation, multicast, reserved or
    unspecified (``BLOCKED_NETWORKS``, or not ``is_global``); IPv4 carried in IPv6 is
    judged as IPv4."""
    address = _embedded(address)
    return (not address.is_global or address.is_multicast
            or any(address in net for net in BLOCKED_NETWORKS if net.version == address.version))


@dataclass(frozen=True)
class Allowance:
    """Which non-public addresses may be connected to: all of them, or those in
    ``networks``. ``Allowance()`` allows none."""

    everything: bool = False
    networks: tuple[Network, ...] = ()

    def allows(self, address: Address) -> bool:
        """Whether ``address`` (or the IPv4 address it carries) is allowed."""
        if self.everything:
            return True
        plain = _embedded(address)
        return any(a in net for net in self.networks for a in {address, plain}
                   if net.version == a.version)

    def __bool__(self) -> bool:
        return self.everything or bool(self.networks)

    @classmethod
    def parse(cls, value: Any) -> Allowance:
        """From a setting, an environment variable or a source's ``allow_private``:
        ``True``/``"1"``/``"true"``/``"yes"``/``"all"`` (every address); ``False``,
        ``None``, ``""``, ``"0"``, ``"false"``, ``"no"`` (none); a list of networks or
        addresses, or a string of them separated by commas or spaces
        (``"127.0.0.16/32, 10.8.0.0/16"``). Raises ValueError naming a bad entry."""
        if value is None or value is False:
            return cls()
        if value is True:
            return cls(everything=True)
        if isinstance(value, str):
            text = value.strip().lower()
            if text in ("", "0", "false", "no", "none"):
                return cls()
            if text in ("1", "true", "yes", "all"):
                return cls(everything=True)
            value = text.replace(",", " ").split()
        if not isinstance(value, Iterable):
            raise ValueError(f"{value!r}: expected true, false or a list of networks")
        networks = []
        for entry in value:
            try:
                networks.append(ipaddress.ip_network(str(entry).strip(), strict=False))
            except ValueError:
                raise ValueError(f"{entry!r} is not a network or an address "
                                 "(10.8.0.0/16, 127.0.0.16)") from None
        return cls(networks=tuple(networks))


NOTHING = Allowance()


def allowance(settings: Any = None, environ: Mapping[str, str] | None = None) -> Allowance:
    """The process-wide allowance: the ``NEWSWATCH_ALLOW_PRIVATE`` setting when set (not
    None), else the environment variable of that name. Raises ValueError when bad."""
    value = settings.get(ALLOW_ENV) if settings is not None else None
    if value is None:
        value = (os.environ if environ is None else environ).get(ALLOW_ENV)
    try:
        return Allowance.parse(value)
    except ValueError as exc:
        raise ValueError(f"{ALLOW_ENV}: {exc}") from None


def owns_host(host: str, domains: Iterable[str]) -> bool:
    """The rule of ``Source.owns_host``: one of the domains or a subdomain of one."""
    host = host.lower()
    return any(host == d or host.endswith("." + d) for d in (d.lower() for d in domains))


@dataclass(frozen=True)
class Policy:
    """What one source's guard allows: non-public addresses for its own ``domains`` when
    its ``allow_private`` (``source``) says so, anywhere when ``everywhere``
    (``NEWSWATCH_ALLOW_PRIVATE``) does."""

    domains: tuple[str, ...] = ()
    source: Allowance = NOTHING
    everywhere: Allowance = NOTHING

    def refusal(self, host: str, addresses: Sequence[str], literal: bool = False) -> str | None:
        """Why ``host``, answering ``addresses``, must not be connected to (None: it
        may). Every address must pass: a name answering one public and one private
        address is refused (a connection may use either)."""
        own = owns_host(host, self.domains)
        for text in addresses:
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                return f"host {host} resolves to {text!r}, not an address"
            if not blocked_address(address) or self.everywhere.allows(address):
                continue
            if own and self.source.allows(address):
                continue
            where = (f"non-public address {address}" if literal
                     else f"host {host} resolves to non-public address {address}")
            if own:
                return (f"{where}, and the source does not allow it (allow_private: "
                        "docs/SOURCES.md)")
            return f"{where}, and it is not one of the source's domains"
        return None


def split_host(url: str) -> tuple[str | None, str]:
    """``(reason, host)``: why ``url`` is refused before any lookup (scheme, no host,
    unparsable), or None and its host (lower case, no trailing dot, no brackets)."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
    except ValueError as exc:
        return f"unparsable URL ({exc})", ""
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        return f"scheme {scheme or '(none)'!r} not allowed (http and https only)", host
    if not host:
        return "no host", host
    return None, host


def _name(host: str) -> str:
    """A host as kept: lower case, no trailing dot, no brackets around an IPv6 address."""
    return host.strip("[]").lower().rstrip(".")


def literal(host: str) -> str | None:
    """``host`` as an address when it is one (``127.0.0.1``, ``::1``), else None."""
    try:
        return str(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        return None


def system_resolve(host: str) -> list[str]:
    """Every address ``host`` resolves to through the system resolver (getaddrinfo),
    without duplicates; empty when it does not resolve. Blocking: run in a thread."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []  # the connection reports the DNS failure itself
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


def refusal(url: str, domains: Iterable[str] = (), resolver: Resolver = system_resolve,
            source: Allowance = NOTHING, everywhere: Allowance = NOTHING) -> str | None:
    """Why ``url`` must not be fetched by a source of ``domains`` (None: it may),
    resolving its host with ``resolver`` (blocking; the crawl itself uses
    ``PinnedResolver``). ``source``: the source's ``allow_private``; ``everywhere``:
    ``NEWSWATCH_ALLOW_PRIVATE``."""
    reason, host = split_host(url)
    if reason:
        return reason
    policy = Policy(tuple(domains), source, everywhere)
    address = literal(host)
    if address is not None:
        return policy.refusal(host, [address], literal=True)
    return policy.refusal(host, resolver(host))


@dataclass
class Answer:
    """What one host resolved to in this process: ``addresses`` (empty: it did not
    resolve, ``error`` says why), and whether a source's guard approved them
    (``approved``: connected to as they are, whatever they are)."""

    addresses: tuple[str, ...]
    error: str | None = None
    approved: bool = False
    literal: bool = False


class _Resolution:
    """Twisted's ``IHostResolution`` of one lookup."""

    def __init__(self, name: str) -> None:
        self.name = name

    def cancel(self) -> None:  # pragma: no cover - HostnameEndpoint does not cancel
        pass


class PinnedResolver:
    """The crawl process's name resolver (``TWISTED_DNS_RESOLVER``; Twisted's
    ``IHostnameResolver``, which the reactor takes as it is): each host is looked
    up once (``NEWSWATCH_DNS_HOSTS``, else getaddrinfo in the reactor's thread pool,
    ``DNS_TIMEOUT`` seconds at most) and its answer kept for the process (at most
    ``DNSCACHE_SIZE`` hosts, least recently used dropped first), so the guard's check and
    the connection see the same addresses. Connections get IPv4 and IPv6 addresses.

    Connecting to a host no guard approved, the answer is checked again under the
    process-wide allowance (``NEWSWATCH_ALLOW_PRIVATE``) and a refused one resolves to no
    address (the connection fails with a DNS error, and the refusal is logged)."""

    installed: ClassVar[PinnedResolver | None] = None  # the one on this process's reactor

    def __init__(self, reactor: Any, settings: Any) -> None:
        self.reactor = reactor
        self.guard = settings.getbool("NEWSWATCH_SSRF_GUARD", True)
        self.everywhere = allowance(settings)
        self.timeout = settings.getfloat("DNS_TIMEOUT", 60) or None
        self.limit = max(1, settings.getint("DNSCACHE_SIZE", 10000))
        self.hosts: dict[str, tuple[str, ...]] = {}
        for name, addresses in (settings.getdict("NEWSWATCH_DNS_HOSTS") or {}).items():
            if isinstance(addresses, str):
                addresses = [addresses]
            self.hosts[str(name).lower().rstrip(".")] = tuple(
                str(ipaddress.ip_address(a)) for a in addresses)
        self.answers: OrderedDict[str, Answer] = OrderedDict()
        self.pending: dict[str, list[defer.Deferred[Answer]]] = {}
        self.lookups = 0  # lookups made (not answered from the cache): one per host

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> PinnedResolver:
        """Scrapy builds it with the CrawlerProcess (settings only) and the reactor."""
        return cls(reactor, crawler.settings)

    def install_on_reactor(self) -> None:
        """Resolve every connection of this process's reactor (Scrapy calls it once)."""
        self.reactor.installNameResolver(self)
        PinnedResolver.installed = self

    # -- answers ---------------------------------------------------------------------------
    def cached(self, host: str) -> Answer | None:
        """The answer kept for ``host`` (an address is its own answer), or None when it
        was not looked up yet."""
        host = _name(host)
        answer = self.answers.get(host)
        if answer is None:
            address = literal(host)
            if address is None:
                return None
            answer = self._keep(Answer((address,), literal=True), host)
        else:
            self.answers.move_to_end(host)
        return answer

    def lookup(self, host: str) -> defer.Deferred[Answer]:
        """``host``'s answer: kept, or looked up once (concurrent asks share the
        lookup). Never fails: a failed lookup is an answer without addresses."""
        host = _name(host)
        answer = self.cached(host)
        if answer is not None:
            return defer.succeed(answer)
        waiting: defer.Deferred[Answer] = defer.Deferred()
        if host in self.pending:
            self.pending[host].append(waiting)
            return waiting
        self.pending[host] = [waiting]
        self.lookups += 1
        self._raw_lookup(host).addCallbacks(
            lambda addresses: Answer(tuple(dict.fromkeys(addresses)),
                                     None if addresses else "no address"),
            lambda failure: Answer((), failure.getErrorMessage() or failure.type.__name__),
        ).addCallback(self._keep, host)
        return waiting

    def _raw_lookup(self, host: str) -> defer.Deferred[list[str]]:
        """The addresses of ``host``: ``NEWSWATCH_DNS_HOSTS``, else the system resolver
        in a thread (at most ``DNS_TIMEOUT`` seconds). A subclass may answer otherwise
        (the tests' rebinding resolver)."""
        if host in self.hosts:
            return defer.succeed(list(self.hosts[host]))
        reactor = self.reactor
        if reactor is None:
            from twisted.internet import reactor  # type: ignore[no-redef]
        found = threads.deferToThreadPool(reactor, reactor.getThreadPool(),
                                          system_resolve, host)
        if self.timeout:
            found.addTimeout(self.timeout, reactor)
        return found

    def _keep(self, answer: Answer, host: str) -> Answer:
        self.answers[host] = answer
        while len(self.answers) > self.limit:
            self.answers.popitem(last=False)
        for waiting in self.pending.pop(host, []):
            waiting.callback(answer)
        return answer

    def approve(self, host: str) -> None:
        """A source's guard checked ``host``'s kept answer and allows it: connections
        use it as it is."""
        answer = self.answers.get(_name(host))
        if answer is not None:
            answer.approved = True

    # -- connections (IHostnameResolver) ---------------------------------------------------
    def resolveHostName(self, resolutionReceiver: IResolutionReceiver,  # noqa: N802, N803
                        hostName: str, portNumber: int = 0,  # noqa: N803
                        addressTypes: Sequence[type] | None = None,  # noqa: N803
                        transportSemantics: str = "TCP") -> IResolutionReceiver:  # noqa: N803
        """Twisted's connection-time lookup: the kept answer's addresses (a refused
        answer: none)."""
        resolutionReceiver.resolutionBegan(_Resolution(hostName))

        def deliver(answer: Answer) -> None:
            reason = None
            if self.guard and not answer.approved:
                reason = Policy(everywhere=self.everywhere).refusal(
                    hostName, answer.addresses, literal=answer.literal)
            if reason:
                log.error("refused (SSRF guard) at connection: %s", reason)
            else:
                for text in answer.addresses:
                    kind = IPv6Address if ":" in text else IPv4Address
                    if addressTypes is None or kind in addressTypes:
                        resolutionReceiver.addressResolved(kind("TCP", text, portNumber))
            resolutionReceiver.resolutionComplete()

        self.lookup(hostName).addCallback(deliver)
        return resolutionReceiver


class SsrfGuardMiddleware:
    """Downloader middleware: refuse requests for non-web URLs and for hosts that resolve
    to non-public addresses the source is not allowed (see the module doc)."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.everywhere = allowance(crawler.settings)  # ValueError: a bad value, at once
        self._resolver: PinnedResolver | None = None
        self._policy: Policy | None = None

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

    @property
    def resolver(self) -> PinnedResolver:
        """The process's ``PinnedResolver``; without one, a resolver of the guard's own
        (checks as strict, the connection not pinned: warned once)."""
        if PinnedResolver.installed is not None:
            return PinnedResolver.installed
        if self._resolver is None:
            self._resolver = PinnedResolver(None, self.crawler.settings)
            if self.crawler.crawling:
                log.warning("TWISTED_DNS_RESOLVER is not crawler.ssrf.PinnedResolver: the "
                            "addresses the SSRF guard checks are not pinned for the "
                            "connection")
        return self._resolver

    @property
    def policy(self) -> Policy:
        """The running source's policy (its domains and ``allow_private``)."""
        source = getattr(self.crawler.spider, "source", None)
        if self._policy is None or self._policy.domains != tuple(
                getattr(source, "domains", None) or ()):
            self._policy = Policy(
                tuple(getattr(source, "domains", None) or ()),
                Allowance.parse(getattr(source, "allow_private", False)), self.everywhere)
        return self._policy

    def request_scheduled(self, request: Request, spider: Any) -> None:
        # a refusal here drops the request without an errback (Scrapy's engine): the
        # ledger counts it (crawler.ledger), and the recorded offsite filter skips it.
        # Only what needs no lookup is checked here (scheme, a literal address, a host
        # already looked up); process_request looks up the rest
        try:
            reason, host = split_host(request.url)
            if reason is None:
                answer = self.resolver.cached(host)
                if answer is not None:
                    reason = self.policy.refusal(host, answer.addresses, answer.literal)
            if reason:
                self._refuse(request, reason)
        except Refused:
            request.meta["newswatch_refused"] = True
            if request.meta.get("kind") == "article":
                self.crawler.stats.inc_value("ledger/page/refused")
            raise

    def process_request(self, request: Request, spider: Any = None) -> Any:
        """None when ``request`` may go on (its host's answer checked and approved);
        raises Refused. A host not looked up yet: a coroutine that looks it up first."""
        reason, host = split_host(request.url)
        if reason:
            self._refuse(request, reason)
        answer = self.resolver.cached(host)
        if answer is None:
            return self._lookup_then_check(request, host)
        self._check(request, host, answer)
        return None

    async def _lookup_then_check(self, request: Request, host: str) -> None:
        answer = await maybe_deferred_to_future(self.resolver.lookup(host))
        self._check(request, host, answer)

    def _check(self, request: Request, host: str, answer: Answer) -> None:
        reason = self.policy.refusal(host, answer.addresses, answer.literal)
        if reason:
            self._refuse(request, reason)
        self.resolver.approve(host)

    def _refuse(self, request: Request, reason: str) -> None:
        reason = f"refused (SSRF guard): {reason}"
        self.crawler.stats.inc_value("newswatch/refused")
        spider = self.crawler.spider
        record = getattr(spider, "record_error", None)
        if record is not None:
            record(request.url, reason)
        raise Refused(f"{request.url}: {reason}")
