"""The profile guard: a site profile may never make a page worse than no profile.

A profile's body rule written from a description of the site, or one the site's
redesign turned to another block, reads the wrong text (a sidebar, a teaser list, a
fragment of the article) and nothing says so: the rule still matches. On real pages of
five outlets such profiles scored below newswatch's generic path (issue 28). The guard
checks every page read through a profile body rule:

1. **A cheap gate** (``suspicious``): the paragraph text the body containers hold against
   the paragraph text left outside them on the page. An article's paragraphs are in its
   body; when most of the page's paragraph text (``OUTSIDE_SHARE``, at least
   ``OUTSIDE_MIN_CHARS``) lies outside, or when most of the containers' text is link text
   (``LINK_SHARE``: a list of teasers, a menu), the rule may be reading something else.
   Then a second cheap gate (``speaks_for``): a profile text that holds at least half of
   the headline's words is the page's story. Only the pages past both pay for step 2
   (4 of 95 replica pages; bench/extract_bench.py, BENCHMARKS.md).
2. **The comparison** (``loses``): the page is read again without the profile (the
   generic path). When the profile's text is mostly not in the generic text
   (``CONTAINMENT``: the share of its word 3-shingles found there) the two readings
   disagree, and the page's own description of itself decides: the words of its title
   and meta descriptions (``describe``). The profile loses only when the generic reading
   holds clearly more of them (``SIGNAL_MARGIN``, and at least ``SIGNAL_MIN``): a sidebar
   or another story says little of the page's headline, while on a short article the
   generic reading itself may be the teaser list (the laodong and baochinhphu replicas).
   A profile text that is a small part of the generic one does not lose: on a
   short article the generic reading also holds the related-news teasers the profile
   rightly leaves out (tests/test_extract.py, the laodong teaser page), so length says
   nothing about which reading is the article.

When the profile loses, the generic text is stored, the page is counted
(``newswatch/body_lost``, a source-health signal that names the body rule:
``monitor.sources.health.check_profile_guard``) and the reason travels with the
article (``Extracted.guard``). Thresholds are data (this module's constants), checked
against ../shared/realpages: no real page read through its outlet's profile trips the
comparison (tests/test_guard.py, tests/test_realpages.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

OUTSIDE_SHARE = 0.6  # share of the page's paragraph text outside the body containers...
OUTSIDE_MIN_CHARS = 400  # ...and at least this much of it: the comparison runs
CONTAINMENT = 0.5  # the profile's shingles found in the generic text: below, it loses
MIN_GENERIC_CHARS = 200  # a generic text shorter than this never wins
LINK_SHARE = 0.5  # containers whose text is mostly link text: the comparison runs
SIGNAL_MARGIN = 0.25  # the generic reading must hold this much more of the page's words...
SIGNAL_MIN = 0.5  # ...and at least this share of them, for the profile to lose
DESCRIPTION_XPATHS = ("//meta[@name='description']/@content",
                      "//meta[@property='og:description']/@content",
                      "//meta[@property='og:title']/@content", "//title//text()")

_WORD = re.compile(r"\w+")


def paragraph_chars(nodes: Iterable[Any]) -> int:
    """Characters of paragraph text (``<p>``, ``<li>``) under ``nodes`` (lxml elements)."""
    total = 0
    for node in nodes:
        for block in node.iter("p", "li"):
            total += len(" ".join(block.itertext()).strip())
    return total


def suspicious(rest: Any, containers: list[Any]) -> bool:
    """The gate: ``rest`` is the page with the body containers taken out (an lxml tree),
    ``containers`` the containers. True when most paragraph text is outside them."""
    outside = paragraph_chars([rest])
    inside = paragraph_chars(containers)
    if outside >= OUTSIDE_MIN_CHARS and outside >= OUTSIDE_SHARE * (outside + inside):
        return True
    return link_share(containers) >= LINK_SHARE


def link_share(nodes: Iterable[Any]) -> float:
    """The share of the text under ``nodes`` that is link text (``<a>``)."""
    text = links = 0
    for node in nodes:
        text += len("".join(node.itertext()).strip())
        for anchor in node.iter("a"):
            links += len("".join(anchor.itertext()).strip())
    return links / text if text else 0.0


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.casefold())
    if len(words) < 3:
        return {tuple(words)} if words else set()
    return {tuple(words[i:i + 3]) for i in range(len(words) - 2)}


def describe(tree: Any, title: str | None) -> str:
    """What the page says of itself: its title and meta descriptions, one string."""
    parts = [title or ""]
    for xpath in DESCRIPTION_XPATHS:
        parts.extend(str(v) for v in tree.xpath(xpath)[:1])
    return " ".join(parts)


def title_words(description: str) -> set[str]:
    """The words (3 letters or more, case-folded) of ``describe``'s string."""
    return {w for w in _WORD.findall(description.casefold()) if len(w) > 2}


def speaks_for(profile_text: str, title: str | None) -> bool:
    """The cheap second gate: the profile's text holds at least ``SIGNAL_MIN`` of the
    headline's words, so it is about the page's own story and the generic reading is not
    needed. On the farm's replicas the first gate opens on a quarter of the pages (short
    articles beside long related-news blocks); this one spares most of them the second
    reading. (The meta description is left out here: it is often a summary the page
    does not print.)"""
    words = title_words(title or "")
    return bool(words) and _signal_share(words, profile_text) >= SIGNAL_MIN


def _signal_share(words: set[str], text: str) -> float:
    found = set(_WORD.findall(text.casefold()))
    return len(words & found) / len(words) if words else 0.0


def loses(profile_text: str, generic_text: str, rule: str | None,
          description: str = "") -> str | None:
    """Why the profile's text loses against the generic one (a line naming ``rule``), or
    None when the profile's text stands. ``description``: ``describe`` of the page."""
    if len(generic_text) < MIN_GENERIC_CHARS:
        return None
    ours, theirs = _shingles(profile_text), _shingles(generic_text)
    if not theirs:
        return None
    contained = len(ours & theirs) / len(ours) if ours else 0.0
    if contained >= CONTAINMENT:
        return None
    words = title_words(description)
    mine, other = _signal_share(words, profile_text), _signal_share(words, generic_text)
    if other < SIGNAL_MIN or other < mine + SIGNAL_MARGIN:
        return None  # no reading is clearly the page's own: the profile stands
    return (f"body rule `{rule}` read other text than the article ({contained:.0%} of it "
            f"is in the generic reading, which holds {other:.0%} of the page's title and "
            f"description words against {mine:.0%}): generic text stored")
