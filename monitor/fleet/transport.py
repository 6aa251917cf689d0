"""The article stream, the worker's side: analysed articles and finished runs into one
Redis Stream per database, read by the database's one writer (``monitor.fleet.intake``).

Each entry has three fields: ``kind`` (``batch`` or ``run``), ``message`` (the sender's
id for it, unique: an XADD sent again after Redis went away without answering makes a
second entry the writer recognises) and ``data`` (JSON, ``monitor.fleet.wire``)::

    batch: {"worker", "job", "source", "rows": [[analysed article, fetched URL], ...]}
    run:   {"worker", "job", "source", "started", "finished", "status",
            "counts": {COUNTS}, "ledger": {...}, "error_detail": [str],
            "fetches": [{url, etag, last_modified, status, fetched, changed}],
            "checks": [{url, removed, gone_checks, check_*...}],  # monitor.fleet.context
            "health": {signals} | None}

An analysed article is ``monitor.changes.analyze``'s dict (its ``signature`` bytes travel
as base64). A batch holds what one transaction of the writer stores (the crawl's batches
today: 50 articles or 1 s). The stream is never trimmed by length: an entry leaves it when
the writer has stored and acknowledged it (XACK, then XDEL), so Redis holds the backlog
only (``maxmemory-policy noeviction``: a full Redis refuses XADD, the send fails, nothing is
evicted silently).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import redis

from monitor.fleet.connect import Keys
from monitor.fleet.wire import dumps, refuse_secrets

BATCH, RUN = "batch", "run"


def ensure_group(client: redis.Redis, keys: Keys) -> None:
    """Create the stream and its consumer group (from the stream's first entry) unless
    they exist; either side may come first."""
    try:
        client.xgroup_create(keys.stream, keys.group, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


class ArticleStream:
    """The sending side of a fleet's article stream, for one ``worker``.

    ``retry_seconds``: how long a send keeps trying while Redis is unreachable (a Redis
    restart); after that the RedisError is raised and the caller counts the batch as not
    sent. ``secrets``: values never written (``wire.refuse_secrets``)."""

    def __init__(self, client: redis.Redis, keys: Keys | None = None, worker: str = "",
                 retry_seconds: float = 30.0, secrets: Iterable[str] = ()) -> None:
        self.redis = client
        self.keys = keys or Keys()
        self.worker = worker
        self.retry_seconds = retry_seconds
        self.secrets = [s for s in secrets if s]
        self._group_ready = False

    def _add(self, kind: str, payload: dict[str, Any]) -> str:
        text = dumps(payload)
        refuse_secrets(text, self.secrets)
        fields = {"kind": kind, "message": uuid.uuid4().hex, "data": text}
        deadline = time.monotonic() + self.retry_seconds
        pause = 0.05
        while True:
            try:
                if not self._group_ready:
                    ensure_group(self.redis, self.keys)
                    self._group_ready = True
                return str(self.redis.xadd(self.keys.stream, fields))
            except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                if time.monotonic() >= deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 1.0)

    def send(self, source: str, rows: Sequence[tuple[dict[str, Any], str]],
             job: str | None = None) -> str:
        """Send one batch of analysed articles of ``source`` (``[(article, fetched
        URL)]``); the entry's id. Raises ``wire.WireError`` for an article that is not
        JSON (nothing sent), ``redis.RedisError`` if Redis stays away longer than
        ``retry_seconds``."""
        return self._add(BATCH, {"worker": self.worker, "job": job, "source": source,
                                 "rows": [[article, url] for article, url in rows]})

    def send_run(self, source: str, status: str, counts: dict[str, int],
                 ledger: dict[str, Any] | None = None, started: str | None = None,
                 finished: str | None = None, error_detail: list[str] | None = None,
                 fetches: list[dict[str, Any]] | None = None, job: str | None = None,
                 checks: list[dict[str, Any]] | None = None,
                 health: dict[str, Any] | None = None) -> str:
        """Send a finished crawl run of ``source``: its status, counts (``COUNTS``),
        ledger (``crawler.ledger``), errors, the fetch log to save, the check state
        its crawl changed on stored articles (``monitor.fleet.context.checks_since``)
        and its health signals (``monitor.sources.health.collect``'s dict, which the
        daemon judges the source by; None: not judged); the entry's id. Sent after the
        run's last batch (the stream keeps their order)."""
        return self._add(RUN, {"worker": self.worker, "job": job, "source": source,
                               "status": status, "counts": counts, "ledger": ledger,
                               "started": started, "finished": finished,
                               "error_detail": error_detail or [], "fetches": fetches or [],
                               "checks": checks or [], "health": health})
