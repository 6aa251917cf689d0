"""URL canonicalisation: one spelling per article, whatever link led to it."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import courlan
from w3lib.url import canonicalize_url


def canonicalize(url: str) -> str:
    """Lower-case scheme/host, drop tracking parameters and the fragment, sort the query.

    courlan removes the trackers (utm_*, fbclid, gclid, ...); w3lib normalises the rest.
    """
    try:
        cleaned = courlan.normalize_url(url.strip())
    except ValueError:
        cleaned = url.strip()
    return canonicalize_url(cleaned)


def trusted_canonical(page_url: str, declared: str | None) -> str:
    """The page's rel=canonical when it stays on the page's host, else the page URL.

    A canonical link to another host is not trusted: a hostile or misconfigured page
    must not be able to claim another site's article.
    """
    if declared:
        absolute = urljoin(page_url, declared.strip())
        page_host = urlsplit(page_url).hostname
        parts = urlsplit(absolute)
        if parts.scheme in ("http", "https") and parts.hostname == page_host:
            return canonicalize(absolute)
    return canonicalize(page_url)
