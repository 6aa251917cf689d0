"""Crawl workers on many machines, coordinated through Redis (issue 32; docs/SCALE.md).

``jobs`` is the leased job queue (a site's sources per round, one worker per site at a
time, re-offered when a lease expires); ``transport`` the worker's side of the article
stream (analysed articles and finished runs into a Redis Stream); ``intake`` the
database's side (the one SQLite writer: ingest, inbox row in the same transaction,
acknowledge after the commit: exactly once); ``registry`` workers' heartbeats and the
fleet's ``status``; ``worker`` a crawl worker's loop around a crawl function (take,
keep the lease, heartbeat, finish); ``connect`` the Redis URL (password, TLS) and the
fleet's key names; ``wire`` JSON only on the wire, never pickle, never a secret;
``context`` what a crawl reads from the database, read by the daemon for a job
(``job_context``) and written into a worker's scratch database (``seed_context``),
and the check state a worker's crawl changed, sent back (``checks_since``,
``apply_checks``).
"""

from monitor.fleet import wire
from monitor.fleet.connect import DEFAULT_FLEET, Keys, RedisUnavailable, connect, redacted
from monitor.fleet.context import apply_checks, checks_since, job_context, seed_context
from monitor.fleet.intake import KILL_AFTER_COMMIT_ENV, Intake
from monitor.fleet.jobs import JobQueue, Lease, LeaseLost, Offered, offer_round, site_jobs
from monitor.fleet.registry import Registry, status, worker_name
from monitor.fleet.transport import ArticleStream
from monitor.fleet.wire import WireError
from monitor.fleet.worker import JobOutput, Worker

__all__ = [
    "apply_checks", "ArticleStream", "checks_since", "connect", "DEFAULT_FLEET", "Intake",
    "job_context", "JobOutput", "JobQueue", "Keys",
    "KILL_AFTER_COMMIT_ENV", "Lease", "LeaseLost", "Offered", "offer_round", "redacted",
    "Registry", "RedisUnavailable", "seed_context", "site_jobs", "status", "WireError",
    "wire", "Worker", "worker_name",
]
