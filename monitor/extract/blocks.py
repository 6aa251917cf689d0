"""Page structure helpers around trafilatura: the text of a known body container, the
list items and sub-headings trafilatura left out between the paragraphs it kept, the
second half of a body split by an ad block, and photo captions in the shapes CMSs use
besides ``<figure>``.

All rules are structural (tags, positions, the page's own repeated classes) with their
parameters in ``monitor.extract.rules``; none knows a site.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from monitor.extract import rules

_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
_CREDIT = re.compile(rules.CAPTION_CREDIT, re.IGNORECASE)
_CAPTION_CLASS = re.compile(rules.CAPTION_CLASS, re.IGNORECASE)


def _words(text: str) -> str:
    """Comparison form: casefolded word tokens joined by single spaces."""
    return " ".join(_WORD.findall(text.casefold()))


def _norm(text: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def node_text(node: Any) -> str:
    """The node's text on one line (NFC, single spaces)."""
    return _norm(" ".join(node.itertext()))


# --------------------------------------------------------------------------- containers


def container_lines(containers: list[Any]) -> list[str]:
    """Text of a profile's body container(s), one block element per line, in order.

    The containers are already cut to the article (the profile's clutter and the photo
    captions are pruned before): every paragraph, list item, sub-heading, quote and
    table row in them is body text, whatever classes the CMS gives them."""
    lines: list[str] = []
    for container in containers:
        for node in container.iter(*rules.SKIP_TAGS):
            if node.getparent() is not None:
                node.drop_tree()
        for node in container.iter(*rules.BLOCK_TAGS):
            node.text = "\n" + (node.text or "")
            node.tail = "\n" + (node.tail or "")
        for node in container.iter("br"):
            node.tail = "\n" + (node.tail or "")
        text = "".join(container.itertext())
        lines.extend(line for line in (_norm(part) for part in text.split("\n")) if line)
    return lines


_COMMENT_MARK = re.compile("|".join(f"(?:{p})" for p in [*rules.COMMENT_MARKS.values(),
                                                            *rules.CONSENT_MARKS.values()]),
                           re.IGNORECASE)
_MARKED_OR_HEADING = " | ".join([".//*[@class or @id]",
                                  *(f".//{tag}" for tag in rules.COMMENT_HEADING_TAGS)])
_MARK_WORDS = re.compile("|".join(rules.MARK_WORDS), re.IGNORECASE)
_HEADING_CLASS_WORDS = re.compile("|".join(rules.COMMENT_HEADING_CLASSES), re.IGNORECASE)
_CONSENT_MARK = re.compile("|".join(f"(?:{p})" for p in rules.CONSENT_MARKS.values()),
                           re.IGNORECASE)
_COMMENT_HEADING = re.compile(rules.COMMENT_HEADINGS, re.IGNORECASE)


def _comment_marked(node: Any) -> bool:
    """Does the element's id or one of its class tokens name a comment block (or a cookie
    consent banner, ``rules.CONSENT_MARKS``)?"""
    if not isinstance(node.tag, str) or node.tag in rules.COMMENT_NEVER_TAGS:
        return False
    marks = [*(node.get("class") or "").split(), node.get("id") or ""]
    return any(mark and _COMMENT_MARK.fullmatch(mark) for mark in marks)


def _comment_heading(node: Any) -> bool:
    """A heading that opens a comment section: an ``<h2>``…``<h6>``, a ``<summary>`` or
    an element classed as a title, whose whole text is "Bình luận", "Comments (3)",
    "Leave a reply"…"""
    if not isinstance(node.tag, str) or len(node) > 1:
        return False
    marks = (node.get("class") or "").lower()
    if node.tag not in rules.COMMENT_HEADING_TAGS and not any(
            word in marks for word in rules.COMMENT_HEADING_CLASSES):
        return False
    return bool(_COMMENT_HEADING.match(node_text(node)))


def _consent_marked(node: Any) -> bool:
    marks = [*(node.get("class") or "").split(), node.get("id") or ""]
    return any(mark and _CONSENT_MARK.fullmatch(mark) for mark in marks)


def _first_paragraph(container: Any) -> Any:
    """The container's first paragraph of article length: a comment block never holds it."""
    for node in container.iter("p"):
        if len(node_text(node)) >= rules.GAP_MIN_ANCHOR_CHARS:
            return node
    return None


def drop_comments(containers: list[Any], max_share: float | None = None) -> list[str]:
    """Remove reader comment sections from a profile's body container(s), as trafilatura's
    comment exclusion does on the generic path: blocks whose id or class names comments
    (``rules.COMMENT_MARKS``: ``#comments``, ``ol.commentlist``, ``.comment-list``,
    Disqus and Facebook plugins, ``.box-binh-luan``, ``<details class="CommentBox">``;
    cookie consent banners too, ``rules.CONSENT_MARKS``) and blocks headed "Bình luận",
    "Comments", "3 comments" (``rules.COMMENT_HEADINGS``).
    A block that holds the article's first paragraph is never a comment block; with
    ``max_share`` (a whole page, the generic path), neither is one that holds that share
    of the page's paragraph text or more. A consent banner goes whatever it holds (a
    consent wall is all of its page), unless it wraps an ``<article>`` or ``<main>``.
    Returns the text of what was removed."""
    removed: list[str] = []
    for container in containers:
        found: list[Any] = []
        headings: list[Any] = []
        for node in container.xpath(_MARKED_OR_HEADING):
            marks = f"{node.get('class') or ''} {node.get('id') or ''}"
            if len(marks) > 1 and _MARK_WORDS.search(marks) and _comment_marked(node):
                found.append(node)
            if (node.tag in rules.COMMENT_HEADING_TAGS or len(marks) > 1 and (
                    _HEADING_CLASS_WORDS.search(marks))) and _comment_heading(node):
                headings.append(node)
        if not found and not headings:
            continue
        first = _first_paragraph(container)
        guarded = set() if first is None else {first, *first.iterancestors()}
        total = sum(len(node_text(p)) for p in container.iter("p")) if max_share else 0
        for heading in headings:
            block = heading.getparent()
            if block is None:
                continue
            if heading.tag == "summary" or (block is not container and block not in guarded):
                if heading.tag == "summary" or _previous_element(heading) is None:
                    found.append(block)  # the block it heads
            elif heading.tag in rules.COMMENT_HEADING_TAGS:
                # a heading among the article's blocks: it and what follows it
                found.extend([heading, *(n for n in heading.itersiblings()
                                         if isinstance(n.tag, str))])
        for node in outermost([n for n in found if n is not None and n is not container]):
            consent = _consent_marked(node)
            if consent and node.xpath(".//article | .//main"):
                continue  # a wrapper of the page, not the banner
            if not consent and (node in guarded or max_share and sum(
                    len(node_text(p)) for p in node.iter("p")) >= max_share * total):
                continue  # (a consent wall may hold all of a page's text: it goes)
            if node.getparent() is not None:
                removed.append(node_text(node))
                node.drop_tree()
    return [text for text in removed if text]


def outermost(nodes: list[Any]) -> list[Any]:
    """The nodes not inside another of them, in document order."""
    found = set(nodes)
    return [n for n in nodes if not any(a in found for a in n.iterancestors())]


# --------------------------------------------------------------------------- generic gaps


def _link_share(node: Any) -> float:
    text = node_text(node)
    if not text:
        return 0.0
    links = sum(len(node_text(a)) for a in node.iter("a"))
    return links / len(text)


def _excluded(node: Any, stop: Any) -> bool:
    """Inside a nav/aside/figure/form/footer or a block whose class says related/share."""
    for ancestor in [node, *node.iterancestors()]:
        if ancestor is stop:
            return False
        if ancestor.tag in rules.GAP_EXCLUDED_TAGS:
            return True
        marks = f"{ancestor.get('class', '')} {ancestor.get('id', '')}".lower()
        if any(word in marks for word in rules.GAP_EXCLUDED_CLASSES):
            return True
    return False


def fill_gaps(tree: Any, lines: list[str], lists: bool = True,
              split: bool = True) -> list[str]:
    """Put back what trafilatura dropped inside the article it found.

    The paragraphs it kept are located in the page; their closest common container is
    the body. List items and sub-headings inside that container, between the first and
    the last kept paragraph, that are not link lists nor in a nav/aside/related block,
    are inserted where they stand. Sibling containers of the body with the same tag and
    class (a body split in two by an ad block) add their paragraphs after it."""
    if len(lines) < 2:
        return lines
    wanted = {line: i for i, line in enumerate(lines)}
    located: list[tuple[Any, int]] = []
    intros: dict[str, list[Any]] = {}  # short lines announcing a list: located if unique
    for node in tree.iter(*rules.GAP_PARAGRAPH_TAGS):
        text = node_text(node)
        if text in wanted and len(text) >= rules.GAP_MIN_ANCHOR_CHARS:
            located.append((node, wanted.pop(text)))
        elif text in wanted and text.endswith(tuple(rules.GAP_LIST_INTRO_ENDS)):
            intros.setdefault(text, []).append(node)
    for text, nodes in intros.items():
        if len(nodes) == 1 and text in wanted:
            located.append((nodes[0], wanted.pop(text)))
    position = {node: i for i, node in enumerate(tree.iter(*rules.GAP_PARAGRAPH_TAGS))}
    located.sort(key=lambda pair: position[pair[0]])
    if len(located) < 2:
        return lines
    first, last = located[0][0], located[-1][0]
    container = _common_ancestor([node for node, _ in located])
    if container is None:
        return lines
    known = set(lines)
    joined = _words(" ".join(lines))
    kept = {node for node, _ in located}
    order = {node: i for i, node in enumerate(container.iter())}
    start, end = order.get(first), order.get(last)
    if start is None or end is None:
        return lines
    additions: list[tuple[int, str]] = []  # (index of the kept line it follows, text)
    located_order = sorted((order[node], idx) for node, idx in located if node in order)
    for node in container.iter(*rules.GAP_FILL_TAGS) if lists else ():
        position = order[node]
        if not start < position < end or _excluded(node, container):
            continue
        if node.tag == "li" and node.getparent() is not None and any(
                a.tag == "li" for a in node.iterancestors()):
            continue  # nested list: its outer item holds the text
        text = node_text(node)
        if (not text or text in known or len(text) > rules.GAP_MAX_CHARS
                or _link_share(node) > rules.GAP_MAX_LINK_SHARE
                or not _introduced(node, kept) or _words(text) in joined
                or any(len(line) >= 20 and _words(line) in _words(text) for line in lines)):
            continue  # (already in the text, whole or in part: no duplicates)
        before = max((idx for pos, idx in located_order if pos < position), default=None)
        if before is None:
            continue
        additions.append((before, text))
        known.add(text)
    additions += _linked_paragraphs(container, kept, located_order, order, known)
    out = list(lines)
    if additions:
        out = []
        for i, line in enumerate(lines):
            out.append(line)
            out.extend(text for after, text in additions if after == i)
    return out + (_split_body(container, known) if split else [])


def _linked_paragraphs(container: Any, kept: set[Any], located_order: list[tuple[int, int]],
                       order: dict[Any, int], known: set[str]) -> list[tuple[int, str]]:
    """Paragraphs that are wholly a link (a CMS links a whole paragraph to a live page
    or an earlier report) standing between two kept paragraphs: trafilatura drops them
    as link lists. Only sentences (``rules.LINKED_PARAGRAPH_MIN_WORDS`` words or more,
    ending like a sentence), never in an excluded block. Returns (index of the kept line
    it follows, text)."""
    found: list[tuple[int, str]] = []
    for node in container.iter("p"):
        if node in kept or _previous_element(node) not in kept or (
                _next_element(node) not in kept):
            continue
        text = node_text(node)
        if (text in known or len(text.split()) < rules.LINKED_PARAGRAPH_MIN_WORDS
                or not text.endswith(rules.LINKED_PARAGRAPH_ENDS)
                or _link_share(node) < rules.LINKED_PARAGRAPH_MIN_LINK_SHARE
                or _excluded(node, container)):
            continue
        position = order[node]
        before = max((idx for pos, idx in located_order if pos < position), default=None)
        if before is not None:
            found.append((before, text))
            known.add(text)
    return found


def _previous_element(node: Any) -> Any:
    sibling = node.getprevious()
    while sibling is not None and not isinstance(sibling.tag, str):
        sibling = sibling.getprevious()
    return sibling


def _next_element(node: Any) -> Any:
    sibling = node.getnext()
    while sibling is not None and not isinstance(sibling.tag, str):
        sibling = sibling.getnext()
    return sibling


def _introduced(node: Any, kept: set[Any]) -> bool:
    """Does the text around say this block belongs to the article? A list item: its list
    follows a kept paragraph that announces it (ends with ":") and is not a table of
    contents. A sub-heading: it stands between two kept paragraphs (or a list put back
    and a kept paragraph) and is not written in capitals (a kicker)."""
    if node.tag == "li":
        if node.xpath(".//a[starts-with(@href, '#')]"):
            return False  # a table of contents
        lst = node.getparent()
        table = _layout_table(lst) if lst is not None else None
        if table is not None:
            lst = table  # lists laid out in table cells: the table stands for them
        before = _previous_element(lst) if lst is not None else None
        return (before is not None and before in kept
                and node_text(before).rstrip().endswith(tuple(rules.GAP_LIST_INTRO_ENDS)))
    text = node_text(node)
    if text.upper() == text:
        return False
    before, after = _previous_element(node), _next_element(node)
    if before is not None and before.tag in ("ul", "ol") and len(before):
        before_ok = _introduced(before[0], kept)  # right after a list put back
    else:
        before_ok = before in kept
    return before_ok and after in kept


def _layout_table(lst: Any) -> Any:
    """The layout table a list sits in (the list is the first element of its cell,
    the table has no header cells and no more than ``rules.LAYOUT_TABLE_MAX_ROWS``
    rows), else None."""
    cell = lst.getparent()
    if cell is None or cell.tag not in ("td", "th") or _previous_element(lst) is not None:
        return None
    table = next((a for a in cell.iterancestors() if a.tag == "table"), None)
    if (table is None or table.xpath(".//th")
            or len(table.xpath(".//tr")) > rules.LAYOUT_TABLE_MAX_ROWS):
        return None
    return table


def _common_ancestor(nodes: list[Any]) -> Any:
    paths = [[*reversed(list(n.iterancestors())), n] for n in nodes]
    common = None
    for level in zip(*paths, strict=False):
        if all(x is level[0] for x in level):
            common = level[0]
        else:
            break
    if common is not None and common.tag in ("html", "body"):
        return None
    return common


def _split_body(container: Any, known: set[str]) -> list[str]:
    """Paragraphs of later siblings with the container's tag and class (split bodies)."""
    classes = container.get("class")
    parent = container.getparent()
    if not classes or parent is None:
        return []
    found: list[str] = []
    for sibling in container.itersiblings():
        if sibling.tag != container.tag or sibling.get("class") != classes:
            continue
        for node in sibling.iter(*rules.SPLIT_BODY_TAGS):
            text = node_text(node)
            if (text and text not in known and _link_share(node) <= rules.GAP_MAX_LINK_SHARE
                    and not _excluded(node, sibling)):
                found.append(text)
                known.add(text)
    return found


# --------------------------------------------------------------------------- captions


def detach_captions(scope: Any) -> dict[Any, str]:
    """Find photo captions outside ``<figure>`` and take them out of the page.

    Shapes: a small layout table holding the image in one row and the caption in
    another; an ``<em>``/``<i>``/``<small>``/``<span>`` right after the image (a ``<br>``
    between them at most); a short paragraph right after the image's own block that
    carries a photo credit ("Ảnh: TTXVN", "Photo: Reuters"). Returns ``{img: caption}``;
    the caption nodes are removed from ``scope``."""
    found: dict[Any, str] = {}
    for img in list(scope.iter("img")):
        if any(a.tag == "figure" for a in img.iterancestors()):
            continue
        caption = (_table_caption(img) or _inline_caption(img) or _class_caption(img)
                   or _next_block_caption(img))
        if caption:
            found[img] = caption
    return found


def _table_caption(img: Any) -> str | None:
    table = next((a for a in img.iterancestors() if a.tag == "table"), None)
    if table is None:
        return None
    rows = table.xpath(".//tr")
    if not 1 < len(rows) <= rules.IMAGE_TABLE_MAX_ROWS:
        return None
    texts = []
    for row in rows:
        if row.xpath(".//img"):
            continue
        text = node_text(row)
        if text:
            texts.append(text)
            row.getparent().remove(row)
    return " ".join(texts) or None


def _inline_caption(img: Any) -> str | None:
    node = img
    while True:
        sibling = node.getnext()
        if sibling is None or (node.tail or "").strip():
            return None
        if sibling.tag == "br":
            node = sibling
            continue
        break
    if sibling.tag not in rules.CAPTION_INLINE_TAGS:
        return None
    text = node_text(sibling)
    if not text or len(text) > rules.CAPTION_MAX_CHARS or (sibling.tail or "").strip():
        return None
    if any(after.tag != "br" for after in sibling.itersiblings()):
        return None  # the emphasis runs on into text: part of a paragraph
    sibling.drop_tree()
    return text


def _caption_marked(node: Any) -> bool:
    return isinstance(node.tag, str) and any(
        _CAPTION_CLASS.fullmatch(token) for token in (node.get("class") or "").split())


def _class_caption(img: Any) -> str | None:
    """A caption element after the image, by its class (``rules.CAPTION_CLASS``): in the
    image's own block (``<div class="photo"><img><div class="caption">``) or as the block
    right after it, within ``rules.CAPTION_BLOCK_DEPTH`` levels up."""
    node = img
    for _ in range(rules.CAPTION_BLOCK_DEPTH):
        sibling = _next_element(node)
        while sibling is not None and sibling.tag == "br":
            sibling = _next_element(sibling)
        if sibling is not None and _caption_marked(sibling) and not sibling.xpath(".//img"):
            text = node_text(sibling)
            if text and len(text) <= rules.CAPTION_MAX_CHARS:
                sibling.drop_tree()
                return text
            return None
        if sibling is not None or (node.tail or "").strip():
            return None  # something else follows the image: not a photo block
        node = node.getparent()
        if node is None or node.tag in ("body", "html", "article", "td"):
            return None
    return None


def _next_block_caption(img: Any) -> str | None:
    block = next((a for a in img.iterancestors() if a.tag in ("p", "div")), None)
    if block is None or node_text(block):
        return None  # the image's block has text of its own: not a photo block
    sibling = block.getnext()
    if sibling is None or sibling.tag not in ("p", "div"):
        return None
    text = node_text(sibling)
    if not text or len(text) > rules.CAPTION_MAX_CHARS or not _CREDIT.search(text):
        return None
    sibling.drop_tree()
    return text


# --------------------------------------------------------------------------- bylines

_RIGHT = re.compile(r"text-align\s*:\s*right", re.IGNORECASE)


def trailing_byline(tree: Any, lines: list[str]) -> str | None:
    """The article's last line when it is a right-aligned byline: a short paragraph
    (``rules.AUTHOR_MAX_WORDS`` words at most, no sentence end, no digits) aligned right
    by its style or its ``align`` attribute, as Vietnamese outlets sign articles."""
    if len(lines) < 2:
        return None
    last = lines[-1]
    if (len(last.split()) > rules.AUTHOR_MAX_WORDS or last.endswith((".", "!", "?", ":"))
            or any(c.isdigit() for c in last)):
        return None
    for node in tree.xpath("//p[normalize-space(.)=$t] | //div[normalize-space(.)=$t]",
                           t=last):
        aligned = [node, *node.iterchildren()]
        if any(_RIGHT.search(n.get("style") or "") or (n.get("align") or "").lower() == "right"
               for n in aligned):
            return last
    return None
