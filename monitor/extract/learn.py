"""Learn a site profile from article pages of one site.

``learn_profile(pages)`` compares several article pages of one template with each other
and with newswatch's generic reading (``extract(html, url, None)``) and induces the rules
of a ``SiteProfile``:

- ``body``: the element holding most of the generic text's paragraphs, named by an
  attribute (class token, id, data-role...) that picks exactly that element on every page;
- ``lead``: a block before the body, outside it, whose text is the generic reading's
  first line or the page's summary (meta description), with the agency tag the pages
  share before it (``strip_prefixes``);
- ``author``: a short name-like block near the title or closing the body, whose text
  varies from page to page (a right-aligned signature is also clutter);
- ``date``: an element whose text reads as a date in one of the known shapes
  (``rules.LEARN_DATE_SHAPES``) on every page, when the page metadata lacks a time;
- ``clutter``: blocks inside the body that the generic reading left out on every page
  they appear on (related-story boxes, source lines, captions, widgets), and a
  link-dense box whose byline the generic author fallback would take for the author.

Every rule carries its evidence (pages matched, what it removed). The learner never sees
the pages a profile is scored on: the caller splits.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from typing import Any

from trafilatura.utils import load_html

from monitor.extract import blocks, rules
from monitor.extract.article import Extracted, extract, normalize_text
from monitor.extract.charset import decode_html
from monitor.sources import DateRule, SiteProfile

_NAME = re.compile(rules.LEARN_NAME)
_ZONE = re.compile(rules.LEARN_ZONE)
_PREFIX_END = re.compile(rules.LEARN_PREFIX_END)
_SAFE = re.compile(r"^[A-Za-z_][\w-]*$")  # a token an XPath literal may hold as it is
_DIGITS = re.compile(r"\d{3,}")  # an id with a number in it changes per page
_LINE_TAGS = ("p", "li", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "div", "td",
              "dd", "section", "article")
_WRAPPERS = ("ul", "ol", "blockquote", "table", "tbody", "tr", "center")


class LearnError(ValueError):
    """The pages do not give a profile (too few, no article text, no common container)."""


@dataclass
class Evidence:
    """Why a rule was learned: on how many of the learning pages it matched, and what it
    read or removed there."""

    rule: str
    value: str
    pages: int
    of: int
    note: str = ""
    samples: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One line for a YAML comment or a table."""
        shown = "; ".join(f'"{_cut(s, 60)}"' for s in self.samples[:2])
        return (f"{self.rule}: matched {self.pages}/{self.of} pages"
                + (f"; {self.note}" if self.note else "") + (f"; {shown}" if shown else ""))


@dataclass
class LearnedProfile:
    """A learned profile, its evidence per rule, and what the pages say beside it."""

    profile: SiteProfile
    evidence: list[Evidence]
    pages: int
    timezone: str | None = None  # the zone of the pages' times (+07:00), when they show one
    site_name: str | None = None  # og:site_name, the same on every page
    language: str | None = None  # <html lang> of most pages

    def as_dict(self) -> dict[str, Any]:
        """The profile as it goes into a profiles file (only the rules learned)."""
        return self.profile.model_dump(exclude_defaults=True)

    def to_yaml(self, name: str) -> str:
        """``profiles:`` YAML for ``name``, each rule preceded by its evidence as a
        comment."""
        notes: dict[str, list[str]] = {}
        for item in self.evidence:
            notes.setdefault(item.rule.split("[")[0], []).append(item.line())
        out = [f"# learned from {self.pages} article pages (newswatch profile learn)",
               "profiles:", f"  {name}:"]
        data = self.as_dict()
        for key in ("title", "body", "lead", "strip_prefixes", "author", "date", "clutter",
                    "outlet_names", "markup_from", "checked_against"):
            if key not in data and key != "checked_against":
                for note in notes.get(key, []):
                    out.append(f"    # {note}")
                continue
            for note in notes.get(key, []):
                out.append(f"    # {note}")
            value = data.get(key, [])
            if isinstance(value, str):
                out.append(f"    {key}: {_q(value)}")
            elif isinstance(value, dict):
                out.append(f"    {key}:")
                for sub, item in value.items():
                    if item is None:
                        continue
                    shown = (f"[{', '.join(_q(v) for v in item)}]" if isinstance(item, list)
                             else _q(item))
                    out.append(f"      {sub}: {shown}")
            elif not value:
                out.append(f"    {key}: []")
            else:
                out.append(f"    {key}:")
                out.extend(f"      - {_q(v)}" for v in value)
        return "\n".join(out) + "\n"


def _q(value: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is YAML's)."""
    return json.dumps(value, ensure_ascii=False)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


@dataclass
class _Page:
    url: str
    html: str
    tree: Any
    generic: Extracted
    lines: list[str]
    known: set[str]  # the generic lines (and the lead, once found)
    body: Any = None
    title_node: Any = None
    texts: dict[Any, str] = field(default_factory=dict)

    def text(self, node: Any) -> str:
        found = self.texts.get(node)
        if found is None:
            found = self.texts[node] = blocks.node_text(node)
        return found


# --------------------------------------------------------------------------- selectors


def _literal(value: str) -> str | None:
    if "'" in value:
        return None if '"' in value else f'"{value}"'
    return f"'{value}'"


def _selectors(node: Any, prefix: str = "/") -> list[str]:
    """XPaths that may name ``node`` on every page of its template, most readable first:
    a class token, an identifying attribute, an id without a number, two class tokens,
    the tag alone. ``prefix`` roots them (``//`` anywhere, ``BODY//`` inside the body)."""
    tag = node.tag if isinstance(node.tag, str) else "*"
    classes = [c for c in (node.get("class") or "").split() if _SAFE.match(c)]
    found: list[str] = []
    for name in sorted(classes, key=lambda c: (-len(c), c)):
        found.append(f"{prefix}/{tag}[contains(@class,'{name}')]")
    for attr in rules.LEARN_ATTRIBUTES:
        value = node.get(attr)
        literal = _literal(value) if value else None
        if literal and len(value) <= 60:
            found.append(f"{prefix}/{tag}[@{attr}={literal}]")
    ident = node.get("id")
    if ident and _SAFE.match(ident) and not _DIGITS.search(ident):
        found.append(f"{prefix}/{tag}[@id='{ident}']")
    for a, b in combinations(classes, 2):
        found.append(f"{prefix}/{tag}[contains(@class,'{a}') and contains(@class,'{b}')]")
    found.append(f"{prefix}/{tag}")
    return found


def _select(tree: Any, xpath: str) -> list[Any]:
    try:
        return [n for n in tree.xpath(xpath) if not isinstance(n, str)]
    except Exception:  # noqa: BLE001 - lxml raises several XPath errors
        return []


def _first_value(tree: Any, xpath: str, outside: Sequence[str] = ()) -> str | None:
    blocked = {b for rule in outside for b in _select(tree, rule)} if outside else set()
    for node in _select(tree, xpath):
        if node in blocked or any(a in blocked for a in node.iterancestors()):
            continue
        text = normalize_text(" ".join(node.itertext())).replace("\n", " ")
        if text:
            return text
    return None


# --------------------------------------------------------------------------- reading pages


def _prepare(pages: Iterable[tuple[str, str | bytes]], tz: str) -> list[_Page]:
    prepared = []
    for url, html in pages:
        text = decode_html(html, None) if isinstance(html, bytes) else html
        generic = extract(text, url, None, tz)
        tree = load_html(text)
        if generic is None or tree is None:
            continue
        lines = generic.text.splitlines()
        prepared.append(_Page(url, text, tree, generic, lines, set(lines)))
    return prepared


def _line_nodes(page: _Page) -> dict[str, list[Any]]:
    """The deepest block element holding each generic line exactly."""
    wanted = set(page.lines)
    found: dict[str, list[Any]] = {}
    for node in page.tree.iter(*_LINE_TAGS):
        text = page.text(node)
        if text in wanted:
            found.setdefault(text, []).append(node)
    for text, nodes in found.items():
        inner = set(nodes)
        found[text] = [n for n in nodes if not any(d in inner for d in n.iterdescendants())]
    return found


def _container_of(node: Any) -> Any:
    parent = node.getparent()
    while parent is not None and parent.tag in _WRAPPERS:
        parent = parent.getparent()
    return parent


def _signature(node: Any) -> tuple[str, str]:
    return (str(node.tag), " ".join(sorted((node.get("class") or "").split())))


def _learn_body(pages: list[_Page], evidence: list[Evidence]) -> str:
    for page in pages:
        votes: Counter[Any] = Counter()
        for text, nodes in _line_nodes(page).items():
            for node in nodes:
                parent = _container_of(node)
                if parent is not None:
                    votes[parent] += len(text)
        page.body = votes.most_common(1)[0][0] if votes else None
    signatures = Counter(_signature(p.body) for p in pages if p.body is not None)
    if not signatures:
        raise LearnError("no page has article text the generic reading could place")
    common, _ = signatures.most_common(1)[0]
    typical = [p for p in pages if p.body is not None and _signature(p.body) == common]
    for xpath in _selectors(typical[0].body):
        if all(blocks.outermost(_select(p.tree, xpath)) == [p.body] for p in typical):
            covered = sum(len(t) for p in typical for t in p.lines if t in p.text(p.body))
            total = sum(len(t) for p in typical for t in p.lines) or 1
            evidence.append(Evidence("body", xpath, len(typical), len(pages),
                                     f"holds {covered / total:.0%} of the generic text"))
            for page in pages:  # pages of another layout: the rule's own container, if any
                if page not in typical:
                    found = blocks.outermost(_select(page.tree, xpath))
                    page.body = found[0] if len(found) == 1 else None
            return xpath
    raise LearnError(f"no attribute names the article container <{common[0]} "
                     f"class={common[1]!r}> on every page")


# --------------------------------------------------------------------------- title, lead


def _title_node(page: _Page) -> Any:
    title = page.generic.title
    for node in page.tree.iter("h1", "h2", "h3"):
        if title and page.text(node) == normalize_text(title).replace("\n", " "):
            return node
    return None


def _learn_title(pages: list[_Page], evidence: list[Evidence]) -> str | None:
    """A headline rule when the generic title is cut short on some page (no og:title or
    h1, and the ``<title>`` split at a " - " inside the headline): an element before the
    body whose text holds the generic title and opens the ``<title>``."""
    votes: Counter[str] = Counter()
    found: dict[int, Any] = {}
    for i, page in enumerate(pages):
        title = normalize_text(page.generic.title or "").replace("\n", " ")
        head = normalize_text(page.tree.xpath("string(//head/title)")).replace("\n", " ")
        if not title or not head:
            continue
        for node in page.tree.iter("h1", "h2", "h3", "h4", "div", "span", "p"):
            text = page.text(node)
            if (title in text and head.startswith(text) and len(text) < 300
                    and not any(page.text(c) == text for c in node)):
                found[i] = node
                for xpath in _selectors(node.getparent() if node.getparent() is not None
                                        and page.text(node.getparent()) == text else node):
                    votes[xpath] += 1
                for xpath in _selectors(node):
                    votes[xpath] += 1
                break
    short = [i for i, node in found.items()
             if pages[i].text(node) != normalize_text(pages[i].generic.title or "")]
    if not short or len(found) < len(pages):
        return None
    for xpath, _ in votes.most_common():
        if all(_first_value(p.tree, xpath) == p.text(found[i]) for i, p in enumerate(pages)):
            evidence.append(Evidence("title", xpath, len(found), len(pages),
                                     f"the generic title is cut short on {len(short)}",
                                     [pages[i].text(found[i]) for i in short[:2]]))
            for i in short:
                pages[i].title_node = found[i]
            return xpath
    return None


def _before(a: Any, b: Any, order: dict[Any, int]) -> bool:
    return order.get(a, -1) < order.get(b, -1)


def _orders(page: _Page) -> dict[Any, int]:
    return {node: i for i, node in enumerate(page.tree.iter())}


def _inside(node: Any, container: Any) -> bool:
    return node is container or any(a is container for a in node.iterancestors())


def _link_dense(node: Any, page: _Page) -> bool:
    text = page.text(node)
    if not text:
        return False
    links = sum(len(page.text(a)) for a in node.iter("a"))
    return links / len(text) >= rules.LEARN_LINK_DENSE


def _learn_lead(pages: list[_Page], evidence: list[Evidence]
                ) -> tuple[str | None, list[str], list[str]]:
    """The sapo: a block between the title and the body, outside the body, whose text is
    the generic first line or the page's summary (or, on pages with neither, a long
    block that differs from page to page), named the same way on the pages."""
    votes: Counter[str] = Counter()
    chosen: dict[int, Any] = {}
    said = 0  # pages where the summary or the generic first line vouches for the lead
    for i, page in enumerate(pages):
        if page.body is None:
            continue
        order = _orders(page)
        summary = " ".join(str(v) for v in page.tree.xpath(
            "//meta[@name='description']/@content | //meta[@property='og:description']/@content"))
        summary = normalize_text(summary).replace("\n", " ")
        first = page.lines[0] if page.lines else ""
        start = page.title_node
        for node in page.tree.iter("p", "div", "h2", "h3", "span", "section", "strong"):
            if not _before(node, page.body, order) or _inside(page.body, node):
                continue
            if start is not None and not _before(start, node, order):
                continue
            text = page.text(node)
            if len(text) < rules.LEARN_LEAD_MIN_CHARS or _link_dense(node, page):
                continue
            if any(page.text(c) and c.tag not in ("strong", "b", "em", "i", "span")
                   and page.text(c) != text for c in node):
                continue  # a wrapper of several blocks, not the lead's own
            marks = " ".join(str(n.get(a) or "") for n in (node, *node.iterdescendants())
                             for a in ("class", "id", "data-role")).lower()
            vouched = bool(first and text.endswith(first)) or bool(
                summary and (text[-60:] in summary or summary[:60] in text)) or any(
                mark in marks for mark in rules.LEARN_LEAD_MARKS)
            if not vouched and (len(text) < 2 * rules.LEARN_LEAD_MIN_CHARS or start is None):
                continue
            said += vouched
            chosen[i] = node
            same = [node, *(d for d in node.iterdescendants() if page.text(d) == text)]
            for xpath in dict.fromkeys(x for n in same for x in _selectors(n)):
                votes[xpath] += 1
            break
    if len(chosen) < max(2, len(pages) // 5) or not said:
        return None, [], []
    leads_all = [pages[i].text(n) for i, n in chosen.items()]
    if len(set(leads_all)) < len(leads_all):
        return None, [], []  # the same block on several pages: chrome, not a lead
    for xpath, count in votes.most_common():
        if count < len(chosen):
            break
        if all(_first_value(pages[i].tree, xpath) == pages[i].text(node)
               for i, node in chosen.items()):
            leads = leads_all
            prefixes = _common_prefix(leads)
            evidence.append(Evidence("lead", xpath, len(chosen), len(pages),
                                     f"outside the body; the summary or first generic line on "
                                     f"{said}", leads[:2]))
            if prefixes:
                evidence.append(Evidence("strip_prefixes", prefixes[0], len(chosen),
                                         len(pages), "every lead starts with it"))
            for i, node in chosen.items():
                lead = pages[i].text(node)
                for prefix in prefixes:
                    lead = lead.removeprefix(prefix).lstrip()
                pages[i].known.add(lead)
            # pages without a lead: what the rule reads there is in a box of links (a
            # related story's teaser), which becomes clutter
            stray = {i: next((n for n in _select(p.tree, xpath)
                              if n is not chosen.get(i) and _box(p, n) is not None), None)
                     for i, p in enumerate(pages)}
            stray = {i: n for i, n in stray.items() if n is not None}
            boxes = _box_rule(pages, stray, evidence,
                              "a box of links whose teasers the lead rule would read")
            return xpath, prefixes, boxes
    return None, [], []


def _first_node(tree: Any, xpath: str) -> Any:
    found = _select(tree, xpath)
    return found[0] if found else None


def _common_prefix(texts: list[str]) -> list[str]:
    if len(texts) < 2:
        return []
    first, last = min(texts), max(texts)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    common = first[:size]
    ends = [m.end() for m in _PREFIX_END.finditer(common)]
    if not ends:
        return []
    prefix = common[:ends[-1]]
    if not 2 <= len(prefix.strip()) <= rules.LEARN_PREFIX_MAX_CHARS:
        return []
    return [prefix]


# --------------------------------------------------------------------------- date


def _meta_time(page: _Page) -> bool:
    """Whether the page's metadata (meta tags, JSON-LD) gives the publication time."""
    values = [str(v) for xpath in rules.DATE_META_XPATHS for v in page.tree.xpath(xpath)]
    for script in page.tree.xpath("//script[@type='application/ld+json']/text()"):
        values += re.findall(r'"datePublished"\s*:\s*"([^"]+)"', str(script))
    return any(re.search(r"\d:\d\d", v) for v in values)


def _zone_of(pages: list[_Page], texts: list[str]) -> str | None:
    zones: Counter[str] = Counter()
    for page in pages:
        found = re.search(r"([+-]\d\d:\d\d)$", page.generic.published or "")
        if found and _meta_time(page):
            zones[found.group(1)] += 1
    for text in texts:
        match = _ZONE.search(text)
        if match:
            sign, hours, minutes = match.groups()
            zones[f"{sign}{int(hours):02d}:{minutes or '00'}"] += 1
    return zones.most_common(1)[0][0] if zones else None


def _read(text: str, pattern: str, formats: list[str]) -> datetime | None:
    match = re.search(pattern, text)
    if not match:
        return None
    for fmt in formats:
        try:
            return datetime.strptime(match.group(1).strip(), fmt)
        except ValueError:
            continue
    return None


def _learn_date(pages: list[_Page], evidence: list[Evidence]) -> tuple[DateRule | None,
                                                                      str | None]:
    """A visible date rule when the metadata lacks a time on some page; the zone."""
    candidates: Counter[tuple[str, int]] = Counter()
    for page in pages:
        seen: set[tuple[str, int]] = set()
        for node in page.tree.iter():
            if not isinstance(node.tag, str) or node.tag in ("script", "style", "meta"):
                continue
            if page.body is not None and _inside(node, page.body):
                continue
            text = page.text(node)
            if not text or len(text) > 120:
                continue
            for k, (pattern, formats) in enumerate(rules.LEARN_DATE_SHAPES):
                if _read(text, pattern, formats) is not None:
                    for xpath in _selectors(node)[:-1]:
                        seen.add((xpath, k))
                    break
        candidates.update(seen)
    with_meta = sum(_meta_time(p) for p in pages)
    best: tuple[str, int, list[str]] | None = None
    for (xpath, k), count in sorted(candidates.items(), key=lambda kv: (kv[0][1], -kv[1])):
        if count < len(pages):
            continue
        pattern, formats = rules.LEARN_DATE_SHAPES[k]
        texts = [_first_value(p.tree, xpath) or "" for p in pages]
        read = [_read(t, pattern, formats) for t in texts]
        if any(r is None for r in read) or (len(pages) > 2 and len(set(read)) == 1):
            continue  # unread somewhere, or the same date on every page (a widget)
        best = (xpath, k, texts)
        break
    zone = _zone_of(pages, best[2] if best else [])
    if with_meta == len(pages):
        evidence.append(Evidence("date", "page metadata", with_meta, len(pages),
                                 "meta/JSON-LD give the time; no visible-date rule"))
        return None, zone
    if best is None:
        evidence.append(Evidence("date", "generic", 0, len(pages),
                                 "no element reads as a date on every page"))
        return None, zone
    xpath, k, texts = best
    pattern, formats = rules.LEARN_DATE_SHAPES[k]
    evidence.append(Evidence("date", xpath, len(pages), len(pages),
                             f"metadata has the time on {with_meta} only", texts[:2]))
    return DateRule(xpath=xpath, pattern=pattern, formats=formats), zone


# --------------------------------------------------------------------------- author


def _name_like(text: str | None, banned: set[str]) -> bool:
    if not text or len(text) > rules.LEARN_NAME_MAX_CHARS or not _NAME.match(text):
        return False
    if text.casefold() in banned:
        return False
    return all(word[:1].isupper() for word in text.split())


def _right_aligned(node: Any) -> bool:
    return "text-align:right" in (node.get("style") or "").replace(" ", "").lower()


def _author_candidates(page: _Page, body_xpath: str, order: dict[Any, int],
                       banned: set[str]) -> dict[str, Any]:
    """XPaths of name-like blocks near the title (before the body) or closing the body."""
    found: dict[str, Any] = {}
    if page.body is None:
        return found
    start = page.title_node
    for node in page.tree.iter():
        if not isinstance(node.tag, str) or node.tag in ("script", "style", "title", "meta"):
            continue
        inside = _inside(node, page.body)
        if not inside and not _before(node, page.body, order):
            break
        if not inside and (start is None or not _before(start, node, order)):
            continue
        if not _name_like(page.text(node), banned):
            continue
        if inside:
            block = next((a for a in [node, *node.iterancestors()]
                          if a.getparent() is page.body), None)
            if block is None or not _right_aligned(block):
                xpaths = _selectors(node, body_xpath + "/")[:-1]
            else:
                tail = "" if block is node else "/" + node.tag
                xpaths = [f"{body_xpath}/{block.tag}[contains(translate(@style,' ',''),"
                          f"'text-align:right')][last()]{tail}"]
        else:
            xpaths = _selectors(node)[:-1]
        for xpath in xpaths:
            found.setdefault(xpath, node)
    return found


def _learn_author(pages: list[_Page], body_xpath: str, banned: set[str],
                  evidence: list[Evidence]) -> tuple[str | None, list[str]]:
    """The byline rule and the clutter it brings (a signature inside the body)."""
    counts: Counter[str] = Counter()
    for page in pages:
        counts.update(list(_author_candidates(page, body_xpath, _orders(page), banned)))
    best: tuple[int, int, int, str] | None = None
    for xpath, count in counts.items():
        if count < max(2, len(pages) // 5):
            continue
        values = [_first_value(p.tree, xpath) for p in pages]
        if not all(v is None or _name_like(v, banned) for v in values):
            continue
        named = [v for v in values if v]
        if len(named) >= 3 and len(set(named)) < min(3, len(named) // 2):
            continue  # (nearly) the same on every page: a label, not a byline
        agree = sum(1 for p, v in zip(pages, values, strict=True)
                    if v and p.generic.author and v.casefold() == p.generic.author.casefold())
        key = (len(named), agree, -len(xpath), xpath)
        if best is None or key[:3] > best[:3]:
            best = key
    if best is None:
        return None, _author_guard(pages, evidence)
    xpath = best[3]
    values = [v for v in (_first_value(p.tree, xpath) for p in pages) if v]
    evidence.append(Evidence("author", xpath, best[0], len(pages),
                             f"a name, {len(set(values))} different; the generic author "
                             f"agrees on {best[1]}", values[:2]))
    clutter = []
    if xpath.startswith(body_xpath + "/") and "text-align:right" in xpath:
        line = xpath.rsplit("]", 1)[0] + "]" if not xpath.endswith("]") else xpath
        clutter.append(line)
        evidence.append(Evidence("clutter", line, best[0], len(pages),
                                 "the signature closing the body (the author)", values[:2]))
    return xpath, clutter


def _author_guard(pages: list[_Page], evidence: list[Evidence]) -> list[str]:
    """No byline on the pages: a box of links outside the body whose bylines the
    generic fallback (``rules.BYLINE_XPATHS``) would read as the author is clutter."""
    found = {i: next((n for xpath in rules.BYLINE_XPATHS for n in _select(p.tree, xpath)), None)
             for i, p in enumerate(pages)}
    return _box_rule(pages, found, evidence, "a related box whose bylines are other articles'")


def _box(page: _Page, node: Any) -> Any:
    """The box of links (a related-news list) holding ``node``, outside the body and the
    title; None when there is none."""
    box = next((a for a in node.iterancestors() if len(a.xpath(".//a")) >= 3), None)
    if box is None or any(n is not None and _inside(n, box)
                          for n in (page.body, page.title_node)):
        return None
    return box


def _box_rule(pages: list[_Page], nodes: dict[int, Any], evidence: list[Evidence],
              note: str) -> list[str]:
    """One clutter rule naming the boxes of links that hold ``nodes`` ({page: node})."""
    votes: Counter[str] = Counter()
    boxes = 0
    for i, node in nodes.items():
        box = _box(pages[i], node) if node is not None else None
        if box is None:
            continue
        boxes += 1
        for xpath in _selectors(box)[:-1]:
            if blocks.outermost(_select(pages[i].tree, xpath)) == [box]:
                votes[xpath] += 1
    for xpath, count in votes.most_common(1):
        if count >= max(1, boxes // 2) and count >= min(2, len(nodes)):
            evidence.append(Evidence("clutter", xpath, count, len(pages), note))
            return [xpath]
    return []


# --------------------------------------------------------------------------- clutter


def _lines_of(node: Any) -> list[str]:
    return blocks.container_lines([deepcopy(node)])


def _learn_clutter(pages: list[_Page], body_xpath: str, evidence: list[Evidence],
                   taken: Sequence[str]) -> list[str]:
    """Blocks inside the body the generic reading left out wherever they appear: each
    named by a selector that, on every learning page, picks only such blocks."""
    proposed: dict[str, list[str]] = {}
    repeated: dict[str, list[str]] = {}  # kept by the generic reading, maybe the same text
    for page in pages:
        if page.body is None:
            continue
        skip: set[Any] = set()
        for node in page.body.iterdescendants():
            if not isinstance(node.tag, str) or node in skip:
                continue
            if node.tag in ("a", "span", "strong", "b", "em", "i", "img", "br", "source"):
                continue
            lines = _lines_of(node)
            if not lines:
                continue
            if any(line in page.known for line in lines):
                if node.get("class") and len(" ".join(lines)) <= 200:
                    for xpath in _selectors(node, body_xpath + "/")[:-1]:
                        repeated.setdefault(xpath, []).append(" / ".join(lines))
                continue
            if any(any(line in known for known in page.known) for line in lines):
                continue  # part of a kept line (an inline element)
            skip.update(node.iterdescendants())
            for xpath in _selectors(node, body_xpath + "/")[:-1]:
                proposed.setdefault(xpath, []).append(" / ".join(lines))
    chosen: list[str] = []
    # the same text on most pages (a note box, "Share this:"): not the article's
    for xpath, texts in sorted(repeated.items(), key=lambda kv: (-len(kv[1]), len(kv[0]))):
        if len(set(texts)) != 1 or len(texts) < max(3, 0.6 * len(pages)) or xpath in taken:
            continue
        if not all(p.text(n) == texts[0] for p in pages for n in _select(p.tree, xpath)):
            continue
        if any(_same_blocks(pages, xpath, other) for other in chosen):
            continue
        chosen.append(xpath)
        evidence.append(Evidence("clutter", xpath, len(texts), len(pages),
                                 "the same text on every page it appears on", texts[:1]))
    for xpath, removed in sorted(proposed.items(), key=lambda kv: (-len(kv[1]), len(kv[0]))):
        if xpath in taken or len(removed) < min(2, len(pages)):
            continue
        matched = 0
        clean = True
        for page in pages:
            nodes = _select(page.tree, xpath)
            matched += bool(nodes)
            for node in nodes:
                lines = _lines_of(node)
                if any(line in page.known or any(line in k for k in page.known)
                       for line in lines):
                    clean = False
                    break
            if not clean:
                break
        if not clean:
            continue
        # one rule per block: a rule whose blocks another chosen rule already removes
        # adds nothing
        if any(_same_blocks(pages, xpath, other) for other in chosen):
            continue
        chosen.append(xpath)
        recurring = len(set(removed)) < len(removed)
        evidence.append(Evidence("clutter", xpath, matched, len(pages),
                                 "left out by the generic reading"
                                 + (", the same text on several pages" if recurring else ""),
                                 removed[:2]))
    return chosen


def _same_blocks(pages: list[_Page], a: str, b: str) -> bool:
    for page in pages:
        first, second = set(_select(page.tree, a)), set(_select(page.tree, b))
        if not first <= {n for m in second for n in (m, *m.iterdescendants())}:
            return False
    return True


# --------------------------------------------------------------------------- the whole


_TITLE_SUFFIX = re.compile(r"\s[|–—-]\s([^|–—-]{2,80})$")


def _site_name(pages: list[_Page]) -> str | None:
    """The site's name: its ``og:site_name`` on every page, else the part after the last
    separator of ``<title>`` when it is the same on every page (a template's suffix,
    "Headline | Ministry of Foreign Affairs"; a headline's own dash never repeats)."""
    names = Counter(normalize_text(str(v)) for p in pages
                    for v in p.tree.xpath("//meta[@property='og:site_name']/@content")[:1])
    if names and names.most_common(1)[0][1] == len(pages):
        return names.most_common(1)[0][0]
    suffixes: Counter[str] = Counter()
    for page in pages:
        found = _TITLE_SUFFIX.search(normalize_text(page.tree.xpath("string(//head/title)")))
        if found:
            suffixes[found.group(1).strip()] += 1
    if len(pages) >= 3 and suffixes and suffixes.most_common(1)[0][1] == len(pages):
        return suffixes.most_common(1)[0][0]
    return None


def learn_profile(pages: Sequence[tuple[str, str | bytes]], tz: str = "+07:00",
                  min_pages: int = 2) -> LearnedProfile:
    """Induce a site profile from article pages ``(url, html)`` of one site (one template;
    10 is plenty). Raises LearnError when fewer than ``min_pages`` pages have article
    text or no container can be named."""
    prepared = _prepare(pages, tz)
    if len(prepared) < min_pages:
        raise LearnError(f"{len(prepared)} of {len(pages)} pages have article text; "
                         f"at least {min_pages} are needed")
    evidence: list[Evidence] = []
    for page in prepared:
        page.title_node = _title_node(page)
    titled = sum(p.title_node is not None for p in prepared)
    evidence.append(Evidence("title", "generic (h1, og:title)", titled, len(prepared),
                             "the generic title is the page's headline"))
    title = _learn_title(prepared, evidence)
    body = _learn_body(prepared, evidence)
    site = _site_name(prepared)
    banned = {n.casefold() for n in ([site] if site else [])}
    for page in prepared:
        if page.generic.title:
            banned.add(normalize_text(page.generic.title).casefold())
    lead, prefixes, boxes = _learn_lead(prepared, evidence)
    date, zone = _learn_date(prepared, evidence)
    author, signature = _learn_author(prepared, body, banned, evidence)
    clutter = list(dict.fromkeys([*boxes, *signature]))
    clutter += _learn_clutter(prepared, body, evidence, clutter)
    languages = Counter(p.tree.xpath("string(/html/@lang)").strip().lower()[:2]
                        for p in prepared)
    profile = SiteProfile(
        body=body, clutter=clutter, strip_prefixes=prefixes, title=title, lead=lead,
        author=author,
        date=date, outlet_names=[site] if site else [],
        markup_from=[f"learned from {len(prepared)} pages (newswatch profile learn)"],
    )
    _self_check(prepared, profile, tz, evidence)
    language = languages.most_common(1)[0][0] if languages else None
    return LearnedProfile(profile, evidence, len(prepared), zone, site, language or None)


def _self_check(pages: list[_Page], profile: SiteProfile, tz: str,
                evidence: list[Evidence]) -> None:
    """The learned profile's reading of the learning pages beside the generic one."""
    added = lost = 0
    for page in pages:
        got = extract(page.html, page.url, profile, tz, metadata=False)
        lines = set(got.text.splitlines()) if got else set()
        added += len(lines - page.known)
        lost += len(set(page.lines) - lines)
    evidence.append(Evidence("check", "learned reading vs generic", len(pages), len(pages),
                             f"{added} line(s) the generic reading has not, {lost} it has "
                             "that the learned one has not (the lead counts as known)"))
