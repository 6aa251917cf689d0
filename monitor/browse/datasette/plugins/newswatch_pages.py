"""newswatch's browse pages in Datasette: the article and story row pages (see
``monitor.browse.pages`` and templates/row.html), linked titles and stories, readable times;
every change shown as the article page shows it: edit kinds as words, changed sentences
as a sentence-level diff (``nw_sentence_diff(old, new)`` in the canned queries, the
stored ``changes`` column on the versions table)."""

from __future__ import annotations

import json

from datasette import hookimpl
from markupsafe import Markup, escape

from monitor.browse.pages import article_page, kind_words, sentence_diff_json, story_page, when
from monitor.store.search import SEARCHED, START, html_highlight
from monitor.store.search import to_html as marked_html

TIME_COLUMNS = frozenset({"published", "first_seen", "last_seen", "seen", "updated", "sent",
                          "created", "atom_updated"})
PAGES = {"articles": article_page, "stories": story_page}
# edit kinds (a JSON list) shown as words; atom_categories: the changes feed's kinds
KIND_COLUMNS = frozenset({"kinds", "edit_kinds", "atom_categories"})
# a stored change's op ("-", "+": monitor.changes) or a sentence_diff op
OPS = {"-": "removed", "+": "added", "removed": "removed", "added": "added", "same": "same",
       "gap": "gap"}


@hookimpl
def prepare_connection(conn, database):
    # the change pages' sentence-level diff, as the article page's (monitor.browse.pages)
    conn.create_function("nw_sentence_diff", 2, sentence_diff_json, deterministic=True)


def _kinds_html(value: str) -> Markup | None:
    try:
        found = json.loads(value)
    except ValueError:
        return None
    if not isinstance(found, list):
        return None
    if not found:
        return Markup('<span class="nw-none">none</span>')
    return Markup(" ").join(Markup('<span class="nw-kind">{}</span>').format(k)
                            for k in kind_words(found))


def _changes_html(value: str) -> Markup | None:
    """A JSON list of ``{"op", "text"}`` as the article page's sentence diff."""
    try:
        found = json.loads(value)
    except ValueError:
        return None
    if not isinstance(found, list) or not all(
            isinstance(c, dict) and c.get("op") in OPS for c in found):
        return None
    if not found:
        return Markup('<span class="nw-none">no sentence changed</span>')
    items = []
    for change in found:
        op, text = OPS[change["op"]], change.get("text") or ""
        inner = (Markup("<ins>{}</ins>").format(text) if op == "added" else
                 Markup("<del>{}</del>").format(text) if op == "removed" else escape(text))
        items.append(Markup('<li class="nw-{}">{}</li>').format(op, inner))
    return Markup('<ul class="nw-sdiff">{}</ul>').format(Markup("").join(items))


def _timezone(datasette) -> str:
    config = datasette.plugin_config("newswatch") or {}
    return config.get("timezone") or "Asia/Ho_Chi_Minh"


@hookimpl
def extra_template_vars(template, database, table, request, datasette):
    if template != "row.html" or table not in PAGES or request is None:
        return {}
    pks = request.url_vars.get("pks")
    if pks is None:
        return {}

    async def load():
        db = datasette.get_database(database)
        zone = _timezone(datasette)
        page = await db.execute_fn(lambda conn: PAGES[table](conn, pks, zone))
        return {"nw_page": page, "nw_kind": table}

    return load


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if column in TIME_COLUMNS and isinstance(value, str) and "T" in value:
        shown = when(value, _timezone(datasette))
        if shown and shown != value:
            return Markup('<time datetime="{}" title="{}">{}</time>').format(
                value, value, shown)
    if column in KIND_COLUMNS and isinstance(value, str):
        return _kinds_html(value)
    if column == "changes" and isinstance(value, str):
        return _changes_html(value)
    if table is not None and table not in ("articles", "versions"):
        return None
    try:
        keys = row.keys()
    except AttributeError:
        return None
    if table == "articles" or (table is None and "id" in keys and "url" in keys):
        article = "id"  # an articles row (the table, or a query of articles)
    elif "article_id" in keys:
        article = "article_id"  # a version, or a query of versions
    else:
        article = None
    if (column == "title" and isinstance(value, str) and article in keys
            and row[article] is not None):
        href = datasette.urls.row(database, "articles", str(row[article]))
        searched = SEARCHED.get()
        if START in value:  # the search query's nw_highlight: matches <mark>ed
            inner = marked_html(value)
        elif searched and table == "articles":  # a table search: the words searched marked
            inner = html_highlight(value, searched)
        else:
            inner = escape(value)
        return Markup('<a class="nw-title" href="{}">{}</a>').format(href, inner)
    if column == "story_id" and table is None and value is not None:
        href = datasette.urls.row(database, "stories", str(value))
        return Markup('<a href="{}">story {}</a>').format(href, escape(value))
    return None
