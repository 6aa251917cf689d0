"""Asking the running daemon to do something now: ``newswatch check SOURCE``.

The channel is the database the daemon already owns: the command adds a row to
``control_requests`` (``monitor.store.control``) and sends the daemon SIGUSR2
(``CONTROL_SIGNAL``) to read it at once; the daemon also reads the table every second
(``monitor.run.daemon.CONTROL_SECONDS``), so a lost signal only delays it. The command
then waits (``timeout``, default 10 s) until the row says the daemon took it.

Who the daemon is comes from the kernel, not from a file that may be stale: the live
process holding the database's daemon lock (``DaemonLock.held_by``). It is signalled only
when its heartbeat says it listens for the signal (``"control": "SIGUSR2"``, written by
``Daemon.run_forever`` once its handler is in place): a signal's default action would
kill a process that has no handler.

Errors (each one line): ``NoDaemon`` (no daemon runs on the database; exit 3),
``ConfigError`` (the daemon has no such source: the close names are listed; exit 2),
``NotTaken`` (the daemon did not take the request in time; the request is withdrawn;
exit 4), ``Refused`` (the daemon refused it: stopping, or a source its config lost since
its last heartbeat; exit 3 or 2).
"""

from __future__ import annotations

import difflib
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.sources import ConfigError
from monitor.store import DaemonLock, Store, control, existing_database

CONTROL_SIGNAL = signal.SIGUSR2
WAIT_SECONDS = 10.0  # how long `check` waits for the daemon to take its request
POLL_SECONDS = 0.05
STATE_WAIT = 5.0  # seconds to wait for a just-started daemon's first heartbeat


@dataclass
class CheckResult:
    """A crawl request the daemon took (or, with ``wait=False``, was left for it)."""

    request: dict[str, Any]  # its row in control_requests (monitor.store.control)
    daemon: int  # the daemon's pid
    waited: float | None  # seconds until the daemon took it; None: not waited for

    @property
    def line(self) -> str:
        """One line for people: ``check laodong_en: taken by the daemon (pid 4242) in
        0.02 s: crawling now (request 5)``."""
        row = self.request
        head, where = f"check {row['source']}", f"(request {row['id']})"
        if row["state"] == control.PENDING:
            return (f"{head}: asked the daemon (pid {self.daemon}); not waiting for it to "
                    f"take it {where}")
        waited = f" in {self.waited:.2f} s" if self.waited is not None else ""
        return f"{head}: taken by the daemon (pid {self.daemon}){waited}: {row['note']} {where}"


class ControlError(RuntimeError):
    """A request the daemon cannot be asked, or did not take; ``exit_code`` is the
    command's."""

    exit_code = 1


class NoDaemon(ControlError):
    """No daemon runs on the database."""

    exit_code = 3


class NotTaken(ControlError):
    """The daemon did not take the request within the time given (it was withdrawn)."""

    exit_code = 4


class Refused(ControlError):
    """The daemon refused the request (its row's note says why)."""

    def __init__(self, message: str, exit_code: int = 3) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def daemon_of(db_path: str | Path) -> dict[str, Any] | None:
    """The daemon running on ``db_path``: ``{"pid", "beat", "state": {...}}`` (its
    heartbeat row; ``state`` empty until its first beat), or None when no live process
    holds the database's daemon lock."""
    pid = DaemonLock.held_by(db_path)
    if pid is None:
        return None
    store = Store(db_path)
    try:
        row = store.db.execute(
            "select pid, beat, state from daemon where name = 'newswatch'").fetchone()
    finally:
        store.close()
    state: dict[str, Any] = {}
    if row is not None and row[0] == pid and row[2]:
        try:
            state = json.loads(row[2])
        except ValueError:
            state = {}
    return {"pid": pid, "beat": row[1] if row is not None and row[0] == pid else None,
            "state": state}


def _no_daemon(db_path: Path, source: str) -> NoDaemon:
    store = Store(db_path)
    try:
        row = store.db.execute("select beat from daemon where name = 'newswatch'").fetchone()
    finally:
        store.close()
    last = f"its last heartbeat was {row[0]}" if row and row[0] else "none ever started on it"
    return NoDaemon(f"no newswatch daemon is running on {db_path} ({last}); start one with "
                    f"newswatch run --db {db_path}, or crawl once with newswatch crawl "
                    f"--source {source} --db {db_path}")


def _unknown(source: str, sources: list[str], db_path: Path) -> ConfigError:
    close = difflib.get_close_matches(source, sources, n=3, cutoff=0.6)
    hint = (f"; did you mean {', '.join(close)}?" if close
            else f"; its sources: {', '.join(sources) or 'none'}")
    return ConfigError(f"unknown source {source!r} for the daemon on {db_path}{hint}")


def check(db_path: str | Path, source: str, wait: bool = True,
          timeout: float = WAIT_SECONDS) -> CheckResult:
    """Ask the daemon running on ``db_path`` to crawl ``source`` now.

    Returns the request (its row, ``monitor.store.control``) once the daemon took it
    (``state`` ``taken``, or already ``started``/``done``; ``note`` says whether its
    crawl started at once or is queued behind a crawl of the source that is running), or
    at once, still ``pending``, with ``wait=False``; with the daemon's pid and the
    seconds until it took it. Raises ``DatabaseFileError`` (no such
    database), ``NoDaemon``, ``ConfigError`` (unknown source), ``Refused``, ``NotTaken``
    (see the module doc)."""
    path = existing_database(db_path)
    daemon = daemon_of(path)
    if daemon is None:
        raise _no_daemon(path, source)
    deadline = time.monotonic() + STATE_WAIT
    while "sources" not in daemon["state"] and time.monotonic() < deadline:
        time.sleep(0.1)  # just started: its first heartbeat is on its way
        daemon = daemon_of(path)
        if daemon is None:
            raise _no_daemon(path, source)
    sources = daemon["state"].get("sources")
    if sources is not None and source not in sources:
        raise _unknown(source, list(sources), path)
    store = Store(path)
    try:
        request_id = control.add(store, source, requester=os.getpid())
    finally:
        store.close()
    if daemon["state"].get("control") == CONTROL_SIGNAL.name:
        try:
            os.kill(daemon["pid"], CONTROL_SIGNAL)
        except ProcessLookupError:  # it ended just now: nothing will take the request
            pass
        except PermissionError:  # another user's daemon: it reads the table every second
            pass
    asked = time.monotonic()
    row = _row(path, request_id)
    if not wait:
        return CheckResult(row, daemon["pid"], None)
    end = asked + timeout
    while row["state"] == control.PENDING and time.monotonic() < end:
        time.sleep(POLL_SECONDS)
        row = _row(path, request_id)
    if row["state"] == control.PENDING:
        store = Store(path)
        try:
            withdrawn = control.withdraw(store, request_id)
        finally:
            store.close()
        if withdrawn:
            if DaemonLock.held_by(path) is None:
                raise _no_daemon(path, source)
            raise NotTaken(f"the daemon (pid {daemon['pid']}) did not take the request to "
                           f"crawl {source} within {timeout:g} s; withdrawn (is it stuck? "
                           "see newswatch status and its log)")
        row = _row(path, request_id)  # taken in the meantime
    waited = time.monotonic() - asked
    if row["state"] == control.REFUSED:
        unknown = "not a source" in (row["note"] or "")
        raise Refused(f"the daemon (pid {daemon['pid']}) refused to crawl {source}: "
                      f"{row['note']}", exit_code=2 if unknown else 3)
    return CheckResult(row, daemon["pid"], waited)


def _row(db_path: Path, request_id: int) -> dict[str, Any]:
    store = Store(db_path)
    try:
        row = control.get(store, request_id)
    finally:
        store.close()
    if row is None:  # (deleted by hand)
        raise ControlError(f"request {request_id} disappeared from control_requests")
    return row
