"""A Scrapy DNS resolver that resolves nothing and asks no one (``TWISTED_DNS_RESOLVER``):
a host that does not resolve, for tests, without a DNS query leaving the machine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scrapy.resolver import CachingThreadedResolver
from twisted.internet import defer
from twisted.internet.error import DNSLookupError


class NoDNSResolver(CachingThreadedResolver):
    """Every lookup fails at once with DNSLookupError, as for a name with no record."""

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Any:  # noqa: N802
        return defer.fail(DNSLookupError(f"no results for hostname lookup: {name}"))
