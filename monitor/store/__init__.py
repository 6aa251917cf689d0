"""Storage: the SQLite database (sqlite-utils, WAL, FTS5).

``Store`` (in ``db``) holds the schema and its numbered migrations, batched upserts and
crawl runs; ``search`` is full-text search as analysts type it; ``labels`` the analysts'
relevance labels; ``frontier`` a backfill's cursor; ``owners`` the process identities and
the daemon's lock that make rows left by dead processes recognisable; ``control`` the
requests commands leave for the running daemon; ``pauses`` the paused sources;
``dbfile`` the one rule for opening an existing database file; ``inbox`` the Redis Stream
entries a fleet's writer stored (monitor.fleet).
"""

from monitor.store import control, frontier, inbox, search
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
from monitor.store.labels import VERDICTS as LABEL_VERDICTS
from monitor.store.labels import WITHDRAWN, LabelError, add_label, export_jsonl
from monitor.store.owners import DaemonLock, DaemonRunning
from monitor.store.pauses import is_paused, pause_source, paused_sources, resume_source

__all__ = [
    "COUNTS", "DATABASE_FULL", "DEFAULT_DB", "DUPLICATE", "IRRELEVANT", "LABEL_VERDICTS",
    "NEW", "UNCHANGED", "UPDATED", "WITHDRAWN", "add_label", "BackfillLog", "busy_timeout",
    "DaemonLock", "DaemonRunning", "database_problem", "database_to_write",
    "DatabaseFileError", "DatabaseUnavailable", "existing_database", "export_jsonl", "is_full",
    "is_paused", "iso_utc", "LabelError", "now", "order_children", "order_entries",
    "OutputFileError", "pause_source", "paused_sources", "resume_source", "Store",
    "output_file",
    "control", "frontier", "inbox", "search",
]
