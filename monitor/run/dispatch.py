"""The daemon's side of a fleet: ``newswatch run --redis URL`` (issue 32, docs/SCALE.md).

With a Redis URL the daemon schedules crawls exactly as without one, but a due crawl
does not run here: the source is marked due (``mark_due``) and the fleet's ``tick``
(every ``TICK_SECONDS``, on the daemon's housekeeping pool) offers the due sources as one
round of jobs (``monitor.fleet.offer_round``: one job per site, its due sources
together), with the context read from the database (``monitor.fleet.job_context`` when
the worker side provides it; ``{}`` otherwise, which is still correct: storing is
idempotent, only conditional GETs are lost). Workers on any machine take the jobs.

- **Busy sites.** A site whose previous job is still queued or held cannot have another
  (one worker per site at a time): its due sources wait (``busy``: counted, one log line
  per wait, shown by ``newswatch status``) and are offered at the first tick the site is
  free. Nothing due is dropped; a source due again while it waits is one crawl.
- **The one writer.** ``monitor.fleet.Intake`` runs on a thread of its own with its own
  ``Store`` (opened on that thread), with the daemon's alert rules, so outbox rows are
  written in the articles' transaction as a local crawl writes them; the daemon's
  delivery job sends them. Its warnings (Redis lost data) are logged once each, as one
  line, and kept for ``status``.
- **Leases.** ``tick`` reaps expired leases (``JobQueue.reap``): a dead worker's job is
  re-offered within a tick of its deadline even when no worker asks for a job.
- **Redis away.** A tick that cannot reach Redis says so once (WARNING) and again once it
  is back (INFO); due sources stay due, the Intake waits for Redis by itself.
- ``newswatch check``: ``check`` marks the source due with the request and offers at
  once; the request is ``taken`` (offered as job J, or waiting for its site), ``started``
  when a worker holds the job, ``done`` when the job is finished (``failed`` with the
  reason when it was given up).

``status`` is the fleet's state for the daemon's heartbeat: ``monitor.fleet.status``
(workers, jobs, stream backlog) at the last tick, and the daemon's own figures.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import redis

from monitor.alerts import AlertConfig
from monitor.fleet import Intake, JobQueue, Keys, connect, job_context, offer_round, redacted
from monitor.fleet import status as fleet_status
from monitor.sources import ConfigError, Settings, Source, health, site_of
from monitor.store import Store, control, now

log = logging.getLogger("newswatch.daemon")

TICK_SECONDS = 1.0  # offer due sources, reap leases, follow `check` jobs, log warnings
# a source due for less than this waits for the next tick: sources of one site that come
# due together (at the daemon's start, on one schedule) go out as one job
GATHER_SECONDS = 0.3
LEASE_SECONDS = 60.0
SHOWN_IDS = 20  # queued / held / failed job ids kept in the heartbeat (with their counts)


class Dispatch:
    """A daemon's fleet on Redis ``url`` (password and TLS in the URL; never printed:
    ``where`` is the URL with ``***``), fleet ``name``, database ``db_path``.

    ``counts``: ticks, rounds (rounds offered), jobs (jobs queued), sources (sources in
    them), busy (due sources that found their site busy), dropped (sources already in
    their round), reoffered (leases reaped), redis_unreachable (ticks without Redis),
    checks (``newswatch check`` requests offered), health_judged and health_unjudged
    (runs whose source's health was judged, or not: no signals sent); a source waiting
    for its site counts ``busy`` once per wait and is offered again only once the site's
    job is gone (one HMGET a tick for all waiting sites). ``warnings``: what the Intake
    found lost, in order."""

    def __init__(self, url: str, name: str, db_path: Any, secrets: Iterable[str] = (),
                 lease_seconds: float = LEASE_SECONDS) -> None:
        self.url = url
        self.where = redacted(url)
        self.keys = Keys(name)
        self.db_path = db_path
        self.secrets = [s for s in secrets if s]
        self.lease_seconds = lease_seconds
        self.client: redis.Redis | None = None
        self.queue: JobQueue | None = None
        self.lock = threading.Lock()
        self.due: dict[str, list[int]] = {}  # source -> the check requests its offer answers
        self.due_since: dict[str, float] = {}  # source -> when it came due (monotonic)
        self.busy: dict[str, dict[str, Any]] = {}  # source -> {"site", "since"}
        self.checks: dict[str, dict[str, Any]] = {}  # job id -> {"ids", "started"}
        self.counts: Counter[str] = Counter()
        self.token = uuid.uuid4().hex[:6]  # this daemon's, in its rounds' names
        # (busy: due sources that found their site's job queued or held, once per wait)
        self.warnings: list[str] = []
        self.redis_error: str | None = None
        self.snapshot: dict[str, Any] = {}
        self.intake: Intake | None = None
        self.alerts: AlertConfig | None = None
        self.settings: Callable[[], Settings] | None = None
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.intake_error: str | None = None  # why the writer last stopped
        self.intake_error_stored = 0  # entries it had stored then

    # -- start, stop ---------------------------------------------------------------------
    def connect(self) -> None:
        """Connect and check Redis (7 or newer). Raises ``monitor.fleet.RedisUnavailable``
        (one line, no password)."""
        self.client = connect(self.url)
        self.queue = JobQueue(self.client, self.keys, lease_seconds=self.lease_seconds,
                              secrets=self.secrets)

    def start(self, alerts: AlertConfig | None, settings: Callable[[], Settings]) -> None:
        """Start the Intake's thread (the one writer) with the alert rules ``alerts``;
        ``settings()``: the config in use (the sources whose health a run judges)."""
        self.alerts = alerts
        self.settings = settings
        self.thread = threading.Thread(target=self._intake_loop, name="fleet-intake",
                                       daemon=True)
        self.thread.start()

    def set_alerts(self, alerts: AlertConfig | None) -> None:
        """New alert rules (a reload of the alerts file) for the articles stored next."""
        self.alerts = alerts
        if self.intake is not None:
            self.intake.ingestor.alerts = alerts or AlertConfig()

    def set_secrets(self, secrets: Iterable[str]) -> None:
        """The values no job may hold (the alert channels' secrets, after a reload)."""
        self.secrets = [s for s in secrets if s]
        if self.queue is not None:
            self.queue.secrets = list(self.secrets)

    def close(self, timeout: float = 30.0) -> None:
        """Stop the Intake (it finishes the entry it is storing) and wait for it."""
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout)

    def _intake_loop(self) -> None:
        assert self.client is not None
        store: Store | None = None
        while not self.stop.is_set():
            try:
                if store is None:
                    store = Store(self.db_path)  # on this thread: sqlite3's rule
                    self.intake = Intake(self.client, store, self.keys, alerts=self.alerts,
                                         after_run=self._health)
                self.intake.run(self.stop)  # type: ignore[union-attr]
            except sqlite3.Error as exc:  # the database's trouble: the entry stays pending
                self._intake_trouble(f"the database refused an entry ({exc}); the entry "
                                     "stays in Redis, read again in 5 s")
            except Exception as exc:  # noqa: BLE001 - the writer must outlive it
                self._intake_trouble(f"{type(exc).__name__}: {exc}".splitlines()[0],
                                     trace=True)
        if store is not None:
            store.close()

    def _health(self, run: dict[str, Any], run_id: int) -> None:
        """Judge the source of a run a worker sent (``monitor.sources.health.after_run``,
        as a local crawl does; a ``health`` alert queued when its state turns), from the
        run's ``health`` signals. A run without them, or of a source the config no longer
        has, is not judged (counted ``health_unjudged``)."""
        assert self.intake is not None and self.settings is not None
        signals = run.get("health")
        try:
            source = self.settings().source(str(run.get("source")))
        except ConfigError:
            source = None
        if not isinstance(signals, dict) or source is None:
            self.counts["health_unjudged"] += 1
            return
        health.after_run(self.intake.store.db, run_id, source, signals, str(run["status"]),
                         self.alerts, at=run.get("finished"))
        self.counts["health_judged"] += 1

    def _intake_trouble(self, why: str, trace: bool = False) -> None:
        """Say why the writer stopped (once per reason; the traceback of an unexpected
        error with it), wait 5 s; ``status`` shows it until the writer stores again."""
        if why != self.intake_error:
            log.error("fleet intake: %s", why, exc_info=trace)
        self.intake_error = why
        self.intake_error_stored = self.intake.counts["stored"] if self.intake else 0
        self.stop.wait(5)

    # -- what is due ---------------------------------------------------------------------
    def mark_due(self, name: str, ids: Iterable[int] = ()) -> None:
        """``name`` is due (its schedule, or the requests ``ids`` of ``newswatch
        check``): offered at the next tick, with the other due sources."""
        with self.lock:
            self.due.setdefault(name, []).extend(ids)
            self.due_since.setdefault(name, time.monotonic())

    def check(self, name: str, request: int, settings: Settings,
              answer: Callable[[list[int], str, str], None]) -> tuple[str, str]:
        """A ``newswatch check`` of ``name`` (request id ``request``): offered now;
        (state, note) for the request."""
        self.mark_due(name, [request])
        self.counts["checks"] += 1
        try:
            offered = self.offer_due(settings, answer, only={name})
        except redis.RedisError as exc:  # it stays due: offered when Redis answers
            self._redis_lost(exc)
            offered = {}
        job = offered.get(name)
        if job:
            return control.TAKEN, f"offered to the fleet as job {job}"
        busy = self.busy.get(name)
        if busy:
            return control.TAKEN, (f"queued: its site {busy['site']} has a job queued or "
                                   "held; offered to the fleet when it ends")
        return control.TAKEN, (f"queued: offered to the fleet when Redis answers "
                               f"({self.redis_error or 'not reached'})")

    # -- the tick ------------------------------------------------------------------------
    def tick(self, settings: Settings, answer: Callable[[list[int], str, str], None]) -> None:
        """Offer what is due, reap expired leases, follow the jobs of ``check`` requests
        (``answer(ids, state, note)`` writes their state), log the Intake's new
        warnings, take the fleet's status. Redis errors are said once and retried."""
        self.counts["ticks"] += 1
        self._log_warnings()
        try:
            assert self.queue is not None and self.client is not None
            self.offer_due(settings, answer)
            reaped = self.queue.reap()
            if reaped:
                self.counts["reoffered"] += len(reaped)
                log.warning("fleet: %d job(s) whose worker stopped renewing its lease "
                            "re-offered: %s", len(reaped), ", ".join(reaped))
            taken = time.monotonic()
            snapshot = fleet_status(self.client, self.keys)
            self._follow_checks(snapshot, taken, answer)
            self.snapshot = _shorten(snapshot)
        except redis.RedisError as exc:
            self._redis_lost(exc)
        else:
            if self.redis_error is not None:
                log.info("fleet: Redis %s answers again", self.where)
                self.redis_error = None

    def _redis_lost(self, exc: Exception) -> None:
        self.counts["redis_unreachable"] += 1
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if self.redis_error is None:
            log.warning("fleet: Redis %s unreachable (%s); due sources wait, retrying every "
                        "%g s", self.where, why, TICK_SECONDS)
        self.redis_error = why

    def offer_due(self, settings: Settings, answer: Callable[[list[int], str, str], None],
                  only: set[str] | None = None) -> dict[str, str]:
        """Offer the due sources (``only``: those among them) as one round; source ->
        the job it went in. Sources of a busy site stay due (counted ``busy``, logged once
        per wait). Raises redis.RedisError (nothing is lost: they stay due)."""
        assert self.queue is not None
        with self.lock:
            ripe = time.monotonic() - GATHER_SECONDS
            names = [n for n in self.due if n in only] if only is not None else [
                n for n in self.due if self.due_since.get(n, 0) <= ripe]
            waiting = {self.busy[n]["site"] for n in names if n in self.busy}
            if waiting:  # one HMGET, not an offer per waiting site and tick
                sites = sorted(waiting)
                held = dict(zip(sites, self.client.hmget(self.keys.sites, sites),  # type: ignore[union-attr]
                                strict=True))
                names = [n for n in names if n not in self.busy
                         or held.get(self.busy[n]["site"]) is None]
            if not names:
                return {}
            known = {s.name: s for s in settings.sources}
            gone = [n for n in names if n not in known]
            for name in gone:  # removed from the config (a reload) while due
                ids = self.due.pop(name)
                self.due_since.pop(name, None)
                self.busy.pop(name, None)
                answer(ids, control.FAILED, f"{name} left the config before it was offered")
            sources: list[Source] = [known[n] for n in names if n in known]
            if not sources:
                return {}
            context = self._context(sources)
            # unique across daemons (a restart within the second must not find its
            # sources "already offered" in the previous daemon's round)
            round_name = f"{now()}#{self.token}.{self.counts['rounds'] + 1}"
            common = {"contact": settings.contact, "timezone": settings.timezone}
            found = offer_round(self.queue, sources, round_name, context,
                                {k: v for k, v in common.items() if v})
            self.counts["rounds"] += 1
            queued = {job.split("/", 1)[1]: job for job in found["queued"]}
            busy_sites = set(found["busy"])
            offered: dict[str, str] = {}
            for source in sources:
                site = site_of(source)
                if site in busy_sites:
                    wait = self.busy.get(source.name)
                    if wait is None:
                        self.counts["busy"] += 1
                        self.busy[source.name] = {"site": site, "since": now()}
                        log.info("fleet: %s due, but its site %s has a job queued or held; "
                                 "offered when it ends", source.name, site)
                    continue
                ids = self.due.pop(source.name)
                self.due_since.pop(source.name, None)
                waited = self.busy.pop(source.name, None)
                if source.name in found["dropped"]:  # already in this round: not again
                    self.counts["dropped"] += 1
                    log.warning("fleet: %s was already offered in round %s; not again",
                                source.name, round_name)
                    answer(ids, control.DONE, f"already offered in round {round_name}")
                    continue
                job = queued.get(site)
                if job is None:  # (cannot happen: a site is queued, busy or deduped)
                    log.error("fleet: %s not offered (%s)", source.name, found)
                    answer(ids, control.FAILED, "not offered to the fleet (see the log)")
                    continue
                offered[source.name] = job
                self.counts["sources"] += 1
                if waited:
                    log.info("fleet: %s offered; it waited for its site since %s",
                             source.name, waited["since"])
                if ids:  # (taken already: take_requests); followed to their end
                    follow = self.checks.setdefault(job, {"ids": [], "started": False})
                    follow["ids"] += ids
                    follow["offered"] = time.monotonic()
            self.counts["jobs"] += len(found["queued"])
            if found["queued"]:
                log.info("fleet: round %s offered %d job(s) (%d source(s))%s", round_name,
                         len(found["queued"]), len(offered),
                         f"; {len(busy_sites)} site(s) busy" if busy_sites else "")
            return offered

    def _context(self, sources: list[Source]) -> dict[str, dict[str, Any]]:
        """What the jobs' crawls read from the database (``monitor.fleet.job_context``);
        ``{}`` when the database cannot be read now (one line: storing is idempotent, only
        conditional GETs are lost)."""
        try:
            store = Store(self.db_path)
            try:
                return dict(job_context(store, sources))
            finally:
                store.close()
        except sqlite3.Error as exc:
            log.warning("fleet: no job context this round (the database: %s)", exc)
            return {}

    def _follow_checks(self, snapshot: dict[str, Any], taken: float,
                       answer: Callable[[list[int], str, str], None]) -> None:
        """``check`` requests: ``started`` once a worker holds their job, ``done`` once
        it left the queue, ``failed`` when it was given up."""
        jobs = snapshot["jobs"]
        with self.lock:
            follows = list(self.checks.items())
        for job, follow in follows:
            if follow["offered"] >= taken:  # offered after this snapshot: next tick
                continue
            holder = jobs["held"].get(job)
            if holder is not None:
                if not follow["started"]:
                    follow["started"] = True
                    answer(follow["ids"], control.STARTED,
                           f"job {job} taken by worker {holder.get('worker')}")
            elif job in jobs["failed"]:
                with self.lock:
                    self.checks.pop(job, None)
                answer(follow["ids"], control.FAILED,
                       f"job {job} given up: {jobs['failed'][job].get('reason')}")
            elif job not in jobs["queued"]:
                with self.lock:
                    self.checks.pop(job, None)
                answer(follow["ids"], control.DONE,
                       f"job {job} crawled by the fleet (its runs are stored as they arrive)")

    def _log_warnings(self) -> None:
        intake = self.intake
        if intake is None:
            return
        for warning in intake.warnings[len(self.warnings):]:
            self.warnings.append(warning)
            log.warning("fleet intake: %s", warning)

    # -- status --------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """The fleet for the daemon's heartbeat (``newswatch status``): ``redis`` (the URL
        without its password), ``name``, ``redis_error`` (why the last tick could not
        reach it, or None), ``busy`` (sources waiting for their site), ``due``,
        ``counts``, ``intake`` (the writer's counts), ``intake_error``, ``warnings``
        (what Redis lost), and ``workers``, ``jobs``, ``stream``, ``counters`` from
        ``monitor.fleet.status`` at the last tick (``jobs``: ``queued``, ``held``,
        ``failed`` counts with up to ``SHOWN_IDS`` ids each)."""
        intake = self.intake
        if self.intake_error and intake and intake.counts["stored"] > self.intake_error_stored:
            self.intake_error = None  # it stores again
        with self.lock:
            busy = {k: dict(v) for k, v in sorted(self.busy.items())}
            due = sorted(self.due)
        return {"redis": self.where, "name": self.keys.name, "redis_error": self.redis_error,
                "busy": busy, "due": due, "counts": dict(self.counts),
                "intake": dict(intake.counts) if intake else {},
                "intake_error": self.intake_error, "warnings": list(self.warnings),
                "updated": now(), **self.snapshot}

    def stored_changes(self) -> int:
        """Articles the Intake stored as new or updated so far (alerts to deliver)."""
        intake = self.intake
        return int(intake.counts["new"] + intake.counts["updated"]) if intake else 0


def _shorten(snapshot: dict[str, Any]) -> dict[str, Any]:
    """``monitor.fleet.status`` for a heartbeat row: job lists cut to ``SHOWN_IDS`` with
    their counts, failed jobs without their settings."""
    jobs = snapshot["jobs"]
    queued = list(jobs["queued"])
    held = {job: {k: v for k, v in info.items() if k != "token"}
            for job, info in list(jobs["held"].items())[:SHOWN_IDS]}
    failed = {job: {"reason": info.get("reason"), "attempts": info.get("attempts")}
              for job, info in list(jobs["failed"].items())[:SHOWN_IDS]}
    workers = {name: info for name, info in snapshot["workers"].items()}
    return {"workers": workers, "stream": snapshot["stream"], "counters": snapshot["counters"],
            "jobs": {"queued": len(queued), "held": len(jobs["held"]),
                     "failed": len(jobs["failed"]), "queued_ids": queued[:SHOWN_IDS],
                     "held_ids": held, "failed_ids": failed},
            "at": time.time()}
