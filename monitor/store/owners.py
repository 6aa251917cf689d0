"""Who owns what: process identities that survive pid reuse, and the daemon's lock.

Two things in the database outlive the process that wrote them and must not be trusted
after it died:

- a crawl run left ``running`` by a crawl process killed with ``kill -9`` (or by the OOM
  killer, or a power cut): each run records its owner (``process_identity``), and any
  crawl or daemon start closes the runs whose owner is gone (``Store.reap_orphaned_runs``);
- the daemon itself: one daemon per database (``DaemonLock``), held with ``flock`` on
  ``<db>.daemon-lock``, which the kernel releases when the process ends however it ends
  (``kill -9`` included), so a restart after a crash just works.

A pid alone does not identify a process: pids are reused. The identity is the pid plus
the process's start time in clock ticks since boot (``/proc/PID/stat`` field 22) and the
boot id, so a new process that got the same pid, or the same pid after a reboot, is not
taken for the owner. Without ``/proc`` (not Linux) the identity is the pid alone.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import time
from pathlib import Path
from typing import IO

from monitor.store.dbfile import DatabaseFileError

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


class DaemonRunning(RuntimeError):
    """Another live process holds the database's daemon lock."""

    def __init__(self, db_path: Path, pid: int | None) -> None:
        self.db_path, self.pid = db_path, pid
        who = f"pid {pid}" if pid else "pid unknown"
        super().__init__(f"a newswatch daemon ({who}) is already running on {db_path}; "
                         "one daemon per database")


def _stat(pid: int) -> tuple[str, str] | None:
    """``(state, start time in clock ticks since boot)`` of a process from
    ``/proc/PID/stat``; None when there is no such process (or no /proc)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2:].split()  # after "pid (comm) ": comm may hold spaces
    if len(fields) < 20:
        return None
    return fields[0], fields[19]  # field 3 = state, field 22 = starttime


def _boot_id() -> str:
    try:
        return _BOOT_ID.read_text(encoding="ascii").strip()
    except OSError:
        return ""


def process_identity(pid: int | None = None) -> tuple[int, str]:
    """``(pid, start)`` of a process (default: this one), where ``start`` is
    ``"<boot id>/<start ticks>"`` (``""`` without /proc): what ``is_alive`` checks."""
    pid = os.getpid() if pid is None else pid
    stat = _stat(pid)
    return pid, f"{_boot_id()}/{stat[1]}" if stat else ""


def is_alive(pid: int | None, start: str | None) -> bool:
    """Whether the process ``(pid, start)`` (from ``process_identity``) still runs.

    A zombie (ended, not yet reaped by its parent) is not alive. A different process
    that reuses the pid is not alive (its start time differs). With no ``start`` recorded
    (no /proc where it was taken), any process with the pid counts."""
    if not pid:
        return False
    stat = _stat(pid)
    if stat is None:
        if Path("/proc/self/stat").exists():
            return False  # /proc works, the process is gone
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    state, ticks = stat
    if state in ("Z", "X"):
        return False
    return not start or start == f"{_boot_id()}/{ticks}"


class DaemonLock:
    """One daemon per database: an exclusive ``flock`` on ``<db>.daemon-lock``, holding the
    holder's pid (for the message), for the daemon's life.

    The lock is on a file of its own, never on the SQLite file: closing any descriptor of
    the database file would drop SQLite's own POSIX locks on it. The descriptor is not
    inherited by the processes the daemon starts (Python's default), so a crawl that
    outlives its daemon for a moment does not keep the lock.

    ``acquire`` raises DaemonRunning when another live process holds it; ``release``
    (or the end of the process, ``kill -9`` included) frees it. Use as a context manager
    or call ``acquire``/``release``."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = Path(db_path).resolve()
        self.path = self.db_path.with_name(self.db_path.name + ".daemon-lock")
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or raise DaemonRunning (never waits)."""
        if self._file is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self._open()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = self.holder(handle)
            for _ in range(20):  # the holder may be between its flock and its write
                if pid:
                    break
                time.sleep(0.05)
                pid = self.holder(handle)
            handle.close()
            raise DaemonRunning(self.db_path, pid) from None
        except BaseException:
            handle.close()
            raise
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def _open(self) -> IO[str]:
        """The lock file, opened without following a link (``O_NOFOLLOW``): a symbolic
        link planted at ``<db>.daemon-lock`` would have the daemon truncate and write
        whatever it points at (issue 34). A link, or anything but a regular file, is
        refused with DatabaseFileError (one line); the file is created ``0600``."""
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
        try:
            fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise DatabaseFileError(
                    f"{self.path}: the daemon lock file is a symbolic link; refused "
                    "(remove it: newswatch creates the lock file itself)") from None
            raise DatabaseFileError(f"{self.path}: cannot open the daemon lock file: "
                                    f"{exc.strerror or exc}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise DatabaseFileError(f"{self.path}: the daemon lock file is not a regular "
                                    "file; refused (remove it)")
        os.set_blocking(fd, True)
        return open(fd, "a+", encoding="ascii")  # noqa: SIM115 - held for life

    @staticmethod
    def holder(handle: IO[str]) -> int | None:
        """The pid written in the lock file (None when empty or unreadable: the holder
        may be between taking the lock and writing it)."""
        handle.seek(0)
        text = handle.read().strip()
        return int(text) if text.isdigit() else None

    def release(self) -> None:
        """Free the lock (the file stays; its content is only read while it is held)."""
        if self._file is None:
            return
        try:
            fcntl.flock(self._file, fcntl.LOCK_UN)
        finally:
            self._file.close()
            self._file = None

    @staticmethod
    def held_by(db_path: str | Path) -> int | None:
        """The pid of the live daemon holding ``db_path``'s lock, or None when no daemon
        holds it; never takes the lock (a daemon starting at that moment must not find
        it taken). Where ``/proc/locks`` is readable, a lock is held when the kernel
        lists a ``FLOCK`` on the lock file; the pid is the one the holder wrote in the
        file. Without ``/proc/locks``: that pid, if its process is alive."""
        path = Path(db_path).resolve()
        path = path.with_name(path.name + ".daemon-lock")
        try:  # never through a link, never more than a pid's worth (issue 34)
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return None
            text = os.read(fd, 32).decode("ascii", "replace").strip()
        except OSError:
            return None
        finally:
            os.close(fd)
        pid = int(text) if text.isdigit() else None
        try:
            locks = Path("/proc/locks").read_text(encoding="ascii", errors="replace")
        except OSError:
            return pid if is_alive(pid, None) else None
        inode = f":{info.st_ino}"
        for line in locks.splitlines():
            fields = line.split()
            # "1: FLOCK  ADVISORY  WRITE 4242 fe:00:1234567 0 EOF": the inode after the
            # device (whose numbers an overlay file system may report otherwise than stat)
            if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5].endswith(inode):
                return pid if is_alive(pid, None) else None
        return None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._file is not None

    def __enter__(self) -> DaemonLock:
        self.acquire()
        return self

    def __exit__(self, *_: object) -> None:
        self.release()
