"""Discovery formats: feeds (RSS 0.9x/1.0/2.0, Atom, JSON Feed), sitemaps (with Google
News tags), gzip by magic bytes, feed autodiscovery, and the link rules applied before a
source's article pattern (tracking parameters dropped, article-like links counted).

Pure functions over bytes and strings; ``crawler.spiders.news`` applies them. The rules
(tracking parameters, what an article-like link looks like) are data:
``config/discovery.yaml``.
"""

from __future__ import annotations

import gzip
import heapq
import io
import itertools
import json
import re
import threading
import unicodedata
import zlib
from calendar import timegm
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import courlan.clean
import dateparser
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
    sitemap_namespaces: frozenset[str] = frozenset(
        {"http://www.sitemaps.org/schemas/sitemap/0.9"})
    news_block: str = "news"
    date_floor: datetime = datetime(1990, 1, 1, tzinfo=UTC)
    future_skew: timedelta = timedelta(minutes=60)


@lru_cache(maxsize=8)
def load_rules(path: str | Path = DISCOVERY_FILE) -> DiscoveryRules:
    """Read ``config/discovery.yaml`` (a missing file: no extra rules)."""
    path = Path(path)
    if not path.exists():
        return DiscoveryRules()
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    defaults = DiscoveryRules()
    floor = data.get("date_floor")
    return DiscoveryRules(
        tracking_params=frozenset(p.lower() for p in data.get("tracking_params") or []),
        tracking_prefixes=tuple(p.lower() for p in data.get("tracking_prefixes") or []),
        article_like=tuple(re.compile(p) for p in data.get("article_like") or []),
        sitemap_namespaces=frozenset(data.get("sitemap_namespaces") or [])
        or defaults.sitemap_namespaces,
        news_block=data.get("news_block") or defaults.news_block,
        date_floor=datetime.fromisoformat(str(floor)) if floor else defaults.date_floor,
        future_skew=timedelta(minutes=float(data.get("future_skew_minutes", 60))))


# -- dates ----------------------------------------------------------------------------------
def plausible(when: datetime, fetched: datetime | None = None,
              rules: DiscoveryRules | None = None) -> bool:
    """Whether ``when`` (aware) can be a publication time seen at ``fetched`` (aware;
    default now): not before ``date_floor`` (1990: before the web) and not after the fetch
    plus ``future_skew_minutes`` (60: a site clock ahead; further is a typo)."""
    rules = rules or load_rules()
    fetched = fetched or datetime.now(UTC)
    return rules.date_floor <= when <= fetched + rules.future_skew


def zone(offset: str | tzinfo | None) -> tzinfo:
    """A fixed zone from ``+07:00`` (a source's ``timezone``); UTC when None."""
    if offset is None:
        return UTC
    if isinstance(offset, tzinfo):
        return offset
    sign = -1 if offset.startswith("-") else 1
    hours, _, minutes = offset.lstrip("+-").partition(":")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes or 0)))


# a written date whose zone feedparser reads right: a numeric offset, Z, GMT/UTC/UT at
# the end, on a 24-hour clock (feedparser reads an unknown abbreviation such as ICT, and
# a time without a zone, as UTC, and drops AM/PM: kurtmckee/feedparser#51)
_FEEDPARSER_ZONE = re.compile(r"(?:[+-]\d{2}:?\d{2}|\dZ|\b(?:GMT|UTC|UT))$", re.IGNORECASE)
_FEEDPARSER_WRONG = re.compile(r"\d\s*(?:[AP]\.?M\.?)(?:\W|$)|[+-]\d{1,2}$|GMT[+-]", re.IGNORECASE)
_RFC822 = re.compile(r"^(?:[A-Za-z]{3},?\s+)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{1,2}:\d{2}"
                     r"(?::\d{2})?\s+(?:[+-]\d{4}|GMT|UTC|UT|Z)$")


def entry_date(written: Any, parsed: Any = None, tz: str | tzinfo | None = None,
               fetched: datetime | None = None) -> str | None:
    """A feed or sitemap entry's date as ISO 8601 UTC, None when unreadable or not
    ``plausible``. ``parsed`` is feedparser's UTC time tuple, used only where it is right
    (an explicit numeric or UTC zone, 24-hour clock); otherwise the written value is read
    here: ISO 8601, RFC 822, then dateparser (zone abbreviations such as ``ICT``,
    ``GMT+7``, ``02:30 PM``, day-first). A time written without a zone is in ``tz`` (the
    source's ``timezone``); ``-0000`` is UTC (RFC 5322)."""
    value = " ".join(unicodedata.normalize("NFC", written).split()) if isinstance(
        written, str) else ""
    when: datetime | None = None
    if parsed and value and _FEEDPARSER_ZONE.search(value) and not _FEEDPARSER_WRONG.search(value):
        when = datetime.fromtimestamp(timegm(parsed), UTC)
    elif value:
        when = _read_date(value, zone(tz))
    elif parsed:  # no written value kept: feedparser's reading is all there is
        when = datetime.fromtimestamp(timegm(parsed), UTC)
    if when is None or not plausible(when, fetched):
        return None
    return when.astimezone(UTC).isoformat(timespec="seconds")


# dateparser is not thread-safe (scrapinghub/dateparser#441: module-level parser state)
_DATEPARSER = threading.Lock()


def lastmod(written: Any, tz: str | tzinfo | None = None) -> str | None:
    """A modification time (a sitemap's ``<lastmod>``: W3C datetime; a feed's updated
    time: ISO 8601 or RFC 822) as ISO 8601 UTC; None when absent, unreadable or not
    ``plausible``. Only the two standard forms are read (no dateparser: a sitemap has
    thousands); a time without a zone is in ``tz``."""
    if not isinstance(written, str) or not written.strip() or len(written) > 64:
        return None
    value = written.strip()
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = parsedate_to_datetime(value) if _RFC822.match(value) else None
        except (TypeError, ValueError):
            when = None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone(tz))
    if not plausible(when):
        return None
    return when.astimezone(UTC).isoformat(timespec="seconds")


def _read_date(value: str, tz: tzinfo) -> datetime | None:
    if len(value) > 80:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        when = None
    if when is None and _RFC822.match(value):
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None and when.tzinfo is None and value.endswith("-0000"):
            when = when.replace(tzinfo=UTC)  # RFC 5322: UTC, the local zone unknown
    if when is None:
        try:
            with _DATEPARSER:  # feeds and sitemaps are read in threads (crawler.spiders.news)
                when = dateparser.parse(value, languages=["en", "vi"], settings={
                    "DATE_ORDER": "DMY", "PREFER_DATES_FROM": "past", "STRICT_PARSING": True})
        except (ValueError, OverflowError, TypeError):
            when = None
    if when is None:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=tz)


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
    # when the source says the article last changed (a sitemap's <lastmod>, a feed
    # entry's updated time), ISO 8601 UTC: a stored article modified after its last check
    # is re-checked (monitor.changes.recheck)
    modified: str | None = None


@dataclass
class Feed:
    """A parsed feed: its format, entries, and why it could not be read (None: it could).
    ``total``: the entries the document holds; more than ``len(entries)`` when a
    ``limit`` cut it (the rest were counted, not read)."""

    kind: str
    entries: list[Entry] = field(default_factory=list)
    error: str | None = None
    total: int = -1  # -1: len(entries)

    def __post_init__(self) -> None:
        if self.total < 0:
            self.total = len(self.entries)


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


def _json_feed(body: bytes, base: str, tz: str | tzinfo | None = None,
               limit: int | None = None) -> Feed | None:
    head = body.lstrip()[:1]
    if head != b"{":
        return None
    try:
        data = json.loads(body)
    except ValueError as exc:
        return Feed("json", error=f"unreadable JSON Feed: {exc}")
    if not isinstance(data, dict) or "jsonfeed.org" not in str(data.get("version", "")):
        return Feed("json", error="JSON that is not a JSON Feed (no jsonfeed.org version)")
    items = [item for item in data.get("items") or [] if isinstance(item, dict)]
    language, total = data.get("language"), len(items)
    if limit is not None and total > limit:  # the newest, where dated
        items = _newest(((_rank_date(item.get("date_published"))
                          or _rank_date(item.get("date_modified")), item)
                         for item in items), limit)
    del data
    entries = []
    for item in items:
        url = entry_url({"link": item.get("url"), "id": item.get("id"),
                         "links": [{"href": item.get("external_url")}]}, base)
        published = entry_date(item.get("date_published"), tz=tz)
        entries.append(Entry(url, published, item.get("title"), item.get("language")
                             or language, modified=lastmod(item.get("date_modified"), tz)))
    return Feed("json", entries, total=total)


FEEDPARSER_BYTES = 1024 * 1024  # a larger feed reaches feedparser slimmed (_bounded_feed)
FEED_NAMESPACES = {"", "http://purl.org/rss/1.0/", "http://my.netscape.com/rdf/simple/0.9/",
                   "http://www.w3.org/2005/Atom", "http://purl.org/atom/ns#"}
# the parts of a feed entry newswatch reads (its URL, dates, title, language): in a large
# feed, everything else of an entry (content, enclosures) is dropped before feedparser
ENTRY_PARTS = frozenset({"link", "links", "guid", "id", "pubDate", "published", "updated",
                         "date", "issued", "modified", "created", "title", "language"})
_DATE_PARTS = ("pubDate", "published", "updated", "date", "issued", "modified")


def parse_feed(body: bytes, base: str, tz: str | tzinfo | None = None,
               limit: int | None = None) -> Feed:
    """RSS 0.9x/1.0 (RDF)/2.0, Atom or JSON Feed → entries with URL and hints. A feed
    that cannot be read has ``error`` set (and whatever entries were recovered). An
    entry's date is read by ``entry_date``: a time written without a zone is in ``tz``
    (the source's ``timezone``; default UTC).

    ``limit``: at most that many entries, the newest where dates are known (then the
    undated, in the feed's order); ``total`` counts them all. A feed within the limit
    keeps its own order. Memory is bounded by design: an XML feed over
    ``FEEDPARSER_BYTES`` or ``limit`` entries is read incrementally (lxml's pull parser;
    no tree of the whole document, at most ``limit`` entries kept, each stripped to
    ``ENTRY_PARTS``), and only the entries kept are handed to feedparser. ``limit``
    None: every entry, read by feedparser from the whole body."""
    json_feed = _json_feed(body, base, tz, limit)
    if json_feed is not None:
        return json_feed
    if limit is not None:
        bounded = _bounded_feed(body, limit)
        if bounded is None:  # not XML the pull parser can read
            if len(body) > FEEDPARSER_BYTES:
                return Feed("unknown", error=f"unreadable feed: {len(body)} bytes that are "
                                             "not XML")
        elif bounded[1] > limit or len(body) > FEEDPARSER_BYTES:
            feed = _feedparser(bounded[0], base, tz)
            feed.total = bounded[1]
            return feed
    return _feedparser(body, base, tz)


def _feedparser(body: bytes, base: str, tz: str | tzinfo | None) -> Feed:
    parsed = feedparser.parse(body, response_headers={"content-location": base})
    language = parsed.feed.get("language") if parsed.get("feed") else None
    entries = [Entry(entry_url(e, base), _feed_entry_date(e, tz),
                     e.get("title"), e.get("language") or language,
                     # dict.get: the entry's own <updated>, not feedparser's fallback to
                     # its publication date (a DeprecationWarning, removed in a future
                     # feedparser: issue 310)
                     modified=lastmod(dict.get(e, "updated"), tz))
               for e in parsed.entries]
    error = None
    if parsed.bozo and not parsed.entries:
        error = f"unreadable feed: {parsed.get('bozo_exception')}"
    return Feed(parsed.get("version") or "unknown", entries, error)


def _bounded_feed(body: bytes, limit: int) -> tuple[bytes, int] | None:
    """The feed with at most ``limit`` entries (the newest where dated, stripped to
    ``ENTRY_PARTS``, in the order they are to be read) and how many it held; None when
    it is not XML. Read in chunks; every entry not kept is freed as soon as it ends."""
    root: Any = None
    inside = 0  # depth inside an entry
    total = 0
    kept: list[tuple[float, int, Any, Any]] = []  # a heap: (date, -position, entry, parent)
    try:
        for event, element in _pull(body):
            if root is None:
                root = element
            tag = element.tag
            entry = isinstance(tag, str) and _local(tag) in ("item", "entry") and (
                _namespace(tag) in FEED_NAMESPACES)
            if event == "start":
                inside += 1 if (entry or inside) else 0
                continue
            if inside:
                inside -= 1
            if not entry or inside or element is root:
                continue
            total += 1
            parent = element.getparent()
            if parent is not None:
                parent.remove(element)
            for part in list(element):
                if not isinstance(part.tag, str) or _local(part.tag) not in ENTRY_PARTS:
                    element.remove(part)
            when = next((found for part in element if isinstance(part.tag, str)
                         and _local(part.tag) in _DATE_PARTS
                         for found in [_rank_date(_text(part))] if found != UNDATED),
                        UNDATED)
            item = (when, -total, element, parent)
            if len(kept) < limit:
                heapq.heappush(kept, item)
            elif kept and item[:2] > kept[0][:2]:
                heapq.heapreplace(kept, item)
    except lxml.etree.XMLSyntaxError:
        if root is None:
            return None
    if root is None:
        return None
    order = (sorted(kept, key=lambda k: -k[1]) if total <= limit
             else sorted(kept, key=lambda k: k[:2], reverse=True))
    for _, _, element, parent in order:
        (parent if parent is not None else root).append(element)
    return lxml.etree.tostring(root, encoding="utf-8", xml_declaration=True), total


def _chunks(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start:start + size]


UNDATED = float("-inf")  # the rank of an entry without a readable date


def _rank_date(value: Any) -> float:
    """A quick reading of a date for ranking newest first (ISO 8601 or RFC 822 only), as
    a POSIX timestamp (no zone: UTC); ``UNDATED`` when it is not one of those."""
    if not isinstance(value, str) or not value or len(value) > 80:
        return UNDATED
    text = value.strip()
    try:
        when = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return UNDATED
    try:
        return (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).timestamp()
    except (OverflowError, ValueError, OSError):
        return UNDATED


def _newest(ranked: Iterator[tuple[float, Any]] | Any, limit: int) -> list[Any]:
    """The ``limit`` newest of ``(date, value)`` pairs (``date`` from ``_rank_date``),
    newest first; undated after, in their order. Holds ``limit`` values at most."""
    kept: list[tuple[float, int, Any]] = []
    for position, (when, value) in enumerate(ranked):
        item = (when, -position, value)
        if len(kept) < limit:
            heapq.heappush(kept, item)
        elif kept and item[:2] > kept[0][:2]:
            heapq.heapreplace(kept, item)
    return [value for _, _, value in sorted(kept, key=lambda k: k[:2], reverse=True)]


def _feed_entry_date(entry: dict[str, Any], tz: str | tzinfo | None) -> str | None:
    for key in ("published", "updated"):
        found = entry_date(entry.get(key), entry.get(f"{key}_parsed"), tz)
        if found:
            return found
    return None


# -- sitemaps -------------------------------------------------------------------------------
@dataclass
class SitemapDoc:
    """A parsed sitemap: ``urlset`` or ``sitemapindex``, and its entries. ``total``: the
    entries the document holds; more than ``len(entries)`` when a ``limit`` cut it."""

    kind: str
    entries: list[Entry] = field(default_factory=list)
    lastmods: dict[str, str] = field(default_factory=dict)
    total: int = 0


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _namespace(tag: Any) -> str:
    return tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else ""


# stripped around a <loc> besides whitespace: zero-width characters and a stray BOM
# (crawler-commons/crawler-commons#224)
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"


def _text(node: Any) -> str:
    text, previous = node.text or "", None
    while text != previous:
        previous, text = text, text.strip().strip(_INVISIBLE)
    return text


_HTML_PAGE = re.compile(rb"<(?:html|body|head)\b", re.IGNORECASE)  # a page, not a notice
_SITEMAP_START = re.compile(rb"<\?xml\b|<(?:\w+:)?(?:urlset|sitemapindex)\b")


def parse_sitemap(body: bytes, tz: str | tzinfo | None = None,
                  rules: DiscoveryRules | None = None, limit: int | None = None,
                  index_limit: int | None = None) -> SitemapDoc:
    """A sitemap or sitemap index, with Google News tags (``news:publication_date``,
    ``news:title``, ``news:language``) as hints. Entities are never resolved. Raises
    ValueError when the bytes are not XML at all.

    An entry's URL is the ``<loc>`` that is a direct child of its ``<url>`` (``<sitemap>``)
    in the sitemap namespace (the root's, a configured one, or none), wherever it stands
    among the children; an extension's ``image:loc`` or ``xhtml:link`` never is
    (crawler-commons/crawler-commons#210). Hints come from the ``news:news`` block only.
    A publication date without a zone is in ``tz`` (the source's ``timezone``). Output
    before the document (a PHP notice) is skipped.

    Read incrementally (lxml's pull parser, 64 KB at a time): each ``<url>`` is freed
    once read, so memory does not grow with the document. ``limit``: at most that many
    entries, the newest by publication date or ``<lastmod>`` where known (then the
    undated, in the document's order); ``total`` counts them all. A document within the
    limit keeps its own order; ``limit`` None keeps every entry. ``index_limit`` is the
    limit of a sitemap index's children instead (default ``limit``)."""
    rules = rules or load_rules()
    try:
        kind, items = _sitemap_items(body, rules)
    except _NotASitemap as wrong:
        start = _SITEMAP_START.search(body)
        if not (start and start.start() > 0 and not _HTML_PAGE.search(body[:start.start()])):
            raise ValueError(str(wrong)) from None
        # output before the document (a PHP notice, a stray <br />: evert/sitemap-php#21)
        kind, items = _sitemap_items(body[start.start():], rules)
    doc = SitemapDoc(kind)
    if kind == "sitemapindex" and index_limit is not None:
        limit = index_limit
    if limit is None:
        chosen = list(items)
        doc.total = len(chosen)
    else:
        ranked: list[tuple[float, int, tuple[str, dict[str, str], str | None]]] = []
        for position, item in enumerate(items):
            doc.total += 1
            _, hints, modified = item
            when = _rank_date(hints.get("publication_date")) if hints else UNDATED
            entry = (when if when != UNDATED else _rank_date(modified), -position, item)
            if len(ranked) < limit:
                heapq.heappush(ranked, entry)
            elif ranked and entry[:2] > ranked[0][:2]:
                heapq.heapreplace(ranked, entry)
        order = (sorted(ranked, key=lambda k: -k[1]) if doc.total <= limit
                 else sorted(ranked, key=lambda k: k[:2], reverse=True))
        chosen = [item for _, _, item in order]
    for loc, hints, modified in chosen:
        published = entry_date(hints.get("publication_date"), tz=tz)
        doc.entries.append(Entry(loc, published, hints.get("title"), hints.get("language"),
                                 modified=lastmod(modified, tz)))
        if modified:
            doc.lastmods[loc] = modified
    return doc


class _NotASitemap(ValueError):
    """XML whose root is not ``urlset`` or ``sitemapindex``."""


def _sitemap_items(body: bytes, rules: DiscoveryRules
                   ) -> tuple[str, Iterator[tuple[str, dict[str, str], str | None]]]:
    """The root's kind, and an iterator of ``(loc, news hints, lastmod)`` per entry,
    read as the document is parsed. Raises ValueError (not XML), _NotASitemap."""
    events = _pull(body, ("end",))
    try:
        first = next(events)
        root = first[1].getroottree().getroot()
    except StopIteration:
        raise ValueError("not XML: empty document") from None
    except lxml.etree.XMLSyntaxError as exc:
        raise ValueError(f"not XML: {exc}") from exc
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        raise _NotASitemap(f"not a sitemap: root element <{kind}>")
    namespaces = {_namespace(root.tag), "", *rules.sitemap_namespaces}

    def items() -> Iterator[tuple[str, dict[str, str], str | None]]:
        try:
            for _, element in itertools.chain([first], events):
                if element.getparent() is not root:  # the root's children only, ended
                    continue
                found = _sitemap_item(element, namespaces, rules)
                root.remove(element)
                if found is not None:
                    yield found
        except lxml.etree.XMLSyntaxError:
            return  # (recover: what was read stands, as with a whole-tree parse)

    return kind, items()


def _pull(body: bytes, events: tuple[str, ...] = ("start", "end")
          ) -> Iterator[tuple[str, Any]]:
    """``(event, element)`` of ``body``'s tags (``events``: start, end), parsed 64 KB at a
    time (lxml's pull parser: recovering, no entities, no network). The caller frees what
    it has read. Raises lxml.etree.XMLSyntaxError."""
    parser = lxml.etree.XMLPullParser(
        events=events, recover=True, remove_comments=True, remove_pis=True,
        resolve_entities=False, no_network=True, huge_tree=False)
    for chunk in _chunks(body):
        parser.feed(chunk)
        yield from parser.read_events()
    parser.close()
    yield from parser.read_events()


def _split(tag: str) -> tuple[str, str]:
    """``(namespace, local name)`` of an lxml tag (``{ns}name``)."""
    if tag[:1] == "{":
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def _sitemap_item(item: Any, namespaces: set[str], rules: DiscoveryRules
                  ) -> tuple[str, dict[str, str], str | None] | None:
    """``(loc, news hints, lastmod)`` of one ``<url>``/``<sitemap>`` (its first direct
    ``<loc>``/``<lastmod>`` in one of ``namespaces`` with text); None otherwise."""
    if not isinstance(item.tag, str):
        return None
    namespace, local = _split(item.tag)
    if local not in ("url", "sitemap") or namespace not in namespaces:
        return None
    loc = lastmod = None
    hints: dict[str, str] = {}
    for child in item:
        if not isinstance(child.tag, str):
            continue
        namespace, local = _split(child.tag)
        if local == "loc" or local == "lastmod":
            if namespace in namespaces and (text := _text(child)):
                if local == "loc" and loc is None:
                    loc = text
                elif local == "lastmod" and lastmod is None:
                    lastmod = text
        elif local == rules.news_block:
            for part in child.iter():
                name = _local(part.tag)
                if name in ("publication_date", "title", "language") and _text(part):
                    hints.setdefault(name, _text(part))
    return (loc, hints, lastmod) if loc else None


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
