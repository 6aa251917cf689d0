"""Export stored articles as JSON lines or CSV, for people who take the data elsewhere."""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from monitor.browse.serve import DatabaseNotFound, check_database

FIELDS = ("id", "url", "source", "title", "author", "published", "language", "relevance",
          "relevant", "story_id", "text")
FORMATS = ("jsonl", "csv")
# A CSV cell starting with one of these is a formula to a spreadsheet (=HYPERLINK(...),
# @SUM(...), +cmd|...): OWASP's "CSV Injection" guidance is to prefix it with a single
# quote, which spreadsheets show as text. Text from crawled pages is hostile input.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula (strings only; numbers
    and None as they are)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class NeutralCsv:
    """The ``csv`` module as Datasette's data views use it (``datasette.views.base.csv``:
    every ``.csv`` of a table, a row, a canned or custom query, streamed or not): its
    writers ``neutralise`` each cell, as ``newswatch export --format csv`` does. Anything
    else is the csv module's own. Datasette has no hook on its CSV rows (its
    ``register_output_renderer`` cannot replace ``.csv``), hence this one name swapped by
    ``neutralise_datasette_csv``; tests/security/test_outputs.py checks it through a real
    ``newswatch serve``."""

    def __getattr__(self, name: str) -> Any:
        return getattr(csv, name)

    @staticmethod
    def writer(out: Any, *args: Any, **kwargs: Any) -> _NeutralWriter:
        """``csv.writer`` whose rows are neutralised (``writerow`` returns what the
        output's ``write`` returns: Datasette awaits it)."""
        return _NeutralWriter(csv.writer(out, *args, **kwargs))


class _NeutralWriter:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    @property
    def dialect(self) -> Any:
        return self.inner.dialect

    def writerow(self, row: Any) -> Any:
        return self.inner.writerow([neutralise(cell) for cell in row])

    def writerows(self, rows: Any) -> Any:
        return self.inner.writerows([neutralise(cell) for cell in row] for row in rows)


def neutralise_datasette_csv() -> None:
    """Make Datasette's ``.csv`` output neutralise formula cells (``NeutralCsv``); called
    when newswatch's Datasette plugin loads. Raises RuntimeError when Datasette's views
    no longer write CSV through that module (an upgrade changed them): ``serve`` then
    refuses to start rather than serve unneutralised CSV."""
    from datasette.views import base

    if isinstance(base.csv, NeutralCsv):
        return
    if base.csv is not csv or not hasattr(base.DataView, "as_csv"):
        raise RuntimeError("datasette.views.base no longer writes CSV with the csv module: "
                           "its .csv output cannot be neutralised (monitor.browse.export)")
    base.csv = NeutralCsv()  # type: ignore[assignment]


def rows(db: str | Path, relevant_only: bool = False) -> Iterator[dict[str, Any]]:
    """Articles, newest first, read from ``db`` opened read-only."""
    path = check_database(db)
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        where = "where relevant = 1" if relevant_only else ""
        sql = (f"select {', '.join(FIELDS)} from articles {where} "
               "order by published_utc desc, id")
        for row in conn.execute(sql):
            yield dict(row)
    finally:
        conn.close()


def export(db: str | Path, out: TextIO, fmt: str = "jsonl",
           relevant_only: bool = False) -> int:
    """Write articles to ``out`` as ``jsonl`` or ``csv``; returns the number written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        for row in rows(db, relevant_only):
            writer.writerow({key: neutralise(value) for key, value in row.items()})
            count += 1
    else:
        for row in rows(db, relevant_only):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


__all__ = ["FIELDS", "FORMATS", "DatabaseNotFound", "NeutralCsv", "export", "neutralise",
           "neutralise_datasette_csv", "rows"]
