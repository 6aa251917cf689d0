"""The daemon's control channel: requests from commands to the running daemon, as rows of
the ``control_requests`` table (migration 12, ``monitor.store.db``).

``newswatch check SOURCE`` adds a ``crawl`` request (``add``), wakes the daemon
(SIGUSR2, ``monitor.run.control``) and waits until the daemon has taken it; the daemon
reads the pending rows (``pending``) when woken and every second, and moves each one
along (``mark``). A row's ``state``, in order:

- ``pending``: written by the command, not read by the daemon yet;
- ``taken``: the daemon accepted it (``note`` says how: crawling now, or queued behind a
  crawl of the source that is running or waiting for its turn);
- ``started``: the crawl that answers it started (``taken`` when it was started);
- ``done`` / ``failed``: that crawl ended (``run_id``: its crawl run; ``note``: its
  counts, or why it failed);
- ``refused``: the daemon will not do it (``note`` says why: not one of its sources, it
  is stopping);
- ``withdrawn``: the command gave up waiting before the daemon took it (``withdraw``).

A row is the whole protocol: the daemon never answers by signal, and a request written
while no daemon reads it is never acted on by a later daemon (``expire``, at its start).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from monitor.store.db import Store, now

TABLE = "control_requests"
CRAWL = "crawl"  # the one kind of request so far: crawl a source now
PENDING, TAKEN, STARTED = "pending", "taken", "started"
DONE, FAILED, REFUSED, WITHDRAWN = "done", "failed", "refused", "withdrawn"
OPEN = (PENDING, TAKEN, STARTED)  # states a request leaves on its own
ENDED = (DONE, FAILED, REFUSED, WITHDRAWN)
KEEP_DAYS = 30  # ended requests are pruned after this many days (the daemon's prune job)


def add(store: Store, source: str, kind: str = CRAWL, requester: int | None = None) -> int:
    """A new ``pending`` request; returns its id."""
    with store.db.conn:
        cursor = store.db.execute(
            f"insert into {TABLE} (kind, source, requested, requester, state) "
            "values (?, ?, ?, ?, ?)", [kind, source, now(), requester, PENDING])
    return int(cursor.lastrowid)


def get(store: Store, request_id: int) -> dict[str, Any] | None:
    """One request as a dict (every column), or None."""
    rows = list(store.db[TABLE].rows_where("id = ?", [request_id]))
    return rows[0] if rows else None


def pending(store: Store) -> list[dict[str, Any]]:
    """The ``pending`` requests, oldest first."""
    return list(store.db[TABLE].rows_where("state = ?", [PENDING], order_by="id"))


def mark(store: Store, ids: Iterable[int], state: str, note: str | None = None,
         daemon: int | None = None, run_id: int | None = None,
         only: Iterable[str] = OPEN) -> int:
    """Move the requests ``ids`` to ``state`` (only those still in one of ``only``),
    with a ``note``; ``taken`` and ``finished`` are stamped when ``state`` is ``taken``
    or an ended state. Returns how many rows changed."""
    wanted = list(ids)
    if not wanted:
        return 0
    states = list(only)
    sets, params = ["state = ?"], [state]
    if note is not None:
        sets.append("note = ?")
        params.append(note)
    if daemon is not None:
        sets.append("daemon = ?")
        params.append(daemon)
    if run_id is not None:
        sets.append("run_id = ?")
        params.append(run_id)
    if state == TAKEN:
        sets.append("taken = ?")
        params.append(now())
    if state in ENDED:
        sets.append("finished = ?")
        params.append(now())
    with store.db.conn:
        cursor = store.db.execute(
            f"update {TABLE} set {', '.join(sets)} where id in ({','.join('?' * len(wanted))}) "
            f"and state in ({','.join('?' * len(states))})", [*params, *wanted, *states])
    return cursor.rowcount


def withdraw(store: Store, request_id: int) -> bool:
    """Withdraw a request the daemon has not taken yet; False when it already has (or
    it is unknown): the daemon's answer then stands."""
    return mark(store, [request_id], WITHDRAWN, "not taken in time: withdrawn by the command",
                only=[PENDING]) == 1


def expire(store: Store, note: str) -> int:
    """At a daemon's start: every request still open was addressed to a daemon that is
    gone. It ends ``failed`` (taken or started) or ``refused`` (pending) with ``note``;
    returns how many."""
    rows = list(store.db[TABLE].rows_where(f"state in ({','.join('?' * len(OPEN))})",
                                           list(OPEN)))
    taken = [row["id"] for row in rows if row["state"] != PENDING]
    waiting = [row["id"] for row in rows if row["state"] == PENDING]
    return mark(store, taken, FAILED, note) + mark(store, waiting, REFUSED, note)


def prune(store: Store, before: str) -> int:
    """Forget ended requests older than ``before`` (UTC ISO); returns how many."""
    marks = ",".join("?" * len(ENDED))
    with store.db.conn:
        cursor = store.db.execute(f"delete from {TABLE} where state in ({marks}) and "
                                  "requested < ?", [*ENDED, before])
    return cursor.rowcount
