"""URL canonicalisation: one spelling per article, whatever link led to it."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import courlan
from w3lib.url import canonicalize_url

MAX_PASSES = 4  # canonicalize() repeats its pass until the URL stops changing


def canonicalize(url: str) -> str:
    """Lower-case scheme/host, drop tracking parameters and the fragment, sort the query.

    courlan removes the trackers (utm_*, fbclid, gclid, ...); w3lib normalises the rest.
    A URL neither can parse (a bad IPv6 bracket, a port out of range) comes back stripped
    but otherwise as given: a hostile link must not stop the parsing of a whole feed.

    Idempotent: courlan and w3lib do not always read a URL alike (after a backslash
    behind the host, w3lib makes ``host//path`` that courlan collapses on the next pass,
    and courlan then drops blank query parameters it had missed), so the pass repeats
    until the URL is stable: the URL an article is requested under is the one stored.
    """
    current = _canonical_pass(url)
    for _ in range(MAX_PASSES - 1):
        following = _canonical_pass(current)
        if following == current:
            break
        current = following
    return current


def _canonical_pass(url: str) -> str:
    try:
        cleaned = courlan.normalize_url(url.strip())
    except ValueError:
        cleaned = url.strip()
    try:
        return canonicalize_url(cleaned)
    except ValueError:
        return cleaned


def trusted_canonical(page_url: str, declared: str | None) -> str:
    """The page's rel=canonical when it stays on the page's host, else the page URL.

    A canonical link to another host is not trusted: a hostile or misconfigured page
    must not be able to claim another site's article.
    """
    if declared:
        try:
            absolute = urljoin(page_url, declared.strip())
            parts = urlsplit(absolute)
            same_host = parts.hostname == urlsplit(page_url).hostname
        except ValueError:  # a link that does not parse, e.g. "http://[::1"
            return canonicalize(page_url)
        if parts.scheme in ("http", "https") and same_host:
            return canonicalize(absolute)
    return canonicalize(page_url)
