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
  Datasette table search and the ``search`` canned query (newswatch's Datasette plugin),
  :func:`search` and ``newswatch search``.

What an analyst types is **plain text** (:func:`plain_query`), never FTS5 syntax: ``U.S.``,
``Vietnam-US``, ``Vietnam's``, ``Việt - Mỹ``, a lone ``-``, an unclosed ``"`` are words and
phrases, and every string gives a valid FTS5 expression (results or none, never an
error). Plain text keeps the few operators the docs promise: ``"phrases"`` (a missing
closing quote closes at the end), ``OR``/``AND``/``NOT`` in capitals between two terms,
``word*`` prefixes and well-formed ``NEAR(a b, N)`` groups. The rest of FTS5's syntax
(column filters ``title:``, ``^``, ``+``, parentheses) is read as FTS5 only when asked:
:func:`search` with ``fts=True`` (``newswatch search --fts``), Datasette's
``?_searchmode=raw`` and the ``search_fts`` canned query; a query FTS5 cannot parse is
then a :class:`QuerySyntaxError` (one line, exit 2; HTTP 400 in Datasette).

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
# a comment in the index's CREATE statement (SQLite keeps it in sqlite_master.sql): the
# index reads `articles` through the view, and sqlite-utils (`Table.detect_fts`,
# `sqlite-utils search DB articles ...`) and Datasette (`detect_fts`) find a table's index
# by `content="<table>"` in that SQL
FINDABLE = '/* content="articles": articles through the view, đ as d */'

# markers around matches in text returned by the SQL functions (private-use characters:
# never in crawled text, escaped nowhere); newswatch's Datasette plugin renders <mark>
START, END, ELLIPSIS = "\ue000", "\ue001", "\ue002"

# the table search as the analyst typed it (before folding), set per request by the
# Datasette plugin, for highlighting titles and snippets and for the search box
TYPED_SEARCH: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "nw_search", default=None)
# the FTS5 expression that search was read as (plain_query, or fts_query with
# ?_searchmode=raw): the words marked in titles and snippets are the words searched
SEARCHED: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "nw_searched", default=None)


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
        f"create virtual table {FTS_TABLE} using fts5(title, text, content='{FTS_SOURCE}' "
        f"{FINDABLE}, content_rowid='id', tokenize='{TOKENIZE}')",
        f"create trigger articles_ai after insert on articles begin {insert} end",
        f"create trigger articles_ad after delete on articles begin {delete} end",
        f"create trigger articles_au after update of title, text on articles begin "
        f"{delete} {insert} end",
        f"insert into {FTS_TABLE}({FTS_TABLE}) values ('rebuild')",
        # one merged segment: without it the writer's next inserts merged into the rebuilt
        # one, 2.6x slower at 100k articles (bench/search_bench.py)
        f"insert into {FTS_TABLE}({FTS_TABLE}) values ('optimize')",
    ]


def findable(conn: sqlite3.Connection) -> bool:
    """Whether the folded index's SQL carries :data:`FINDABLE` (sqlite-utils and
    Datasette find it as the ``articles`` table's index)."""
    row = conn.execute("select sql from sqlite_master where name = ?", [FTS_TABLE]).fetchone()
    return bool(row and FINDABLE in row[0])


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


# -- plain text: what an analyst types, as an FTS5 expression that always parses --------

# characters that end FTS5's reading of a string (NUL) or that SQLite cannot take (lone
# surrogates: undecodable bytes of a command line); both are separators in the index
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# typographic double quotes (a phone's keyboard types “…”, Vietnamese copy prints them)
# are quotes: “Bùi Thanh Sơn” is a phrase
_QUOTES = str.maketrans(dict.fromkeys("\u201c\u201d\u201e\u201f\u00ab\u00bb\uff02", '"'))
_OPS = frozenset({"OR", "AND", "NOT"})
_DASHES = re.compile("[-\u2010-\u2015\u2212\ufe58\ufe63\uff0d]+")
_DISTANCE = re.compile(r",\s*([0-9]+)\s*\)")
# a pasted paragraph: its first 64 words and phrases are searched (FTS5's snippet() and
# bm25 slow down with each phrase that matches: thousands take seconds)
MAX_TERMS = 64
_NEAR_MAX = 1000  # FTS5 reads a NEAR distance of 2^31 and more as a negative one
# characters that are never a token in SQLite's unicode61 (ASCII punctuation, spaces,
# the General Punctuation block): a term made of these alone is dropped; any other term
# is quoted and left to the tokenizer (an empty phrase is ignored in an implicit AND)
_SEPARATOR = re.compile(r"[\s!-/:-@\[-`{-~\xa0-\xa9\xab-\xb1\xb4\xb6-\xb8\xbb\xbf\xd7\xf7"
                        r"\u2000-\u2064\u206a-\u206f\u3000-\u3003\ufe30-\ufe4f\ufff9-\ufffd]*")


@dataclass(frozen=True)
class _Term:
    text: str  # as typed (folded), quoted when written out
    prefix: bool = False


@dataclass(frozen=True)
class _Near:
    terms: tuple[_Term, ...]
    distance: int | None


def _quoted(term: _Term) -> str:
    return '"' + term.text.replace('"', '""') + '"' + ("*" if term.prefix else "")


def _empty(term: _Term) -> bool:
    return _SEPARATOR.fullmatch(term.text) is not None


def _phrase(text: str, i: int) -> tuple[_Term, int]:
    """The phrase opening at ``text[i]`` (a ``"``): to the next ``"``, or to the end."""
    close = text.find('"', i + 1)
    end = len(text) if close < 0 else close
    after = len(text) if close < 0 else close + 1
    prefix = text.startswith("*", after)
    return _Term(text[i + 1:end], prefix), after + prefix


def _chunk(text: str, i: int, stops: str) -> tuple[str, int]:
    j = i
    while j < len(text) and not text[j].isspace() and text[j] not in stops:
        j += 1
    return text[i:j], j


def _bare(chunk: str) -> _Term:
    return _Term(chunk.rstrip("*"), chunk.endswith("*") and chunk.rstrip("*") != "")


def _near(text: str, i: int) -> tuple[_Near | None, int]:
    """A well-formed ``NEAR(term term ... [, N])`` whose ``(`` is at ``text[i - 1]``, and
    where it ends; None when it is not one (then ``NEAR(`` is read as text), and where
    the reading stopped: a ``NEAR(`` before that point fails there too."""
    terms: list[_Term] = []
    distance = None
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char == '"':
            if text.find('"', i + 1) < 0:
                return None, len(text)
            term, i = _phrase(text, i)
            terms.append(term)
        elif char == ",":
            found = _DISTANCE.match(text, i)
            if found is None:
                return None, i
            digits = found.group(1).lstrip("0") or "0"  # Python reads 4,300 digits at most
            distance = _NEAR_MAX if len(digits) > 6 else min(int(digits), _NEAR_MAX)
            return _Near(tuple(terms), distance), found.end()
        elif char == ")":
            return _Near(tuple(terms), distance), i + 1
        else:
            chunk, i = _chunk(text, i, '"),')
            terms.append(_bare(chunk))
    return None, len(text)


def _read(text: str, syntax: bool) -> list[_Term | _Near | str]:
    """Terms, NEAR groups and operators (``"OR"``, ``"AND"``, ``"NOT"``) in ``text``."""
    items: list[_Term | _Near | str] = []
    i = failed = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
            continue
        if char == '"':
            term, i = _phrase(text, i)
            items.append(term if syntax else _Term(term.text))
            continue
        if syntax and i >= failed and text.startswith("NEAR(", i):
            group, end = _near(text, i + 5)
            if group is not None:
                items.append(group)
                i = end
                continue
            failed = end  # "NEAR( NEAR( NEAR( ...": read once, not once per NEAR(
        chunk, i = _chunk(text, i, '"')
        if syntax and chunk in _OPS:
            items.append(chunk)
        else:
            items.append(_bare(chunk) if syntax else _Term(chunk))
    return items


def _joined(items: list[_Term | _Near | str]) -> list[_Term | _Near | str]:
    """A lone dash between two terms joins them, as a headline prints a pair: ``Việt - Mỹ``
    is the phrase "Việt Mỹ" (found in "Việt - Mỹ" and "Việt-Mỹ")."""
    out: list[_Term | _Near | str] = []
    n = 0
    while n < len(items):
        item = items[n]
        if (isinstance(item, _Term) and _DASHES.fullmatch(item.text) and out
                and isinstance(out[-1], _Term) and not out[-1].prefix
                and not _empty(out[-1]) and n + 1 < len(items)
                and isinstance(items[n + 1], _Term) and not _empty(items[n + 1])):
            after = items[n + 1]
            assert isinstance(after, _Term)
            out[-1] = _Term(f"{out[-1].text} {after.text}", after.prefix)
            n += 2
            continue
        out.append(item)
        n += 1
    return out


@lru_cache(maxsize=1024)
def plain_query(typed: str | None, syntax: bool = True) -> str:
    """What an analyst typed as an FTS5 expression that FTS5 always accepts, folded as
    the index is (:func:`fold_query`).

    Every run of text between spaces and quotes is one quoted FTS5 string, which the
    index's tokenizer splits as it split the articles: ``U.S.`` is the phrase "u s",
    ``Việt-Mỹ`` finds "Việt - Mỹ" and "Việt-Mỹ", ``title:foo`` is the two words; a lone
    dash between two terms joins them (``Việt - Mỹ`` is the phrase "Việt Mỹ"). With
    ``syntax`` (the default) these keep their meaning: ``"a phrase"`` (“typographic”
    quotes too; an unclosed quote closes at the end), ``word*`` (a prefix),
    ``OR``/``AND``/``NOT`` in capitals between two terms (elsewhere they are words),
    ``NEAR(a b, N)`` when well formed. Without it, everything is words and phrases
    (Datasette's "escaped" meaning). A term repeated in a run of ANDs counts once; the
    first MAX_TERMS (64) terms are searched, the rest of a pasted text is left out. Text
    with no word at all (``-``, ``...``) gives ``""``, which matches nothing.
    Idempotent: the expression read again is itself (next-page links carry it)."""
    if not typed:
        return '""'
    text = fold_query(_UNSAFE.sub(" ", typed).translate(_QUOTES))
    items: list[_Term | _Near | str] = []
    for item in _joined(_read(text, syntax)):
        if isinstance(item, _Near):
            terms = tuple(t for t in item.terms if not _empty(t))
            item = _Near(terms, item.distance) if terms else _Term("")
        if not (isinstance(item, _Term) and _empty(item)):
            items.append(item)
    out: list[str] = []
    seen: set[str] = set()  # the terms of this run of implicit ANDs
    terms = 0
    for n, item in enumerate(items):
        if isinstance(item, str):
            between = (0 < n < len(items) - 1 and not isinstance(items[n - 1], str)
                       and not isinstance(items[n + 1], str))
            if between:  # an operator: it stands between two terms
                out.append(item)
                seen = set()
                continue
            item = _Term(item)  # elsewhere, a word
        if isinstance(item, _Near):
            distance = "" if item.distance is None else f", {item.distance}"
            written = "NEAR(" + " ".join(map(_quoted, item.terms)) + distance + ")"
        else:
            written = _quoted(item)
        if written in seen:  # "a a" is "a"; FTS5's snippet() and bm25 are quadratic
            continue  # in repeated phrases (3,000 × "U.S.": 1 s; 20,000: a minute)
        if terms == MAX_TERMS:
            break
        seen.add(written)
        out.append(written)
        terms += 1
    while out and out[-1] in _OPS:  # cut after an operator
        out.pop()
    return " ".join(out) or '""'


class QuerySyntaxError(ValueError):
    """A query asked for as FTS5 syntax (``fts=True``) that FTS5 cannot parse."""


def check_fts_syntax(expression: str) -> None:
    """Raise :class:`QuerySyntaxError` (FTS5's own message) if FTS5 cannot parse
    ``expression`` over the index's columns (``title``, ``text``)."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(f"create virtual table q using fts5(title, text, tokenize='{TOKENIZE}')")
        conn.execute("select rowid from q where q match ?", [expression]).fetchall()
    except sqlite3.OperationalError as exc:
        raise QuerySyntaxError(str(exc)) from None
    finally:
        conn.close()


def fts_query(typed: str) -> str:
    """A query in FTS5 syntax, as asked for (``--fts``, ``_searchmode=raw``): folded;
    only characters SQLite cannot take (NUL, lone surrogates) become spaces, “typographic”
    double quotes are quotes. An empty
    query is ``""`` (nothing found), not a syntax error."""
    text = fold_query(_UNSAFE.sub(" ", typed or "").translate(_QUOTES))
    return text if text.strip() else '""'


# -- highlighting -----------------------------------------------------------------------

_TERM = re.compile(r'"([^"]*)"?(\*?)|([^\s"()]+)')  # "phrase", "prefix"*, bare
_OPERATORS = frozenset({"AND", "OR", "NOT"})
_WORD = r"[^\W_]"
_MARKED_TERMS = 64  # a pasted paragraph: its first 64 words and phrases are marked


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str] | None


@lru_cache(maxsize=256)
def _pattern(query: str) -> _Pattern:
    """A regex over folded text matching the query's words, prefixes and phrases."""
    alternatives: list[str] = []
    query = _DISTANCE.sub(")", query or "")  # NEAR(a b, 10): 10 is no word of the text
    for phrase, star, bare in _TERM.findall(query):
        if len(alternatives) >= _MARKED_TERMS:
            break
        if bare:
            if bare in _OPERATORS or bare.startswith("NEAR"):
                continue
            bare = bare.split(":", 1)[-1] if re.match(r"^\w+:", bare) else bare
            bare = bare.lstrip("^+-")
        words = re.findall(rf"{_WORD}+\*?", fold(phrase or bare))
        if not words:
            continue
        if star and not words[-1].endswith("*"):
            words[-1] += "*"  # "semicon"*: the plain reading's prefix
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
    """Add ``nw_match(q)`` (:func:`plain_query`: what an analyst typed, as an FTS5
    expression that always parses), ``nw_fold(q)`` (:func:`fts_query`: FTS5 syntax as
    typed, folded), ``nw_highlight(text, q)``, ``nw_snippet(text, q)`` and
    ``nw_restore_snippet(snippet, original)`` to a connection (Datasette's through
    newswatch's plugin, and :func:`search`'s)."""
    conn.create_function("nw_match", 1, lambda q: plain_query(q if isinstance(q, str)
                                                              else None),
                         deterministic=True)
    conn.create_function("nw_fold", 1, lambda q: fts_query(q) if isinstance(q, str) else q,
                         deterministic=True)
    conn.create_function("nw_highlight", 2, lambda t, q: highlight(t, q or ""),
                         deterministic=True)
    conn.create_function("nw_snippet", 2, lambda t, q: snippet(t, q or ""),
                         deterministic=True)
    conn.create_function("nw_restore_snippet", 2, restore_snippet, deterministic=True)


def search(conn: sqlite3.Connection, query: str, limit: int = 20,
           fts: bool = False) -> list[dict[str, Any]]:
    """Articles matching ``query``, best first: each article's columns plus
    ``title_marked`` and ``snippet`` (matches between START and END).

    ``query`` is plain text (:func:`plain_query`): any string gives results or none.
    With ``fts=True`` it is FTS5 syntax (folded), and a query FTS5 cannot parse raises
    :class:`QuerySyntaxError`.
    """
    register_functions(conn)
    if fts:
        expression = fts_query(query)
        check_fts_syntax(expression)
    else:
        expression = plain_query(query)
    cursor = conn.execute(SEARCH_SQL, {"q": expression, "folded": expression,
                                       "limit": limit})
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor]
