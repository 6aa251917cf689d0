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


__all__ = ["FIELDS", "FORMATS", "DatabaseNotFound", "export", "neutralise", "rows"]
