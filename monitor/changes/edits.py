"""Classify an edit of an article: which *kinds* of change a new version makes.

A registry of small named classifiers (urlwatch's filters style): each takes an
:class:`Edit` (the two versions, their paragraphs aligned, the sentences added and
removed) and says whether its kind applies. The thresholds and marker phrases are data
(``monitor.changes.rules``). Kinds:

- ``headline``, ``lead``, ``byline``, ``date``: the title, the lead (sapo, or first
  paragraph), the author, the publication date changed;
- ``numbers``: a figure in the text changed (casualties, dollars, dates in digits);
- ``quote``: text inside quotation marks changed, or a quote was added or removed;
- ``paragraph_added`` / ``paragraph_removed``: a paragraph with no counterpart;
- ``paragraph_edited``: a body paragraph reworded (beyond its figures and quotes);
- ``correction``: a correction or editor's note appeared ("Correction:", "Đính chính");
- ``cosmetic``: punctuation, case, whitespace or typo-scale changes only. It is the only
  kind of such an edit, and never alerts by default.

Both texts are compared after ``monitor.changes.volatile`` masking (the caller masks).
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from monitor.changes import rules as change_rules

# Sentence ends: . ! ? … (and their closing quotes) followed by a space and a capital,
# digit or opening quote. Abbreviations such as "U.S." rarely end a line; good enough.
_SENTENCE_END = re.compile(r"(?<=[.!?…])[”\"’')]*\s+(?=[\"“‘(]?[A-ZÀ-Ỹ0-9Đ])")
_NUMBER = re.compile(change_rules.NUMBER)
_QUOTES = [re.compile(p) for p in change_rules.QUOTE_SPANS]
_CORRECTION = re.compile(r"^\W*(?:" + "|".join(change_rules.CORRECTION_MARKERS) + ")",
                         re.IGNORECASE)
_LETTERS = re.compile(r"[^\W_]+")


def sentences(paragraph: str) -> list[str]:
    """A paragraph split into sentences."""
    return [s.strip() for s in _SENTENCE_END.split(paragraph) if s.strip()]


def _bare(text: str | None) -> str:
    """Letters and digits only, lower case: what a cosmetic edit leaves alone."""
    return " ".join(_LETTERS.findall((text or "").casefold()))


@dataclass
class Edit:
    """Two versions of an article (dicts with title, lead, author, published, text) and
    what changed between their texts."""

    before: dict[str, Any]
    after: dict[str, Any]
    old: list[str] = field(init=False)  # paragraphs
    new: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.old = [p for p in (self.before.get("text") or "").splitlines() if p.strip()]
        self.new = [p for p in (self.after.get("text") or "").splitlines() if p.strip()]

    @cached_property
    def aligned(self) -> tuple[list[tuple[str, str]], list[str], list[str]]:
        """(edited paragraph pairs, paragraphs removed, paragraphs added)."""
        pairs, removed, added = [], [], []
        matcher = difflib.SequenceMatcher(None, self.old, self.new, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                continue
            left, right = list(self.old[i1:i2]), list(self.new[j1:j2])
            for old in left:  # pair each old paragraph with its most similar new one
                scored = [(difflib.SequenceMatcher(None, old, new).ratio(), k)
                          for k, new in enumerate(right) if new is not None]
                best = max(scored, default=(0.0, -1))
                if best[0] >= change_rules.PARAGRAPH_SAME:
                    pairs.append((old, right[best[1]]))
                    right[best[1]] = None  # type: ignore[call-overload]
                else:
                    removed.append(old)
            added += [new for new in right if new is not None]
        return pairs, removed, added

    @cached_property
    def changes(self) -> list[tuple[str, str]]:
        """The sentences removed ("-") and added ("+"), in text order."""
        old = [s for p in self.old for s in sentences(p)]
        new = [s for p in self.new for s in sentences(p)]
        out = []
        matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag != "equal":
                out += [("-", s) for s in old[i1:i2]] + [("+", s) for s in new[j1:j2]]
        return out

    @property
    def removed_text(self) -> str:
        return "\n".join(s for op, s in self.changes if op == "-")

    @property
    def added_text(self) -> str:
        return "\n".join(s for op, s in self.changes if op == "+")

    @cached_property
    def cosmetic(self) -> bool:
        """Typo scale: over title, lead, byline and text, words change only into similar
        words (no word added or dropped, case, punctuation and spacing aside), at most
        COSMETIC_MAX_CHARS characters in all, and no figure changes."""
        changed = 0
        for key in ("title", "lead", "author", "text"):
            a, b = _bare(self.before.get(key)).split(), _bare(self.after.get(key)).split()
            if a == b:
                continue
            if Counter(_NUMBER.findall(" ".join(a))) != Counter(_NUMBER.findall(" ".join(b))):
                return False
            matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
            for tag, i1, i2, j1, j2 in matcher.get_opcodes():
                if tag == "equal":
                    continue
                if tag != "replace" or i2 - i1 != j2 - j1:
                    return False
                for old, new in zip(a[i1:i2], b[j1:j2], strict=True):
                    if difflib.SequenceMatcher(None, old, new).ratio() < \
                            change_rules.COSMETIC_WORD_SIMILARITY:
                        return False
                    changed += max(len(old), len(new)) - sum(
                        m.size for m in difflib.SequenceMatcher(
                            None, old, new).get_matching_blocks())
        return changed <= change_rules.COSMETIC_MAX_CHARS


# -- the classifiers -----------------------------------------------------------------------
Classifier = Callable[[Edit], bool]
CLASSIFIERS: dict[str, Classifier] = {}


def classifier(name: str) -> Callable[[Classifier], Classifier]:
    """Register a classifier under the kind it names."""
    def register(func: Classifier) -> Classifier:
        CLASSIFIERS[name] = func
        return func
    return register


def _changed(edit: Edit, key: str) -> bool:
    return _bare(edit.before.get(key)) != _bare(edit.after.get(key))


@classifier("headline")
def _headline(edit: Edit) -> bool:
    return _changed(edit, "title")


@classifier("lead")
def _lead(edit: Edit) -> bool:
    if edit.before.get("lead") or edit.after.get("lead"):
        if _changed(edit, "lead"):
            return True
    first = change_rules.LEAD_PARAGRAPHS
    return _bare(" ".join(edit.old[:first])) != _bare(" ".join(edit.new[:first]))


@classifier("byline")
def _byline(edit: Edit) -> bool:
    return _changed(edit, "author")


@classifier("date")
def _date(edit: Edit) -> bool:
    a, b = edit.before.get("published"), edit.after.get("published")
    return bool(a and b and a != b)


@classifier("numbers")
def _numbers(edit: Edit) -> bool:
    """A figure changed inside an edited paragraph, the headline or the lead (a new or
    dropped paragraph is not a changed figure)."""
    pairs, _, _ = edit.aligned
    pairs = [*pairs, (edit.before.get("title") or "", edit.after.get("title") or ""),
             (edit.before.get("lead") or "", edit.after.get("lead") or "")]
    return any(Counter(_NUMBER.findall(a)) != Counter(_NUMBER.findall(b)) for a, b in pairs)


def _quotes(text: str) -> Counter[str]:
    return Counter(_bare(m.group(1)) for q in _QUOTES for m in q.finditer(text))


@classifier("quote")
def _quote(edit: Edit) -> bool:
    return _quotes(edit.removed_text) != _quotes(edit.added_text)


@classifier("paragraph_added")
def _paragraph_added(edit: Edit) -> bool:
    _, _, added = edit.aligned
    return any(not _CORRECTION.search(p) for p in added)


@classifier("paragraph_removed")
def _paragraph_removed(edit: Edit) -> bool:
    _, removed, _ = edit.aligned
    return bool(removed)


def _wording(text: str) -> str:
    """The words of a paragraph without its figures and quotes."""
    for quote in _QUOTES:
        text = quote.sub(" ", text)
    return _bare(_NUMBER.sub(" ", text))


def _plain(sentence: str) -> bool:
    """A sentence that holds no quote and is no correction note."""
    return not any(q.search(sentence) for q in _QUOTES) and not _CORRECTION.search(sentence)


@classifier("paragraph_edited")
def _paragraph_edited(edit: Edit) -> bool:
    """A body paragraph (not the lead) reworded beyond its figures: its changed sentences
    that hold no quote and are no correction note say something else."""
    pairs, _, _ = edit.aligned
    lead = edit.old[:change_rules.LEAD_PARAGRAPHS]
    for a, b in pairs:
        if a in lead:
            continue
        old, new = sentences(a), sentences(b)
        matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
        removed, added = [], []
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag != "equal":
                removed += [s for s in old[i1:i2] if _plain(s)]
                added += [s for s in new[j1:j2] if _plain(s)]
        if _wording(" ".join(removed)) != _wording(" ".join(added)):
            return True
    return False


@classifier("correction")
def _correction(edit: Edit) -> bool:
    before = {_bare(s) for p in edit.old for s in sentences(p)}
    return any(op == "+" and _CORRECTION.search(s) and _bare(s) not in before
               for op, s in edit.changes) or any(
        _CORRECTION.search(p) for p in edit.aligned[2])


KINDS = ("headline", "lead", "numbers", "quote", "paragraph_added", "paragraph_removed",
         "paragraph_edited", "correction", "byline", "date", "cosmetic")


def classify(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The kinds of the edit from ``before`` to ``after`` (article dicts: title, lead,
    author, published, text with one paragraph per line, already masked), in KINDS order.
    ``["cosmetic"]`` for a typo-scale edit; ``[]`` when nothing differs."""
    edit = Edit(before, after)
    if not any(_changed(edit, k) for k in ("title", "lead", "author", "text")) and not \
            _date(edit):
        same = all((before.get(k) or "") == (after.get(k) or "")
                   for k in ("title", "lead", "author", "text"))
        return [] if same else ["cosmetic"]
    if edit.cosmetic and not _date(edit):
        return ["cosmetic"]
    return [name for name in KINDS if name in CLASSIFIERS and CLASSIFIERS[name](edit)]


def changed_sentences(old_text: str, new_text: str) -> list[dict[str, str]]:
    """The removed and added sentences, in order: ``[{"op": "-"|"+", "text": ...}]``."""
    edit = Edit({"text": old_text}, {"text": new_text})
    return [{"op": op, "text": s} for op, s in edit.changes]
