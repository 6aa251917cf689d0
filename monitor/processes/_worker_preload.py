"""Imported by the extraction pool's forkserver when it starts (a forkserver preload,
after ``monitor.processes._forkserver_guard``): the extractor, the judge and datasketch are
imported and the topic's terms compiled once, in the forkserver, and every worker forked
from it starts warm. The forkserver also sets the garbage collector up for its children
(``monitor.processes.runtime``).

Without it each worker imported them itself: 0.8 s of CPU per worker (datasketch's LSH
module imports scipy.integrate, half of it), paid once per worker at the start of every
crawl, on the cores the crawl process needs to start up (BENCHMARKS.md, issue 17).
"""

from __future__ import annotations

from monitor.processes import runtime
from monitor.processes.workers import _warm_up

runtime.tune()  # inherited by every process forked from the forkserver
_warm_up()
runtime.freeze()  # what the workers inherit is never walked (nor copied) by their collections
