"""newswatch's Datasette plugin: word diffs as highlighted HTML, clean text as
paragraphs, and table descriptions for the home page; search folded as analysts type it
(no diacritics needed, đ = d, see monitor.store.search) with the matches highlighted."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import datasette.handle_exception
from datasette import hookimpl
from markupsafe import Markup

from monitor.browse.serve import limit_connection, paragraphs, sanitise_diff
from monitor.store.search import (
    START,
    TYPED_SEARCH,
    fold_query,
    html_highlight,
    html_snippet,
    register_functions,
)
from monitor.store.search import to_html as marked_html

_SEARCH = TYPED_SEARCH  # the table search as typed (monitor.store.search)

# Datasette 0.65 prints every handled error with rich when rich is importable (it is, for
# newswatch's CLI); outside an except block (404 and 405 paths) that raises, and a refused
# POST becomes a 500. Plain error pages instead.
datasette.handle_exception.rich = None


@hookimpl
def prepare_connection(conn, database):
    # nw_fold, nw_highlight, nw_snippet for the search canned query
    register_functions(conn)
    if database != "_internal":  # Datasette's own catalogue is not served
        limit_connection(conn)  # no 300 MB blob, no ATTACH, no fts3_tokenizer (issue 34)


@hookimpl
def asgi_wrapper(datasette):
    """Fold ``?_search=`` and ``?_search_COLUMN=`` before Datasette reads them: its table
    search passes the text straight to MATCH, and the folded index needs a folded
    query."""

    def wrap(app):
        async def folded(scope, receive, send):
            if scope.get("type") != "http" or b"_search" not in scope.get("query_string", b""):
                await app(scope, receive, send)
                return
            pairs = parse_qsl(scope["query_string"].decode("utf-8", "replace"),
                              keep_blank_values=True)
            typed = next((v for k, v in pairs if k.startswith("_search")
                          and k != "_searchmode"), None)
            pairs = [(k, fold_query(v) if k.startswith("_search") and k != "_searchmode"
                      else v) for k, v in pairs]
            token = _SEARCH.set(typed)
            try:
                await app(dict(scope, query_string=urlencode(pairs).encode()), receive, send)
            finally:
                _SEARCH.reset(token)

        return folded

    return wrap


@hookimpl
def render_cell(value, column, table, database, datasette):
    if isinstance(value, str) and START in value and table is None:
        return marked_html(value)  # nw_highlight / nw_snippet output: <mark>ed, escaped
    typed = _SEARCH.get()
    if typed and table == "articles" and isinstance(value, str):
        if column == "title":
            return html_highlight(value, typed)
        if column == "text":
            return Markup('<div class="nw-snippet">{}</div>').format(
                html_snippet(value, typed))
    if column == "word_diff" and isinstance(value, str):
        return Markup('<div class="nw-diff">{}</div>').format(sanitise_diff(value))
    if column == "diff" and isinstance(value, str):
        return Markup('<pre class="nw-udiff">{}</pre>').format(value)
    if column == "text" and table is None and isinstance(value, str):
        # canned and custom queries (the article view); table pages keep truncation
        return Markup('<div class="nw-text">{}</div>').format(paragraphs(value))
    return None


@hookimpl
def extra_template_vars(template, datasette):
    if template == "table.html" and _SEARCH.get():
        return {"search": _SEARCH.get()}  # the search box shows what was typed
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
