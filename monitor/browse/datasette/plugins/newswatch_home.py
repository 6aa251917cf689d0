"""newswatch's analyst pages in Datasette (``monitor.browse.home``): the home page at
``/`` (what is new today and this week, edits and removals, sources needing attention),
the watch list at ``/-/watch`` and Datasette's catalogue of tables and queries at
``/-/catalogue``, one click from both.

Plugin routes are matched before Datasette's own, so ``/`` is the home page; the
catalogue is Datasette's index view served under another path."""

from __future__ import annotations

from datasette import hookimpl
from datasette.utils.asgi import Response
from datasette.views.index import IndexView

from monitor.browse.home import home_page, watch_list


def _timezone(datasette) -> str:
    config = datasette.plugin_config("newswatch") or {}
    return config.get("timezone") or "Asia/Ho_Chi_Minh"


async def home(datasette, request) -> Response:
    db = datasette.get_database()
    zone = _timezone(datasette)
    page = await db.execute_fn(lambda conn: home_page(conn, zone))
    return Response.html(await datasette.render_template(
        "home.html", {"nw_home": page, "nw_db": db.name}, request=request))


async def watch(datasette, request) -> Response:
    db = datasette.get_database()
    zone = _timezone(datasette)
    rows = await db.execute_fn(lambda conn: watch_list(conn, zone))
    return Response.html(await datasette.render_template(
        "watch.html", {"nw_watch": rows, "nw_db": db.name}, request=request))


async def catalogue(datasette, request) -> Response:
    return await IndexView(datasette).get(request)


@hookimpl
def register_routes():
    return [(r"^/$", home), (r"^/-/watch$", watch),
            (r"^/-/catalogue(\.(?P<format>jsono?))?$", catalogue)]
