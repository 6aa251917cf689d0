"""A process killed while it set up a new database (a crawl's time limit, under load)
leaves no half-applied migration behind (issue 31: the next opener failed with
'table "sources" already exists')."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from monitor.store import Store
from monitor.store.db import MIGRATIONS

from .conftest import REPO

KILLED_IN_MIGRATION = textwrap.dedent("""
    import os, signal, sys
    import monitor.store.db as db

    first = db.MIGRATIONS[{index}]

    def killed_halfway(database):
        first(database)  # every statement of the migration ran ...
        os.kill(os.getpid(), signal.SIGKILL)  # ... and then the process is killed

    db.MIGRATIONS[{index}] = killed_halfway
    db.Store(sys.argv[1])
""")


def _schema(path: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(path)
    try:
        return sorted(conn.execute(
            "select name, sql from sqlite_master where name not like 'sqlite_%'"))
    finally:
        conn.close()


@pytest.mark.parametrize("index", [0, len(MIGRATIONS) - 1])
def test_a_migration_killed_halfway_is_run_again_whole(tmp_path: Path, index: int) -> None:
    db = tmp_path / "new.db"
    if index:  # an existing database, one migration behind
        Store(db).close()
        conn = sqlite3.connect(db)
        conn.execute(f"PRAGMA user_version = {index}")
        conn.close()
        before = None
    else:
        before = []
    proc = subprocess.run([sys.executable, "-c", KILLED_IN_MIGRATION.format(index=index),
                           str(db)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr[-2000:]
    if before is not None:  # nothing of the killed migration is left
        assert _schema(db) == before
    Store(db).close()  # the next opener migrates, whole
    fresh = tmp_path / "fresh.db"
    Store(fresh).close()
    assert _schema(db) == _schema(fresh)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    conn.close()
