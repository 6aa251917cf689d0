"""Paused sources: ``newswatch sources pause NAME`` / ``resume NAME``.

A paused source is one row of ``source_pauses`` (migration ``_m13``: source, when paused,
by whom, why); resuming deletes the row (the pause is a state, not a record: the
daemon's log and the crawl runs keep the history). The daemon reads the table before
each crawl of a source and skips a paused one, with one log line
(``monitor.run.daemon``); the watch list (``newswatch sources --status``, the browse
page ``/-/watch``) shows it.
"""

from __future__ import annotations

from typing import Any

from monitor.store.db import Store, now

TABLE = "source_pauses"


def pause_source(store: Store, name: str, by: str | None = None,
                 note: str | None = None) -> dict[str, Any]:
    """Pause ``name`` (kept if already paused: the first pause's time stands); returns
    its row ``{"source", "paused", "paused_by", "note"}``."""
    with store.db.conn:
        store.db.execute(f"insert or ignore into {TABLE} (source, paused, paused_by, note) "
                         f"values (?, ?, ?, ?)", [name, now(), by, note])
    return paused_sources(store)[name]


def resume_source(store: Store, name: str) -> bool:
    """Resume ``name``; False when it was not paused."""
    with store.db.conn:
        cursor = store.db.execute(f"delete from {TABLE} where source = ?", [name])
    return cursor.rowcount > 0


def paused_sources(store: Store) -> dict[str, dict[str, Any]]:
    """The paused sources by name: ``{"source", "paused" (UTC ISO), "paused_by", "note"}``."""
    cursor = store.db.execute(f"select source, paused, paused_by, note from {TABLE}")
    names = [c[0] for c in cursor.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def is_paused(store: Store, name: str) -> bool:
    """Whether ``name`` is paused."""
    return store.db.execute(f"select 1 from {TABLE} where source = ?",
                            [name]).fetchone() is not None
