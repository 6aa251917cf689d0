"""newswatch's Datasette plugin: word diffs as highlighted HTML, clean text as
paragraphs, and table descriptions for the home page."""

from __future__ import annotations

import datasette.handle_exception
from datasette import hookimpl
from markupsafe import Markup

from monitor.serve import paragraphs, sanitise_diff

# Datasette 0.65 prints every handled error with rich when rich is importable (it is, for
# newswatch's CLI); outside an except block (404 and 405 paths) that raises, and a refused
# POST becomes a 500. Plain error pages instead.
datasette.handle_exception.rich = None


@hookimpl
def render_cell(value, column, table, database, datasette):
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
