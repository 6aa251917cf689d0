"""A crawl worker's loop, without the crawl: take a job, keep its lease, heartbeat, hand
the job to a crawl function, finish it.

The crawl itself is the caller's (``newswatch worker`` will pass the warm crawl service's
job runner, issue 33): ``crawl(job, out)`` gets the job (a plain dict, ``monitor.fleet.
jobs``) and a :class:`JobOutput` to send its batches and its run through, and returns when
the job is done. If the lease is lost meanwhile (``out.lost`` is set: the worker was cut
off longer than the lease and the job went to another), the crawl may stop early; what
it sent is still stored once, and the new holder crawls the sites again.

A crawl that raises has its job released (re-offered at once) and the error counted
(``errors``); the worker goes on with the next job. A worker killed outright
(``kill -9``) leaves its lease to expire: the job is re-offered ``lease_seconds`` after
its last renew.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import redis

from monitor.fleet.connect import Keys
from monitor.fleet.jobs import JobQueue, Lease, LeaseLost
from monitor.fleet.registry import Registry, worker_name
from monitor.fleet.transport import ArticleStream


class JobOutput:
    """Where a job's crawl sends its results: ``send`` (a batch of analysed articles)
    and ``send_run`` (the run of one source), both tagged with the job; ``lost`` is set
    once the job's lease is lost."""

    def __init__(self, stream: ArticleStream, lease: Lease) -> None:
        self._stream = stream
        self.job_id = lease.job_id
        self.lost = lease.lost
        self.sent = 0  # batches sent
        self.articles = 0

    def send(self, source: str, rows: Sequence[tuple[dict[str, Any], str]]) -> str:
        """``ArticleStream.send`` for this job; the entry's id."""
        entry = self._stream.send(source, rows, job=self.job_id)
        self.sent += 1
        self.articles += len(rows)
        return entry

    def send_run(self, source: str, status: str, counts: dict[str, int],
                 **details: Any) -> str:
        """``ArticleStream.send_run`` for this job (``details``: ledger, started,
        finished, error_detail, fetches, checks, health); the entry's id."""
        return self._stream.send_run(source, status, counts, job=self.job_id, **details)


Crawl = Callable[[dict[str, Any], JobOutput], None]


class Worker:
    """One crawl worker of a fleet: ``name`` (default ``host:pid``), its queue, stream
    and registry on ``client``. ``counts``: jobs (finished), errors (crawls that raised,
    their jobs released), lost (jobs whose lease was lost before they finished)."""

    def __init__(self, client: redis.Redis, keys: Keys | None = None,
                 name: str | None = None, lease_seconds: float = 60.0,
                 secrets: Iterable[str] = (), beat_every: float = Registry.beat_every) -> None:
        self.keys = keys or Keys()
        self.name = name or worker_name()
        self.secrets = list(secrets)
        self.queue = JobQueue(client, self.keys, lease_seconds=lease_seconds,
                              secrets=self.secrets)
        self.stream = ArticleStream(client, self.keys, worker=self.name, secrets=self.secrets)
        self.registry = Registry(client, self.keys)
        self.beat_every = beat_every
        self.counts: Counter[str] = Counter()
        self.job: str | None = None

    def run_one(self, crawl: Crawl) -> str | None:
        """Take one job and crawl it; its id, or None when nothing was queued. A crawl
        that raises has its job released and the exception re-raised."""
        lease = self.queue.take(self.name)
        if lease is None:
            return None
        self.job = lease.job_id
        self._beat()
        out = JobOutput(self.stream, lease)
        try:
            with lease.keep_alive():
                crawl(lease.job, out)
        except BaseException:
            self.counts["errors"] += 1
            try:
                self.queue.release(lease)
            except (LeaseLost, redis.RedisError):
                pass  # (re-offered already, or it will be when the lease expires)
            raise
        finally:
            self.job = None
        try:
            self.queue.finish(lease)
            self.counts["jobs"] += 1
        except LeaseLost:
            self.counts["lost"] += 1
        return lease.job_id

    def serve(self, crawl: Crawl, stop: threading.Event, idle: float = 1.0) -> Counter[str]:
        """Crawl jobs until ``stop`` is set, heartbeating every ``beat_every`` seconds;
        waits ``idle`` seconds when nothing is queued. Errors of a crawl are counted and
        the worker goes on; Redis errors wait for Redis. Leaves the registry at the end."""
        beating = threading.Event()

        def beat_loop() -> None:
            while not beating.wait(self.beat_every):
                try:
                    self._beat()
                except redis.RedisError:
                    continue

        thread = threading.Thread(target=beat_loop, name="heartbeat", daemon=True)
        thread.start()
        try:
            while not stop.is_set():
                try:
                    if self.run_one(crawl) is None:
                        self._beat()
                        stop.wait(idle)
                except redis.RedisError:
                    stop.wait(idle)
                except Exception:  # noqa: BLE001 - counted (errors); the job was released
                    continue
        finally:
            beating.set()
            thread.join()
            try:
                self.registry.leave(self.name)
            except redis.RedisError:
                pass
        return self.counts

    def _beat(self) -> None:
        self.registry.heartbeat(self.name, job=self.job, jobs=self.counts["jobs"],
                                errors=self.counts["errors"])
