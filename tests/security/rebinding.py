"""A rebinding DNS server, as a crawl process's resolver (``TWISTED_DNS_RESOLVER``): the
first lookup of a name answers its first address in ``NEWSWATCH_DNS_HOSTS``, every later
lookup its last one (a hostile name server with TTL 0 answers a public address to the
check and an internal one to the connection). No DNS query leaves the machine."""

from __future__ import annotations

from collections import Counter

from twisted.internet import defer

from crawler.ssrf import PinnedResolver


class RebindingResolver(PinnedResolver):
    """``PinnedResolver`` whose raw lookups change their answer after the first."""

    def __init__(self, reactor: object, settings: object) -> None:
        super().__init__(reactor, settings)
        self.asked: Counter[str] = Counter()

    def _raw_lookup(self, host: str) -> defer.Deferred[list[str]]:
        self.asked[host] += 1
        addresses = self.hosts.get(host, ())
        if not addresses:
            return defer.succeed([])
        return defer.succeed([addresses[0] if self.asked[host] == 1 else addresses[-1]])
