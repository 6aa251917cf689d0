"""Imported by the extraction pool's forkserver when it starts (a forkserver preload):
the forkserver dies with the crawl process that started it, even on SIGKILL.

Workers forked from the forkserver inherit ``FORKSERVER_PID`` and check it in their own
initializer (``monitor.workers._worker_init``).
"""

from __future__ import annotations

import os

from monitor.lifecycle import PARENT_ENV, die_with_parent

FORKSERVER_PID: int | None = None

if os.environ.get(PARENT_ENV):  # only in a forkserver started by monitor.workers
    FORKSERVER_PID = os.getpid()
    die_with_parent(int(os.environ[PARENT_ENV]))
