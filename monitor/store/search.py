"""Full-text search as analysts type it: with or without diacritics, đ = d, NFC or NFD.

One folding, the judge's (``monitor.judge.folding.fold``: đ → d, every mark off, NFC/NFD
alike), on both sides of the index:

- **Indexed text.** ``articles_fts`` is an FTS5 index with SQLite's ``unicode61
  remove_diacritics 2`` tokenizer over a view of ``articles`` where đ/Đ are replaced by
  d/D. The tokenizer lower-cases and takes every mark off (ư, ơ, â, ă, ê, ô with any tone,
  decomposed input too); đ is a letter of its own, not a letter with a mark, so the view
  does that one with SQL's ``replace()``. Measured against ``fold`` on the whole
  Vietnamese alphabet, upper and lower case, NFC and NFD: equal on every letter
  (``tests/test_search.py::test_index_folding_equals_fold_on_the_vietnamese_alphabet``).
  The triggers use only built-in SQL, so any SQLite client can write the table.
- **Queries.** :func:`fold_query` (``fold`` without lower-casing, so FTS5's ``OR``,
  ``AND``, ``NOT`` and ``NEAR`` keep working) is applied by every search path: the
  Datasette table search and the ``search`` canned query (``nw_fold``, newswatch's Datasette
  plugin), :func:`search` and ``newswatch search``.

Results show the original text: :func:`highlight` and :func:`snippet` find the query's
words and phrases in the folded text and mark them in the original (HTML ``<mark>``).
"""

from __future__ import annotations

import contextvars
import re
import sqlite3
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from markupsafe import Markup, escape

from monitor.judge import FOLD_TABLE, fold

FTS_TABLE = "articles_fts"
FTS_SOURCE = "articles_fts_source"  # the view the index reads: articles with đ → d
TOKENIZE = "unicode61 remove_diacritics 2"
TRIGGERS = ("articles_ai", "articles_ad", "articles_au")
# markers around matches in text returned by the SQL functions (private-use characters:
# never in crawled text, escaped nowhere); newswatch's Datasette plugin renders <mark>
START, END, ELLIPSIS = "\ue000", "\ue001", "\ue002"

# the table search as the analyst typed it (before folding), set per request by the
# Datasette plugin, for highlighting titles and snippets and for the search box
TYPED_SEARCH: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "nw_search", default=None)


def _dbar(column: str) -> str:
    return f"replace(replace({column}, 'đ', 'd'), 'Đ', 'D')"


def fts_schema() -> list[str]:
    """SQL statements that (re)create the folded index, its view and triggers and fill it
    from ``articles``. Existing ones are dropped first, so this is also the migration of a
    database made by the unfolded schema (sqlite-utils' ``enable_fts``)."""
    fold_new = f"new.id, {_dbar('new.title')}, {_dbar('new.text')}"
    fold_old = f"old.id, {_dbar('old.title')}, {_dbar('old.text')}"
    delete = (f"insert into {FTS_TABLE}({FTS_TABLE}, rowid, title, text) "
              f"values ('delete', {fold_old});")
    insert = f"insert into {FTS_TABLE}(rowid, title, text) values ({fold_new});"
    return [
        *(f"drop trigger if exists {name}" for name in TRIGGERS),
        f"drop table if exists {FTS_TABLE}",
        f"drop view if exists {FTS_SOURCE}",
        f"create view {FTS_SOURCE} as select id, {_dbar('title')} as title, "
        f"{_dbar('text')} as text from articles",
        f"create virtual table {FTS_TABLE} using fts5(title, text, content='{FTS_SOURCE}', "
        f"content_rowid='id', tokenize='{TOKENIZE}')",
        f"create trigger articles_ai after insert on articles begin {insert} end",
        f"create trigger articles_ad after delete on articles begin {delete} end",
        f"create trigger articles_au after update of title, text on articles begin "
        f"{delete} {insert} end",
        f"insert into {FTS_TABLE}({FTS_TABLE}) values ('rebuild')",
        # one merged segment: without it the writer's next inserts merged into the rebuilt
        # one, 2.6x slower at 100k articles (bench/search_bench.py)
        f"insert into {FTS_TABLE}({FTS_TABLE}) values ('optimize')",
    ]


def install(conn: sqlite3.Connection) -> None:
    """Create (or re-create) the folded index on ``conn``, inside the caller's
    transaction."""
    for statement in fts_schema():
        conn.execute(statement)


def fold_query(query: str) -> str:
    """``fold`` without lower-casing: đ → d and every mark off, NFC and NFD alike; FTS5
    syntax (quotes, ``*``, ``OR``/``AND``/``NOT``/``NEAR``, ``column:``) is kept."""
    if query.isascii():
        return query
    text = unicodedata.normalize("NFC", query).translate(FOLD_TABLE)
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFD", text)
                       if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", text)


# -- highlighting -----------------------------------------------------------------------

_TERM = re.compile(r'"([^"]*)"?|([^\s"()]+)')
_OPERATORS = frozenset({"AND", "OR", "NOT"})
_WORD = r"[^\W_]"


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str] | None


@lru_cache(maxsize=256)
def _pattern(query: str) -> _Pattern:
    """A regex over folded text matching the query's words, prefixes and phrases."""
    alternatives = []
    for phrase, bare in _TERM.findall(query or ""):
        if bare:
            if bare in _OPERATORS or bare.startswith("NEAR"):
                continue
            bare = bare.split(":", 1)[-1] if re.match(r"^\w+:", bare) else bare
            bare = bare.lstrip("^+-")
        words = re.findall(rf"{_WORD}+\*?", fold(phrase or bare))
        if not words:
            continue
        parts = [re.escape(w[:-1]) + rf"{_WORD}*" if w.endswith("*") else re.escape(w)
                 for w in words]
        alternatives.append(rf"(?<!{_WORD})" + r"[\W_]+".join(parts) + rf"(?!{_WORD})")
    if not alternatives:
        return _Pattern(None)
    alternatives.sort(key=len, reverse=True)
    return _Pattern(re.compile("|".join(alternatives)))


def _folded(text: str) -> tuple[str, list[int] | None]:
    """``text`` folded, and for each folded character the index of its original one
    (``None`` when they line up one to one)."""
    same = text.translate(FOLD_TABLE1).lower()
    if len(same) == len(text) and (same.isascii() or not _COMBINING.search(same)):
        return same, None
    chars: list[str] = []
    index: list[int] = []
    for position, char in enumerate(text):
        folded = fold(char)
        chars.append(folded)
        index.extend([position] * len(folded))
    return "".join(chars), index


_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# one character to one character (precomposed letters and đ); others go the slow way
FOLD_TABLE1 = {cp: value for cp, value in FOLD_TABLE.items() if len(value) == 1}


def _spans(text: str, query: str, start: int = 0,
           end: int | None = None) -> list[tuple[int, int]]:
    """Where the query's terms occur in ``text`` (original positions)."""
    pattern = _pattern(query).regex
    if pattern is None or not text:
        return []
    folded, index = _folded(text)
    spans = []
    for match in pattern.finditer(folded):
        a, b = match.start(), match.end()
        if index is not None:
            a, b = index[a], index[b - 1] + 1
        if a >= start and (end is None or b <= end):
            spans.append((a, b))
    return spans


def _mark(text: str, spans: list[tuple[int, int]], start: str, end: str,
          escape_text: Any = str) -> str:
    out, position = [], 0
    for a, b in spans:
        out += [escape_text(text[position:a]), start, escape_text(text[a:b]), end]
        position = b
    out.append(escape_text(text[position:]))
    return "".join(out)


def highlight(text: str | None, query: str, start: str = START, end: str = END) -> str:
    """``text`` as it is, with the query's matches between ``start`` and ``end``."""
    if not text:
        return text or ""
    return _mark(text, _spans(text, query), start, end)


def snippet(text: str | None, query: str, width: int = 200, start: str = START,
            end: str = END) -> str:
    """About ``width`` characters of ``text`` around its first match (its beginning when
    nothing matches), with every match in it marked; "…" where it was cut."""
    if not text:
        return text or ""
    spans = _spans(text, query)
    first = spans[0][0] if spans else 0
    a = max(0, first - width // 3)
    if a:
        space = text.find(" ", a)
        a = space + 1 if 0 <= space < first else a
    b = min(len(text), a + width)
    if b < len(text):
        space = text.rfind(" ", a, b)
        b = space if space > first else b
    inside = [(x - a, y - a) for x, y in spans if x >= a and y <= b]
    body = _mark(text[a:b], inside, start, end).replace("\n", " ")
    return ("…" if a else "") + body + ("…" if b < len(text) else "")


_MARKERS = re.compile(f"([{START}{END}{ELLIPSIS}])")


def restore_snippet(marked: str | None, original: str | None) -> str:
    """FTS5 ``snippet()`` output over the index's source text (markers START/END, ellipsis
    ELLIPSIS) shown on ``original``: the fragment is found in the source text (``original``
    with đ → d) and sliced out of ``original``, markers kept, "…" for the ellipses."""
    if not marked or not original:
        return ""
    pieces = _MARKERS.split(marked)
    fragment = "".join(p for p in pieces if p not in (START, END, ELLIPSIS))
    at = original.replace("đ", "d").replace("Đ", "D").find(fragment) if fragment else -1
    out = []
    for piece in pieces:
        if piece in (START, END):
            out.append(piece)
        elif piece == ELLIPSIS:
            out.append("…")
        elif piece:
            out.append(original[at:at + len(piece)] if at >= 0 else piece)
            at += len(piece) if at >= 0 else 0
    return "".join(out).replace("\n", " ")


def to_html(marked: str | None) -> Markup:
    """Text with START/END markers as HTML: escaped, the matches in ``<mark>``."""
    if not marked:
        return Markup("")
    return Markup(str(escape(marked)).replace(START, "<mark>").replace(END, "</mark>"))


def html_highlight(text: str | None, query: str) -> Markup:
    """``highlight`` as safe HTML."""
    return to_html(highlight(text, query))


def html_snippet(text: str | None, query: str, width: int = 200) -> Markup:
    """``snippet`` as safe HTML."""
    return to_html(snippet(text, query, width))


# -- searching -------------------------------------------------------------------------

SNIPPET_TOKENS = 20
# the text's snippet as FTS5 finds and marks it (phrases, prefixes, NEAR as it matched
# them), shown on the original text; the title marked in Python: as the canned query does
MARKED_TITLE = "nw_highlight(a.title, :q)"
MARKED_SNIPPET = (f"nw_restore_snippet(snippet({FTS_TABLE}, 1, char({ord(START)}), "
                  f"char({ord(END)}), char({ord(ELLIPSIS)}), {SNIPPET_TOKENS}), a.text)")
SEARCH_SQL = f"""
select a.*, {MARKED_TITLE} as title_marked, {MARKED_SNIPPET} as snippet
from {FTS_TABLE} join articles a on a.id = {FTS_TABLE}.rowid

where {FTS_TABLE} match :folded
order by rank
limit :limit
"""


def register_functions(conn: sqlite3.Connection) -> None:
    """Add ``nw_fold(q)``, ``nw_highlight(text, q)``, ``nw_snippet(text, q)``,
    and ``nw_restore_snippet(snippet, original)`` to a connection
    (Datasette's through newswatch's plugin, and :func:`search`'s)."""
    conn.create_function("nw_fold", 1, lambda q: fold_query(q) if q else q,
                         deterministic=True)
    conn.create_function("nw_highlight", 2, lambda t, q: highlight(t, q or ""),
                         deterministic=True)
    conn.create_function("nw_snippet", 2, lambda t, q: snippet(t, q or ""),
                         deterministic=True)
    conn.create_function("nw_restore_snippet", 2, restore_snippet, deterministic=True)


def search(conn: sqlite3.Connection, query: str, limit: int = 20) -> list[dict[str, Any]]:
    """Articles matching ``query`` (FTS5 syntax, folded), best first: each article's
    columns plus ``title_marked`` and ``snippet`` (matches between START and END).

    Raises ``sqlite3.OperationalError`` on a query FTS5 cannot parse.
    """
    register_functions(conn)
    cursor = conn.execute(SEARCH_SQL, {"q": query, "folded": fold_query(query),
                                       "limit": limit})
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor]
