"""Generic clean-up of an extracted body with the signals the page itself carries.

Used on pages without a site profile body container (``monitor.extract.article``). Every rule
here is generic: it looks at how a line relates to the rest of the page (is it the
page's title again? is it wholly the text of a link, like the headlines of a "related"
list? does the page's own schema.org ``articleBody`` contain it?), or it matches a
pattern from ``monitor.extract.rules`` (see-also prefixes, share and newsletter prompts). No
rule knows a site.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from monitor.extract import rules

_WORD = re.compile(r"\w+")


def key(text: str) -> str:
    """Comparison key: casefolded word tokens joined by single spaces."""
    return " ".join(_WORD.findall(text.casefold()))


@dataclass
class PageSignals:
    """What the page says about itself, apart from the extracted body."""

    titles: list[str] = field(default_factory=list)  # keys of title candidates
    article_body: str | None = None  # schema.org articleBody, when the page has one
    tree: Any = None  # the parsed page, for the link texts (read on first use)

    @cached_property
    def anchors(self) -> set[str]:
        """Keys of the page's link texts of three words or more."""
        found = set()
        if self.tree is not None:
            for node in self.tree.iter("a"):
                text = key(_text(node))
                if text.count(" ") >= 2:
                    found.add(text)
        return found


    def teaser_cards(self, candidates: set[str]) -> set[str]:
        """Which of the ``candidates`` (keys of long lines ending in an ellipsis) sit in
        a teaser card: the smallest block around the excerpt, within
        ``rules.TEASER_CARD_MAX_DEPTH`` levels and with at most
        ``rules.TEASER_CARD_MAX_PARAGRAPHS`` paragraphs, holds a headline link of its
        own or repeats with a link or picture. At most ``rules.TEASER_MAX_CHECKS``
        excerpts are looked at (a hostile page can hold thousands)."""
        found: set[str] = set()
        if self.tree is None or not candidates:
            return found
        checks = 0
        for node in self.tree.iter("p", "div", "span"):
            if any(child.tag in ("p", "div") for child in node):
                continue
            text_key = key(_text(node))
            if text_key not in candidates or text_key in found:
                continue
            checks += 1
            if _in_card(node):
                found.add(text_key)
            if checks >= rules.TEASER_MAX_CHECKS:
                break
        return found


    def card_summaries(self, lines: list[str]) -> set[str]:
        """Keys of the ``lines`` that are the summaries of a list of teaser cards
        (``_card_list``) holding no other extracted line (a listicle's intro sits with
        its items: they are the article). At most ``rules.TEASER_MAX_CHECKS`` lines are
        looked at."""
        if self.tree is None or len(lines) < 2:
            return set()
        # compared without spaces: an extractor may join a link and the text after it
        wanted = {_compact(line): key(line) for line in lines[: rules.TEASER_MAX_CHECKS]}
        dropped: set[str] = set()
        for holder, cards in self.card_holders:  # only inside a possible list of cards
            inside = _compact(" ".join(_text(card) for card in cards))
            if not any(line in inside for line in wanted):
                continue  # none of the lines is in its cards
            in_cards = {n for card in cards for n in card.iter()}
            summaries, others = set(), set()
            for node in holder.iter("p", "div", "span", "li", "h2", "h3", "h4", "td"):
                if any(child.tag in ("p", "div", "li") for child in node):
                    continue
                text_key = wanted.get(_compact(_text(node)))
                if text_key is None:
                    continue
                if node in in_cards and _card_list(node) is holder:
                    summaries.add(text_key)
                else:
                    others.add(text_key)
            if summaries and not others - summaries:  # no other extracted line in it
                dropped |= summaries
        return dropped

    @cached_property
    def card_holders(self) -> list[tuple[Any, list[Any]]]:
        """Blocks that may hold a list of teaser cards, with the cards: two or more small
        siblings (at most ``rules.TEASER_CARD_MAX_PARAGRAPHS`` paragraphs and
        ``rules.CARD_MAX_NODES`` elements) of the same tag and first class that each hold
        a link (a cheap first pass; ``_card_list`` decides), in page order."""
        if self.tree is None:
            return []
        seen: set[tuple[Any, str, str]] = set()
        found: list[tuple[Any, list[Any]]] = []
        for link in self.tree.iter("a"):
            if len(_text(link).split()) < rules.TEASER_HEADLINE_MIN_WORDS:
                continue  # not a headline link
            for depth, card in enumerate(link.iterancestors()):
                holder = card.getparent()
                if depth > rules.TEASER_CARD_MAX_DEPTH or holder is None or card.tag in (
                        "body", "html") or holder.tag in ("body", "html"):
                    break
                cls = (card.get("class") or "").split()[:1]
                slot = (holder, card.tag, cls[0] if cls else "")
                if slot in seen or card.tag not in rules.CARD_TAGS:
                    continue
                seen.add(slot)
                cards = [sibling for sibling in holder if sibling.tag == card.tag
                         and (sibling.get("class") or "").split()[:1] == cls
                         and _small_with_link(sibling)]
                if len(cards) >= rules.CARD_LIST_MIN_CARDS:
                    found.append((holder, cards))
        return found


def _small_with_link(node: Any) -> bool:
    count = 0
    paragraphs = 0
    link = False
    for child in node.iter():
        count += 1
        paragraphs += child.tag == "p"
        link = link or child.tag == "a"
        if count > rules.CARD_MAX_NODES or paragraphs > rules.TEASER_CARD_MAX_PARAGRAPHS:
            return False
    return link


def _compact(text: str) -> str:
    return "".join(_WORD.findall(text.casefold()))


def _headline_links(node: Any, outside: set[Any]) -> list[Any]:
    return [a for a in node.iter("a") if a not in outside
            and len(_text(a).split()) >= rules.TEASER_HEADLINE_MIN_WORDS]


def _is_card(node: Any) -> bool:
    """A block with a headline link and a summary besides its links."""
    links = _headline_links(node, set())
    if not links:
        return False
    words = len(_text(node).split()) - sum(len(_text(a).split()) for a in node.iter("a"))
    return words >= rules.CARD_SUMMARY_MIN_WORDS


def _card_list(node: Any) -> Any:
    """The list of teaser cards this summary sits in: its card (a block within
    ``rules.TEASER_CARD_MAX_DEPTH`` levels, at most ``rules.TEASER_CARD_MAX_PARAGRAPHS``
    paragraphs, with a headline link of its own) and at least
    ``rules.CARD_LIST_MIN_CARDS`` cards of the same tag and first class side by side.
    Returns the block holding the cards, else None."""
    own = set(node.iter())
    for depth, card in enumerate([node, *node.iterancestors()]):
        if depth > rules.TEASER_CARD_MAX_DEPTH or card.tag in ("body", "html"):
            return None
        if sum(1 for p in card.iter("p") if _text(p).strip()) > rules.TEASER_CARD_MAX_PARAGRAPHS:
            return None
        if not (_is_card(card) if card is node else _headline_links(card, own)):
            continue
        holder = card.getparent()
        if holder is None or holder.tag in ("body", "html"):
            return None
        first_class = (card.get("class") or "").split()[:1]
        cards = [c for c in holder if c.tag == card.tag
                 and (c.get("class") or "").split()[:1] == first_class and _is_card(c)]
        return holder if len(cards) >= rules.CARD_LIST_MIN_CARDS else None
    return None


def _in_card(node: Any) -> bool:
    """Is this excerpt in a teaser card: a small block (few paragraphs) around it that
    holds a headline link of its own, or that repeats (a sibling with the same tag and
    class) and holds a link or a picture besides the excerpt?"""
    own = set(node.iter())
    for depth, ancestor in enumerate(node.iterancestors()):
        if depth >= rules.TEASER_CARD_MAX_DEPTH or ancestor.tag in ("body", "html"):
            return False
        paragraphs = sum(1 for p in ancestor.iter("p") if _text(p).strip())
        if paragraphs > rules.TEASER_CARD_MAX_PARAGRAPHS:
            return False
        extras = [n for n in ancestor.iter("a", "img") if n not in own]
        if any(len(_text(a).split()) >= rules.TEASER_HEADLINE_MIN_WORDS
               for a in extras if a.tag == "a"):
            return True
        if extras and _repeats(ancestor):
            return True
    return False


def _repeats(node: Any) -> bool:
    classes = (node.get("class") or "").split()[:1]
    for sibling in (node.getprevious(), node.getnext()):
        if (sibling is not None and sibling.tag == node.tag
                and (sibling.get("class") or "").split()[:1] == classes):
            return True
    return False


def _text(node: Any) -> str:
    return node if isinstance(node, str) else " ".join(node.itertext())


def page_signals(tree: Any, json_ld: Iterable[dict[str, Any]]) -> PageSignals:
    """Collect title candidates, link texts and JSON-LD articleBody from a parsed page."""
    titles: list[str] = []
    for xpath in rules.TITLE_ECHO_XPATHS:
        for node in tree.xpath(xpath):
            found = key(_text(node))
            if found and found not in titles:
                titles.append(found)
    body = None
    for obj in json_ld:
        kind = obj.get("@type")
        kinds = kind if isinstance(kind, list) else [kind]
        if any(k in rules.JSON_LD_ARTICLE_TYPES for k in kinds if isinstance(k, str)):
            value = obj.get("articleBody")
            if isinstance(value, str) and value.strip():
                body = value
                break
    return PageSignals(titles=titles, article_body=body, tree=tree)


def _is_title_echo(line_key: str, titles: list[str]) -> bool:
    words = line_key.count(" ") + 1
    if not line_key:
        return False
    for title in titles:
        if line_key == title:
            return True
        if words >= 3 and (line_key in title or title in line_key):
            shorter, longer = sorted((len(line_key), len(title)))
            if shorter >= 0.6 * longer:
                return True
    return False


def _link_share(line_key: str, anchors: set[str]) -> float:
    """Share of the line's characters that are the text of links on the page."""
    if not line_key:
        return 0.0
    if line_key in anchors:
        return 1.0
    covered = sum(len(a) for a in anchors if len(a) >= 12 and a in line_key)
    return min(1.0, covered / len(line_key))


def tidy_lines(lines: list[str], signals: PageSignals,
               dropped: list[tuple[str, str]] | None = None) -> list[str]:
    """Drop the title echoed at the top, see-also blocks and link-list lines, prompts
    and notices, and blocks of teaser cards. ``dropped`` collects (reason, line) if given."""
    def drop(reason: str, line: str) -> None:
        if dropped is not None:
            dropped.append((reason, line))

    lines = list(lines)
    # 1. The title repeated at the top (and any kicker above it).
    for i, line in enumerate(lines[: rules.TITLE_ECHO_LINES]):
        if _is_title_echo(key(line), signals.titles):
            for gone in lines[: i + 1]:
                drop("title", gone)
            del lines[: i + 1]
            break
    # 2. A block of teaser cards: excerpts cut off with an ellipsis that each sit in a
    # small card with a headline link of their own (a list of other posts). A long
    # line ending in "…" alone is not a teaser: Vietnamese writers end ordinary
    # sentences that way (the former rule deleted real paragraphs).
    excerpts = {key(line) for line in lines
                if len(line.split()) >= rules.TEASER_MIN_WORDS and _TEASER_END.search(line)}
    cards = signals.teaser_cards(excerpts) if len(excerpts) >= 2 else set()
    teasers = [i for i, line in enumerate(lines) if key(line) in cards]
    if len(teasers) >= 2:
        for gone in lines[teasers[0]: teasers[-1] + 1]:
            drop("teaser cards", gone)
        del lines[teasers[0]: teasers[-1] + 1]
    # 2b. The summaries of a list of teaser cards after the article (other stories'
    # headline and summary, "Video khác", "Most read"), ellipsis or not: a short page
    # (a video, a paywalled teaser) is not filled with them.
    summaries = signals.card_summaries(lines)
    if summaries:
        for line in lines:
            if key(line) in summaries:
                drop("teaser card list", line)
        lines = [line for line in lines if key(line) not in summaries]
    # 3. Line by line.
    kept: list[str] = []
    in_see_also = False
    for line in lines:
        line_key = key(line)
        if in_see_also and _link_share(line_key, signals.anchors) >= 0.6:
            drop("see-also block", line)
            continue
        in_see_also = False
        if _SEE_ALSO_HEADING.fullmatch(line):
            drop("see-also heading", line)
            in_see_also = True
            continue
        if _SEE_ALSO.match(line) and _link_share(line_key, signals.anchors) >= 0.5:
            drop("see-also", line)
            continue
        if _PROMPTS.search(line):
            drop("prompt", line)
            continue
        if _is_link_headline(line, line_key, signals.anchors):
            drop("link headline", line)
            continue
        kept.append(line)
    return agree_with_article_body(kept, signals, dropped)


def _shingles(text_key: str, n: int = 4) -> set[tuple[str, ...]]:
    words = text_key.split()
    return {tuple(words[i: i + n]) for i in range(max(1, len(words) - n + 1))} if words else set()


def agree_with_article_body(lines: list[str], signals: PageSignals,
                            dropped: list[tuple[str, str]] | None = None) -> list[str]:
    """Where the page's schema.org articleBody agrees with the extraction as a whole
    (holds most of its 4-word shingles), drop the extracted lines it has no trace of:
    the publisher's own statement of the body outvotes the layout heuristics there.
    A partial articleBody (a teaser, a paywall cut) does not agree and changes nothing."""
    if not signals.article_body or not lines:
        return lines
    reference = _shingles(key(signals.article_body))
    ours = _shingles(key(" ".join(lines)))
    if not ours or len(ours & reference) < rules.ARTICLE_BODY_AGREEMENT * len(ours):
        return lines
    kept = []
    for line in lines:
        if (len(line.split()) >= rules.ARTICLE_BODY_MIN_WORDS
                and not _shingles(key(line)) & reference):
            if dropped is not None:
                dropped.append(("not in articleBody", line))
            continue
        kept.append(line)
    return kept


_SEE_ALSO = re.compile(rules.SEE_ALSO_PREFIX, re.IGNORECASE)
_SEE_ALSO_HEADING = re.compile(rules.SEE_ALSO_HEADING, re.IGNORECASE)
_TEASER_END = re.compile(rules.TEASER_END)
_PROMPTS = re.compile("|".join(f"(?:{p})" for p in rules.PROMPT_LINES.values()), re.IGNORECASE)
def _is_link_headline(line: str, line_key: str, anchors: set[str]) -> bool:
    """A line that is wholly the text of a link and reads like a headline."""
    if len(line.split()) < rules.LINK_HEADLINE_MIN_WORDS:
        return False
    if line.rstrip().endswith((".", "!", "?", ":", ";", '"', "”")):
        return False
    return _link_share(line_key, anchors) >= 0.95
