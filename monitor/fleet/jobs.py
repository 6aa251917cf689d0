"""The leased job queue: which worker crawls which site now.

A job is the crawl of one site's sources in one round (``site_jobs``): sources on one
site share one politeness budget (``monitor.sources.site_of``), so one worker crawls them
together and per-site politeness holds across machines (docs/SCALE.md says why there is
no shared per-URL frontier). A job is a plain JSON-able dict::

    {"id": "<round>/<site>", "round": str, "site": str,
     "sources": [Source settings, ...], "context": {...}}

``context`` is what the crawl needs from the database (fetch log, settled URLs, re-check
schedule), filled in by the daemon: workers never open the SQLite file.

The queue's life cycle, each step one Lua script (atomic in Redis; times are the Redis
server's clock, so the machines' clocks do not matter):

- ``offer(job)``: queued, unless the site already has a job queued or held (``busy``: at
  most one job per site, hence at most one worker on a site) or a source of it was
  already offered in this round (per-round dedupe: those sources are dropped from the job
  and counted; a job left with none is ``duplicate``).
- ``take(worker)``: the oldest queued job, with a lease of ``lease_seconds``; a
  :class:`Lease` (its token proves who holds it).
- ``renew(lease)``: the lease's deadline moved on; ``LeaseLost`` once the job was
  re-offered (``Lease.keep_alive`` renews on a thread while the crawl runs).
- ``finish(lease)``: done, forgotten; the site free for its next job.
- ``reap()`` (any party; ``take`` runs it first): every lease past its deadline is taken
  away and its job re-offered at the head of the queue; after ``max_attempts`` takes the
  job is moved to the failed jobs with its reason (``failed()``), not re-offered forever.
- ``release(lease)``: given back unfinished (a worker that stops), re-offered at once.

Counters (``counters()``): offered, duplicate, busy, taken, renewed, finished, released,
reoffered, failed, lost (a renew or finish with a lease no longer held).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import redis

from monitor.fleet.connect import Keys
from monitor.fleet.wire import WireError, dumps, loads, refuse_secrets, source_settings
from monitor.sources import Source, site_of

ROUND_TTL_SECONDS = 7 * 24 * 3600  # a round's dedupe set is forgotten after a week

_REAP = """
local function reap(k_leases, k_holders, k_jobs, k_sites, k_job_sites, k_attempts,
                     k_failed, k_counters, k_ready, now, max_attempts)
  local expired = redis.call('ZRANGEBYSCORE', k_leases, '-inf', now, 'LIMIT', 0, 100)
  for _, id in ipairs(expired) do
    local holder = redis.call('HGET', k_holders, id)
    redis.call('ZREM', k_leases, id)
    redis.call('HDEL', k_holders, id)
    local job = redis.call('HGET', k_jobs, id)
    if job then
      local attempts = tonumber(redis.call('HGET', k_attempts, id) or '0')
      if attempts >= max_attempts then
        local site = redis.call('HGET', k_job_sites, id)
        redis.call('HSET', k_failed, id, cjson.encode({job = job, holder = holder,
          attempts = attempts, reason = 'lease expired ' .. attempts .. ' times'}))
        redis.call('HDEL', k_jobs, id)
        redis.call('HDEL', k_job_sites, id)
        redis.call('HDEL', k_attempts, id)
        if site then redis.call('HDEL', k_sites, site) end
        redis.call('HINCRBY', k_counters, 'failed', 1)
      else
        redis.call('LPUSH', k_ready, id)
        redis.call('HINCRBY', k_counters, 'reoffered', 1)
      end
    end
  end
  return expired
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""

# KEYS: leases holders jobs sites job_sites attempts failed counters ready
# ARGV: max_attempts
_REAP_SCRIPT = _REAP + """
return reap(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8],
            KEYS[9], now_ms(), tonumber(ARGV[1]))
"""

# KEYS: jobs sites job_sites ready round counters
# ARGV: id site job_json round_ttl n_sources source...
_OFFER_SCRIPT = """
local held = redis.call('HGET', KEYS[2], ARGV[2])
if held then
  redis.call('HINCRBY', KEYS[6], 'busy', 1)
  return {'busy', held}
end
local n = tonumber(ARGV[5])
local dup = {'duplicate'}
for i = 1, n do
  if redis.call('SISMEMBER', KEYS[5], ARGV[5 + i]) == 1 then dup[#dup + 1] = ARGV[5 + i] end
end
if #dup > 1 then return dup end
for i = 1, n do redis.call('SADD', KEYS[5], ARGV[5 + i]) end
redis.call('EXPIRE', KEYS[5], tonumber(ARGV[4]))
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('RPUSH', KEYS[4], ARGV[1])
redis.call('HINCRBY', KEYS[6], 'offered', 1)
return {'queued', ARGV[1]}
"""

# KEYS: leases holders jobs sites job_sites attempts failed counters ready
# ARGV: worker token lease_ms max_attempts
_TAKE_SCRIPT = _REAP + """
local now = now_ms()
reap(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9],
     now, tonumber(ARGV[4]))
while true do
  local id = redis.call('LPOP', KEYS[9])
  if not id then return false end
  local job = redis.call('HGET', KEYS[3], id)
  if job and not redis.call('HGET', KEYS[2], id) then
    local attempt = redis.call('HINCRBY', KEYS[6], id, 1)
    local deadline = now + tonumber(ARGV[3])
    redis.call('HSET', KEYS[2], id, cjson.encode({worker = ARGV[1], token = ARGV[2],
      taken = now, attempt = attempt}))
    redis.call('ZADD', KEYS[1], deadline, id)
    redis.call('HINCRBY', KEYS[8], 'taken', 1)
    return {id, job, deadline, attempt}
  end
end
"""

# KEYS: leases holders counters   ARGV: id token lease_ms
_RENEW_SCRIPT = """
local holder = redis.call('HGET', KEYS[2], ARGV[1])
if not holder or cjson.decode(holder).token ~= ARGV[2] then
  redis.call('HINCRBY', KEYS[3], 'lost', 1)
  return false
end
local t = redis.call('TIME')
local deadline = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], deadline, ARGV[1])
redis.call('HINCRBY', KEYS[3], 'renewed', 1)
return deadline
"""

# KEYS: leases holders jobs sites job_sites attempts counters ready
# ARGV: id token release(0/1)
_FINISH_SCRIPT = """
local holder = redis.call('HGET', KEYS[2], ARGV[1])
if not holder or cjson.decode(holder).token ~= ARGV[2] then
  redis.call('HINCRBY', KEYS[7], 'lost', 1)
  return 0
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if ARGV[3] == '1' then
  redis.call('LPUSH', KEYS[8], ARGV[1])
  redis.call('HINCRBY', KEYS[7], 'released', 1)
  return 1
end
local site = redis.call('HGET', KEYS[5], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[5], ARGV[1])
redis.call('HDEL', KEYS[6], ARGV[1])
if site and redis.call('HGET', KEYS[4], site) == ARGV[1] then redis.call('HDEL', KEYS[4], site) end
redis.call('HINCRBY', KEYS[7], 'finished', 1)
return 1
"""


class LeaseLost(Exception):
    """The lease is no longer held: it expired and its job was re-offered (or finished
    by its new holder). The crawl's results may still be sent: storing is idempotent."""


@dataclass(frozen=True)
class Offered:
    """What ``offer`` did: ``status`` is ``queued``, ``busy`` (the site's job ``held_by``
    is still queued or held) or ``duplicate`` (every source already offered this round);
    ``dropped`` the sources left out as already offered in this round."""

    status: str
    job_id: str | None
    dropped: tuple[str, ...] = ()
    held_by: str | None = None


@dataclass
class Lease:
    """A job held by ``worker`` until ``deadline`` (Redis time, ms since the epoch),
    proven by ``token``; ``attempt`` counts the takes of this job (1 the first time)."""

    queue: JobQueue
    job: dict[str, Any]
    worker: str
    token: str
    deadline: int
    attempt: int
    lost: threading.Event = field(default_factory=threading.Event)

    @property
    def job_id(self) -> str:
        return str(self.job["id"])

    def renew(self) -> int:
        """Move the deadline on (``JobQueue.renew``)."""
        return self.queue.renew(self)

    @contextmanager
    def keep_alive(self, every: float | None = None) -> Iterator[Lease]:
        """Renew the lease on a thread every ``every`` seconds (default: a third of the
        queue's lease) while the block runs. If it is lost, ``lost`` is set and renewing
        stops (the crawl may stop early; what it sent is still stored once). A renew
        that fails on a Redis error is tried again at the next tick: the lease holds
        until its deadline."""
        interval = every if every is not None else self.queue.lease_seconds / 3
        done = threading.Event()

        def renew_loop() -> None:
            while not done.wait(interval):
                try:
                    self.renew()
                except LeaseLost:
                    self.lost.set()
                    return
                except redis.RedisError:
                    continue

        thread = threading.Thread(target=renew_loop, name=f"lease {self.job_id}", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            done.set()
            thread.join()


def site_jobs(sources: Iterable[Source], round_name: str,
              context: dict[str, dict[str, Any]] | None = None,
              common: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """One job per site (``site_of``) for a round: its sources' settings (in the given
    order) and, per source name, the ``context`` the daemon read for it; ``common``: keys
    every job carries (the config's ``contact`` for the User-Agent, its ``timezone``).
    Plain dicts, ready for ``JobQueue.offer``."""
    by_site: dict[str, list[Source]] = {}
    for source in sources:
        by_site.setdefault(site_of(source), []).append(source)
    context = context or {}
    return [{**(common or {}), "id": f"{round_name}/{site}", "round": round_name,
             "site": site, "sources": [source_settings(s) for s in group],
             "context": {s.name: context[s.name] for s in group if s.name in context}}
            for site, group in by_site.items()]


def offer_round(queue: JobQueue, sources: Iterable[Source], round_name: str,
                context: dict[str, dict[str, Any]] | None = None,
                common: dict[str, Any] | None = None) -> dict[str, list[str]]:
    """Offer one round's jobs (``site_jobs``) and say what became of each, for the
    daemon's log and ``status``: ``{"queued": [job ids], "busy": [sites whose previous
    job is still queued or held], "dropped": [sources already offered this round]}``."""
    found: dict[str, list[str]] = {"queued": [], "busy": [], "dropped": []}
    for job in site_jobs(sources, round_name, context, common):
        offered = queue.offer(job)
        found["dropped"] += offered.dropped
        if offered.status == "queued":
            found["queued"].append(str(offered.job_id))
        elif offered.status == "busy":
            found["busy"].append(job["site"])
    return found


class JobQueue:
    """The leased job queue of one fleet (``keys``) on ``client`` (``connect``).

    ``lease_seconds``: how long a job stays held without a renew (a worker killed with
    ``kill -9`` has its job re-offered that long after its last renew). ``max_attempts``:
    takes before a job whose leases keep expiring is moved to the failed jobs.
    ``secrets``: values that must never be written (``wire.refuse_secrets``)."""

    def __init__(self, client: redis.Redis, keys: Keys | None = None,
                 lease_seconds: float = 60.0, max_attempts: int = 3,
                 secrets: Iterable[str] = ()) -> None:
        self.redis = client
        self.keys = keys or Keys()
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.secrets = [s for s in secrets if s]
        self._offer = client.register_script(_OFFER_SCRIPT)
        self._take = client.register_script(_TAKE_SCRIPT)
        self._renew = client.register_script(_RENEW_SCRIPT)
        self._finish = client.register_script(_FINISH_SCRIPT)
        self._reap = client.register_script(_REAP_SCRIPT)

    def _lease_keys(self) -> list[str]:
        k = self.keys
        return [k.leases, k.holders, k.jobs, k.sites, k.job_sites, k.attempts, k.failed,
                k.counters, k.ready]

    def offer(self, job: dict[str, Any]) -> Offered:
        """Queue ``job`` (``{"id", "round", "site", "sources": [{"name", ...}], ...}``).
        Sources already offered in the job's round are dropped from it (``dropped``);
        a site with a job queued or held is ``busy``. Raises :class:`WireError` for a job
        that is not JSON or holds a secret, ValueError for one without id, round, site or
        sources."""
        missing = [k for k in ("id", "round", "site", "sources") if not job.get(k)]
        if missing:
            raise ValueError(f"a job needs {', '.join(missing)}")
        dropped: list[str] = []
        while True:
            names = [str(s["name"]) for s in job["sources"]]
            text = dumps(job)
            refuse_secrets(text, self.secrets)
            k = self.keys
            answer = self._offer(
                keys=[k.jobs, k.sites, k.job_sites, k.ready, k.round(job["round"]),
                      k.counters],
                args=[job["id"], job["site"], text, ROUND_TTL_SECONDS, len(names), *names])
            status, rest = answer[0], answer[1:]
            if status == "queued":
                return Offered("queued", job["id"], tuple(dropped))
            if status == "busy":
                return Offered("busy", None, tuple(dropped), held_by=rest[0])
            dropped += rest
            self.redis.hincrby(k.counters, "duplicate", len(rest))
            job = {**job, "sources": [s for s in job["sources"] if s["name"] not in rest]}
            if not job["sources"]:
                return Offered("duplicate", None, tuple(dropped))

    def take(self, worker: str) -> Lease | None:
        """The oldest queued job, leased to ``worker`` (expired leases are re-offered
        first); None when nothing is queued."""
        token = uuid.uuid4().hex
        answer = self._take(keys=self._lease_keys(),
                            args=[worker, token, int(self.lease_seconds * 1000),
                                  self.max_attempts])
        if not answer:
            return None
        _, job, deadline, attempt = answer
        return Lease(self, loads(job), worker, token, int(deadline), int(attempt))

    def renew(self, lease: Lease) -> int:
        """Extend ``lease`` by ``lease_seconds`` from now; its new deadline. Raises
        :class:`LeaseLost` when the job was re-offered meanwhile."""
        deadline = self._renew(keys=[self.keys.leases, self.keys.holders, self.keys.counters],
                               args=[lease.job_id, lease.token,
                                     int(self.lease_seconds * 1000)])
        if not deadline:
            lease.lost.set()
            raise LeaseLost(f"job {lease.job_id}: lease lost (re-offered)")
        lease.deadline = int(deadline)
        return lease.deadline

    def _end(self, lease: Lease, release: bool) -> None:
        k = self.keys
        done = self._finish(keys=[k.leases, k.holders, k.jobs, k.sites, k.job_sites,
                                  k.attempts, k.counters, k.ready],
                            args=[lease.job_id, lease.token, "1" if release else "0"])
        if not done:
            lease.lost.set()
            raise LeaseLost(f"job {lease.job_id}: lease lost (re-offered)")

    def finish(self, lease: Lease) -> None:
        """The job is done: forget it, free its site. Raises :class:`LeaseLost` if it
        was re-offered meanwhile (its new holder finishes it)."""
        self._end(lease, release=False)

    def release(self, lease: Lease) -> None:
        """Give the job back unfinished: re-offered at the head of the queue now."""
        self._end(lease, release=True)

    def reap(self) -> list[str]:
        """Re-offer every job whose lease is past its deadline (any party may run this;
        ``take`` does first); the ids of the leases taken away."""
        return list(self._reap(keys=self._lease_keys(), args=[self.max_attempts]))

    def holders(self) -> dict[str, dict[str, Any]]:
        """Held jobs: id -> ``{"worker", "token", "taken", "attempt", "deadline"}``."""
        k = self.keys
        held = {job_id: json.loads(value) for job_id, value in
                self.redis.hgetall(k.holders).items()}
        for job_id, deadline in self.redis.zrange(k.leases, 0, -1, withscores=True):
            if job_id in held:
                held[job_id]["deadline"] = int(deadline)
        return held

    def queued(self) -> list[str]:
        """Ids of the jobs waiting for a worker, next first."""
        return list(self.redis.lrange(self.keys.ready, 0, -1))

    def failed(self) -> dict[str, dict[str, Any]]:
        """Jobs given up: id -> ``{"job", "holder", "attempts", "reason"}``."""
        out = {}
        for job_id, value in self.redis.hgetall(self.keys.failed).items():
            record = json.loads(value)
            try:
                record["job"] = loads(record["job"])
            except WireError:
                pass
            out[job_id] = record
        return out

    def counters(self) -> dict[str, int]:
        """The queue's counters (see the module's docstring)."""
        return {name: int(value) for name, value in
                self.redis.hgetall(self.keys.counters).items()}
