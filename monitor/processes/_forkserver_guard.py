"""Imported by the extraction pool's forkserver when it starts (a forkserver preload):
the forkserver dies with the crawl process that started it, even on SIGKILL.

Workers forked from the forkserver inherit ``FORKSERVER_PID`` and check it in their own
initializer (``monitor.processes.workers._worker_init``).

A worker forked while its pool is being torn down (the crawl stopping, or killed, as the
worker starts) finds the pool's semaphores already unlinked and fails in
``SemLock.__setstate__`` with FileNotFoundError before any of our code runs; the
forkserver then prints that traceback into the daemon's log. That worker had no work
to lose, so ``quiet_teardown_race`` (the forkserver's ``sys.excepthook``) ends it
without a traceback; every other error is printed as before.
"""

from __future__ import annotations

import os
import sys
import traceback
from types import TracebackType

from monitor.processes.lifecycle import PARENT_ENV, die_with_parent

FORKSERVER_PID: int | None = None
_print_exception = sys.excepthook


def teardown_race(exc_type: type[BaseException], tb: TracebackType | None) -> bool:
    """True for a worker that could not open its pool's semaphores: FileNotFoundError
    raised while unpickling a ``multiprocessing.synchronize.SemLock``."""
    return issubclass(exc_type, FileNotFoundError) and any(
        frame.f_code.co_name == "__setstate__"
        and frame.f_code.co_filename.endswith(os.path.join("multiprocessing", "synchronize.py"))
        for frame, _ in traceback.walk_tb(tb))


def quiet_teardown_race(exc_type: type[BaseException], exc: BaseException,
                        tb: TracebackType | None) -> None:
    """``sys.excepthook`` of the forkserver (inherited by the children it forks)."""
    if not teardown_race(exc_type, tb):
        _print_exception(exc_type, exc, tb)

if os.environ.get(PARENT_ENV):  # only in a forkserver started by monitor.processes.workers
    FORKSERVER_PID = os.getpid()
    sys.excepthook = quiet_teardown_race
    die_with_parent(int(os.environ[PARENT_ENV]))
