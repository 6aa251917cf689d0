"""The daemon: scheduled crawls per source, alert delivery, pruning, a heartbeat.

APScheduler 3 (BackgroundScheduler) runs one job per source at its interval with jitter,
or at its ``cron:`` (crontab's fields and weekday numbers, in the sources file's
``timezone``, default Asia/Ho_Chi_Minh: ``monitor.sources.cron``); missed runs are
coalesced into one and a source never has two crawls at once. Each crawl runs in a child
process (``monitor.run.crawl``) with a time limit: a crawl
that hangs is killed, with its extraction workers, and its run recorded as aborted.
Other jobs deliver alerts, prune the fetch log, and beat the heart that ``newswatch
status`` reads. SIGTERM and SIGINT stop it cleanly: no new crawl starts, running crawls
store what they extracted and stop within seconds (their runs marked ``interrupted``; a
second signal kills them at once), and the process exits 0.

The sources file is reloaded on SIGHUP and when it changes on disk (the ``config`` job
looks every few seconds): jobs are added, removed or rescheduled to match. A file that
does not load is reported once (log and heartbeat) and the last good config stays.

One daemon per database: ``start`` takes ``<db>.daemon-lock`` (``monitor.store.owners``), which
the kernel frees when the daemon ends, however it ends; a second daemon on the same
database gets ``DaemonRunning``.

Commands ask it for a crawl now (``newswatch check SOURCE``, ``monitor.run.control``)
through the ``control_requests`` table (``monitor.store.control``): it reads the table
when SIGUSR2 comes and every ``CONTROL_SECONDS`` (the ``control`` job), and answers in
the rows (``take_requests``). A source asked for while it is crawling gets another crawl
right after the running one; asked for while a crawl of it waits for its turn, that
crawl answers it.
"""

from __future__ import annotations

import faulthandler
import json
import logging
import os
import signal
import sqlite3
import threading
from collections import ChainMap, Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.executors.base import run_job
from apscheduler.executors.pool import BasePoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crawler import ledger
from monitor.alerts import ALERTS_FILE, AlertConfig, load_alert_config, withhold_secrets
from monitor.fleet import DEFAULT_FLEET
from monitor.processes import Interrupt, Wakeup
from monitor.run.crawl import CrawlError, crawl
from monitor.run.dispatch import TICK_SECONDS, Dispatch
from monitor.run.service import CrawlService
from monitor.sources import (
    DEFAULT_CONFIG,
    ConfigError,
    Settings,
    Source,
    crontab_trigger,
    load_settings,
    seconds,
    with_recheck,
)
from monitor.store import (
    DaemonLock,
    DatabaseFileError,
    DatabaseUnavailable,
    Store,
    control,
    now,
    paused_sources,
)

log = logging.getLogger("newswatch.daemon")

HEARTBEAT_SECONDS = 5
CONFIG_CHECK_SECONDS = 5
DELIVERY_SECONDS = 15
# a crawl that stored new articles runs a delivery pass at once, when the delivery
# interval is at most this (a longer one is a choice to batch: it is kept)
DELIVER_SOON_SECONDS = 60
PRUNE_HOURS = 6
FETCH_LOG_DAYS = 30
CONTROL_SECONDS = 1.0  # the control job: pending requests read at least this often
CONTROL_SIGNAL = signal.SIGUSR2  # "read the control requests now" (monitor.run.control)


class Daemon:
    """newswatch's long-running process (``newswatch run``)."""

    def __init__(self, config: str | Path = DEFAULT_CONFIG, db_path: str | Path = "newswatch.db",
                 alerts: str | Path | None = ALERTS_FILE,
                 variables: Mapping[str, str] | None = None,
                 deliver: Callable[[], Any] | None = None,
                 deliver_every: float = DELIVERY_SECONDS,
                 claim_timeout: float = 300.0,
                 config_check_every: float = CONFIG_CHECK_SECONDS,
                 keep_secrets: bool = False,
                 recheck: Mapping[str, Any] | None = None,
                 service_options: Mapping[str, Any] | None = None,
                 redis_url: str | None = None, fleet: str | None = None) -> None:
        self.config = Path(config)
        # the re-check schedule's settings over every source's (`newswatch run --recheck-*`),
        # applied to each config loaded (monitor.sources.with_recheck)
        self.recheck = {k: v for k, v in (recheck or {}).items() if v is not None}
        self.db_path = Path(db_path).resolve()
        self.lock = DaemonLock(self.db_path)  # one daemon per database (start .. stop)
        self.alerts = alerts
        self.variables = dict(variables or {})
        self.config_stamp = _stamp(self.config)
        self.settings: Settings = self._load()
        # the alerts file, like the sources file: checked at the start (a broken one stops
        # it), then the last good one stays in use when a changed file does not load
        self.alerts_stamp = _stamp(Path(alerts)) if alerts else None
        self.alert_config: AlertConfig | None = load_alert_config(alerts) if alerts else None
        self.alerts_error: str | None = None
        # keep_secrets (`newswatch run`): the alert channels' variables leave the
        # environment and are held here; the crawl processes start without them, the
        # deliveries (in this process) read them first (docs/SECURITY.md)
        self.keep_secrets = keep_secrets
        self.secrets: dict[str, str] = (withhold_secrets(self.alert_config) if keep_secrets
                                        else {})
        self.config_loaded = now()
        self.config_error: str | None = None  # why the file on disk is not in use
        self.config_check_every = config_check_every
        self.reload_lock = threading.Lock()
        self.beat_lock = threading.Lock()
        self.site_locks: dict[str, threading.Lock] = {}  # site -> its crawl lock
        self.site_locks_lock = threading.Lock()
        self.reload_requested = False  # SIGHUP
        self.stop_requested = False  # SIGTERM / SIGINT
        self.wake = Wakeup()  # the main thread: stop or reload (given by signal handlers)
        self.deliver = deliver or self._deliver_alerts
        self.deliver_every = deliver_every
        self.delivering = False  # a delivery pass runs (deliver_job)
        self.deliver_again = False  # asked for one while it ran: one more pass
        self.claim_timeout = timedelta(seconds=claim_timeout)
        self.stop_event = threading.Event()
        # at most max_parallel_crawls crawl process trees at once (a reload sets a new one)
        self.crawl_slots = threading.BoundedSemaphore(self.settings.max_parallel_crawls)
        self.waiting: set[str] = set()  # sources whose due crawl waits for a slot
        # the control channel (newswatch check): requests taken, the crawls they wait for
        self.control_lock = threading.Lock()
        self.control_signal: str | None = None  # set by run_forever once its handler is in
        self.control_requested = False  # SIGUSR2
        self.next_checks: dict[str, list[int]] = {}  # source -> requests its next crawl answers
        self.queued: dict[str, int] = {}  # source -> its crawls not started yet (waiting)
        self.running: dict[str, str] = {}  # source -> when its running crawl started
        # source -> {"paused": crawls skipped since it was paused, "last": when, "since":
        # the pause's time}: the heartbeat's "skipped" (sources --status, the watch list)
        self.skipped: dict[str, dict[str, Any]] = {}
        # the running crawls' stop request: once = stop in order, twice = kill them now
        self.interrupt = Interrupt()
        # the warm crawl service (``crawl_service: warm``), started at the first crawl;
        # service_options: CrawlService's recycle_jobs, recycle_rss, scrapy_settings
        self.service: CrawlService | None = None
        self.service_lock = threading.Lock()
        self.service_options = dict(service_options or {})
        # with a Redis URL (`newswatch run --redis`), due crawls become jobs of the fleet
        # (monitor.run.dispatch): workers crawl, this daemon is the one writer
        self.fleet: Dispatch | None = None
        if redis_url:
            self.fleet = Dispatch(redis_url, fleet or DEFAULT_FLEET, self.db_path,
                                  secrets=self.secrets.values())
        self.fleet_changes = 0  # the fleet's new + updated articles at the last tick
        # crawls on their own pool, so housekeeping (heartbeat, config, delivery) never
        # waits for a crawl; its threads are bounded (crawl_threads): a due crawl beyond
        # them waits in the pool's queue (``pending``), not in a thread of its own
        self.pools = [_Pool(crawl_threads(self.settings.max_parallel_crawls)), _Pool(4)]
        self.scheduler = BackgroundScheduler(
            executors={"default": self.pools[0], "house": self.pools[1]},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )

    def _load(self) -> Settings:
        """The sources file, with the daemon's re-check settings over it."""
        return with_recheck(load_settings(self.config, self.variables), self.recheck)

    # -- jobs --------------------------------------------------------------------------------
    def crawl_source(self, name: str, check: bool = False) -> None:
        """One crawl of one source, in a child process, within its time limit, with the
        last good config (not the file on disk, which may be broken).

        The crawl answers the control requests waiting for the source's next crawl
        (``next_checks``): they are marked ``started`` when it starts and ``done`` or
        ``failed`` when it ends. ``check``: a crawl added for such a request, which does
        not run if another crawl of the source started first and answered them."""
        settings = self.settings
        with self.control_lock:
            self.queued[name] = self.queued.get(name, 0) + 1
        started = ran = False
        ids: list[int] = []
        ended: tuple[str, str, int | None] | None = None  # (state, note, run id)
        try:
            source = settings.source(name)
            if self.interrupt:  # stopping: no new crawl
                return
            pause = self._pause_of(name)
            if pause is not None:  # `newswatch sources pause NAME`: not crawled
                with self.control_lock:
                    ids = self.next_checks.pop(name, [])
                    skipped = self.skipped.get(name)
                    if skipped is None or skipped["since"] != pause["paused"]:  # a new pause
                        skipped = self.skipped[name] = {"paused": 0, "last": None,
                                                        "since": pause["paused"]}
                    skipped["paused"] += 1
                    skipped["last"] = now()
                log.info("%s: paused, crawl skipped (%d since the pause; newswatch sources "
                         "resume %s)", name, skipped["paused"], name)
                ended = (control.REFUSED, "the source is paused (newswatch sources resume "
                         f"{name})", None)
                self._beat_now()  # the watch list counts it at once
                return
            with self.control_lock:  # not paused (or resumed): no skip to count
                self.skipped.pop(name, None)
            if self.fleet is not None:  # a job of the fleet: offered at its next tick
                self.fleet.mark_due(name)
                return
            # sources on one site take turns (one budget), then wait for one of the
            # daemon's crawl slots (max_parallel_crawls); the time limit starts after both
            with self._site_lock(source), self._crawl_slot(name):
                if self.interrupt:  # stopped while waiting for the site's turn or a slot
                    return
                with self.control_lock:
                    self.queued[name] -= 1
                    started = True
                    ids = self.next_checks.pop(name, [])
                    if check and not ids:  # answered by a crawl that started first
                        return
                    self.running[name] = now()
                    ran = True
                self._answer(ids, control.STARTED)
                if settings.crawl_service == "warm":  # a job of the warm crawl service
                    result = self._service().crawl(
                        settings, [name], timeout=seconds(source.crawl_timeout),
                        stop=self.interrupt, alerts=self.alerts)
                else:  # a crawl process tree of its own
                    result = crawl(settings, self.db_path, sources=[name],
                                   variables=self.variables, alerts=self.alert_config,
                                   timeout=seconds(source.crawl_timeout), stop=self.interrupt)
            if result.interrupted:
                log.warning("%s: crawl interrupted by the daemon's stop: %s", name,
                            result.totals)
            else:
                log.info("%s: %s", name, result.totals)
            for run in result.runs:  # re-checks: due, checked, deferred over the budget
                line = ledger.recheck_line(ledger.load(run.get("ledger")))
                if line:
                    log.info("%s: %s", name, line)
            for host, info in result.unreachable.items():  # one line per host
                log.warning("%s: %s unreachable: %d failures, e.g. %s", name, host,
                            info["failures"], info["reason"])
            ended = _answer_of(result)
            if self.deliver_every <= DELIVER_SOON_SECONDS and any(
                    int(run.get(k) or 0) for run in result.runs for k in ("new", "updated")):
                self._deliver_soon()  # alerts queued with the articles: out now
        except (CrawlError, ConfigError, DatabaseFileError, DatabaseUnavailable) as exc:
            log.error("%s: crawl failed: %s", name, exc)  # one line naming the cause
            ended = (control.FAILED, f"crawl failed: {exc}", None)
            if not started and isinstance(exc, ConfigError):  # the source is gone (a
                with self.control_lock:  # reload): no crawl of it will answer them
                    ids = self.next_checks.pop(name, [])
        finally:
            with self.control_lock:
                if not started:
                    self.queued[name] -= 1
                if ran:
                    self.running.pop(name, None)
            if ids:
                state, note, run_id = ended or (control.FAILED, "the crawl did not run to "
                                                "its end (see the daemon's log)", None)
                self._answer(ids, state, note, run_id)

    def _service(self) -> CrawlService:
        """The warm crawl service, started on first use (``monitor.run.service``)."""
        with self.service_lock:
            if self.service is None:
                self.service = CrawlService(self.db_path, **self.service_options)
            return self.service

    def _deliver_soon(self) -> None:
        """Run the delivery job now (a crawl stored new articles and queued their
        alerts): an alert waits for no delivery interval. The job never runs twice at
        once: asked while it runs, it runs one more pass at its end; the interval stays
        the backstop."""
        if self.delivering:
            self.deliver_again = True
            return
        try:
            self.scheduler.modify_job("deliver", next_run_time=datetime.now(UTC))
        except Exception:  # noqa: BLE001 - stopping: the scheduler has no such job now
            pass

    def _pause_of(self, name: str) -> dict[str, Any] | None:
        """The pause of ``name`` (``monitor.store.pauses``: ``{"source", "paused",
        "paused_by", "note"}``), None when it is not paused; read before each crawl."""
        store = Store(self.db_path)
        try:
            return paused_sources(store).get(name)
        finally:
            store.close()

    def _answer(self, ids: list[int], state: str, note: str | None = None,
                run_id: int | None = None) -> None:
        """Write the state of control requests; a failure is logged (the crawl goes on)."""
        if not ids:
            return
        try:
            store = Store(self.db_path)
            try:
                control.mark(store, ids, state, note, run_id=run_id)
            finally:
                store.close()
        except Exception:  # noqa: BLE001 - a request's row must not stop a crawl
            log.exception("control requests %s: could not record %s", ids, state)

    # -- the control channel (newswatch check) ------------------------------------------------
    def take_requests(self) -> int:
        """Take the pending control requests (``monitor.store.control``), oldest first:
        each is ``taken`` (its crawl starts now, or it is queued: see ``_take``) or
        ``refused`` with a note. Returns how many were read."""
        rows: list[dict[str, Any]] = []
        with self.control_lock:
            store = Store(self.db_path)
            try:
                rows = control.pending(store)
                paused = paused_sources(store) if rows else {}
                for row in rows:
                    state, note = self._take(row, paused)
                    control.mark(store, [row["id"]], state, note, daemon=os.getpid(),
                                 only=[control.PENDING])
                    log.info("control request %d (%s %s): %s: %s", row["id"], row["kind"],
                             row["source"], state, note)
            finally:
                store.close()
        return len(rows)

    def _take(self, row: dict[str, Any],
              paused: Mapping[str, Any] | None = None) -> tuple[str, str]:
        """(state, note) for one pending request (under ``control_lock``). A crawl of
        the source that has not started yet answers it; else a crawl is added now (it
        waits, as every crawl does, for its site's turn and a crawl slot). A paused
        source's (``paused``: ``monitor.store.paused_sources``) is refused."""
        name = row["source"]
        if row["kind"] != control.CRAWL:
            return control.REFUSED, f"unknown request kind {row['kind']!r}"
        if self.stop_event.is_set() or self.interrupt:
            return control.REFUSED, "the daemon is stopping"
        if name not in {s.name for s in self.settings.sources}:
            return control.REFUSED, f"{name!r} is not a source of its config ({self.config})"
        if paused and name in paused:
            return control.REFUSED, f"the source is paused (newswatch sources resume {name})"
        if self.fleet is not None:  # offered to the fleet now
            return self.fleet.check(name, row["id"], self.settings, self._answer)
        if name in self.next_checks:  # a crawl that will answer is already on its way
            first = self.next_checks[name][0]
            self.next_checks[name].append(row["id"])
            return control.TAKEN, (f"queued: joins request {first}, whose crawl of {name} "
                                   "has not started yet")
        if self.queued.get(name, 0) or name in self._pending_crawls():
            # its due crawl waits for its turn (or a thread): that one answers
            self.next_checks[name] = [row["id"]]
            return control.TAKEN, (f"queued: the due crawl of {name}, waiting for its "
                                   "site's turn or a crawl slot, answers it")
        try:
            self.scheduler.add_job(self.crawl_source, args=[name], kwargs={"check": True},
                                   id=f"check:{name}:{row['id']}", name=f"check {name}",
                                   next_run_time=datetime.now(UTC))
        except Exception as exc:  # noqa: BLE001 - the scheduler is shutting down
            return control.REFUSED, f"the daemon could not schedule it: {exc}"
        self.next_checks[name] = [row["id"]]
        if name in self.running:
            return control.TAKEN, (f"queued: a crawl of {name} has been running since "
                                   f"{_clock(self.running[name])}; another starts when it ends")
        busy = self._busy_with(name)
        if busy:
            return control.TAKEN, f"queued: starts when {busy} ends"
        return control.TAKEN, "crawling now"

    def _busy_with(self, name: str) -> str | None:
        """What a new crawl of ``name`` would wait for (under ``control_lock``): a crawl
        of another source on its site, or every crawl slot taken; None: nothing."""
        from crawler.politeness import site_of

        try:
            site = site_of(self.settings.source(name))
            same_site = [other for other in self.running if other != name
                         and site_of(self.settings.source(other)) == site]
        except ConfigError:
            same_site = []
        if same_site:
            return f"the crawl of {same_site[0]} (same site)"
        if len(self.running) >= self.settings.max_parallel_crawls:
            return (f"one of the {len(self.running)} running crawls (max_parallel_crawls "
                    f"{self.settings.max_parallel_crawls})")
        return None

    def control_job(self) -> None:
        """The ``control`` job: take pending requests (a lost SIGUSR2 costs at most
        ``CONTROL_SECONDS``); not once stopping."""
        if self.stop_event.is_set():
            return
        try:
            self.take_requests()
        except sqlite3.Error as exc:  # a busy moment of the database (a crawl setting it
            # up, a checkpoint): one line, read again at the next tick
            log.warning("control requests not read (read again in %d s): %s",
                        CONTROL_SECONDS, exc)
        except Exception:  # noqa: BLE001 - the daemon must outlive a bad request
            log.exception("reading the control requests failed")

    def _pending_crawls(self) -> set[str]:
        """Sources whose due crawl waits in the crawl pool's queue for a thread."""
        return {job_id.split(":")[1] for job_id in self.pools[0].waiting()
                if job_id.startswith(("crawl:", "check:"))}

    @contextmanager
    def _crawl_slot(self, name: str) -> Iterator[None]:
        """Hold one of the daemon's ``max_parallel_crawls`` slots; while a crawl waits
        for one, its source is in ``waiting`` (the heartbeat shows it: ``newswatch
        status``)."""
        slots = self.crawl_slots  # the one released is the one acquired (a reload)
        self.waiting.add(name)
        try:
            slots.acquire()
        finally:
            self.waiting.discard(name)
        try:
            yield
        finally:
            slots.release()

    def _site_lock(self, source: Source) -> threading.Lock:
        """The lock of the source's site (registered domain): two sources on one site
        never crawl at once, so the site sees one politeness budget (crawler.politeness)."""
        from crawler.politeness import site_of

        with self.site_locks_lock:
            return self.site_locks.setdefault(site_of(source), threading.Lock())

    def _deliver_alerts(self) -> None:
        if self.alert_config is None:
            return
        from monitor.alerts import deliver_pending

        store = Store(self.db_path)
        try:
            deliver_pending(store, self.alert_config, claim_timeout=self.claim_timeout,
                            env=ChainMap(self.secrets, os.environ))
        finally:
            store.close()

    def deliver_job(self) -> None:
        """Deliver pending alerts (again at the end when ``_deliver_soon`` asked
        meanwhile); a failure is logged, the daemon goes on."""
        self.delivering = True
        try:
            while True:
                self.deliver_again = False
                try:
                    self.deliver()
                except Exception:  # noqa: BLE001 - the daemon must outlive a bad pass
                    log.exception("alert delivery failed")
                if not self.deliver_again or self.stop_event.is_set():
                    break
        finally:
            self.delivering = False

    def fleet_job(self) -> None:
        """The ``fleet`` job (``newswatch run --redis``): offer the due sources, reap
        expired leases, follow ``check`` jobs, log what Redis lost
        (``monitor.run.dispatch``); a delivery pass at once when the fleet stored new or
        updated articles."""
        if self.stop_event.is_set() or self.fleet is None:
            return
        try:
            self.fleet.tick(self.settings, self._answer)
        except Exception:  # noqa: BLE001 - the daemon must outlive a bad tick
            log.exception("fleet tick failed")
        changes = self.fleet.stored_changes()
        if changes != self.fleet_changes:
            self.fleet_changes = changes
            if self.deliver_every <= DELIVER_SOON_SECONDS:
                self._deliver_soon()

    def prune(self) -> None:
        """Forget fetch records of URLs not seen for FETCH_LOG_DAYS."""
        cutoff = (datetime.now(UTC) - timedelta(days=FETCH_LOG_DAYS)).isoformat()
        store = Store(self.db_path)
        try:
            with store.db.conn:
                store.db.execute("delete from fetches where fetched < ?", [cutoff])
            control.prune(store, (datetime.now(UTC) - timedelta(days=control.KEEP_DAYS))
                          .isoformat())
        finally:
            store.close()

    def beat(self, state: str = "running") -> None:
        """Write the heartbeat row: alive, when each source runs next, the config. One
        beat at a time: a beat that read the state before a reload must not overwrite
        the one written after it."""
        with self.beat_lock:
            jobs = {job.id: job.next_run_time.isoformat() if job.next_run_time else None
                    for job in self.scheduler.get_jobs()}
            store = Store(self.db_path)
            try:
                with store.db.conn:
                    store.db["daemon"].upsert({
                        "name": "newswatch", "pid": os.getpid(), "beat": now(),
                        "state": json.dumps({
                            "status": state, "next_runs": jobs,
                            "sources": sorted(s.name for s in self.settings.sources),
                            "max_parallel_crawls": self.settings.max_parallel_crawls,
                            "waiting": sorted(self.waiting | self._pending_crawls()),
                            "crawling": dict(sorted(self.running.items())),
                            "skipped": {k: dict(v) for k, v in sorted(self.skipped.items())},
                            "crawl_service": self.settings.crawl_service,
                            "service_pid": self.service.pid if self.service else None,
                            "control": self.control_signal,
                            "config": str(self.config), "config_loaded": self.config_loaded,
                            "config_error": self.config_error,
                            "alerts_error": self.alerts_error,
                            "fleet": self.fleet.status() if self.fleet else None}),
                    }, pk="name")
            finally:
                store.close()

    # -- config reload -----------------------------------------------------------------------
    def check_config(self, force: bool = False) -> bool:
        """Reload the sources file if it changed (or ``force``: SIGHUP). On success the
        jobs follow the new file; on a ConfigError the last good config stays, and the
        reason is logged once (per change of the file) and shown by ``newswatch status``.
        Returns whether a new config is in use."""
        with self.reload_lock:
            alerts_changed = self._check_alerts(force)
            stamp = _stamp(self.config)
            if not force and stamp == self.config_stamp:
                if alerts_changed:
                    self._beat_now()
                return False
            self.config_stamp = stamp
            try:
                settings = self._load()
            except ConfigError as exc:
                self.config_error = str(exc)
                log.error("config reload failed: %s; keeping the last good config (%d sources)",
                          "; ".join(str(exc).splitlines()), len(self.settings.sources))
                reloaded = False
            else:
                old, self.settings = self.settings, settings  # first: new jobs read it
                if settings.max_parallel_crawls != old.max_parallel_crawls:
                    # crawls running keep (and release) the old slots; new ones take these
                    self.crawl_slots = threading.BoundedSemaphore(settings.max_parallel_crawls)
                    self.pools[0].resize(crawl_threads(settings.max_parallel_crawls))
                self._reschedule(old, settings)
                self.config_loaded, self.config_error = now(), None
                log.info("config reloaded: %d sources", len(settings.sources))
                reloaded = True
        self._beat_now()
        return reloaded

    def _beat_now(self) -> None:
        """A heartbeat now, so that `newswatch status` shows a reload at once."""
        try:
            self.beat()
        except Exception:  # noqa: BLE001 - the heartbeat job will try again
            log.exception("heartbeat after a config reload failed")

    def _check_alerts(self, force: bool) -> bool:
        """Reload the alerts file if it changed; on a ConfigError keep the last good one
        (new alerts are still queued and delivered by its rules and channels). Returns
        whether the file changed."""
        if not self.alerts:
            return False
        stamp = _stamp(Path(self.alerts))
        if not force and stamp == self.alerts_stamp:
            return False
        self.alerts_stamp = stamp
        try:
            self.alert_config = load_alert_config(self.alerts)
        except ConfigError as exc:
            self.alerts_error = str(exc)
            log.error("alerts config reload failed: %s; keeping the last good alerts config",
                      "; ".join(str(exc).splitlines()))
        else:
            self.alerts_error = None
            if self.keep_secrets:  # a new channel's variables leave the environment too
                self.secrets.update(withhold_secrets(self.alert_config))
            if self.fleet is not None:  # its rules for the articles stored next; a new
                self.fleet.set_alerts(self.alert_config)  # channel's secrets never sent
                self.fleet.set_secrets(self.secrets.values())
            log.info("alerts config reloaded: %d channels, %d rules",
                     len(self.alert_config.channels), len(self.alert_config.rules))
        return True

    def config_job(self) -> None:
        """The ``config`` job: reload when the file changed (not once stopping: the jobs
        are being shut down)."""
        if self.stop_event.is_set():
            return
        try:
            self.check_config()
        except Exception:  # noqa: BLE001 - the daemon must outlive a bad reload
            log.exception("config reload failed")

    def _trigger(self, source: Source) -> BaseTrigger:
        """A source's schedule: its ``cron:`` read as crontab reads it, in the sources
        file's ``timezone`` (``monitor.sources.cron``; never the machine's TZ, never UTC),
        or its ``interval`` plus up to ``jitter``."""
        if source.cron:
            return crontab_trigger(source.cron, self.settings.timezone)
        return IntervalTrigger(seconds=seconds(source.interval), jitter=seconds(source.jitter))

    def _add_crawl_job(self, source: Source) -> None:
        """An interval source crawls at once, then every interval; a ``cron:`` source
        crawls when its crontab next matches (as cron would), not at the start."""
        trigger = self._trigger(source)
        first = (trigger.get_next_fire_time(None, datetime.now(UTC)) if source.cron
                 else datetime.now(UTC))
        self.scheduler.add_job(self.crawl_source, trigger, args=[source.name],
                               id=f"crawl:{source.name}", name=f"crawl {source.name}",
                               next_run_time=first, replace_existing=True)

    def _reschedule(self, before: Settings, after: Settings) -> None:
        """Make the crawl jobs follow a new config: new sources get a job (first run now),
        removed ones lose theirs (a crawl in progress finishes), changed schedules get
        their new trigger."""
        old = {s.name: s for s in before.sources}
        new = {s.name: s for s in after.sources}
        before_zone = before.timezone  # a new zone moves every cron schedule
        for name in old.keys() - new.keys():
            if self.scheduler.get_job(f"crawl:{name}"):
                self.scheduler.remove_job(f"crawl:{name}")
            log.info("source %s removed", name)
        for name, source in new.items():
            before = old.get(name)
            if before is None or not self.scheduler.get_job(f"crawl:{name}"):
                self._add_crawl_job(source)
                log.info("source %s added", name)
            elif (before.interval, before.cron, before.jitter) != (
                    source.interval, source.cron, source.jitter) or (
                    source.cron and before_zone != after.timezone):
                self.scheduler.reschedule_job(f"crawl:{name}", trigger=self._trigger(source))
                log.info("source %s rescheduled", name)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Schedule every job and start the scheduler (returns at once).

        Raises ``DaemonRunning`` (``monitor.store.owners``) when another daemon runs on the
        database: one daemon per database, held until ``stop`` or the process's end; with
        a Redis URL, ``monitor.fleet.RedisUnavailable`` when Redis cannot be reached (one
        line, no password)."""
        if self.fleet is not None:
            self.fleet.connect()
        self.lock.acquire()
        try:
            store = Store(self.db_path)
            try:
                # runs left open by crawls that are gone (a daemon or a crawl killed with
                # kill -9); the runs of crawls still running (`newswatch crawl`) stay
                aborted = store.reap_orphaned_runs()
                # requests addressed to a daemon that is gone are not acted on
                expired = control.expire(store, "the daemon that was asked is gone")
                with store.db.conn:
                    store.db["daemon"].upsert({"name": "newswatch", "pid": os.getpid(),
                                               "started": now(), "beat": now(),
                                               "state": "{}"}, pk="name")
            finally:
                store.close()
        except BaseException:
            self.lock.release()
            raise
        if aborted:
            log.warning("%d crawl run(s) left open by crawl processes that are gone marked "
                        "aborted", len(aborted))
        if expired:
            log.warning("%d control request(s) left open by a daemon that is gone expired",
                        expired)
        for source in self.settings.sources:
            self._add_crawl_job(source)
        self.scheduler.add_job(self.deliver_job, IntervalTrigger(seconds=self.deliver_every),
                               id="deliver", next_run_time=datetime.now(UTC),
                               executor="house")
        self.scheduler.add_job(self.prune, IntervalTrigger(hours=PRUNE_HOURS), id="prune",
                               executor="house")
        self.scheduler.add_job(self.beat, IntervalTrigger(seconds=HEARTBEAT_SECONDS), id="beat",
                               next_run_time=datetime.now(UTC), executor="house")
        self.scheduler.add_job(self.config_job,
                               IntervalTrigger(seconds=self.config_check_every), id="config",
                               executor="house")
        self.scheduler.add_job(self.control_job, IntervalTrigger(seconds=CONTROL_SECONDS),
                               id="control", next_run_time=datetime.now(UTC),
                               executor="house")
        if self.fleet is not None:
            self.fleet.start(self.alert_config, lambda: self.settings)
            self.scheduler.add_job(self.fleet_job, IntervalTrigger(seconds=TICK_SECONDS),
                                   id="fleet", next_run_time=datetime.now(UTC),
                                   executor="house")
            log.info("fleet %s on Redis %s: due crawls are offered to its workers; this "
                     "daemon stores what they send", self.fleet.keys.name, self.fleet.where)
        self.scheduler.start()

    def stop(self, wait: bool = True) -> None:
        """Stop scheduling; wait for running jobs (crawls finish) unless ``wait`` is False.

        The jobs are waited for after the scheduler's shutdown, not inside it: APScheduler
        holds its job-store lock while its executors shut down, and a running job that
        asks the scheduler anything (the heartbeat reads the next run times, a reload
        adds jobs) would wait for that lock while the shutdown waited for the job."""
        self.stop_event.set()
        self.scheduler.shutdown(wait=False)
        if wait:
            for pool in self.pools:
                pool.join()
        if self.service is not None:  # its jobs have ended (or were stopped at once)
            self.service.close(now=self.interrupt.count >= 2 or not wait)
        if self.fleet is not None:  # the writer finishes the entry it is storing
            self.fleet.close()
        try:
            self._expire_requests()
            self.beat("stopped")
        finally:
            self.lock.release()

    def _expire_requests(self) -> None:
        """At the stop: requests not answered (pending, or waiting for a crawl that will
        not start) end ``refused`` or ``failed``, "the daemon stopped"."""
        try:
            store = Store(self.db_path)
            try:
                control.expire(store, "the daemon stopped before answering it")
            finally:
                store.close()
        except Exception:  # noqa: BLE001 - the stop goes on
            log.exception("control requests left open at the stop")

    def run_forever(self) -> int:
        """Run until SIGTERM or SIGINT (SIGHUP reloads the config); returns the exit
        code (0)."""
        # the handlers only set flags and wake the main loop (``Wakeup``: no lock taken in
        # a handler); the loop sets the threads' stop event and reloads
        def stop(*_: Any) -> None:  # a second signal kills running crawls at once
            self.interrupt.request()
            self.stop_requested = True
            self.wake.set()

        def hangup(*_: Any) -> None:
            self.reload_requested = True
            self.wake.set()

        def asked(*_: Any) -> None:  # newswatch check: read the control requests now
            self.control_requested = True
            self.wake.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, stop)
        signal.signal(signal.SIGHUP, hangup)
        signal.signal(CONTROL_SIGNAL, asked)
        self.control_signal = CONTROL_SIGNAL.name  # the heartbeat tells commands
        # SIGUSR1: every thread's stack to stderr (the log), for a daemon that seems stuck
        faulthandler.register(signal.SIGUSR1, all_threads=True)
        self.start()
        log.info("newswatch daemon started: %d sources, database %s",
                 len(self.settings.sources), self.db_path)
        while not self.stop_requested:
            self.wake.wait()
            if self.control_requested and not self.stop_requested:
                self.control_requested = False
                self.control_job()
            if self.reload_requested and not self.stop_requested:
                self.reload_requested = False
                log.info("SIGHUP: reloading %s", self.config)
                try:
                    self.check_config(force=True)
                except Exception:  # noqa: BLE001 - the daemon must outlive a bad reload
                    log.exception("config reload failed")
        self.stop_event.set()  # no new crawl starts from here
        # a reload while stopping means nothing; ignored, a SIGHUP during the exit (after
        # Python's finalisation restored the default action) would kill the daemon
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(CONTROL_SIGNAL, signal.SIG_IGN)  # likewise a late `newswatch check`
        log.info("stopping: running crawls store what they extracted and stop (a second "
                 "signal kills them)")
        self.stop(wait=True)
        self.wake.close()
        return 0


def crawl_threads(max_parallel_crawls: int) -> int:
    """Threads of the daemon's crawl pool: each running crawl holds one, and so does a
    crawl waiting for its site's turn or a crawl slot; twice the slots and 8 more leave
    room for those, and a thousand sources due at once no longer start a thousand threads
    (each thread's stack and malloc arena stay with the daemon: issue 33's memory run).
    Due crawls beyond them wait in the pool's queue, in the order they came due."""
    return 2 * max_parallel_crawls + 8


class _Pool(BasePoolExecutor):
    """APScheduler's thread-pool executor, except that the scheduler's shutdown never
    waits for its threads (it would, holding the scheduler's job-store lock, which a
    running job may need): ``join`` waits for them, outside that lock. ``waiting()``:
    the ids of jobs submitted and not started (they wait for a free thread)."""

    def __init__(self, max_workers: int) -> None:
        self.threads = ThreadPoolExecutor(max_workers)
        self._queued: Counter[str] = Counter()
        self._queued_lock = threading.Lock()
        super().__init__(self.threads)

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        # (APScheduler's BasePoolExecutor._do_submit_job, with the job counted as
        # waiting until a thread starts it)
        def start(*args: Any) -> Any:
            with self._queued_lock:
                self._queued[job.id] -= 1
                if self._queued[job.id] <= 0:
                    del self._queued[job.id]
            return run_job(*args)

        def callback(future: Any) -> None:
            exc = future.exception()
            if exc:
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, future.result())

        with self._queued_lock:
            self._queued[job.id] += 1
        future = self._pool.submit(start, job, job._jobstore_alias, run_times,
                                   self._logger.name)
        future.add_done_callback(callback)

    def waiting(self) -> list[str]:
        """Ids of the jobs submitted that wait for a thread."""
        with self._queued_lock:
            return list(self._queued)

    def resize(self, max_workers: int) -> None:
        """At most ``max_workers`` threads from now on (a reload that changed
        ``max_parallel_crawls``): new threads start only below it; threads already
        started stay (concurrent.futures ends them at shutdown only)."""
        self.threads._max_workers = max_workers  # (read by each submit: _adjust_thread_count)

    def shutdown(self, wait: bool = True) -> None:
        """Take no new jobs; never waits (see ``join``)."""
        self.threads.shutdown(wait=False)

    def join(self) -> None:
        """Wait until the jobs submitted so far have run (after ``shutdown``)."""
        self.threads.shutdown(wait=True)


def _stamp(path: Path) -> tuple[int, int] | None:
    """What tells a changed file: modification time (ns) and size."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def _answer_of(result: Any) -> tuple[str, str, int | None]:
    """(state, note, run id) of the control requests a crawl answered."""
    run = result.runs[0] if result.runs else None
    if result.interrupted:
        return control.FAILED, "interrupted by the daemon's stop", run["id"] if run else None
    if run is None:
        return control.FAILED, "the crawl recorded no run", None
    counts = ", ".join(f"{key} {int(run.get(key) or 0)}" for key in
                       ("new", "updated", "duplicate", "unchanged", "errors"))
    state = control.DONE if run["status"] == "finished" else control.FAILED
    return state, f"crawl run {run['id']} {run['status']}: {counts}", run["id"]


def _clock(stamp: str) -> str:
    """An ISO time as ``HH:MM:SS UTC``."""
    try:
        return datetime.fromisoformat(stamp).astimezone(UTC).strftime("%H:%M:%S UTC")
    except ValueError:
        return stamp


# What ``newswatch status`` says of the daemon, one meaning each (docs/DAEMON.md):
ALIVE = "alive"  # its heartbeat is younger than ALIVE_SECONDS
STOPPED = "stopped"  # it stopped cleanly (SIGTERM, Ctrl-C): its last heartbeat says so
DIED = "died"  # no heartbeat for ALIVE_SECONDS and no clean stop: killed, crashed, power
NEVER_STARTED = "never started"  # no daemon ever ran on this database
DAEMON_STATES = (ALIVE, STOPPED, DIED, NEVER_STARTED)
ALIVE_SECONDS = 3 * HEARTBEAT_SECONDS


def status(db_path: str | Path) -> dict[str, Any]:
    """What ``newswatch status`` shows: the daemon's heartbeat, the last run per source,
    next runs, the outbox, and ``fleet`` (``newswatch run --redis``: the fleet at the
    daemon's last heartbeat, ``monitor.run.dispatch.Dispatch.status``; None without
    Redis). ``daemon.state`` is one of ``DAEMON_STATES``: ``alive``,
    ``stopped`` (a clean stop, at ``beat``), ``died`` (its last heartbeat at ``beat``,
    no clean stop since), ``never started``; ``daemon.alive`` is ``state == "alive"``."""
    store = Store(db_path)
    try:
        daemon = next(iter(store.db["daemon"].rows), None)
        state = json.loads(daemon["state"]) if daemon and daemon.get("state") else {}
        word = NEVER_STARTED if daemon is None else DIED
        if daemon and state.get("status") == "stopped":
            word = STOPPED
        elif daemon and daemon.get("beat") and state.get("status", "running") == "running":
            # (no status yet: the row its start wrote, before its first heartbeat)
            age = datetime.now(UTC) - datetime.fromisoformat(daemon["beat"])
            if age < timedelta(seconds=ALIVE_SECONDS):
                word = ALIVE
        alive = word == ALIVE
        last_runs = list(store.db.query(
            "select * from crawl_runs where id in (select max(id) from crawl_runs "
            "group by source) order by source"))
        outbox = {row["status"]: row["n"] for row in store.db.query(
            "select status, count(*) as n from alerts group by status")}
    finally:
        store.close()
    return {"daemon": {"alive": alive, "state": word, "pid": daemon["pid"] if daemon else None,
                       "beat": daemon["beat"] if daemon else None,
                       "started": daemon["started"] if daemon else None,
                       "config": state.get("config"),
                       "config_loaded": state.get("config_loaded"),
                       "config_error": state.get("config_error"),
                       "alerts_error": state.get("alerts_error"),
                       "max_parallel_crawls": state.get("max_parallel_crawls"),
                       "waiting": state.get("waiting", [])},
            "next_runs": state.get("next_runs", {}), "last_runs": last_runs, "alerts": outbox,
            "fleet": state.get("fleet")}
