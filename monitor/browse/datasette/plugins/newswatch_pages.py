"""newswatch's browse pages in Datasette: the article and story row pages (see
``monitor.browse.pages`` and templates/row.html), linked titles and stories, readable times."""

from __future__ import annotations

from datasette import hookimpl
from markupsafe import Markup, escape

from monitor.browse.pages import article_page, story_page, when
from monitor.store.search import SEARCHED, START, html_highlight
from monitor.store.search import to_html as marked_html

TIME_COLUMNS = frozenset({"published", "first_seen", "last_seen", "seen", "updated", "sent",
                          "created"})
PAGES = {"articles": article_page, "stories": story_page}


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
    if table is not None and table not in ("articles",):
        return None
    try:
        keys = row.keys()
    except AttributeError:
        return None
    if column == "title" and isinstance(value, str) and "id" in keys and (
            table == "articles" or "url" in keys):
        href = datasette.urls.row(database, "articles", str(row["id"]))
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
