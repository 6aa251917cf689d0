"""A database that cannot be written, one cause per test: every command that writes it
says so in ONE `error: …` line naming the cause and the database, with its documented
exit code (docs/USAGE.md "Database errors": 2 the path given, 3 the database cannot be
written now), never a traceback, and changes nothing.

Real files, real locks, real SQLite errors. A read-only file or folder is `chmod`; when
the tests run as root (who writes whatever the mode), it is `chattr +i` (immutable: no
write even for root), and the tests skip only when neither is possible.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.farm.sites import OUTLETS, SITES
from monitor.sources import DEMO_CONFIG
from monitor.store import (
    DatabaseFileError,
    DatabaseUnavailable,
    Store,
    database_problem,
    database_to_write,
    existing_database,
)
from monitor.store.db import MAX_PAGES_ENV
from monitor.store.dbfile import BUSY_TIMEOUT_ENV

from .conftest import REPO

CLI = [sys.executable, "-m", "monitor.cli"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# the commands that write the database, as a user types them (the --db is added); the
# farm's variables point at the discard port: nothing is fetched (the check comes first)
WRITERS = {
    "crawl": ["crawl", "--config", str(DEMO_CONFIG), "--source", "mofa_en"],
    "backfill": ["backfill", "baochinhphu_en", "--config", str(DEMO_CONFIG)],
    "run": ["run", "--config", str(DEMO_CONFIG)],
    "demo": ["demo", "--port", str(_free_port())],
    "label": ["label", "1", "relevant"],
}
CREATORS = ["crawl", "backfill", "run", "demo"]  # label needs a database that exists


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FARM_")}
    for name in [*SITES, *OUTLETS]:
        env[f"FARM_{name.upper()}"] = "http://127.0.0.1:9"
        env[f"FARM_{name.upper()}_HOST"] = "127.0.0.1"
    return {**env, BUSY_TIMEOUT_ENV: "1", **extra}


def _run(command: str, db: Path, *more: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *WRITERS[command], *more, "--db", str(db)], cwd=REPO,
                          capture_output=True, text=True, timeout=180, env=_env(**env))


def _one_line(proc: subprocess.CompletedProcess[str], code: int, *expected: str) -> str:
    """Exit ``code``, nothing on stdout, exactly one line on stderr: ``error: …``
    holding every ``expected`` text; no traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr[-3000:]
    assert lines[0].startswith("error: "), lines[0]
    for text in expected:
        assert text in lines[0], lines[0]
    assert proc.stdout == "", proc.stdout
    return lines[0]


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """``path`` (a file or a folder) cannot be written by the commands: ``chmod`` for a
    user, ``chattr +i`` for root (skips when that is refused: no such file system)."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    if shutil.which("chattr") is None:
        pytest.skip("running as root, and no chattr to make a file read-only for root")
    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"running as root, and chattr +i is refused here: {made.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def _database(path: Path) -> Path:
    """A newswatch database with one article (id 1), checkpointed (no -wal left)."""
    store = Store(path)
    try:
        store.db["sources"].insert({"name": "laodong_en", "title": "Lao Dong"})
        store.db["articles"].insert({"id": 1, "url": "https://en.laodong.vn/a-1.ldo",
                                     "source": "laodong_en", "title": "A", "text": "x"})
        store.db.execute("pragma wal_checkpoint(truncate)")
    finally:
        store.close()
    return path


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.parametrize("command", list(WRITERS))
def test_a_read_only_database_file(command: str, tmp_path: Path) -> None:
    """`crawl` and `backfill` printed a Scrapy traceback (`assert self.start_time is not
    None`) and "see its log above"; `run` and `label` "unexpected OperationalError"."""
    db = _database(tmp_path / "ro.db")
    before = db.read_bytes()
    with read_only(db):
        proc = _run(command, db)
    _one_line(proc, 2, str(db), "read-only file")
    assert db.read_bytes() == before


@pytest.mark.parametrize("command", list(WRITERS))
def test_a_read_only_folder(command: str, tmp_path: Path) -> None:
    """SQLite creates the -wal and -shm files beside the database: a read-only folder is
    said as such (for `label` too, whose read already needs the -shm file)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    db = _database(folder / "x.db")
    before = _files(folder)
    with read_only(folder):
        proc = _run(command, db)
    if command == "label":
        _one_line(proc, 2, str(db), "cannot open the database", "writable")
    else:
        _one_line(proc, 2, str(db), f"read-only folder {folder}")
    assert _files(folder) == before


@pytest.mark.parametrize("command", CREATORS)
def test_a_new_database_in_a_read_only_folder(command: str, tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    with read_only(folder):
        proc = _run(command, folder / "new.db")
    _one_line(proc, 2, str(folder / "new.db"), f"read-only folder {folder}")
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("command", CREATORS)
def test_a_missing_folder_is_refused_not_created(command: str, tmp_path: Path) -> None:
    """`crawl`, `run` and `backfill` created a missing --db folder (a typo made a new
    empty database elsewhere) where the read-only commands refused it: now every
    command refuses it, the same way (exit 2)."""
    db = tmp_path / "typo" / "news.db"
    _one_line(_run(command, db), 2, str(db), f"no such folder {db.parent}")
    assert not db.parent.exists()


def test_the_default_database_is_created_in_the_current_folder(tmp_path: Path) -> None:
    """Without --db: newswatch.db in the current folder, which exists (created)."""
    from monitor.store import DEFAULT_DB

    here = Path.cwd()
    try:
        os.chdir(tmp_path)
        assert database_to_write(DEFAULT_DB) == DEFAULT_DB
    finally:
        os.chdir(here)
    assert not (tmp_path / DEFAULT_DB).exists()  # checked, not written: Store creates it


@contextlib.contextmanager
def write_locked(db: Path) -> Iterator[None]:
    """Another process's long write transaction: a thread here holds the database's
    write lock (BEGIN IMMEDIATE and a write) until the block ends."""
    ready, done = threading.Event(), threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("begin immediate")
            conn.execute("insert into sources (name, title) values ('zz', 'held')")
            ready.set()
            done.wait(300)
            conn.execute("rollback")
        finally:
            conn.close()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert ready.wait(30)
    try:
        yield
    finally:
        done.set()
        holder.join(30)


@pytest.mark.parametrize("command", [*WRITERS, "alerts deliver"])
def test_a_database_locked_beyond_the_busy_timeout(command: str, tmp_path: Path) -> None:
    """Another process holds the write lock past the busy timeout (1 s here,
    NEWSWATCH_SQLITE_BUSY_TIMEOUT): one line saying so, exit 3 (try again later)."""
    db = _database(tmp_path / "locked.db")
    with write_locked(db):
        if command == "alerts deliver":
            proc = subprocess.run([*CLI, "alerts", "--db", str(db), "deliver"], cwd=REPO,
                                  capture_output=True, text=True, timeout=120, env=_env())
        else:
            proc = _run(command, db)
    _one_line(proc, 3, str(db), "database is locked",
              "another process held its write lock for more than 1 s")
    with sqlite3.connect(db) as conn:  # nothing written by the command
        assert conn.execute("select count(*) from sources").fetchone() == (1,)


def _capped(db: Path) -> dict[str, str]:
    """NEWSWATCH_SQLITE_MAX_PAGES at the database's size: the same SQLITE_FULL as a full
    disk for any write that grows it."""
    with sqlite3.connect(db) as conn:
        return {MAX_PAGES_ENV: str(conn.execute("pragma page_count").fetchone()[0])}


def test_a_full_disk_is_one_line_for_label(tmp_path: Path) -> None:
    db = _database(tmp_path / "full.db")
    proc = _run("label", db, "--note", "why " * 5000, **_capped(db))
    _one_line(proc, 3, str(db), "database is full (disk full or size limit)")
    with sqlite3.connect(db) as conn:  # rolled back: no label, no half of one
        tables = {row[0] for row in conn.execute("select name from sqlite_master")}
        assert "relevance_labels" not in tables or conn.execute(
            "select count(*) from relevance_labels").fetchone() == (0,)


def test_a_full_disk_during_a_backfill_is_one_error_line(tmp_path: Path) -> None:
    """The frontier of a big archive does not fit: the backfill stops with one `error:`
    line naming the cause, exit 3 (before: a traceback from a Scrapy signal handler)."""
    from monitor.farm import Farm

    db = _database(tmp_path / "full.db")
    with Farm(archive=3000, archive_site="baochinhphu_en", sites=["baochinhphu_en"]) as farm:
        env = {**farm.config_variables(), **_capped(db)}
        proc = subprocess.run([*CLI, *WRITERS["backfill"], "--db", str(db)], cwd=REPO,
                              capture_output=True, text=True, timeout=180,
                              env={**_env(), **env})
    assert proc.returncode == 3, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "database is full (disk full or size limit)" in errors[0], \
        proc.stderr[-3000:]
    # beside it only the progress line and the run's own error line (the crawl's log)
    others = [line for line in proc.stderr.splitlines()
              if not line.startswith(("error:", "backfill baochinhphu_en: "))]
    assert len(others) <= 1 and all("database is full" in line for line in others), \
        proc.stderr[-3000:]


def test_database_problem_names_each_cause(tmp_path: Path) -> None:
    """What SQLite and the file system say, turned into the two errors (real errors)."""
    db = _database(tmp_path / "x.db")
    with read_only(db):  # SQLITE_READONLY
        conn = sqlite3.connect(db)
        with pytest.raises(sqlite3.OperationalError) as caught:
            conn.execute("insert into sources (name) values ('y')")
        conn.close()
    problem = database_problem(caught.value, db)
    assert isinstance(problem, DatabaseFileError) and "read-only database" in str(problem)
    with write_locked(db):  # SQLITE_BUSY
        conn = sqlite3.connect(db, timeout=0.1)
        with pytest.raises(sqlite3.OperationalError) as caught:
            conn.execute("insert into sources (name) values ('y')")
        conn.close()
    problem = database_problem(caught.value, db)
    assert isinstance(problem, DatabaseUnavailable) and "database is locked" in str(problem)
    store = Store(db, max_pages=1)  # SQLITE_FULL
    with pytest.raises(sqlite3.OperationalError) as caught, store.db.conn:
        store.db.execute("insert into sources (name, title) values ('y', ?)", ["x" * 9000])
    store.close()
    problem = database_problem(caught.value, db)
    assert isinstance(problem, DatabaseUnavailable) and "database is full" in str(problem)
    full = OSError(28, "No space left on device", str(db) + "-wal")
    assert isinstance(database_problem(full, db), DatabaseUnavailable)
    other = PermissionError(13, "Permission denied", str(tmp_path / "export.jsonl"))
    assert database_problem(other, db) is None  # not the database's: not said as such
    assert database_problem(ValueError("x"), db) is None


def test_a_process_killed_while_it_creates_the_database_leaves_it_usable(
        tmp_path: Path) -> None:
    """A crawl killed while its process set up a new database (its time limit, under
    load) left a half-made schema: every later open failed with "table sources already
    exists", a traceback. Each migration is one transaction now, DDL included."""
    db = tmp_path / "new.db"
    script = ("import os, sys\n"
              "import monitor.store.db as db\n"
              "first = db.MIGRATIONS[0]\n"
              "def killed(d):\n"
              "    first(d)\n"
              "    os._exit(9)  # killed right after the first migration's statements\n"
              "db.MIGRATIONS[0] = killed\n"
              "db.Store(sys.argv[1])\n")
    proc = subprocess.run([sys.executable, "-c", script, str(db)], cwd=REPO, timeout=120)
    assert proc.returncode == 9
    store = Store(db)  # opens, and migrates from the start
    try:
        from monitor.store.db import MIGRATIONS

        assert store.db.execute("pragma user_version").fetchone()[0] == len(MIGRATIONS)
        assert {"sources", "articles", "crawl_runs"} <= set(store.db.table_names())
    finally:
        store.close()


@pytest.mark.parametrize("check", [database_to_write, existing_database])
def test_checking_the_file_keeps_this_process_s_sqlite_locks(tmp_path: Path, check) -> None:
    """The daemon checks the database file before each crawl while its other threads hold
    connections. Reading the header with open()/close() dropped the process's POSIX locks
    on the file: another process's last connection then deleted the -wal and -shm under
    the open connection, whose next write no other process could see (and the next opener
    got "disk I/O error", test_docs' `newswatch run`)."""
    db = tmp_path / "newswatch.db"
    conn = sqlite3.connect(db)
    conn.execute("pragma journal_mode = wal")
    conn.executescript("create table articles (x); create table crawl_runs (x); "
                       "insert into articles values (1);")
    conn.execute("select count(*) from articles").fetchall()
    check(db)

    def other(sql: str) -> str:  # another process: opens, runs, closes (its last close)
        code = (f"import sqlite3; c = sqlite3.connect({str(db)!r}); "
                f"print(c.execute({sql!r}).fetchall()); c.commit(); c.close()")
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True, timeout=60).stdout.strip()

    other("insert into articles values (2)")
    assert Path(f"{db}-shm").exists(), "the -shm was deleted under an open connection"
    conn.execute("insert into articles values (3)")
    conn.commit()
    assert other("select count(*) from articles") == "[(3,)]"
    conn.close()
