"""Storage: the SQLite database (sqlite-utils, WAL, FTS5).

``Store`` (in ``db``) holds the schema and its numbered migrations, batched upserts and
crawl runs; ``search`` is full-text search as analysts type it; ``labels`` the analysts'
relevance labels; ``frontier`` a backfill's cursor; ``owners`` the process identities and
the daemon's lock that make rows left by dead processes recognisable; ``dbfile`` the one
rule for opening an existing database file.
"""

from monitor.store import frontier, search
from monitor.store.db import (
    COUNTS,
    DEFAULT_DB,
    DUPLICATE,
    IRRELEVANT,
    NEW,
    UNCHANGED,
    UPDATED,
    Store,
    now,
)
from monitor.store.dbfile import (
    DATABASE_FULL,
    DatabaseFileError,
    DatabaseUnavailable,
    OutputFileError,
    busy_timeout,
    database_problem,
    database_to_write,
    existing_database,
    is_full,
    output_file,
)
from monitor.store.frontier import BackfillLog, iso_utc, order_children, order_entries
from monitor.store.labels import LabelError, add_label, export_jsonl
from monitor.store.owners import DaemonLock, DaemonRunning

__all__ = [
    "COUNTS", "DATABASE_FULL", "DEFAULT_DB", "DUPLICATE", "IRRELEVANT", "NEW", "UNCHANGED",
    "UPDATED", "BackfillLog", "DaemonLock", "DaemonRunning", "DatabaseFileError",
    "DatabaseUnavailable", "LabelError", "OutputFileError", "Store", "add_label",
    "busy_timeout", "database_problem", "database_to_write", "existing_database",
    "export_jsonl", "is_full", "iso_utc", "now", "order_children", "order_entries",
    "output_file",
    "frontier", "search",
]
