"""One rule for opening the database file, for every command.

Only ``crawl``, ``backfill``, ``run`` and ``demo`` create a database
(``monitor.store.db.Store`` does), and only in a folder that exists:
``database_to_write`` checks, before anything starts, that the file and its folder can be
written and that no other process holds the database's write lock. Every other command
(``status``, ``export``, ``serve``, ``alerts ...``) reads one that exists:
``existing_database`` refuses a missing, empty or non-SQLite file, or a SQLite file that
is not a newswatch database, with one clear line, and never creates or writes the file.
``database_problem`` turns what SQLite (or the file system) says about the database into
one of the two errors below, wherever it surfaces. ``output_file`` is the one rule for
the files commands write (never onto the database, never through a link, all or
nothing).

Two kinds of problem, one line each (the CLI's exit codes, docs/USAGE.md):

- ``DatabaseFileError`` (exit 2): the path given cannot be used: a missing folder, not a
  file, not SQLite, not newswatch's, a read-only file or folder. The user fixes the
  path or the permissions.
- ``DatabaseUnavailable`` (exit 3): the database cannot be written now: the disk is full
  (SQLITE_FULL), another process holds its write lock longer than the busy timeout, or
  the disk fails (SQLITE_IOERR). The same command works once that is fixed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite 3 database
CREATED_BY = "newswatch crawl, newswatch run or newswatch demo"
DATABASE_FULL = "database is full (disk full or size limit)"
# Seconds a connection waits for another process's write lock before SQLite says
# "database is locked" (PRAGMA busy_timeout). Testing/ops knob: the environment variable
# overrides it on every connection newswatch opens (docs/DAEMON.md).
BUSY_TIMEOUT_ENV = "NEWSWATCH_SQLITE_BUSY_TIMEOUT"
BUSY_TIMEOUT = 30.0


def busy_timeout(default: float = BUSY_TIMEOUT) -> float:
    """Seconds to wait for a write lock: ``$NEWSWATCH_SQLITE_BUSY_TIMEOUT`` when set (a
    number of seconds), else ``default``."""
    value = os.environ.get(BUSY_TIMEOUT_ENV)
    try:
        return max(0.0, float(value)) if value else default
    except ValueError:
        return default


def is_full(exc: BaseException) -> bool:
    """True when ``exc`` is SQLite's SQLITE_FULL ("database or disk is full")."""
    return isinstance(exc, sqlite3.Error) and (
        getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
        or "database or disk is full" in str(exc))


class DatabaseFileError(ValueError):
    """The database file cannot be used: missing (or its folder), empty, not SQLite, not
    newswatch's, read-only (the file or its folder). One line for the user."""


class DatabaseUnavailable(RuntimeError):
    """The database cannot be written now: disk full, locked by another process beyond
    the busy timeout, or a disk I/O error. One line for the user, naming the cause."""


# SQLite's primary result codes (the low byte of an extended code), by what they mean here
_READONLY, _CANTOPEN = sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN
_BUSY, _LOCKED = sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED
_IOERR, _FULL = sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL
_CORRUPT, _NOTADB = sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB
# the messages SQLite gives for them, for errors that carry no code
_MESSAGES = {"attempt to write a readonly database": _READONLY,
             "unable to open database file": _CANTOPEN, "database is locked": _BUSY,
             "database table is locked": _LOCKED, "disk i/o error": _IOERR,
             "database or disk is full": _FULL, "database disk image is malformed": _CORRUPT,
             "file is not a database": _NOTADB}
_READ_ONLY_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS}


def _beside(name: Path, db: Path) -> bool:
    """Whether ``name`` is one of the database's files (the database, its ``-wal``,
    ``-shm``, ``.setup-lock``, ``.daemon-lock``), or its folder."""
    try:
        name, db = name.resolve(), db.resolve()
    except OSError:
        return False
    return name == db.parent or (name.parent == db.parent
                                 and name.name.startswith(db.name))


def database_problem(exc: BaseException, db: str | Path | None
                     ) -> DatabaseFileError | DatabaseUnavailable | None:
    """What ``exc`` (a ``sqlite3.Error``, or an ``OSError`` on the database's files) says
    about the database ``db``, as one line: DatabaseFileError for a read-only file or
    folder, a file SQLite cannot open or that is not a database; DatabaseUnavailable for
    a full disk, a lock held beyond the busy timeout, a disk I/O error. None when it is
    none of these (a bug: the caller lets it through)."""
    where = f"{db}: " if db is not None else ""
    if isinstance(exc, OSError) and not isinstance(exc, sqlite3.Error):
        if db is None or exc.filename is None or not _beside(Path(exc.filename), Path(db)):
            return None  # not about the database's files (an output file, a config...)
        name = str(exc.filename)
        if exc.errno in _READ_ONLY_ERRNOS:
            return DatabaseFileError(f"{name}: read-only: cannot write "
                                     f"({exc.strerror or exc}); newswatch writes the database "
                                     "and its -wal and -shm files beside it")
        if exc.errno == errno.ENOSPC:
            return DatabaseUnavailable(f"{name}: {DATABASE_FULL}: {exc.strerror}")
        if exc.errno == errno.EIO:
            return DatabaseUnavailable(f"{name}: disk I/O error: {exc.strerror}")
        return None
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    code = code & 0xFF if isinstance(code, int) else _MESSAGES.get(str(exc).lower())
    if code == _READONLY:
        return DatabaseFileError(f"{where}read-only database: SQLite cannot write it ({exc}); "
                                 "make the file, its -wal and -shm files and its folder "
                                 "writable by this user")
    if code == _CANTOPEN:
        return DatabaseFileError(f"{where}cannot open the database ({exc}): its folder must "
                                 "exist and be writable (SQLite creates the -wal and -shm "
                                 "files there, even to read), and the file readable")
    if code in (_CORRUPT, _NOTADB):
        return DatabaseFileError(f"{where}damaged or not a SQLite database ({exc})")
    if code in (_BUSY, _LOCKED):
        return DatabaseUnavailable(f"{where}database is locked: another process held its "
                                   f"write lock for more than {busy_timeout():g} s (the busy "
                                   "timeout); try again when it is done")
    if code == _FULL:
        return DatabaseUnavailable(f"{where}{DATABASE_FULL}; nothing half-written, free some "
                                   "space and run it again")
    if code == _IOERR:
        return DatabaseUnavailable(f"{where}disk I/O error ({exc}): the disk or file "
                                   "system failed")
    return None


def read_header(path: Path) -> bytes:
    """The first 16 bytes of ``path`` (``SQLITE_HEADER`` for a SQLite 3 database; b"" for
    an empty file), read without ever closing a descriptor of the file in this process.

    Why not ``open()``: POSIX advisory locks belong to the process, and closing *any*
    descriptor of a file drops every lock the process holds on it ("How To Corrupt An
    SQLite Database File", section 2.2). In a process whose other threads hold SQLite
    connections (the daemon checks the file before each crawl) that silently dropped their
    shared lock: another process's last connection then deleted the -wal and -shm files
    under them, a later write was lost to every other reader, and the next opener got
    "disk I/O error". SQLite's own open shares its descriptors and locks within the
    process, so the header is read through a read-only SQLite connection; a file SQLite
    does not recognise is refused by its header as before. DatabaseFileError when the
    file cannot be read."""
    try:
        if path.stat().st_size == 0:
            return b""
    except OSError as exc:
        raise DatabaseFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            conn.execute("pragma schema_version").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        code = getattr(exc, "sqlite_errorcode", None)
        code = code & 0xFF if isinstance(code, int) else _MESSAGES.get(str(exc).lower())
        if code == _NOTADB:
            return b"not SQLite"
        if code == _CANTOPEN:  # unreadable; or a WAL file in a read-only folder (said next)
            if not os.access(path, os.R_OK):
                raise DatabaseFileError(f"{path}: cannot read: permission denied") from None
            return SQLITE_HEADER
        problem = database_problem(exc, path)
        if problem is not None:
            raise problem from None
        raise
    return SQLITE_HEADER


def existing_database(db: str | Path) -> Path:
    """``db`` if it is a newswatch SQLite database; DatabaseFileError (one line, naming
    the file and what is wrong; DatabaseUnavailable for a disk I/O error) otherwise. Reads
    the file header and the table list only
    (read-only connection); never creates or changes the file."""
    path = Path(db)
    if not path.exists():
        raise DatabaseFileError(f"{path}: database not found (create one with {CREATED_BY})")
    if not path.is_file():
        raise DatabaseFileError(f"{path}: not a database file (a directory?)")
    header = read_header(path)
    if not header:
        raise DatabaseFileError(f"{path}: empty file, not a newswatch database "
                                f"(create one with {CREATED_BY})")
    if header != SQLITE_HEADER:
        raise DatabaseFileError(f"{path}: not a SQLite database")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in conn.execute(
                "select name from sqlite_master where type = 'table'")}
        finally:
            conn.close()
    except sqlite3.Error as exc:
        problem = database_problem(exc, path)
        if problem is not None:
            raise problem from None
        raise DatabaseFileError(f"{path}: unreadable SQLite database: {exc}") from None
    if "articles" not in tables or "crawl_runs" not in tables:
        raise DatabaseFileError(f"{path}: a SQLite database, but not newswatch's "
                                "(no articles or crawl_runs table)")
    return path


def database_to_write(db: str | Path, make_folder: bool = False) -> Path:
    """``db`` for a command that writes its database (crawl, backfill, run, demo, label): a
    SQLite file or an empty one, or a new file in a folder that exists, checked before
    anything starts. DatabaseFileError (one line, exit 2) when the folder is missing
    (created only with ``make_folder``, the library's rule: a mistyped ``--db`` must not
    become a new database elsewhere), when the path is not a file or not SQLite (never
    overwritten), or when the file, its ``-wal``/``-shm`` files or its folder (where
    SQLite creates them) cannot be written. DatabaseUnavailable (exit 3) when another
    process holds the database's write lock beyond the busy timeout, or the disk fails.
    Writes nothing: the lock is taken and given back (``BEGIN IMMEDIATE``, rollback)."""
    path = Path(db)
    folder = path.parent
    if not folder.exists():
        if not make_folder:
            raise DatabaseFileError(f"{path}: no such folder {folder} (newswatch creates the "
                                    "database, never its folder: check the path, or "
                                    "create the folder first)")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseFileError(f"{path}: cannot create its folder: "
                                    f"{exc.strerror or exc}") from None
    if not folder.is_dir():
        raise DatabaseFileError(f"{path}: {folder} is not a folder")
    header = b""
    if path.exists():
        if not path.is_file():
            raise DatabaseFileError(f"{path}: not a database file (a directory?)")
        header = read_header(path)
        if header and header != SQLITE_HEADER:
            raise DatabaseFileError(f"{path}: not a SQLite database; refusing to write it")
        for part in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            if part.exists() and not os.access(part, os.W_OK):
                raise DatabaseFileError(f"{part}: read-only file: newswatch must write it "
                                        "(check its permissions and owner)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DatabaseFileError(f"{path}: read-only folder {folder}: SQLite creates the "
                                "database's -wal and -shm files beside it, so the folder "
                                "must be writable too")
    if header:
        _probe_write_lock(path)
    return path


def _probe_write_lock(path: Path) -> None:
    """Take the database's write lock and give it back (nothing written), waiting the
    busy timeout for another process's: a read-only file, a lock held too long or a
    failing disk is said now, in one line, not from deep inside a crawl."""
    wait = busy_timeout()
    try:
        conn = sqlite3.connect(str(path), timeout=wait)
        try:
            conn.execute(f"pragma busy_timeout = {int(wait * 1000)}")
            conn.execute("begin immediate")
            conn.rollback()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        problem = database_problem(exc, path)
        if problem is None:
            raise
        raise problem from None


class OutputFileError(ValueError):
    """An output file newswatch will not write: the database itself (or its WAL), a
    missing folder. The message is one line for the user."""


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


@contextlib.contextmanager
def output_file(path: str | Path, protect: str | Path | None = None) -> Iterator[TextIO]:
    """Write a text output file (``export --output``, ``labels --output``) safely:

    - never onto ``protect`` (the database), its ``-wal`` or ``-shm`` file, also when
      ``path`` is a symbolic or hard link to one of them: :class:`OutputFileError`;
    - into a new temporary file beside ``path`` (created exclusively, mode 0644 minus the
      umask), renamed onto ``path`` only when the writing ends without an error: a failed
      or interrupted export leaves ``path`` as it was, and a symbolic link at ``path`` is
      replaced, never written through (issue 34).

    Yields a text handle (UTF-8, newlines as written). Raises OSError for what the file
    system refuses (permission, disk full).
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise OutputFileError(f"{target}: cannot write: no such directory {target.parent}")
    if protect is not None:
        base = Path(protect)
        for guarded in (base, Path(f"{base}-wal"), Path(f"{base}-shm")):
            if _same_file(target, guarded) or target.resolve() == guarded.resolve():
                raise OutputFileError(f"{target}: is the database {base}"
                                      + (f" (through a link to {guarded})"
                                         if target.is_symlink() else "")
                                      + ": choose another output file")
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                     dir=target.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
