"""Folding: the one form in which terms are matched and text is searched, lower-case
without diacritics ("Bùi Thanh Sơn" → "bui thanh son", đ → d), NFC or NFD input alike.

Used by the judge (``monitor.judge.relevance``, ``monitor.judge.learned``) and by full-text
search (``monitor.store.search``), so a term matches the same way in both.
"""

from __future__ import annotations

import unicodedata


def _strip_marks(char: str) -> str:
    base = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
    return base or char


# One translate table for every precomposed Latin letter (Vietnamese lives in U+1EA0-1EF9):
# {code point: its letter without marks}, đ/Đ → d/D included
FOLD_TABLE = {cp: _strip_marks(chr(cp)) for block in ((0xC0, 0x250), (0x1E00, 0x1F00))
         for cp in range(*block) if _strip_marks(chr(cp)) != chr(cp)}
FOLD_TABLE.update({ord("đ"): "d", ord("Đ"): "D"})


def fold(text: str) -> str:
    """Lower-case, without diacritics (đ → d): the form folded terms are matched in."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text).translate(FOLD_TABLE)
        if not text.isascii():  # combining marks left over (decomposed input)
            text = "".join(c for c in unicodedata.normalize("NFD", text)
                           if not unicodedata.combining(c))
    return text.lower()
