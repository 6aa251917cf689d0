"""One rule for opening the database file, for every command.

Only ``crawl``, ``run`` and ``demo`` create a database (``monitor.store.db.Store`` does).
Every other command (``status``, ``export``, ``serve``, ``alerts ...``) reads one that
exists: ``existing_database`` refuses a missing, empty or non-SQLite file, or a SQLite
file that is not a newswatch database, with one clear line, and never creates or writes
the file. ``output_file`` is the one rule for the files commands write (never onto the
database, never through a link, all or nothing).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite 3 database
CREATED_BY = "newswatch crawl, newswatch run or newswatch demo"


class DatabaseFileError(ValueError):
    """The database file cannot be used: missing, empty, not SQLite, not newswatch's."""


def existing_database(db: str | Path) -> Path:
    """``db`` if it is a newswatch SQLite database; DatabaseFileError (one line, naming
    the file and what is wrong) otherwise. Reads the file header and the table list only
    (read-only connection); never creates or changes the file."""
    path = Path(db)
    if not path.exists():
        raise DatabaseFileError(f"{path}: database not found (create one with {CREATED_BY})")
    if not path.is_file():
        raise DatabaseFileError(f"{path}: not a database file (a directory?)")
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise DatabaseFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
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
        raise DatabaseFileError(f"{path}: unreadable SQLite database: {exc}") from None
    if "articles" not in tables or "crawl_runs" not in tables:
        raise DatabaseFileError(f"{path}: a SQLite database, but not newswatch's "
                                "(no articles or crawl_runs table)")
    return path


def database_to_write(db: str | Path) -> Path:
    """``db`` for a command that creates its database (crawl, run, demo): a SQLite file, an
    empty file, or a new file whose folder can be made (it is made). DatabaseFileError,
    one line, otherwise: never overwrite a file that is not a database."""
    path = Path(db)
    if path.exists():
        if not path.is_file():
            raise DatabaseFileError(f"{path}: not a database file (a directory?)")
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
        if header and header != SQLITE_HEADER:
            raise DatabaseFileError(f"{path}: not a SQLite database; refusing to write it")
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseFileError(f"{path}: cannot create its folder: "
                                f"{exc.strerror or exc}") from None
    return path


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
