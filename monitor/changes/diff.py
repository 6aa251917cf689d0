"""Differences between two versions of an article's text (one paragraph per line)."""

from __future__ import annotations

import difflib
import re
from html import escape

_TOKEN = re.compile(r"\s+|[^\s]+")


def unified_diff(old: str, new: str, old_label: str = "before", new_label: str = "after",
                 context: int = 1) -> str:
    """A unified diff, paragraph by paragraph."""
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), old_label, new_label,
                                 n=context, lineterm="")
    return "\n".join(lines)


def changed_paragraphs(old: str, new: str) -> list[tuple[str, str]]:
    """(before, after) for each replaced paragraph; "" stands for added or removed."""
    a, b = old.splitlines(), new.splitlines()
    pairs = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        left, right = a[i1:i2], b[j1:j2]
        for k in range(max(len(left), len(right))):
            pairs.append((left[k] if k < len(left) else "", right[k] if k < len(right) else ""))
    return pairs


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """Word-level diff for display: ``(op, text)`` with op in "=", "-", "+"."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    out: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.append(("=", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(("-", "".join(a[i1:i2])))
        if j2 > j1:
            out.append(("+", "".join(b[j1:j2])))
    return out


def word_diff_html(old: str, new: str) -> str:
    """The word diff as HTML: ``<del>`` for removed words, ``<ins>`` for added ones."""
    tags = {"-": "del", "+": "ins"}
    parts = []
    for op, text in word_diff(old, new):
        safe = escape(text).replace("\n", "<br>")
        parts.append(safe if op == "=" else f"<{tags[op]}>{safe}</{tags[op]}>")
    return "".join(parts)
