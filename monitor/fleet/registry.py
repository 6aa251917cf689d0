"""Workers and their heartbeats, and the fleet's state in one dict (``status``).

Each worker calls ``heartbeat`` every few seconds (``Registry.beat_every``) with what it
is doing; a worker whose last heartbeat is older than ``stale_seconds`` is ``silent``.
Its jobs are not taken from it here: its leases expire and ``JobQueue.reap`` re-offers
them (the lease, not the heartbeat, decides who holds a job). A worker that stops cleanly
calls ``leave``.

What a heartbeat holds: the worker's name, host, pid, start time, job and the figures it
chooses to report (pages, articles sent). Never the Redis URL nor any secret.
"""

from __future__ import annotations

import json
import os
import socket
import time
from typing import Any

import redis

from monitor.fleet.connect import Keys
from monitor.fleet.jobs import JobQueue
from monitor.fleet.wire import dumps

STALE_SECONDS = 30.0


def worker_name() -> str:
    """This process's default worker name: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _server_ms(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


class Registry:
    """The fleet's workers, on ``client``."""

    beat_every = 5.0  # seconds between a worker's heartbeats

    def __init__(self, client: redis.Redis, keys: Keys | None = None,
                 stale_seconds: float = STALE_SECONDS) -> None:
        self.redis = client
        self.keys = keys or Keys()
        self.stale_seconds = stale_seconds
        self.started = time.time()

    def heartbeat(self, worker: str, job: str | None = None, **figures: Any) -> None:
        """Say ``worker`` is alive, working on ``job`` (None: idle), with ``figures``
        (JSON-able numbers or text)."""
        now = _server_ms(self.redis)
        info = {"worker": worker, "host": socket.gethostname(), "pid": os.getpid(),
                "started": int(self.started * 1000), "job": job, **figures}
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.workers, worker, dumps(info))
            pipe.zadd(self.keys.seen, {worker: now})
            pipe.execute()

    def leave(self, worker: str) -> None:
        """``worker`` stopped cleanly: forget it."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self.keys.workers, worker)
            pipe.zrem(self.keys.seen, worker)
            pipe.execute()

    def workers(self) -> dict[str, dict[str, Any]]:
        """Worker -> its last heartbeat, with ``age`` (seconds since it) and ``state``
        (``alive`` or ``silent``)."""
        now = _server_ms(self.redis)
        seen = dict(self.redis.zrange(self.keys.seen, 0, -1, withscores=True))
        out = {}
        for worker, value in self.redis.hgetall(self.keys.workers).items():
            info = json.loads(value)
            age = (now - seen.get(worker, 0)) / 1000
            info["age"] = round(age, 1)
            info["state"] = "alive" if age <= self.stale_seconds else "silent"
            out[worker] = info
        return out


def status(client: redis.Redis, keys: Keys | None = None,
           stale_seconds: float = STALE_SECONDS) -> dict[str, Any]:
    """The fleet at a glance, for ``newswatch status``::

        {"workers": {name: {"host", "pid", "job", "age", "state", "holds": [job ids]}},
         "jobs": {"queued": [ids], "held": {id: {"worker", "deadline", "attempt", ...}},
                  "failed": {id: {"reason", ...}}},
         "stream": {"entries": n, "pending": n, "lag": n | None, "last_id": str},
         "counters": {offered, taken, finished, reoffered, ...}}

    ``pending``: entries read by the writer and not yet acknowledged; ``lag``: entries
    not yet read by it (Redis 7; None when Redis cannot tell). Raises redis.RedisError."""
    keys = keys or Keys()
    queue = JobQueue(client, keys)
    registry = Registry(client, keys, stale_seconds)
    held = queue.holders()
    workers = registry.workers()
    for info in workers.values():
        info["holds"] = []
    for job_id, holder in held.items():
        worker = holder.get("worker")
        if worker in workers:
            workers[worker]["holds"].append(job_id)
    stream: dict[str, Any] = {"entries": 0, "pending": 0, "lag": 0, "last_id": None}
    if client.exists(keys.stream):
        info = client.xinfo_stream(keys.stream)
        stream.update(entries=int(info["length"]), last_id=str(info["last-generated-id"]))
        for group in client.xinfo_groups(keys.stream):
            if group["name"] == keys.group:
                stream["pending"] = int(group["pending"])
                lag = group.get("lag")
                stream["lag"] = int(lag) if lag is not None else None
    return {"workers": workers,
            "jobs": {"queued": queue.queued(), "held": held, "failed": queue.failed()},
            "stream": stream, "counters": queue.counters()}
