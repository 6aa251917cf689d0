"""A per-page vote between extractors, for pages without a site profile.

No single boilerplate remover is right on every page layout nobody here has seen. On a
page without a profile body container, two candidate bodies are produced, trafilatura's
and readability-lxml's, and the one that agrees better with a consensus of independent
extractors (trafilatura, readability-lxml, jusText, resiliparse, boilerpy3: each a
different method, from link density to block classification) is kept. Agreement is the
F1 of 4-word shingles between a candidate and each other extractor's output, averaged.
The idea: an extractor's mistakes are its own, the content the others agree on is the
article.

Every voter is optional: one that is not installed, raises or returns nothing is left
out of the consensus. With fewer than ``rules.VOTE_MIN_VOTERS`` voters the first
candidate (trafilatura) wins.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from monitor.extract import rules

_WORD = re.compile(r"\w+")

Voter = Callable[[str, Any, str | None], str | None]
"""``voter(html, tree, language) -> text`` (None or "" when it found nothing)."""


def shingle_set(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    """Multiset of n-word shingles of ``text`` (word = ``\\w+``, case kept)."""
    words = _WORD.findall(text or "")
    if not words:
        return Counter()
    return Counter(tuple(words[i: i + n]) for i in range(max(1, len(words) - n + 1)))


def agreement(a: Counter[tuple[str, ...]], b: Counter[tuple[str, ...]]) -> float:
    """F1 of two shingle multisets (0.0 when either is empty)."""
    if not a or not b:
        return 0.0
    shared = sum((a & b).values())
    if not shared:
        return 0.0
    precision, recall = shared / sum(a.values()), shared / sum(b.values())
    return 2 * precision * recall / (precision + recall)


# --------------------------------------------------------------------------- voters


def readability_text(html: str, tree: Any = None, language: str | None = None) -> str | None:
    """readability-lxml's main block, as text with one block per line."""
    try:
        from readability import Document
    except ImportError:
        return None
    summary = Document(html).summary(html_partial=True)
    return html_to_lines(summary)


def html_to_lines(fragment: str) -> str:
    """Text of an HTML fragment, one block element per line."""
    import lxml.html

    if not fragment.strip():
        return ""
    root = lxml.html.fromstring(fragment)
    for node in root.iter("script", "style"):
        node.drop_tree()
    for node in root.iter(*rules.VOTE_BLOCK_TAGS):
        node.tail = "\n" + (node.tail or "")
        node.text = "\n" + (node.text or "")
    for node in root.iter("br"):
        node.tail = "\n" + (node.tail or "")
    return "\n".join(" ".join(line.split()) for line in root.text_content().splitlines()
                     if line.strip())


def justext_text(html: str, tree: Any = None, language: str | None = None) -> str | None:
    """jusText's good paragraphs, with the page language's stoplist when jusText has one
    (else its language-independent mode)."""
    try:
        import justext
    except ImportError:
        return None
    name = rules.JUSTEXT_LANGUAGES.get((language or "").lower())
    if name:
        paragraphs = justext.justext(html, justext.get_stoplist(name))
    else:
        paragraphs = justext.justext(html, frozenset(), stopwords_low=0, stopwords_high=0)
    return "\n".join(p.text for p in paragraphs if not p.is_boilerplate)


def resiliparse_text(html: str, tree: Any = None, language: str | None = None) -> str | None:
    """resiliparse's main-content plain text."""
    try:
        from resiliparse.extract.html2text import extract_plain_text
    except ImportError:
        return None
    return extract_plain_text(html, main_content=True, alt_texts=False, comments=False)


def boilerpy_text(html: str, tree: Any = None, language: str | None = None) -> str | None:
    """boilerpy3's ArticleExtractor text."""
    try:
        from boilerpy3 import extractors
    except ImportError:
        return None
    return extractors.ArticleExtractor(raise_on_failure=False).get_content(html)


VOTERS: dict[str, Voter] = {
    "readability": readability_text,
    "justext": justext_text,
    "resiliparse": resiliparse_text,
    "boilerpy3": boilerpy_text,
}


def run_voters(html: str, tree: Any, language: str | None,
               voters: dict[str, Voter] | None = None) -> dict[str, str]:
    """Each voter's text for the page; voters that fail or find nothing are left out."""
    found: dict[str, str] = {}
    for name, voter in (voters or VOTERS).items():
        try:
            text = voter(html, tree, language)
        except Exception:  # noqa: BLE001 - a voter failing on a hostile page is one vote less
            continue
        if text and text.strip():
            found[name] = text
    return found


def pick(candidates: dict[str, str], voices: dict[str, str]) -> str:
    """The candidate (name) that agrees best with the other voices.

    ``candidates`` maps names to texts (first = default); ``voices`` maps every voter's
    name to its text, candidates included. Each candidate is scored by its mean
    shingle F1 with every voice but itself; a later candidate must beat the first by
    ``rules.VOTE_MARGIN`` to win."""
    names = list(candidates)
    if len(voices) < rules.VOTE_MIN_VOTERS:
        return names[0]
    sets = {name: shingle_set(text) for name, text in voices.items()}
    for name, text in candidates.items():
        sets.setdefault(name, shingle_set(text))
    scores = {}
    for name in names:
        others = [agreement(sets[name], sets[o]) for o in sets if o != name]
        scores[name] = sum(others) / len(others) if others else 0.0
    best = names[0]
    for name in names[1:]:
        if scores[name] > scores[best] + rules.VOTE_MARGIN:
            best = name
    return best
