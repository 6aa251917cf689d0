"""Discovery formats: feeds (RSS 0.9x/1.0/2.0, Atom, JSON Feed), sitemaps (with Google
News tags), gzip by magic bytes, feed autodiscovery, and the link rules applied before a
source's article pattern (tracking parameters dropped, article-like links counted).

Pure functions over bytes and strings; ``crawler.spiders.news`` applies them. The rules
(tracking parameters, what an article-like link looks like) are data:
``config/discovery.yaml``.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import zlib
from calendar import timegm
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import courlan.clean
import feedparser
import lxml.etree
import yaml

from monitor.sources.config import CONFIG_DIR

DISCOVERY_FILE = CONFIG_DIR / "discovery.yaml"
GZIP_MAGIC = b"\x1f\x8b"
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json",
              "application/rdf+xml")


class UnreadableGzip(ValueError):
    """Bytes that start like gzip but do not decompress (truncated or corrupt)."""


@dataclass(frozen=True)
class DiscoveryRules:
    """Link rules: tracking parameters to drop, and what an article-like link looks like."""

    tracking_params: frozenset[str] = frozenset()
    tracking_prefixes: tuple[str, ...] = ()
    article_like: tuple[re.Pattern[str], ...] = ()


@lru_cache(maxsize=8)
def load_rules(path: str | Path = DISCOVERY_FILE) -> DiscoveryRules:
    """Read ``config/discovery.yaml`` (a missing file: no extra rules)."""
    path = Path(path)
    if not path.exists():
        return DiscoveryRules()
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return DiscoveryRules(
        tracking_params=frozenset(p.lower() for p in data.get("tracking_params") or []),
        tracking_prefixes=tuple(p.lower() for p in data.get("tracking_prefixes") or []),
        article_like=tuple(re.compile(p) for p in data.get("article_like") or []))


def drop_tracking(url: str, rules: DiscoveryRules | None = None) -> str:
    """``url`` without query parameters that are not part of an article's identity:
    courlan's tracker list plus the configured names and prefixes. Order and the other
    parameters are kept; a URL that does not parse comes back unchanged."""
    rules = rules or load_rules()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.query:
        return url
    kept = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        low = name.lower()
        if (low in rules.tracking_params or low.startswith(rules.tracking_prefixes)
                or courlan.clean.TRACKERS_RE.search(low)):
            continue
        kept.append((name, value))
    return urlunsplit(parts._replace(query=urlencode(kept)))


def looks_like_article(url: str, rules: DiscoveryRules | None = None) -> bool:
    """Whether a link's path looks like an article's (a long slug or a numeric id)."""
    rules = rules or load_rules()
    try:
        path = urlsplit(url).path
    except ValueError:
        return False
    return any(pattern.search(path) for pattern in rules.article_like)


def join(base: str, link: str) -> str | None:
    """``link`` made absolute against ``base``, whatever its scheme; None only when it
    does not parse (``http://[::1``)."""
    try:
        absolute = urljoin(base, link.strip())
        urlsplit(absolute)
    except ValueError:
        return None
    return absolute


def safe_join(base: str, link: str) -> str | None:
    """``link`` made absolute against ``base``; None when it does not parse (``http://[::1``)
    or is not http(s)."""
    try:
        absolute = urljoin(base, link.strip())
        scheme = urlsplit(absolute).scheme
    except ValueError:
        return None
    return absolute if scheme in ("http", "https") else None


# -- gzip -----------------------------------------------------------------------------------
def maybe_gunzip(body: bytes, max_size: int = 0) -> bytes:
    """Decompress ``body`` when it starts with the gzip magic bytes, whatever the file is
    called (a ``.xml.gz`` already decompressed by Content-Encoding is plain XML).
    ``max_size`` (bytes, 0: no cap) bounds the output. Raises UnreadableGzip."""
    if not body.startswith(GZIP_MAGIC):
        return body
    out = io.BytesIO()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:
            while chunk := stream.read(65536):
                out.write(chunk)
                if max_size and out.tell() > max_size:
                    raise UnreadableGzip(f"gzip body larger than {max_size} bytes unpacked")
    except (OSError, EOFError, zlib.error) as exc:
        raise UnreadableGzip(f"gzip magic bytes but unreadable: {exc}") from exc
    return out.getvalue()


# -- feeds ----------------------------------------------------------------------------------
@dataclass
class Entry:
    """One feed entry or sitemap URL, with the hints its source gives."""

    url: str | None
    published: str | None = None  # ISO 8601 UTC
    title: str | None = None
    language: str | None = None


@dataclass
class Feed:
    """A parsed feed: its format, entries, and why it could not be read (None: it could)."""

    kind: str
    entries: list[Entry] = field(default_factory=list)
    error: str | None = None


def _iso(parsed: Any) -> str | None:
    if not parsed:
        return None
    return datetime.fromtimestamp(timegm(parsed), UTC).isoformat(timespec="seconds")


def _http(url: Any, base: str) -> str | None:
    return safe_join(base, url) if isinstance(url, str) and url.strip() else None


def entry_url(entry: dict[str, Any], base: str) -> str | None:
    """An entry's article URL: ``link``; else an absolute http(s) ``id`` (RSS 1.0
    ``rdf:about``, an Atom id that is a URL, a permalink guid); else an alternate link."""
    link = _http(entry.get("link"), base)
    if link:
        return link
    ident = entry.get("id")
    if isinstance(ident, str) and ident.strip().lower().startswith(("http://", "https://")):
        found = _http(ident, base)
        if found:
            return found
    for candidate in entry.get("links") or []:
        if candidate.get("rel", "alternate") == "alternate":
            found = _http(candidate.get("href"), base)
            if found:
                return found
    return None


def _json_feed(body: bytes, base: str) -> Feed | None:
    head = body.lstrip()[:1]
    if head != b"{":
        return None
    try:
        data = json.loads(body)
    except ValueError as exc:
        return Feed("json", error=f"unreadable JSON Feed: {exc}")
    if not isinstance(data, dict) or "jsonfeed.org" not in str(data.get("version", "")):
        return Feed("json", error="JSON that is not a JSON Feed (no jsonfeed.org version)")
    entries = []
    for item in data.get("items") or []:
        if not isinstance(item, dict):
            continue
        url = entry_url({"link": item.get("url"), "id": item.get("id"),
                         "links": [{"href": item.get("external_url")}]}, base)
        published = item.get("date_published")
        try:
            published = (datetime.fromisoformat(published).astimezone(UTC)
                         .isoformat(timespec="seconds") if published else None)
        except (TypeError, ValueError):
            published = None
        entries.append(Entry(url, published, item.get("title"), item.get("language")
                             or data.get("language")))
    return Feed("json", entries)


def parse_feed(body: bytes, base: str) -> Feed:
    """RSS 0.9x/1.0 (RDF)/2.0, Atom or JSON Feed → entries with URL and hints. A feed
    that cannot be read has ``error`` set (and whatever entries were recovered)."""
    json_feed = _json_feed(body, base)
    if json_feed is not None:
        return json_feed
    parsed = feedparser.parse(body, response_headers={"content-location": base})
    language = parsed.feed.get("language") if parsed.get("feed") else None
    entries = [Entry(entry_url(e, base), _iso(e.get("published_parsed")
                                              or e.get("updated_parsed")),
                     e.get("title"), e.get("language") or language)
               for e in parsed.entries]
    error = None
    if parsed.bozo and not parsed.entries:
        error = f"unreadable feed: {parsed.get('bozo_exception')}"
    return Feed(parsed.get("version") or "unknown", entries, error)


# -- sitemaps -------------------------------------------------------------------------------
@dataclass
class SitemapDoc:
    """A parsed sitemap: ``urlset`` or ``sitemapindex``, and its entries."""

    kind: str
    entries: list[Entry] = field(default_factory=list)
    lastmods: dict[str, str] = field(default_factory=dict)


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def parse_sitemap(body: bytes) -> SitemapDoc:
    """A sitemap or sitemap index, with Google News tags (``news:publication_date``,
    ``news:title``, ``news:language``) as hints. Entities are never resolved. Raises
    ValueError when the bytes are not XML at all."""
    parser = lxml.etree.XMLParser(recover=True, remove_comments=True, resolve_entities=False,
                                  no_network=True, huge_tree=False, remove_pis=True)
    try:
        root = lxml.etree.fromstring(body, parser=parser)
    except lxml.etree.XMLSyntaxError as exc:
        raise ValueError(f"not XML: {exc}") from exc
    if root is None:
        raise ValueError("not XML: empty document")
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        raise ValueError(f"not a sitemap: root element <{kind}>")
    doc = SitemapDoc(kind)
    for item in root:
        if _local(item.tag) not in ("url", "sitemap"):
            continue
        values: dict[str, str] = {}
        for child in item.iter():
            name = _local(child.tag)
            text = (child.text or "").strip()
            if name in ("loc", "lastmod") and name not in values and text:
                values[name] = text
            elif name in ("publication_date", "title", "language") and text:
                values.setdefault(name, text)
        loc = values.get("loc")
        if not loc:
            continue
        published = None
        if values.get("publication_date"):
            try:
                when = datetime.fromisoformat(values["publication_date"].replace("Z", "+00:00"))
                published = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(
                    UTC).isoformat(timespec="seconds")
            except ValueError:
                published = None
        doc.entries.append(Entry(loc, published, values.get("title"), values.get("language")))
        if values.get("lastmod"):
            doc.lastmods[loc] = values["lastmod"]
    return doc


# -- autodiscovery --------------------------------------------------------------------------
def autodiscover(links: list[tuple[str | None, str | None, str | None]], base: str) -> list[str]:
    """Feed URLs announced by ``<link rel="alternate" type="application/rss+xml|atom+xml|
    feed+json" href=...>`` elements, given as (rel, type, href) triples, made absolute."""
    found = []
    for rel, kind, href in links:
        if not href or "alternate" not in (rel or "").lower().split():
            continue
        if (kind or "").split(";")[0].strip().lower() not in FEED_TYPES:
            continue
        url = safe_join(base, href)
        if url and url not in found:
            found.append(url)
    return found
