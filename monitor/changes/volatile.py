"""Mask text that changes by itself (counters, relative times, "Updated hh:mm" stamps,
live clocks) before an article's text is compared, hashed for the version decision or
diffed. The rules are data: ``monitor.changes.rules.VOLATILE`` (every page) and a site
profile's ``volatile`` regexes (that site only, applied to every line).

The stored text keeps these spans as the page printed them (see docs/ALERTS.md,
"Volatile text"): only the version decision and the diff see the masked text.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from monitor.changes import rules as change_rules

_WORD = re.compile(r"[^\W_]+")
_TOKEN = re.compile("\u27e8[a-z_0-9]+\u27e9")
_SPANS = re.compile("(?:\\s*[|·•,:\u2013\u2014-]?\\s*\u27e8[a-z_0-9]+\u27e9)+"
                    "\\s*[|·•\u2013\u2014-]?")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?…])\s+")
_SENTENCE_CLOSE = re.compile(r"[.!?…][\"”’')]*\s*$")


@lru_cache(maxsize=64)
def _compiled(extra: tuple[str, ...]) -> list[tuple[str, re.Pattern[str], bool]]:
    """(name, regex, meta lines only) for the generic rules, then the profile's."""
    rules = [(name, re.compile(p, re.IGNORECASE), True)
             for name, p in change_rules.VOLATILE.items()]
    rules += [(f"profile_{i}", re.compile(p, re.IGNORECASE), False)
              for i, p in enumerate(extra)]
    return rules


def _is_meta(segment: str, whole_line: bool) -> bool:
    """A meta segment: a short line, or a short unpunctuated strip inside a paragraph
    ("Posted 2 hours ago · 1,204 views"), never a sentence of the article."""
    if len(segment.split()) > change_rules.VOLATILE_MAX_WORDS:
        return False
    return whole_line or not _SENTENCE_CLOSE.search(segment)


def _mask_segment(segment: str, meta: bool, extra: tuple[str, ...]) -> str:
    for _name, pattern, meta_only in _compiled(extra):
        if meta_only and not meta:
            continue
        segment = pattern.sub(change_rules.MASK, segment)
    return segment


def mask_line(line: str, extra: Sequence[str] = ()) -> str | None:
    """``line`` without its volatile spans (and the separators between them); None when
    nothing but volatile text (and a label or two) is left: the line is volatile as a
    whole."""
    rules = tuple(extra)
    if _is_meta(line, True):
        masked = _mask_segment(line, True, rules)
    else:
        parts = _SENTENCE_SPLIT.split(line)
        masked = " ".join(_mask_segment(part, _is_meta(part, False), rules) for part in parts)
        if masked == " ".join(parts):
            masked = line
    if masked == line:
        return line
    residue = _WORD.findall(_TOKEN.sub(" ", masked))
    if len(residue) <= change_rules.VOLATILE_RESIDUE_WORDS and len(residue) < len(
            _WORD.findall(line)):
        return None
    # the spans go, with the separators that joined them ("Updated ⟨⟩ · ⟨⟩ views"): a
    # strip that moves from one paragraph to another leaves no trace
    return " ".join(_SPANS.sub(" ", masked).split())


_INVISIBLE = {ord(c): None for c in change_rules.INVISIBLE}


def plain(text: str) -> str:
    """``text`` as a reader sees it: NFC, without invisible characters
    (``rules.INVISIBLE``), every run of spaces (no-break, thin, ideographic) one space,
    line by line."""
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    return "\n".join(" ".join(line.split()) for line in text.splitlines())


def mask(text: str, extra: Sequence[str] = ()) -> str:
    """The text (one paragraph per line), read plain (``plain``), with volatile spans
    masked and wholly volatile lines dropped: what versions are decided and diffed on."""
    lines = (mask_line(line, extra) for line in plain(text).splitlines())
    return "\n".join(line for line in lines if line)


def masked_hash(text: str, extra: Sequence[str] = ()) -> str:
    """SHA-256 (hex) of the masked text, case-insensitive like ``extract.content_hash``."""
    return hashlib.sha256(mask(text, extra).casefold().encode("utf-8")).hexdigest()


def volatile_spans(text: str, extra: Sequence[str] = ()) -> list[tuple[str, str]]:
    """(rule name, matched text) of every volatile span, for tests and ``--explain``."""
    found = []
    for line in text.splitlines():
        whole = _is_meta(line, True)
        for part in [line] if whole else _SENTENCE_SPLIT.split(line):
            meta = whole or _is_meta(part, False)
            for name, pattern, meta_only in _compiled(tuple(extra)):
                if meta_only and not meta:
                    continue
                found += [(name, m.group(0)) for m in pattern.finditer(part)]
    return found
