"""Turn an article page into clean text and metadata.

With a site profile whose body container is on the page, the container(s) are read
block by block (``monitor.extract.blocks``: paragraphs, list items, sub-headings, in order, the
profile's clutter pruned first, clutter lines dropped after, lead and byline recovered).
Pages without one get the generic path: a precision-leaning trafilatura run, lists and
sub-headings it dropped put back, a split body joined (``monitor.extract.blocks``), then
``monitor.extract.fusion`` (title echo, see-also blocks, link headlines, prompts, teaser cards,
schema.org articleBody agreement); an app-shell page is read from its JSON-LD
``articleBody``. Photo captions, in ``<figure>`` or not, go to ``images``, never into the
text. Dates (with time and zone), the author (a person, never the site) and agency tags
are handled by ``monitor.extract.pagemeta``. Text is Unicode NFC, one paragraph per line.
Bytes are decoded by ``monitor.extract.charset`` (WHATWG labels, validated against the bytes).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin

import lxml.html
import trafilatura
from htmldate import find_date
from trafilatura.utils import load_html

from monitor.extract import blocks, fusion, guard, pagemeta, rules, vote
from monitor.extract.charset import decode_html
from monitor.sources import DateRule, SiteProfile, discovery, trusted_canonical

_NO_PROFILE = SiteProfile()
# Pages without a profile body container: trafilatura runs precision-leaning (measured on
# the benchmark: F1 0.971 raw against 0.963 with its defaults), then monitor.extract.fusion
# votes lines out with the page's own signals.
GENERIC_PRECISION = True
# Putting back list items and sub-headings trafilatura drops on generic pages
# (``monitor.extract.blocks.fill_gaps``: a list announced by a kept paragraph ending in ":", a
# sub-heading between kept blocks, nothing already in the text) changed no page of
# either benchmark half nor of the real pages, and fixes field case 01 off-profile.
# Split bodies are always joined.
GENERIC_LIST_FILL = True
# The per-page vote between trafilatura and readability-lxml (``monitor.extract.vote``) on pages
# without a profile: opt-in (``extract(vote=True)``, ``python -m monitor.extract.eval --vote``).
# Measured on both benchmark halves it did not beat the generic path (BENCHMARKS.md).
GENERIC_VOTE = False
# Reader comment sections (``monitor.extract.blocks.drop_comments``) are removed from
# generic pages too before trafilatura runs: its own exclusion misses comment lists in
# Facebook plugins, Vietnamese "Bình luận" boxes and under a bare "Bình luận" heading
# (field case 13).
GENERIC_COMMENTS = True
_SPACES = re.compile(r"\s+")
_TITLE_SEPARATOR = re.compile(rules.TITLE_SEPARATORS)
# Characters lxml refuses in text it is given (C0 controls but tab and line breaks).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Numeric references that parse to one of those (``&#1;``, ``&#x1F``, ``&#65535;``).
_NOT_XML_REFERENCE = re.compile(
    r"&#(?:[xX]0*(?:[0-8bBcCe-fE-F]|1[0-9a-fA-F]|[fF]{3}[eEfF])(?![0-9a-fA-F])"
    r"|0*(?:[0-8]|1[124-9]|2[0-9]|3[01]|6553[45])(?![0-9]))")


@dataclass
class Extracted:
    """What newswatch keeps of one article page."""

    url: str
    title: str | None
    author: str | None
    published: str | None  # ISO 8601; with time and zone when the page gives them
    language: str | None
    lead: str | None
    text: str  # paragraphs, one per line
    content_hash: str  # of the normalised text
    modified: str | None = None  # ISO 8601 last modification, when the page gives it
    images: list[dict[str, str | None]] = field(default_factory=list)  # {"src", "caption"}
    # why the profile's body reading was replaced by the generic one (monitor.extract.guard)
    guard: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (for pickling across processes and storing)."""
        return asdict(self)


def normalize_text(text: str) -> str:
    """NFC, single spaces inside lines, no empty lines."""
    text = unicodedata.normalize("NFC", text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def content_hash(text: str) -> str:
    """Stable hash of normalised text (case and whitespace insensitive)."""
    return hashlib.sha256(normalize_text(text).casefold().encode("utf-8")).hexdigest()


@lru_cache(maxsize=64)
def _line_filter(extra: tuple[str, ...]) -> re.Pattern[str]:
    patterns = [*rules.CLUTTER_LINES.values(), *extra]
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def _drop_control_characters(html: str, tree: Any) -> None:
    """Blank the control characters that references such as ``&#1;`` or ``&#x1F;`` put
    in the parsed text: lxml parses them but refuses to set such text, so trafilatura's
    cleaning raised inside and discarded the whole article. The tree is walked only when
    the page's text can hold one: the page holds such a reference. ``tree`` is the one
    trafilatura's ``load_html`` parsed from ``html``, which deletes the characters
    themselves before parsing (``trafilatura.utils.repair_faulty_html``, the same set as
    ``_NOT_XML``: ``tests/test_extract.py`` holds it to that), so a raw control character
    never reaches the tree and the page is not searched for one (0.4 ms a page)."""
    if not ("&#" in html and _NOT_XML_REFERENCE.search(html)):
        return
    for node in tree.iter():
        if node.text and _NOT_XML.search(node.text):
            node.text = _NOT_XML.sub(" ", node.text)
        if node.tail and _NOT_XML.search(node.tail):
            node.tail = _NOT_XML.sub(" ", node.tail)


def _first_text(tree: Any, xpath: str | None, outside: Sequence[str] = ()) -> str | None:
    """The first non-empty text ``xpath`` finds; nodes within an ``outside`` block (e.g.
    the profile's clutter) do not count."""
    if not xpath:
        return None
    blocked: set[Any] | None = None  # the outside blocks' nodes, found once a match needs them
    for node in tree.xpath(xpath):
        if outside and not isinstance(node, str):
            if blocked is None:
                blocked = {block for rule in outside for block in tree.xpath(rule)}
            if node in blocked or any(a in blocked for a in node.iterancestors()):
                continue
        text = node if isinstance(node, str) else " ".join(node.itertext())
        text = normalize_text(text).replace("\n", " ")
        if text:
            return text
    return None


def _zone(offset: str) -> timezone:
    sign = -1 if offset.startswith("-") else 1
    hours, minutes = offset[1:].split(":")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))


def _iso(value: str, tz: timezone) -> str | None:
    """ISO 8601 from an ISO-ish string; naive times get the source's zone."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.isoformat()


def _date_from_rule(tree: Any, rule: DateRule, tz: timezone,
                    fetched: datetime | None = None) -> str | None:
    text = _first_text(tree, rule.xpath)
    if not text:
        return None
    if rule.pattern:
        match = re.search(rule.pattern, text)
        if not match:
            return None
        text = match.group(1) if match.groups() else match.group(0)
    for fmt in rule.formats:
        try:
            parsed = datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        return pagemeta.plausible(parsed.isoformat(), tz, fetched)
    return None


def _json_ld_data(script: Any) -> Any:
    """One JSON-LD script's data: strict JSON with raw line breaks allowed in strings,
    else extruct's lenient reading (comments, trailing commas); None when unreadable."""
    raw = script.text or ""
    try:
        return json.loads(raw, strict=False)
    except RecursionError:  # nested past the parser's depth: a hostile page
        return None
    except ValueError:
        pass
    try:
        from extruct.jsonld import JsonLdExtractor

        return list(JsonLdExtractor()._extract_items(script))
    except Exception:  # noqa: BLE001 - extruct raises what its JSON readers raise
        return None


def _json_ld(tree: Any) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for script in tree.xpath("//script[@type='application/ld+json']"):
        data = _json_ld_data(script)
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                objects.append(item)
                stack.extend(v for k, v in item.items() if k == "@graph")
    return objects


def _json_ld_body(json_ld: list[dict[str, Any]]) -> list[str]:
    """Paragraphs of a schema.org article's ``articleBody`` (app-shell pages whose text
    is only there)."""
    body = fusion.page_signals(lxml.html.Element("html"), json_ld).article_body
    if not body or "<" in body[:200] and ">" in body[:200]:
        return []
    return [line for line in (normalize_text(part) for part in body.splitlines()) if line]


def _first_of(tree: Any, xpaths: list[str]) -> str | None:
    for xpath in xpaths:
        found = _first_text(tree, xpath)
        if found:
            return found
    return None


def _article_scope(tree: Any, profile: SiteProfile) -> tuple[Any, list[Any]]:
    """The part of the page to read and the profile's body containers in it.

    With a profile body rule that matches, every matching container (the outermost
    ones, in document order: a body split by an ad block is two containers) is moved
    into a small tree of its own (faster, and no chrome to misjudge). Else the whole
    page and no containers."""
    if not profile.body:
        return tree, []
    found = blocks.outermost(tree.xpath(profile.body))
    if not found:
        return tree, []
    scope, container = lxml.html.Element("html"), lxml.html.Element("body")
    scope.append(container)
    for body in found:
        body.tail = None
        parent = body.getparent()
        if parent is not None:
            parent.remove(body)
        container.append(body)
    return scope, found


def _title(tree: Any, profile: SiteProfile, json_ld: list[dict[str, Any]],
           url: str) -> str | None:
    """The headline: og:title, twitter:title, the <h1>, <title>, in that order; a title
    not read from the <h1> loses the site's name around it
    (``monitor.extract.pagemeta.strip_site_name``), never a part of its own."""
    for xpath in rules.TITLE_XPATHS:
        title = _first_text(tree, xpath)
        if title:
            break
    else:
        return None
    if xpath != rules.TITLE_HEADING_XPATH and _TITLE_SEPARATOR.search(title):
        named = {pagemeta.fold(str(v)) for v in tree.xpath(rules.SITE_NAME_XPATH)}
        named |= {pagemeta.fold(name) for name in profile.outlet_names}
        named |= {pagemeta.fold(o["publisher"]["name"]) for o in json_ld
                  if isinstance(o.get("publisher"), dict)
                  and isinstance(o["publisher"].get("name"), str)}
        sites = pagemeta.site_names(tree, url, json_ld) | named
        headings = [_first_text(node, ".") or "" for node in tree.xpath("//h1")[:3]]
        title = pagemeta.strip_site_name(title, sites, named - {""}, headings)
    return pagemeta.clean_text(title)


def _author(tree: Any, profile: SiteProfile, json_ld: list[dict[str, Any]],
            url: str) -> str | None:
    """The byline as a person: the profile's rule, a JSON-LD Person, a visible byline,
    then the meta author; the site's own name never counts."""
    def candidates() -> Iterator[str | None]:
        yield _first_text(tree, profile.author)
        yield from (pagemeta.person(obj.get("author")) for obj in json_ld if "author" in obj)
        # a byline inside the profile's clutter (a related box) is another article's
        yield from (_first_text(tree, xpath, outside=profile.clutter)
                    for xpath in rules.BYLINE_XPATHS)
        yield from (_first_text(tree, xpath) for xpath in rules.AUTHOR_XPATHS)

    return pagemeta.pick_author(candidates(), lambda: pagemeta.site_names(tree, url, json_ld))


def _json_ld_author(objects: list[dict[str, Any]]) -> str | None:
    for obj in objects:
        author = obj.get("author")
        if isinstance(author, list) and author:
            author = author[0]
        if isinstance(author, dict):
            author = author.get("name")
        if isinstance(author, str) and author.strip():
            return normalize_text(author).replace("\n", " ")
    return None


def _published(tree: Any, profile: SiteProfile, tz: timezone,
               json_ld: list[dict[str, Any]], url: str = "",
               fetched: datetime | None = None) -> str | None:
    """Publication time: the profile's date rule, meta tags, JSON-LD, a visible
    dateline, the article URL's own date (a hint that beats dates of links inside the
    page), a relative dateline; dates with a time before dates without; None when none
    has one (htmldate comes last, in ``extract``). Each is taken only inside the
    publication window seen at ``fetched`` (``monitor.extract.pagemeta.plausible``)."""
    fetched = fetched or datetime.now(UTC)
    if profile.date:
        found = _date_from_rule(tree, profile.date, tz, fetched)
        if found:
            return found
    found = _meta_time(tree, tz, json_ld, rules.DATE_META_XPATHS, rules.JSON_LD_DATE_KEYS,
                       fetched)
    if found and "T" in found:
        return found
    zone = pagemeta.zone_for(url, tz)
    written, relative = pagemeta.dateline(tree, zone, fetched)
    from_url = pagemeta.url_date(url, zone, fetched)
    if written and "T" in written:
        return written
    if from_url and "T" in from_url:
        return from_url
    return relative or found or written or from_url


def _modified(tree: Any, tz: timezone, json_ld: list[dict[str, Any]]) -> str | None:
    return _meta_time(tree, tz, json_ld, rules.MODIFIED_META_XPATHS,
                      rules.JSON_LD_MODIFIED_KEYS)


def _meta_time(tree: Any, tz: timezone, json_ld: list[dict[str, Any]], xpaths: list[str],
               keys: list[str], fetched: datetime | None = None) -> str | None:
    """The first readable time in the meta tags, then in JSON-LD (ISO 8601, RFC 822,
    day-first slashes, short offsets: ``monitor.extract.pagemeta.parse_date``)."""
    for xpath in xpaths:
        found = pagemeta.meta_date([str(v) for v in tree.xpath(xpath)], tz, fetched)
        if found:
            return found
    for obj in json_ld:
        values = [obj[key] for key in keys if isinstance(obj.get(key), str)]
        found = pagemeta.meta_date(values, tz, fetched)
        if found:
            return found
    return None


def _caption(img: Any) -> str | None:
    """The caption of a photo: its figure's figcaption, else the text of the small table
    that frames it (the ``<table class="image">`` layout of older CMSs)."""
    for ancestor in img.iterancestors():
        if ancestor.tag == "figure":
            text = _first_text(ancestor, ".//figcaption")
            return text or None
        if ancestor.tag == "table":
            if len(ancestor.xpath(".//tr")) <= rules.IMAGE_TABLE_MAX_ROWS:
                text = normalize_text(" ".join(ancestor.itertext())).replace("\n", " ")
                return text or None
            return None
    return None


def _one_item(tree: Any, json_ld: list[dict[str, Any]]) -> bool:
    """Does the page say it is one article, video or photo story (og:type, JSON-LD
    @type), so that a short text is still its text?"""
    kinds = {str(v).strip().lower() for v in tree.xpath(rules.ITEM_OG_TYPE_XPATH)}
    if kinds & set(rules.ITEM_OG_TYPES):
        return True
    for obj in json_ld:
        kind = obj.get("@type")
        for name in kind if isinstance(kind, list) else [kind]:
            if isinstance(name, str) and (name in rules.ITEM_JSON_LD_TYPES
                                          or name in rules.JSON_LD_ARTICLE_TYPES):
                return True
    return False


def _absolute(base: str, link: str) -> str | None:
    """``link`` resolved against ``base``; None when it does not parse (``http://[x``)."""
    try:
        return urljoin(base, link)
    except ValueError:
        return None


def _images(scope: Any, url: str, generic: bool,
            captions: dict[Any, str] | None = None) -> list[dict[str, str | None]]:
    """Photos of the article with their captions (metadata: captions never go in the
    body). Inside a profile's body container every image counts; on a whole page only
    images in a <figure> or a photo table, images whose caption ``monitor.extract.blocks``
    detached (``captions``: {img: caption}), plus og:image."""
    captions = captions or {}
    found: dict[str, str | None] = {}
    xpath = rules.IMAGE_XPATH_PAGE if generic else rules.IMAGE_XPATH_CONTAINER
    imgs = scope.xpath(xpath)
    if generic and captions:
        chosen = set(imgs) | set(captions)
        imgs = [img for img in scope.iter("img") if img in chosen]
    for img in imgs:
        # lazy-loading pages put a placeholder in src and the photo in data-src
        src = next((value.strip() for value in (img.get(a) for a in rules.IMAGE_SRC_ATTRIBUTES)
                    if value and value.strip() and not value.strip().startswith("data:")), "")
        if not src:
            continue
        src = _absolute(url, src)
        if src is None:
            continue
        caption = captions.get(img) or _caption(img)
        if src not in found or (caption and not found[src]):
            found[src] = caption
        if len(found) >= rules.MAX_IMAGES:
            break
    if generic:
        for value in scope.xpath(rules.OG_IMAGE_XPATH)[:1]:
            src = _absolute(url, str(value).strip())
            if src and src not in found:
                found = {src: None, **found}
    return [{"src": src, "caption": caption} for src, caption in found.items()]


def detect_language(tree: Any, text: str) -> str | None:
    """The page's declared language (``<html lang>``), else a Vietnamese-letter check."""
    declared = tree.xpath("string(/html/@lang)").strip().lower()
    if declared:
        return declared.split("-")[0].split("_")[0]
    letters = [c for c in text.lower() if c.isalpha()]
    if not letters:
        return None
    share = sum(c in rules.VIETNAMESE_LETTERS for c in letters) / len(letters)
    return "vi" if share > 0.03 else ("en" if all(c.isascii() for c in letters[:2000]) else None)


def _strip_prefixes(line: str, prefixes: list[str]) -> str:
    for prefix in prefixes:
        if line.startswith(prefix):
            return line[len(prefix):].lstrip()
    return line


def clean_lines(text: str, profile: SiteProfile, title: str | None = None,
                author: str | None = None) -> list[str]:
    """Paragraph lines without clutter: counters, bylines, captions, repeated title/byline."""
    clutter = _line_filter(tuple(profile.clutter_lines))
    lines = [_strip_prefixes(line, profile.strip_prefixes)
             for line in normalize_text(text).splitlines()]
    lines = [line for line in lines if line and not clutter.search(line)]
    if title and lines and lines[0].casefold() == normalize_text(title).casefold():
        lines.pop(0)
    if author and lines and lines[-1].casefold() == normalize_text(author).casefold():
        lines.pop()
    return lines


def _is_outlet(author: str, profile: SiteProfile) -> bool:
    """True when ``author`` is one of the profile's ``outlet_names`` (case-insensitive)."""
    name = normalize_text(author).casefold()
    return any(name == normalize_text(n).casefold() for n in profile.outlet_names)


def _same(a: str, b: str) -> bool:
    return _SPACES.sub(" ", a).strip().casefold() == _SPACES.sub(" ", b).strip().casefold()


def extract(html: str | bytes, url: str, profile: SiteProfile | None = None,
            tz: str = "+07:00", charset_hint: str | bytes | None = None,
            metadata: bool = True, fetched: datetime | None = None,
            vote: bool | None = None, owned_domains: Sequence[str] = (),
            on_tree: Callable[[Any], None] | None = None) -> Extracted | None:
    """Extract an article; None when the page holds no article text.

    ``html`` is the page's text, or its bytes as served: bytes are decoded by
    ``monitor.extract.charset.decode_html``, which checks ``charset_hint`` (the HTTP
    Content-Type value or just its charset) and the page's ``<meta>`` against the bytes.
    ``metadata=False`` skips what the text does not need (dates, images, language,
    canonical URL: left empty), for ``extract_body``. ``fetched`` (aware; default now)
    resolves relative datelines ("2 giờ trước"). ``vote`` (default ``GENERIC_VOTE``)
    lets ``monitor.extract.vote`` pick between trafilatura's and readability-lxml's body on pages
    without a profile body container. ``owned_domains`` (the source's domains) lets a
    rel=canonical on another host of the same source be trusted. ``on_tree`` is called
    with the page's parsed tree before extraction changes it (the worker's profile-rule
    check, ``monitor.processes.workers``), and not at all when the page cannot be parsed.
    """
    profile = profile or _NO_PROFILE
    if isinstance(html, bytes):
        html = decode_html(html, charset_hint)
    tree = load_html(html)
    if tree is None:
        return None
    if on_tree is not None:
        on_tree(tree)
    _drop_control_characters(html, tree)
    zone = _zone(tz)
    json_ld = _json_ld(tree)
    published = _published(tree, profile, zone, json_ld, url, fetched) if metadata else None
    # a lead inside clutter (a RELATED NEWS teaser's sapo) is another article's lead
    lead = _first_text(tree, profile.lead, outside=profile.clutter)
    if lead:
        lead = pagemeta.strip_agency_tag(
            _strip_prefixes(pagemeta.clean_text(lead), profile.strip_prefixes))
    # a learned profile's title rule (monitor.extract.learn) first, else the page's own
    title = _first_text(tree, profile.title)
    title = pagemeta.clean_text(title) if title else _title(tree, profile, json_ld, url)
    if not title:
        title = next((pagemeta.clean_text(o["headline"]) for o in json_ld
                      if isinstance(o.get("headline"), str) and o["headline"].strip()), None)
    author = _author(tree, profile, json_ld, url)
    if author and _is_outlet(author, profile):  # "VnExpress", "Dân Trí": a site, not a person
        author = None
    declared = tree.xpath("string(//link[@rel='canonical']/@href)") or None
    modified = _modified(tree, zone, json_ld) if metadata else None
    scope, containers = _article_scope(tree, profile)
    generic = not containers  # no profile body container: the generic rules and signals
    # most paragraph text left outside the body containers: compare with the generic
    # reading once the profile's is done (monitor.extract.guard)
    check_guard = bool(containers) and guard.suspicious(tree, containers)
    guarded: str | None = None
    captions = blocks.detach_captions(scope)
    images = _images(scope, url, generic=generic, captions=captions) if metadata else []
    if generic:
        if GENERIC_COMMENTS:
            body = scope.find("body")
            blocks.drop_comments([body if body is not None else scope],
                                 max_share=rules.COMMENT_MAX_PAGE_SHARE)
        doc = trafilatura.bare_extraction(
            scope, url=url, with_metadata=False, include_comments=False, include_tables=True,
            favor_precision=GENERIC_PRECISION,
            prune_xpath=[*rules.PRUNE_XPATHS, *profile.clutter],
        )
        raw = doc.text if doc is not None and doc.text else ""
        lines = clean_lines(raw, profile, title, author)
        if lines:
            lines = blocks.fill_gaps(tree, lines, lists=GENERIC_LIST_FILL)
            lines = fusion.tidy_lines(lines, fusion.page_signals(tree, json_ld))
        if GENERIC_VOTE if vote is None else vote:
            lines = _voted(html, tree, lines, profile, title, author)
        byline = blocks.trailing_byline(tree, lines)
        if byline:  # a right-aligned signature at the end: the author, not the text
            lines = lines[:-1]
            author = author or byline
    else:
        for xpath in [*rules.PRUNE_XPATHS, *profile.clutter]:
            for node in scope.xpath(xpath):
                if node.getparent() is not None:
                    node.drop_tree()
        blocks.drop_comments(containers)  # trafilatura's comment exclusion, for containers
        lines = clean_lines("\n".join(blocks.container_lines(containers)), profile, title,
                            author)
        if check_guard and not guard.speaks_for("\n".join(lines), title):
            plain = extract(html, url, None, tz, metadata=False, fetched=fetched, vote=vote)
            guarded = guard.loses("\n".join(lines), plain.text if plain else "", profile.body,
                                  guard.describe(tree, title))
            if guarded and plain is not None:
                lines = plain.text.split("\n")
    if len("".join(lines)) < rules.MIN_ARTICLE_CHARS:
        lines = _json_ld_body(json_ld) or lines  # the text is only in JSON-LD
    if lines:
        lines[0] = pagemeta.strip_agency_tag(lines[0])
    if lead and not any(_same(lead, line) for line in lines[:3]):
        lines.insert(0, lead)
    text = "\n".join(lines)
    if len(text) < rules.MIN_ARTICLE_CHARS and not (
            len(text) >= rules.MIN_ITEM_CHARS and _one_item(tree, json_ld)):
        return None  # the crawl records it: "no article text on the page"
    if not published and metadata:
        published = pagemeta.plausible(find_date(
            tree, url=url or None, extensive_search=False, original_date=True,
            min_date=discovery.load_rules().date_floor.date().isoformat(),
            max_date=(fetched or datetime.now(UTC)).astimezone(zone).date().isoformat()),
            zone, fetched)
    return Extracted(
        url=trusted_canonical(url, declared, owned_domains) if metadata else url,
        title=title,
        author=author,
        published=published,
        language=detect_language(tree, text) if metadata else None,
        lead=lead or (lines[0] if lines else None),
        text=text,
        content_hash=content_hash(text),
        modified=modified,
        images=images,
        guard=guarded,
    )


def _voted(html: str, tree: Any, lines: list[str], profile: SiteProfile,
           title: str | None, author: str | None) -> list[str]:
    """trafilatura's lines, or readability-lxml's when they agree better with the
    consensus of the other extractors (``monitor.extract.vote``)."""
    language = tree.xpath("string(/html/@lang)").strip().lower()[:2] or None
    voices = vote.run_voters(html, tree, language)
    ours = "\n".join(lines)
    if "readability" not in voices:
        return lines
    plain = trafilatura.extract(html, include_comments=False)
    if plain:
        voices["trafilatura"] = plain
    winner = vote.pick({"newswatch": ours, "readability": voices["readability"]}, voices)
    if winner == "newswatch":
        return lines
    return clean_lines(voices["readability"], profile, title, author)


def extract_body(html: str | bytes, url: str | None = None, vote: bool | None = None) -> str:
    """Body text only, with the generic rules (no site profile): for evaluation."""
    result = extract(html, url or "", metadata=False, vote=vote)
    return result.text if result else ""

