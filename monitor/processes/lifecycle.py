"""Process lifecycle: every process newswatch starts dies with its parent.

The design, for a crawl started by the CLI or the daemon::

    newswatch (CLI or daemon)            handles SIGINT/SIGTERM, owns the time limit
     └─ crawl child (spawn)              own process group; PDEATHSIG=SIGKILL
         └─ forkserver                   PDEATHSIG=SIGKILL (preloaded ``_forkserver_guard``)
             └─ extraction workers       PDEATHSIG=SIGKILL (pool initializer)

- The crawl child leads its own process group, so a terminal's Ctrl-C (SIGINT to the
  foreground group) reaches only the parent, which turns it into one orderly stop of the
  child (SIGINT: Scrapy stops gracefully, stores what was extracted, the runs end
  ``interrupted``). A second Ctrl-C, or a child whose stop outlasts its grace
  (``StopGrace``: it adapts to the pages in hand and lasts while the stop makes progress),
  gets SIGKILL for the whole group: crawl child, forkserver and workers at once.
- A time limit (``crawl_timeout``) kills the whole group the same way.
- ``kill -9`` of the parent cannot be handled by the parent: each process asks Linux to
  SIGKILL it when its parent dies (``prctl(PR_SET_PDEATHSIG)``), so the chain unwinds.

Linux only for PDEATHSIG; elsewhere the process-group kill still applies.
"""

from __future__ import annotations

import os
import select
import signal
import time
from collections.abc import Iterable
from pathlib import Path

GRACE_SECONDS = 6.0  # a stop's grace with nothing in hand, and its longest stall
PAGE_GRACE_SECONDS = 1.0  # more grace per page in hand (downloading, extracting, storing)
BUSY_CPU_SECONDS = 0.1  # CPU per second that tells a crawl at work from one that waits
MAX_GRACE_SECONDS = 60.0  # the longest an orderly stop may take (systemd waits 90 s)
PARENT_ENV = "NEWSWATCH_EXPECTED_PARENT"  # pid a forkserver expects as its parent
_PR_SET_PDEATHSIG = 1


def die_with_parent(expected_parent: int | None = None) -> None:
    """Ask Linux to SIGKILL this process when its parent dies. If the parent already died
    (``os.getppid()`` is no longer ``expected_parent``), exit now: the signal would never
    come. A no-op where prctl is unavailable."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if expected_parent is not None and os.getppid() != expected_parent:
        os._exit(1)


# the resource tracker's warning, as a -W filter (message prefix, category)
_TRACKER_LEAK_FILTER = "ignore:resource_tracker:UserWarning"


def quiet_resource_tracker() -> None:
    """Start this process's multiprocessing resource tracker, if it is not running yet,
    without its end-of-life warning.

    The tracker (one process per top process, shared by its children) unlinks the named
    semaphores of processes that died without unlinking them, and then warns
    (``resource_tracker: There appear to be 35 leaked semaphore objects``, with an
    interpreter path). Here that only happens when newswatch kills a crawl's process
    group on purpose (a second Ctrl-C, a time limit, a stop that ran out of grace), and
    each of those is already said in one line; the cleanup itself still runs (the filter
    silences only the warning: ``-W ignore:resource_tracker:UserWarning`` given to the
    tracker's interpreter, ``multiprocessing.util._args_from_interpreter_flags``)."""
    import sys
    from multiprocessing import resource_tracker

    tracker = resource_tracker._resource_tracker  # noqa: SLF001 - the module's singleton
    if getattr(tracker, "_fd", None) is not None:
        return  # running (started here, or inherited from a parent): left as it is
    sys.warnoptions.append(_TRACKER_LEAK_FILTER)
    try:
        tracker.ensure_running()
    finally:
        sys.warnoptions.remove(_TRACKER_LEAK_FILTER)


class StopGrace:
    """How long an orderly stop of a crawl may take before its process group is killed.

    A stop keeps what was fetched (issue 31): pages already downloaded are extracted and
    stored before the crawl ends. On a loaded machine that can take longer than any fixed
    grace (a daemon stopped 28 s after start with 4 crawls at load 8 stored 0 of its
    pages with a fixed 6 s), so the grace adapts to the work in hand:

    - at the stop: ``GRACE_SECONDS`` + ``PAGE_GRACE_SECONDS`` × pages in hand;
    - whenever the stop makes progress, at least ``GRACE_SECONDS`` from then. Progress
      is pages done, fewer in hand, a crawl process still starting (a start-up step, an
      extraction pool whose workers are not warm yet, which the pages in hand wait
      for), or the crawl's processes at work: one of them running or waiting for a
      core, or at least ``BUSY_CPU_SECONDS`` of CPU per second (``group_activity``). A
      crawl on a loaded machine works slowly (at a load of 19 on 2 cores its processes
      got 0.05 s of CPU a second, runnable all the while) and is waited for; a crawl
      that only waits for a slow server sleeps, and its stop ends after
      ``GRACE_SECONDS``;
    - never more than ``MAX_GRACE_SECONDS`` after the stop (below systemd's default
      ``TimeoutStopSec`` of 90 s, so the unit's stop is never the one that kills).

    ``progress(done, in_hand, now)`` feeds it the crawl's reports, ``activity(seconds,
    running, now)`` what its processes do (``group_activity``); ``expired(now)`` says
    whether to kill. Times are ``time.monotonic()`` seconds."""

    def __init__(self, asked: float, in_hand: int = 0) -> None:
        self.asked = asked
        self.deadline = min(asked + MAX_GRACE_SECONDS,
                            asked + GRACE_SECONDS + PAGE_GRACE_SECONDS * max(0, in_hand))
        self._done: int | None = None
        self._in_hand = in_hand
        self._cpu: tuple[float, float] | None = None  # (CPU seconds, when) last seen

    def progress(self, done: int, in_hand: int, now: float, starting: bool = False) -> None:
        """A report from the stopping crawl: ``done`` pages with an outcome so far (any
        monotonic count), ``in_hand`` pages still being fetched, extracted or stored;
        ``starting``: the crawl process is still starting (always progress)."""
        moved = starting or (self._done is not None and done > self._done) \
            or in_hand < self._in_hand
        self._done = done if self._done is None else max(self._done, done)
        self._in_hand = in_hand
        if moved:
            self._renew(now)

    def activity(self, seconds: float, running: bool, now: float) -> None:
        """What the crawl's processes do (``group_activity``): the CPU time they have
        used so far, and whether one of them is running or runnable now."""
        if running or (self._cpu is not None and now > self._cpu[1] and (
                seconds - self._cpu[0]) / (now - self._cpu[1]) >= BUSY_CPU_SECONDS):
            self._renew(now)
        self._cpu = (seconds, now)

    def _renew(self, now: float) -> None:
        self.deadline = max(self.deadline,
                            min(self.asked + MAX_GRACE_SECONDS, now + GRACE_SECONDS))

    def expired(self, now: float) -> bool:
        """Whether the stop ran out of grace."""
        return now > self.deadline


class Interrupt:
    """A stop request shared between a signal handler (or another thread) and a running
    crawl: ``count`` 1 = stop in order, 2 or more = stop at once. The crawl polls it."""

    def __init__(self) -> None:
        self.count = 0

    def request(self) -> None:
        """One more stop request (safe in a signal handler: no lock is taken)."""
        self.count += 1

    def __bool__(self) -> bool:
        return self.count > 0


POLL = 0.2  # seconds: the longest a Wakeup.wait sleeps before pending handlers run


class Wakeup:
    """Wakes a thread blocked in ``wait`` and is safe to give from a signal handler: the
    self-pipe trick. ``set`` writes one byte to a non-blocking pipe and takes no lock.

    ``threading.Event.set`` in a handler is not safe: the handler runs on the main thread
    between two bytecodes, and if that thread was inside the same event's ``wait`` or
    ``clear`` (holding the event's lock), ``set`` waits for the lock forever: the process
    hangs on SIGTERM. ``wait`` here is a ``select`` on the pipe, which a signal interrupts
    and Python resumes after the handler has run (PEP 475), and finds the byte.
    Call ``close`` when done (two file descriptors)."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)

    def set(self) -> None:
        """Wake the waiter (now, or its next ``wait`` returns at once)."""
        try:
            os.write(self._write, b"\0")
        except (BlockingIOError, OSError):  # a full pipe already wakes it; closed: no one
            pass

    def wait(self, timeout: float | None = None) -> bool:
        """Block until ``set`` (or ``timeout`` seconds); True if woken. Clears the wake-up.

        The ``select`` waits at most ``POLL`` seconds at a time: a signal the kernel hands
        to another thread of the process (any thread may take it) interrupts nothing in
        the main thread, whose Python handler then runs only when the main thread next
        runs bytecode. Without the bound the main thread slept in ``select`` for ever with
        the handler's byte never written (tests/test_signals.py caught it: a child with a
        second thread, 3,000 signals, the last one lost)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            step = POLL if deadline is None else max(0.0, min(POLL, deadline - time.monotonic()))
            ready, _, _ = select.select([self._read], [], [], step)
            if ready:
                break
            if deadline is not None and time.monotonic() >= deadline:
                return False
        try:
            while os.read(self._read, 512):
                pass
        except BlockingIOError:
            pass
        return True

    def close(self) -> None:
        """Close the pipe; a later ``set`` (a late signal) does nothing."""
        fds, self._read, self._write = (self._read, self._write), -1, -1
        for fd in fds:  # forgotten first: a handler never writes to a reused descriptor
            try:
                os.close(fd)
            except OSError:
                pass


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    """Signal every process of group ``pgid``; nothing if the group is gone."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _stat(pid: int) -> tuple[str, int, int, int] | None:
    """(state, parent pid, process group, session) of ``pid`` from /proc, or None if it
    is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[2]), int(fields[3])


def processes() -> dict[int, tuple[str, int, int, int]]:
    """Every live process: {pid: (state, parent pid, process group, session)}; zombies
    left out."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = _stat(int(entry))
            if info is not None and info[0] not in ("Z", "X"):
                found[int(entry)] = info
    return found


def descendants(pid: int) -> list[int]:
    """Live descendants of ``pid`` (children, their children, ...), from /proc."""
    table = processes()
    children: dict[int, list[int]] = {}
    for child, (_, parent, _, _) in table.items():
        children.setdefault(parent, []).append(child)
    found, todo = [], list(children.get(pid, []))
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def group_activity(pgid: int) -> tuple[float, bool]:
    """``(CPU seconds, running)`` of the live processes of process group ``pgid``: the
    CPU time (user + system) they have used so far, and whether any of them is running
    or waiting for a core now (state ``R``), from /proc/PID/stat (fields 3, 14, 15)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, running = 0, False
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
            running = running or fields[0] == "R"
    return total / tick, running


def group_members(pgid: int) -> list[int]:
    """Live processes in process group ``pgid``."""
    return [pid for pid, (_, _, group, _) in processes().items() if group == pgid]


def session_members(sid: int) -> list[int]:
    """Live processes in session ``sid``."""
    return [pid for pid, (_, _, _, session) in processes().items() if session == sid]


def rss_bytes(pids: Iterable[int]) -> int:
    """Summed resident set size of ``pids`` (bytes; processes that are gone count 0)."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
        except (OSError, IndexError, ValueError):
            pass
    return total


def group_rss(pgid: int) -> int:
    """Summed resident set size (bytes) of the live processes of process group
    ``pgid`` (a crawl service and its forkserver, workers and writer)."""
    return rss_bytes(group_members(pgid))
