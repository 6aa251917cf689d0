"""URL canonicalisation: one spelling per article, whatever link led to it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import courlan
from w3lib.url import canonicalize_url

from monitor.sources import url_rules

MAX_PASSES = 4  # canonicalize() repeats its pass until the URL stops changing
_SESSION_SEGMENT = re.compile(url_rules.SESSION_PATH_SEGMENT)
_SESSION_TOKEN = re.compile(url_rules.SESSION_TOKEN)


def canonicalize(url: str) -> str:
    """Lower-case scheme/host, drop tracking parameters, session IDs and the fragment,
    sort the query, fold an AMP spelling (``/amp/``, ``?amp=1``) to the article's URL.

    Session IDs (``;jsessionid=…``, ``?PHPSESSID=…``, ``?sid=<token>``, ASP.NET's
    ``/(S(…))/``: ``drop_session``, names in ``url_rules``) go first, so the URL is the
    same at every crawl and an anchored article pattern (``-\\d+\\.html$``) sees its end.
    Other path parameters keep their ``;`` (courlan would escape it as ``%3B``, another
    resource to a servlet container).

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
    url = drop_session(fold_amp(url.strip()))  # one spelling for an article
    try:
        cleaned = _keep_path_params(url, courlan.normalize_url(url.strip()))
    except ValueError:
        cleaned = url.strip()
    try:
        return canonicalize_url(cleaned)
    except ValueError:
        return cleaned


def drop_session(url: str) -> str:
    """``url`` without session IDs: path parameters (``;jsessionid=…``), query parameters
    (``PHPSESSID``, ``ASPSESSIONID…``, ``sid``/``s`` when the value is a token) and
    ASP.NET cookieless path segments (``/(S(…))/``); other URLs unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    path = _SESSION_SEGMENT.sub("", parts.path)
    if ";" in path:
        segments = []
        for segment in path.split("/"):
            head, *params = segment.split(";")
            kept = [p for p in params
                    if p.split("=", 1)[0].lower() not in url_rules.SESSION_PATH_PARAMS]
            segments.append(";".join([head, *kept]))
        path = "/".join(segments)
    query = parts.query
    if query:
        query = "&".join(pair for pair in query.split("&") if not _is_session(pair))
    if path == parts.path and query == parts.query:
        return url
    return urlunsplit((parts.scheme, parts.netloc, path, query, parts.fragment))


def _is_session(pair: str) -> bool:
    name, _, value = pair.partition("=")
    name = name.lower()
    return (name in url_rules.SESSION_QUERY_PARAMS
            or name.startswith(url_rules.SESSION_QUERY_PREFIXES)
            or (name in url_rules.SESSION_TOKEN_PARAMS and bool(_SESSION_TOKEN.match(value))))


def _keep_path_params(url: str, cleaned: str) -> str:
    """courlan's ``cleaned`` with the ``;`` of ``url``'s path parameters unescaped."""
    try:
        path = urlsplit(url).path
        parts = urlsplit(cleaned)
    except ValueError:
        return cleaned
    if ";" not in path or "%3b" in path.lower() or "%3B" not in parts.path:
        return cleaned
    return urlunsplit(parts._replace(path=parts.path.replace("%3B", ";")))


def site_host(host: str) -> str:
    """``host`` without a same-site prefix (``www.``, ``m.``, ``amp.``, ...): the hosts
    one publisher serves an article under share it."""
    host = (host or "").lower().strip(".")
    for prefix in sorted(url_rules.SAME_SITE_PREFIXES, key=len, reverse=True):
        if host.startswith(prefix) and host.count(".") >= 2:
            return host[len(prefix):]
    return host


def owns(host: str, domains: Sequence[str]) -> bool:
    """Whether ``host`` belongs to a source whose domains are ``domains``: one of them, a
    subdomain of one, or the same site under another prefix (m./www./amp./bare)."""
    host = (host or "").lower().strip(".")
    if not host:
        return False
    bare = site_host(host)
    for domain in domains:
        domain = (domain or "").lower().strip(".")
        if not domain:
            continue
        if host == domain or host.endswith("." + domain) or bare == site_host(domain):
            return True
    return False


def fold_amp(url: str) -> str:
    """The article URL of an AMP spelling: ``/amp/`` path prefix, ``/amp`` or ``.amp``
    suffix, ``?amp=1``-style flags (``monitor.changes.rules``); other URLs unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    path, query = parts.path, parts.query
    pairs = [p for p in query.split("&") if p] if query else []
    kept = [p for p in pairs if p.lower() not in url_rules.AMP_QUERY_FLAGS
            and p.lower().split("=")[0] not in ("amp",)]
    for prefix in url_rules.AMP_PATH_PREFIXES:
        if path.lower().startswith(prefix) and len(path) > len(prefix):
            path = "/" + path[len(prefix):]
    for suffix in sorted(url_rules.AMP_PATH_SUFFIXES, key=len, reverse=True):
        if path.lower().endswith(suffix) and len(path) > len(suffix):
            path = path[: -len(suffix)] + (".html" if suffix == ".amp.html" else "")
            break
    if path == parts.path and kept == pairs:
        return url
    return urlunsplit((parts.scheme, parts.netloc, path, "&".join(kept), parts.fragment))


def trusted_canonical(page_url: str, declared: str | None,
                      owned_domains: Sequence[str] = ()) -> str:
    """The page's rel=canonical when it stays on the page's site, else the page URL
    (its AMP spelling folded).

    The page's site is its own host or, when the page is on one of ``owned_domains``
    (the source's domains from its config), any host of those domains: their
    subdomains and their ``m.``/``www.``/``amp.``/bare spellings. A canonical link to any other host
    is not trusted: a hostile or misconfigured page must not be able to claim another
    site's article.
    """
    if declared:
        try:
            absolute = urljoin(page_url, declared.strip())
            parts = urlsplit(absolute)
            page_host = urlsplit(page_url).hostname or ""
            same_site = parts.hostname == page_host or (
                owns(parts.hostname or "", owned_domains) and owns(page_host, owned_domains))
        except ValueError:  # a link that does not parse, e.g. "http://[::1"
            return canonicalize(fold_amp(page_url))
        if parts.scheme in ("http", "https") and same_site:
            return canonicalize(fold_amp(absolute))
    return canonicalize(fold_amp(page_url))


@lru_cache(maxsize=1)
def _extract() -> Any:
    """tldextract with the Public Suffix List snapshot it bundles: no download at run
    time; private suffixes (blogspot.com, ...) count, so two blogs there are two sites.
    Made on first use: importing tldextract costs every command 0.15 s otherwise."""
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None,
                                 include_psl_private_domains=True)


@lru_cache(maxsize=4096)
def registered_domain(host: str) -> str:
    """The registered domain of ``host`` ("en.laodong.vn" -> "laodong.vn"); an IP address,
    ``localhost`` or a host under no known suffix is its own site (lower-cased)."""
    host = host.lower().rstrip(".")
    return _extract()(host).top_domain_under_public_suffix or host


def site_of(source: Any) -> str:
    """The site of a source (what one operator runs, one politeness budget: crawler.
    politeness): the registered domain of its first domain."""
    return registered_domain(source.domains[0])
