"""``newswatch doctor``: what each rule of a source and its profile matches on one listing
page and one article page, so an operator can repair a profile in minutes.

Library first: ``fetch`` (one GET), ``listing_report`` and ``article_report`` (lists of
``Finding``), ``diagnose`` (both, picking the article from the listing when no URL is
given). The CLI prints the findings as tables.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lxml.html

from monitor.sources import Source, canonicalize, discovery

USER_AGENT = "newswatch-doctor (+https://github.com/newswatch)"
TIMEOUT = 20.0
MAX_BYTES = 10 * 1024 * 1024


class DoctorError(RuntimeError):
    """A page could not be fetched or read (one line, for the user)."""


@dataclass(frozen=True)
class Finding:
    """One rule and what it matched: ``ok`` False means it matched nothing that counts."""

    rule: str
    value: str
    matched: str
    ok: bool


def fetch(url_or_file: str) -> tuple[bytes, str]:
    """The bytes of a page and its URL: a saved file (a path that exists) or one GET.
    Raises DoctorError."""
    path = Path(url_or_file)
    if not url_or_file.startswith(("http://", "https://")):
        try:
            return path.read_bytes(), path.resolve().as_uri()
        except OSError as exc:
            raise DoctorError(f"{url_or_file}: cannot read: {exc.strerror or exc}") from None
    request = urllib.request.Request(url_or_file, headers={"User-Agent": USER_AGENT,
                                                           "Accept-Encoding": "gzip"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            body = response.read(MAX_BYTES + 1)
            final = response.geturl()
    except urllib.error.HTTPError as exc:
        raise DoctorError(f"{url_or_file}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DoctorError(f"{url_or_file}: {reason}") from None
    try:
        return discovery.maybe_gunzip(body, MAX_BYTES), final
    except discovery.UnreadableGzip as exc:
        raise DoctorError(f"{url_or_file}: {exc}") from None


def _tree(body: bytes) -> Any:
    try:
        return lxml.html.document_fromstring(body)
    except (ValueError, lxml.etree.ParserError) as exc:
        raise DoctorError(f"not an HTML page: {exc}") from None


def _xpath(tree: Any, rule: str) -> list[Any]:
    try:
        return list(tree.xpath(rule))
    except lxml.etree.XPathError as exc:
        raise DoctorError(f"invalid XPath {rule!r}: {exc}") from None


def _text(node: Any, limit: int = 80) -> str:
    text = " ".join((node.text_content() if hasattr(node, "text_content") else str(node))
                    .split())
    return text[:limit] + ("…" if len(text) > limit else "")


def listing_report(source: Source, body: bytes, url: str) -> tuple[list[Finding], list[str]]:
    """Findings on a listing page, and the article URLs it links to (pattern-matched)."""
    tree = _tree(body)
    rules = discovery.load_rules()
    hrefs = [h for h in _xpath(tree, "//a/@href")]
    matched: list[str] = []
    unmatched: list[str] = []
    for href in hrefs:
        absolute = discovery.safe_join(url, str(href))
        if not absolute:
            continue
        canonical = canonicalize(discovery.drop_tracking(absolute, rules))
        if source.is_article_url(canonical):
            if canonical not in matched:
                matched.append(canonical)
        elif discovery.looks_like_article(canonical, rules) and canonical not in unmatched:
            unmatched.append(canonical)
    feeds = discovery.autodiscover(
        [(link.get("rel"), link.get("type"), link.get("href"))
         for link in _xpath(tree, "//link[@rel and @href]")], url)
    following = _xpath(tree, "//a[contains(concat(' ', @rel, ' '), ' next ')]/@href")
    findings = [
        Finding("links", "//a/@href", f"{len(hrefs)} links", bool(hrefs)),
        Finding("article_pattern", source.article_pattern,
                f"{len(matched)} article links" + (f", e.g. {matched[0]}" if matched else ""),
                bool(matched)),
        Finding("unmatched", "looks like an article, fails the pattern",
                f"{len(unmatched)}" + (f", e.g. {', '.join(unmatched[:3])}" if unmatched
                                       else ""), not unmatched or bool(matched)),
        Finding("feeds announced", "<link rel=alternate type=rss|atom|json>",
                ", ".join(feeds) or "none", True),
        Finding("next page", "a[rel~=next]", str(following[0]) if following else "none", True),
    ]
    return findings, matched


def article_report(source: Source, body: bytes, url: str) -> list[Finding]:
    """Findings on an article page: every profile rule, then what extraction gives."""
    from monitor.extract.article import extract

    tree = _tree(body)
    profile = source.profile
    findings = [Finding("article_pattern", source.article_pattern,
                        "URL matches" if source.article_regex.search(url) else
                        "URL does NOT match", bool(source.article_regex.search(url)))]

    def nodes(name: str, rule: str | None, expect: bool = True) -> None:
        if not rule:
            return
        found = _xpath(tree, rule)
        detail = f"{len(found)} node(s)" + (f": {_text(found[0])}" if found else "")
        findings.append(Finding(name, rule, detail, bool(found) or not expect))

    nodes("body", profile.body)
    for rule in profile.clutter:
        nodes("clutter", rule, expect=False)
    nodes("lead", profile.lead)
    nodes("author", profile.author)
    if profile.date:
        found = _xpath(tree, profile.date.xpath)
        detail = f"{len(found)} node(s)"
        ok = bool(found)
        if found and profile.date.pattern:
            import re

            match = re.search(profile.date.pattern, _text(found[0], 400))
            detail += f"; pattern {'matched ' + repr(match.group(1)) if match else 'NO match'}"
            ok = bool(match)
        findings.append(Finding("date", profile.date.xpath, detail, ok))
    result = extract(body, url, profile, source.timezone)
    if result is None:
        findings.append(Finding("extraction", "trafilatura + profile", "no article text", False))
    else:
        findings += [
            Finding("title", "extracted", result.title or "none", bool(result.title)),
            Finding("published", "extracted", result.published or "none",
                    bool(result.published)),
            Finding("text", "extracted", f"{len(result.text)} characters, "
                    f"{len(result.text.splitlines())} paragraphs: "
                    f"{result.text.splitlines()[0][:80] if result.text else ''}",
                    bool(result.text)),
        ]
        if profile.body:  # the profile guard's verdict on this page (monitor.extract.guard)
            findings.append(Finding("guard", "profile vs generic reading",
                                    result.guard or "the profile's reading stands",
                                    not result.guard))
    return findings


def diagnose(source: Source, article: str | None = None, listing: str | None = None
             ) -> dict[str, Any]:
    """Fetch (or read) the source's first listing page (or ``listing``) and an article
    (``article``, else the first article the listing links to); return
    ``{"listing": {"url", "findings"}, "article": {"url", "findings"} | None}``.
    Raises DoctorError."""
    out: dict[str, Any] = {"listing": None, "article": None}
    target = listing or (source.listings[0] if source.listings else None)
    links: list[str] = []
    if target:
        body, url = fetch(target)
        findings, links = listing_report(source, body, url if listing is None else target)
        out["listing"] = {"url": target, "findings": findings}
    article = article or (links[0] if links else None)
    if article:
        body, url = fetch(article)
        page_url = article if article.startswith(("http://", "https://")) else url
        out["article"] = {"url": article, "findings": article_report(source, body, page_url)}
    return out
