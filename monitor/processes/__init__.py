"""The processes of a crawl, and the rules every process newswatch starts follows.

``lifecycle``: every process dies with its parent (PDEATHSIG, process groups, orderly
stops); ``runtime``: the interpreter's collector and GIL settings; ``workers``: the
extraction pool (a forkserver preloaded with the extractor and the judge) shared by every
crawler of a crawl process; ``writer``: the one SQLite writer process per database.
"""

from monitor.processes import runtime
from monitor.processes.lifecycle import (
    GRACE_SECONDS,
    MAX_GRACE_SECONDS,
    Interrupt,
    StopGrace,
    Wakeup,
    die_with_parent,
    group_activity,
    group_rss,
    kill_group,
    quiet_resource_tracker,
)
from monitor.processes.workers import (
    extract_checked,
    pool_ready,
    shared_pool,
    shutdown_pool,
    start_pool,
)
from monitor.processes.writer import DatabaseFull, shutdown_writers, submit, submit_many

__all__ = ["GRACE_SECONDS", "MAX_GRACE_SECONDS", "DatabaseFull", "Interrupt", "StopGrace", "Wakeup",
           "die_with_parent", "extract_checked", "group_activity", "group_rss", "kill_group",
           "pool_ready", "quiet_resource_tracker", "runtime",
           "shared_pool", "shutdown_pool", "shutdown_writers", "start_pool", "submit",
           "submit_many"]
