"""newswatch's Datasette plugin: word diffs as highlighted HTML, clean text as
paragraphs, and table descriptions for the home page; search as analysts type it: plain
text, any string (punctuation is text, no diacritics needed, đ = d, see
monitor.store.search), with the matches highlighted."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import datasette.handle_exception
from datasette import hookimpl
from markupsafe import Markup

from monitor.browse.export import neutralise_datasette_csv
from monitor.browse.serve import limit_connection, paragraphs, sanitise_diff
from monitor.store.search import (
    SEARCHED,
    START,
    TYPED_SEARCH,
    fts_query,
    html_highlight,
    html_snippet,
    plain_query,
    register_functions,
)
from monitor.store.search import to_html as marked_html

_SEARCH = TYPED_SEARCH  # the table search as typed (monitor.store.search)

# The articles table page shows these columns (its 34 do not fit a 1280 px window); the
# rest are folded by CSS (templates/table.html), named in a line above the rows with a
# link (?_nw_columns=all) that shows them all. A ?_col= or ?_nocol= choice is the
# reader's own: nothing is folded then. JSON, CSV and the row pages keep every column.
ARTICLE_COLUMNS = ("id", "title", "source", "language", "published", "text", "relevant",
                   "story_id", "version", "updated", "removed")
ALL_COLUMNS = ("_nw_columns", "all")  # the link that shows every column

# Datasette 0.65 prints every handled error with rich when rich is importable (it is, for
# newswatch's CLI); outside an except block (404 and 405 paths) that raises, and a refused
# POST becomes a 500. Plain error pages instead.
datasette.handle_exception.rich = None

# Datasette's own .csv (tables, rows, queries) neutralises formula cells as `newswatch
# export --format csv` does (OWASP "CSV Injection"; monitor.browse.export.NeutralCsv)
neutralise_datasette_csv()


@hookimpl(trylast=True)  # after Datasette's own prepare_connection: our escape_fts wins
def prepare_connection(conn, database):
    # nw_match, nw_fold, nw_highlight, nw_snippet for the search canned queries
    register_functions(conn)
    # the table search (?_search=, ?_search_COLUMN=) outside searchmode raw is
    # `match escape_fts(:search)`: Datasette's own escape_fts keeps a lone '"' or a '-' as
    # FTS5 syntax (simonw/datasette#651) and drops every operator; the plain reading
    # answers any string, folded, with "phrases", OR, NOT, prefix* kept
    conn.create_function("escape_fts", 1,
                         lambda q: plain_query(q if isinstance(q, str) else None),
                         deterministic=True)
    if database != "_internal":  # Datasette's own catalogue is not served
        limit_connection(conn)  # no 300 MB blob, no ATTACH, no fts3_tokenizer (issue 34)


def _is_search(key: str) -> bool:
    return key.startswith("_search") and key != "_searchmode"


@hookimpl
def asgi_wrapper(datasette):
    """The table search as typed: ``?_search=`` and ``?_search_COLUMN=`` are read as plain
    text by ``escape_fts`` (above), so the URL, the next-page links and the search box keep
    what the analyst typed. FTS5 syntax only with ``?_searchmode=raw``, folded here
    before Datasette reads it (the folded index needs a folded query); ``escaped`` makes
    every word a word (no OR, NOT, prefix*)."""

    def wrap(app):
        async def folded(scope, receive, send):
            if scope.get("type") != "http" or b"_search" not in scope.get("query_string", b""):
                await app(scope, receive, send)
                return
            given = parse_qsl(scope["query_string"].decode("utf-8", "replace"),
                              keep_blank_values=True)
            # an empty search box is no search (all rows), not a search for nothing
            pairs = [(k, v) for k, v in given if not (_is_search(k) and not v.strip())]
            typed = next((v for k, v in pairs if _is_search(k)), None)
            mode = next((v for k, v in pairs if k == "_searchmode"), None)
            if mode == "raw":
                read = fts_query
            elif mode == "escaped":
                read = lambda v: plain_query(v, syntax=False)  # noqa: E731
            else:
                read = None  # escape_fts reads it
            if read is not None:
                pairs = [(k, read(v) if _is_search(k) else v) for k, v in pairs]
            if read is not None or len(pairs) != len(given):
                scope = dict(scope, query_string=urlencode(pairs).encode())
            typed_token = _SEARCH.set(typed)
            searched_token = SEARCHED.set((read or plain_query)(typed) if typed else None)
            try:
                await app(scope, receive, send)
            finally:
                SEARCHED.reset(searched_token)
                _SEARCH.reset(typed_token)

        return folded

    return wrap


@hookimpl
def render_cell(value, column, table, database, datasette):
    if isinstance(value, str) and START in value and table is None:
        return marked_html(value)  # nw_highlight / nw_snippet output: <mark>ed, escaped
    searched = SEARCHED.get()  # the expression matched: its words marked
    if searched and table == "articles" and isinstance(value, str):
        if column == "title":
            return html_highlight(value, searched)
        if column == "text":
            return Markup('<div class="nw-snippet">{}</div>').format(
                html_snippet(value, searched))
    # a whole article's diff or text in one cell is folded under one line that says
    # what it holds (a click opens it): a row stays a few lines tall and the page fits
    # a 1280 px window; the sentence diff (``changes``) is the column to read
    if column == "word_diff" and isinstance(value, str):
        return _folded(f"word diff: {_count(value, '<ins>', 'insertion')}, "
                       f"{_count(value, '<del>', 'deletion')}",
                       Markup('<div class="nw-diff">{}</div>').format(sanitise_diff(value)))
    if column == "diff" and isinstance(value, str):
        lines = sum(1 for line in value.splitlines() if line[:1] in "+-"
                    and not line.startswith(("+++", "---")))
        return _folded(f"unified diff: {lines} line{'' if lines == 1 else 's'} changed",
                       Markup('<pre class="nw-udiff">{}</pre>').format(value))
    if column == "text" and table is None and isinstance(value, str):
        # canned and custom queries (the article view); table pages keep truncation
        words = len(value.split())
        return _folded(f"{words} word{'' if words == 1 else 's'}",
                       Markup('<div class="nw-text">{}</div>').format(paragraphs(value)))
    return None


def _count(html: str, tag: str, noun: str) -> str:
    found = html.lower().count(tag)
    return f"{found} {noun}{'' if found == 1 else 's'}"


def _folded(summary: str, inner: Markup) -> Markup:
    """``inner`` in a closed ``<details>`` whose one line is ``summary``."""
    return Markup('<details class="nw-fold"><summary>{}</summary>{}</details>').format(
        summary, inner)


def _shown_columns(table: str | None, request) -> dict:
    """``{"nw_shown": ARTICLE_COLUMNS, "nw_all_url": "/db/articles?...&_nw_columns=all"}``
    on the articles table page when the reader chose no columns; else ``{}``."""
    if table != "articles" or request is None:
        return {}
    args = parse_qsl(request.query_string, keep_blank_values=True)
    if any(key in ("_col", "_nocol", ALL_COLUMNS[0]) for key, _ in args):
        return {}
    query = urlencode([*args, ALL_COLUMNS])
    return {"nw_shown": ARTICLE_COLUMNS, "nw_all_url": f"{request.path}?{query}"}


@hookimpl
def extra_template_vars(template, table, request, datasette):
    if template == "table.html":
        found = _shown_columns(table, request)
        if _SEARCH.get():
            found["search"] = _SEARCH.get()  # the search box shows what was typed
        return found
    if template != "index.html":
        return {}
    described = {}
    for name, block in (datasette.metadata("databases") or {}).items():
        tables = [(table, meta.get("title") or table, meta.get("description") or "")
                  for table, meta in (block.get("tables") or {}).items()
                  if not meta.get("hidden")]
        queries = [(query, meta.get("title") or query, meta.get("description") or "")
                   for query, meta in (block.get("queries") or {}).items()]
        described[name] = {"title": block.get("title"),
                           "description": block.get("description"),
                           "tables": tables, "queries": queries}
    return {"nw_databases": described}
