"""Onboard a news site: find its feeds and sitemaps, propose an article pattern, fetch
sample articles, learn its profile (``monitor.extract.learn``) and write the source and
the profile into their files.

Only plain GETs (``monitor.extract.doctor.fetch``), and only to the URL the user gave and
to hosts on the same registered domain (feeds and sitemaps a site announces elsewhere
are left out). ``sample_pages`` reads a configured source's own feeds, sitemaps and
listings the same way, for ``newswatch profile learn``.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import lxml.html

from monitor.extract import rules
from monitor.extract.doctor import DoctorError, fetch
from monitor.extract.learn import LearnedProfile, learn_profile
from monitor.sources import PROFILES_FILE, ConfigError, Source, canonicalize, discovery

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


class OnboardError(RuntimeError):
    """The site could not be onboarded (one line, for the user)."""


def registered_domain(host: str) -> str:
    """``english.vov.vn`` → ``vov.vn``; an IP address is its own domain."""
    host = host.lower().strip("[]")
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    import tldextract

    found = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)(host)
    return found.registered_domain or host


def same_site(url: str, home: str) -> bool:
    """Whether ``url`` is on ``home``'s registered domain (the hosts onboarding may GET)."""
    try:
        host, base = urlsplit(url).hostname or "", urlsplit(home).hostname or ""
    except ValueError:
        return False
    return bool(host) and registered_domain(host) == registered_domain(base)


def _get(url: str) -> bytes | None:
    try:
        body, _ = fetch(url)
    except DoctorError:
        return None
    return body


def _links(body: bytes, base: str) -> tuple[list[str], list[str], Any]:
    """Absolute ``<a href>`` links and announced feeds of an HTML page, and its tree."""
    try:
        tree = lxml.html.document_fromstring(body)
    except (ValueError, lxml.etree.ParserError):
        return [], [], None
    found = []
    for href in tree.xpath("//a/@href"):
        url = discovery.safe_join(base, str(href))
        if url:
            url = canonicalize(discovery.drop_tracking(url))
            if url not in found:
                found.append(url)
    feeds = discovery.autodiscover([(link.get("rel"), link.get("type"), link.get("href"))
                                    for link in tree.xpath("//link[@rel and @href]")], base)
    return found, feeds, tree


def _feed_urls(body: bytes, base: str) -> list[str] | None:
    if body.lstrip()[:1] not in (b"<", b"{") or b"<html" in body[:500].lower():
        return None
    feed = discovery.parse_feed(body, base)
    if feed.error or not feed.entries:
        return None
    return [e.url for e in feed.entries if e.url]


def _sitemap_urls(url: str, body: bytes, home: str, depth: int = 0,
                  limit: int = 5) -> list[str]:
    try:
        doc = discovery.parse_sitemap(discovery.maybe_gunzip(body))
    except (ValueError, discovery.UnreadableGzip):
        return []
    if doc.kind == "urlset":
        return [e.url for e in doc.entries if e.url]
    found: list[str] = []
    for entry in doc.entries[:limit]:
        if depth < 1 and entry.url and same_site(entry.url, home):
            child = _get(entry.url)
            if child:
                found += _sitemap_urls(entry.url, child, home, depth + 1)
    return found


@dataclass
class SiteFindings:
    """What onboarding found on a site."""

    home: str
    host: str
    title: str | None = None
    language: str | None = None
    feeds: list[str] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)
    listings: list[str] = field(default_factory=list)
    articles: list[str] = field(default_factory=list)  # article URLs, newest first
    pattern: str | None = None
    skipped: list[str] = field(default_factory=list)  # announced on another domain


def discover_site(url: str, progress: Progress = _quiet) -> SiteFindings:
    """The site's feeds (announced by the home page, then ``rules.ONBOARD_FEED_PATHS``),
    sitemaps (robots.txt ``Sitemap:``, then /sitemap.xml), the article URLs they list, and
    an ``article_pattern`` proposed from them. Raises OnboardError."""
    if not url.startswith(("http://", "https://")):
        raise OnboardError(f"{url}: not an http(s) URL")
    try:
        body, final = fetch(url)
    except DoctorError as exc:
        raise OnboardError(str(exc)) from None
    parts = urlsplit(final)
    root = f"{parts.scheme}://{parts.netloc}"
    found = SiteFindings(home=final, host=parts.hostname or "")
    links, announced, tree = _links(body, final)
    if tree is not None:
        found.title = (" ".join(tree.xpath("//meta[@property='og:site_name']/@content")[:1])
                       or tree.findtext(".//title") or "").strip() or None
        found.language = tree.xpath("string(/html/@lang)").strip().lower()[:2] or None
    progress(f"home page {final}: {len(links)} links, {len(announced)} feed(s) announced")
    article_urls: list[str] = []
    candidates = list(dict.fromkeys(
        [*announced, *(root + path for path in rules.ONBOARD_FEED_PATHS)]))
    for feed_url in candidates:
        if not same_site(feed_url, final):
            found.skipped.append(feed_url)
            continue
        feed_body = _get(feed_url)
        entries = _feed_urls(feed_body, feed_url) if feed_body else None
        if entries:
            found.feeds.append(feed_url)
            article_urls += entries
            progress(f"feed {feed_url}: {len(entries)} entries")
    robots = _get(root + "/robots.txt") or b""
    sitemaps = [line.split(":", 1)[1].strip() for line in
                robots.decode("utf-8", "replace").splitlines()
                if line.lower().startswith("sitemap:")] or [root + "/sitemap.xml"]
    for sitemap in dict.fromkeys(sitemaps):
        if not same_site(sitemap, final):
            found.skipped.append(sitemap)
            continue
        sitemap_body = _get(sitemap)
        entries = _sitemap_urls(sitemap, sitemap_body, final) if sitemap_body else []
        if entries:
            found.sitemaps.append(sitemap)
            article_urls += entries
            progress(f"sitemap {sitemap}: {len(entries)} URLs")
    article_urls = [u for u in dict.fromkeys(canonicalize(discovery.drop_tracking(u))
                                             for u in article_urls) if same_site(u, final)]
    others = [u for u in links if u not in set(article_urls)] + [final, *found.feeds,
                                                                   *found.sitemaps]
    found.pattern = propose_pattern(article_urls, others)
    if found.pattern:
        regex = re.compile(found.pattern)
        found.articles = [u for u in article_urls if regex.search(u)]
        if sum(1 for u in links if regex.search(u)) >= rules.ONBOARD_LISTING_MIN_LINKS:
            found.listings.append(final)
    return found


def _shapes(path: str) -> list[str]:
    """Regexes an article path of this shape may match, most specific first."""
    out = []
    last = path.rstrip("/").rsplit("/", 1)[-1]
    ext = re.search(r"(\.[a-z]{2,5})$", last)
    suffix = re.escape(ext.group(1)) + "$" if ext else "/?$"
    stem = last[: -len(ext.group(1))] if ext else last
    digits = re.search(r"([^\d/]*?)(\d{5,})$", stem)
    if digits:
        word = re.search(r"([a-z]+)$", digits.group(1))
        size = min(len(digits.group(2)), 6)
        if word:
            out.append(rf"-{word.group(1)}\d{{{size},}}{suffix}")
        out.append(rf"-\d{{{size},}}{suffix}")
        out.append(rf"\d{{{size},}}{suffix}")
    parent = re.search(r"/(\d{5,})/[^/]+$", path.rstrip("/"))
    if parent:
        out.append(rf"/\d{{{min(len(parent.group(1)), 6)},}}/[^/]+{suffix}")
    if stem.count("-") >= 3:
        folder = path.rstrip("/").rsplit("/", 1)[0]
        out.append("^https?://[^/]+" + re.escape(folder + "/") + r"[^/]+-[^/]+-[^/]+-[^/]+"
                   + suffix)
        out.append(r"/[^/]+-[^/]+-[^/]+-[^/]+" + suffix)
    return out


def propose_pattern(articles: Sequence[str], others: Iterable[str]) -> str | None:
    """An ``article_pattern`` that matches most of ``articles`` (URLs from the feeds and
    sitemaps) and none of ``others`` (the home page's other links, the feeds...)."""
    articles = list(articles)
    if not articles:
        return None
    others = [o for o in others if o not in set(articles)]
    votes: Counter[str] = Counter()
    for url in articles:
        votes.update(set(_shapes(urlsplit(url).path)))
    for pattern, _ in votes.most_common():
        regex = re.compile(pattern)
        hits = sum(1 for u in articles if regex.search(u))
        if hits >= rules.ONBOARD_PATTERN_SHARE * len(articles) and not any(
                regex.search(o) for o in others):
            return pattern
    return None


def sample_pages(urls: Iterable[str], count: int, allowed: Callable[[str], bool],
                 progress: Progress = _quiet) -> list[tuple[str, bytes]]:
    """GET up to ``count`` article pages of ``urls`` (only those ``allowed``)."""
    pages = []
    for url in urls:
        if len(pages) >= count:
            break
        if not allowed(url):
            continue
        body = _get(url)
        if body:
            pages.append((url, body))
            progress(f"article {len(pages)}/{count}: {url}")
    return pages


def source_articles(source: Source, progress: Progress = _quiet) -> list[str]:
    """Article URLs from a configured source's feeds, sitemaps and listing pages (GETs to
    its own hosts only)."""
    found: list[str] = []
    for url in source.start_urls:
        if not source.owns_host(urlsplit(url).hostname or ""):
            continue
        body = _get(url)
        if not body:
            continue
        entries = (_feed_urls(body, url) if url in source.feeds else
                   _sitemap_urls(url, body, url) if url in source.sitemaps else
                   _links(body, url)[0])
        entries = [canonicalize(discovery.drop_tracking(u)) for u in entries or []]
        found += [u for u in entries if source.is_article_url(u)]
        progress(f"{url}: {len(entries)} links")
    return list(dict.fromkeys(found))


def learn_source(source: Source, count: int = 10,
                 progress: Progress = _quiet) -> tuple[LearnedProfile, list[str]]:
    """Learn ``source``'s profile from ``count`` of its articles; (profile, their URLs).
    Raises OnboardError (no articles found) or ``learn.LearnError``."""
    urls = source_articles(source, progress)
    if not urls:
        raise OnboardError(f"{source.name}: its feeds, sitemaps and listings give no "
                           "article URL")
    pages = sample_pages(urls, count, source.is_article_url, progress)
    return learn_profile(pages, source.timezone), [u for u, _ in pages]


# --------------------------------------------------------------------------- writing files


def source_name(host: str) -> str:
    """A source name from a host: ``www.tuoitre.vn`` → ``tuoitre_vn``."""
    name = re.sub(r"[^a-z0-9]+", "_", host.lower().removeprefix("www.")).strip("_")
    return name if re.match(r"^[a-z]", name) else f"site_{name}"


def source_entry(name: str, found: SiteFindings, learned: LearnedProfile,
                 profile_name: str) -> dict[str, Any]:
    """The source's fields as they go into a sources file."""
    language = learned.language or found.language
    entry: dict[str, Any] = {
        "name": name,
        "title": found.title or learned.site_name or found.host,
        "language": language if language in ("en", "vi") else "mixed",
        "domains": [found.host],
        "feeds": found.feeds,
        "sitemaps": found.sitemaps,
        "listings": found.listings,
        "article_pattern": found.pattern,
        "profile": profile_name,
    }
    if learned.timezone and learned.timezone != "+07:00":
        entry["timezone"] = learned.timezone
    return entry


def _yaml_value(value: Any) -> str:
    import json

    if isinstance(value, list):
        return "[" + ", ".join(_yaml_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def append_source(path: Path, entry: dict[str, Any], profiles: Path) -> None:
    """Append ``entry`` to the ``sources:`` list of ``path`` (text appended, the file's
    comments kept); name ``profiles`` in its ``profiles_file:`` when that is not the
    default profiles file. Raises ConfigError (a source of that name exists, or the
    file's last top-level key is not ``sources:``)."""
    import yaml

    text = path.read_text(encoding="utf-8") if path.exists() else "sources:\n"
    data = yaml.safe_load(text) or {}
    if any(s.get("name") == entry["name"] for s in data.get("sources") or []):
        raise ConfigError(f"{path}: a source named {entry['name']!r} exists already "
                          "(give another --name)")
    tops = re.findall(r"(?m)^([A-Za-z_][\w-]*):", text)
    if not tops or tops[-1] != "sources":
        raise ConfigError(f"{path}: 'sources:' is not the file's last section; add the "
                          "entry by hand")
    indent = re.search(r"(?m)^( *)- name:", text)
    pad = indent.group(1) if indent else "  "
    lines = [f"{pad}- {key}: {_yaml_value(value)}" if i == 0 else
             f"{pad}  {key}: {_yaml_value(value)}"
             for i, (key, value) in enumerate(entry.items())]
    if profiles.resolve() != PROFILES_FILE.resolve() and "profiles_file" not in data:
        text = f"profiles_file: {_yaml_value(_relative(profiles, path))}\n" + text
    text = text.rstrip("\n") + "\n" + "\n".join(lines) + "\n"
    path.write_text(text, encoding="utf-8")


def _relative(target: Path, source_file: Path) -> str:
    try:
        return str(target.resolve().relative_to(source_file.resolve().parent))
    except ValueError:
        return str(target.resolve())


def append_profile(path: Path, name: str, learned: LearnedProfile) -> None:
    """Add profile ``name`` to the ``profiles:`` mapping of ``path`` (appended as text,
    with its evidence as comments). Raises ConfigError when the name is taken."""
    import yaml

    text = path.read_text(encoding="utf-8") if path.exists() else "profiles:\n"
    data = yaml.safe_load(text) or {}
    if name in (data.get("profiles") or {}):
        raise ConfigError(f"{path}: a profile named {name!r} exists already")
    tops = re.findall(r"(?m)^([A-Za-z_][\w-]*):", text)
    if not tops or tops[-1] != "profiles":
        raise ConfigError(f"{path}: 'profiles:' is not the file's last section")
    body = learned.to_yaml(name).split("profiles:\n", 1)[1]
    comment = learned.to_yaml(name).split("\n", 1)[0]
    path.write_text(text.rstrip("\n") + "\n" + f"  {comment}\n" + body, encoding="utf-8")
