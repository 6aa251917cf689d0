"""Interpreter settings of a crawl's processes: the garbage collector's (crawl process,
forkserver, extraction workers, writer) and the GIL's switch interval (crawl process).

A crawl allocates objects by the million (requests, responses, Deferreds, parsed trees),
and CPython's default thresholds (700, 10, 10) ran a collection every 700 net
allocations: 784 collections, 1.8 s of the crawl process's 8.6 s of CPU in the crawl
bench (issue 17, BENCHMARKS.md), each young collection walking the requests waiting in
the scheduler again, and each full one every object Scrapy, Twisted and the extractor
imported. Two settings cut that:

- ``GC_THRESHOLDS``: a young collection every 10,000 net allocations (14x fewer), the
  older generations as rarely as before relative to it. Reference cycles are freed a
  little later; the crawl bench's peak memory is printed beside its speed.
- ``freeze()`` after start-up: the objects of every imported module, the crawlers and
  their settings move to the permanent generation, which no collection walks again
  (``gc.freeze``). In the forkserver it also keeps the pages workers share with it
  from being copied when a collection would touch them.

The crawl process runs Scrapy's reactor beside the process pools' threads (a queue
feeder and a result manager per pool). Each time the reactor released the GIL for a
system call (a socket send, the pool's wake-up write, zlib), it waited for a pool thread
to give it back, up to CPython's 5 ms switch interval: 0.8 ms per pool submission in the
crawl bench. ``SWITCH_INTERVAL`` (0.5 ms) hands it back ten times sooner; the pool
threads' work is small and stays the same.
"""

from __future__ import annotations

import gc
import sys

GC_THRESHOLDS = (10_000, 20, 20)  # young collection every 10k net allocations (CPython: 700)
SWITCH_INTERVAL = 0.0005  # seconds a thread may hold the GIL when another asks (CPython: 0.005)


def tune() -> None:
    """Apply ``GC_THRESHOLDS`` to this process (and to processes it forks)."""
    gc.set_threshold(*GC_THRESHOLDS)


def tune_crawl_process() -> None:
    """``tune()``, and ``SWITCH_INTERVAL`` for the reactor beside the pools' threads."""
    tune()
    sys.setswitchinterval(SWITCH_INTERVAL)


def freeze() -> None:
    """Collect once, then keep every object alive now out of later collections."""
    gc.collect()
    gc.freeze()
