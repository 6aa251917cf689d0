"""newswatch's Atom feeds (``/DB/feed.atom``: new relevant articles; ``/DB/changes.atom``:
their edits and removals, with their kinds): datasette-atom's ``.atom`` renderer for rows
with ``atom_*`` columns, made to give a valid Atom 1.0 document (RFC 4287) in every case.

- A result with no rows is an empty feed: datasette-atom answers it with an error 500
  (it takes the feed's ``updated`` from the newest row).
- The feed names its author (``newswatch``): RFC 4287 (4.1.1) wants an ``atom:author``
  on the feed unless every entry has one, and entries without a byline have none.
- An ``atom_categories`` column (a JSON list of names) becomes each entry's
  ``<category term="..."/>`` elements: the edit kinds of the changes feed, ``removed``
  for a removal.

Registered ``trylast``: Datasette keeps the last renderer registered for an extension,
so this one, which calls datasette-atom's for the rows, replaces it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import datasette_atom
from datasette import __version__, hookimpl
from datasette.utils.asgi import Response
from lxml import etree

ATOM = "http://www.w3.org/2005/Atom"
FEED_AUTHOR = "newswatch"


@hookimpl(trylast=True)
def register_output_renderer(datasette):
    return {"extension": "atom", "render": render_atom,
            "can_render": datasette_atom.can_render_atom}


def render_atom(datasette, request, sql, columns, rows, database, table, query_name,
                view_name, data) -> Response:
    """The feed of ``rows`` (see the module doc)."""
    if rows:
        response = datasette_atom.render_atom(datasette, request, sql, columns, rows,
                                              database, table, query_name, view_name, data)
        if response.status != 200:
            return response
        feed = etree.fromstring(response.body if isinstance(response.body, bytes)
                                else response.body.encode("utf-8"))
    else:
        if not datasette_atom.REQUIRED_COLUMNS.issubset(columns):
            from datasette.views.base import DatasetteError

            raise DatasetteError("SQL query must return columns "
                                 + ", ".join(sorted(datasette_atom.REQUIRED_COLUMNS)),
                                 status=400)
        feed = _empty(request.url, _title(datasette, request, sql, database, table,
                                          query_name, data))
    _add_author(feed)
    if "atom_categories" in columns:
        _add_categories(feed, rows)
    body = etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)
    return Response(body, content_type="application/xml; charset=utf-8", status=200)


def _title(datasette, request, sql, database, table, query_name, data) -> str:
    """The feed's title as datasette-atom gives it: a canned query's title, else the SQL
    (or ``?_feed_title=``)."""
    title = request.args.get("_feed_title", sql)
    if table:
        title += "/" + table
    if data.get("human_description_en"):
        title += ": " + data["human_description_en"]
    if query_name:
        try:
            title = datasette.metadata(database=database)["queries"][query_name]["title"]
        except (KeyError, TypeError):
            pass
    return str(title)


def _empty(url: str, title: str) -> Any:
    """A feed without entries: id, title, updated (now), a self link, the generator."""
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    etree.SubElement(feed, f"{{{ATOM}}}id").text = url
    etree.SubElement(feed, f"{{{ATOM}}}title").text = title
    etree.SubElement(feed, f"{{{ATOM}}}updated").text = (
        datetime.now(UTC).isoformat(timespec="seconds"))
    etree.SubElement(feed, f"{{{ATOM}}}link", href=url, rel="self")
    generator = etree.SubElement(feed, f"{{{ATOM}}}generator", version=__version__,
                                 uri="https://github.com/simonw/datasette")
    generator.text = "Datasette"
    return feed


def _add_author(feed: Any) -> None:
    if feed.find(f"{{{ATOM}}}author") is None:
        author = etree.Element(f"{{{ATOM}}}author")
        etree.SubElement(author, f"{{{ATOM}}}name").text = FEED_AUTHOR
        title = feed.find(f"{{{ATOM}}}title")
        feed.insert(feed.index(title) + 1 if title is not None else 0, author)


def _add_categories(feed: Any, rows: Any) -> None:
    """Each entry's ``atom_categories`` (a JSON list) as ``<category term=.../>``."""
    terms: dict[str, list[str]] = {}
    for row in rows:
        try:
            names = json.loads(row["atom_categories"] or "[]")
        except (TypeError, ValueError):
            names = []
        if isinstance(names, list):
            terms[str(row["atom_id"])] = [str(name) for name in names if name]
    for entry in feed.iter(f"{{{ATOM}}}entry"):
        entry_id = entry.findtext(f"{{{ATOM}}}id")
        for name in terms.get(entry_id or "", []):
            etree.SubElement(entry, f"{{{ATOM}}}category", term=name,
                             label=name.replace("_", " "))
