"""``newswatch worker``: a crawl worker of a fleet (issue 32; docs/SCALE.md)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import click

from monitor.cli.app import EXIT_BAD_INPUT, EXIT_DATABASE, LOG_LEVELS, fail, main

REDIS_ENV = "NEWSWATCH_REDIS"  # the Redis URL when --redis is not given


@main.command()
@click.option("--redis", "redis_url", envvar=REDIS_ENV, default=None, metavar="URL",
              help="The fleet's Redis: redis://[:PASSWORD@]HOST:PORT/DB, rediss:// for TLS "
                   f"(default: ${REDIS_ENV}).")
@click.option("--fleet", default=None, metavar="NAME",
              help="The fleet's name (its Redis keys); default: newswatch.")
@click.option("--workdir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="The worker's own directory (its scratch database); default: "
                   "./newswatch-worker. Never the daemon's database.")
@click.option("--lease", type=click.FloatRange(min=1.0), default=60.0, show_default=True,
              help="Seconds a job stays held without a renew: a worker killed outright "
                   "has its job re-offered that long after its last renew.")
@click.option("--max-jobs", type=click.IntRange(min=1), default=None,
              help="Stop after this many jobs.")
@click.option("--once", is_flag=True,
              help="Stop once no job is queued or held (tests, benchmarks).")
@click.option("--log-level", default="INFO", show_default=True, type=LOG_LEVELS)
def worker(redis_url: str | None, fleet: str | None, workdir: Path | None, lease: float,
           max_jobs: int | None, once: bool, log_level: str) -> None:
    """Crawl a fleet's jobs from Redis: the daemon's crawl service on this machine,
    articles and runs sent back through Redis. Stops on SIGTERM (the job in hand stops
    in order and is re-offered).

    Exit codes: 0 stopped (SIGTERM, SIGINT, --once, --max-jobs); 2 bad input (no Redis
    URL, a bad fleet name or working directory, or one another worker uses); 3 Redis
    cannot be reached now (down, wrong password, older than 7.0)."""
    import logging

    from monitor.fleet import RedisUnavailable, redacted
    from monitor.run import CrawlWorker

    if not redis_url:
        fail(f"no Redis URL: give --redis URL or set {REDIS_ENV}", EXIT_BAD_INPUT)
    assert redis_url is not None
    directory = workdir if workdir is not None else Path(CrawlWorker.DEFAULT_WORKDIR)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if not os.access(directory, os.W_OK | os.X_OK):
            raise PermissionError("not writable")
    except OSError as exc:
        fail(f"--workdir {directory}: {exc.strerror or exc}", EXIT_BAD_INPUT)
    logging.basicConfig(level=log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        crawl_worker = CrawlWorker(redis_url, fleet, directory, lease_seconds=lease)
    except ValueError as exc:  # a fleet name that is not letters, digits, '._-'
        fail(f"--fleet: {exc}", EXIT_BAD_INPUT)
    except CrawlWorker.WorkdirBusy as exc:  # another worker's scratch database
        fail(f"--workdir {exc}", EXIT_BAD_INPUT)
    except RedisUnavailable as exc:
        fail(str(exc), EXIT_DATABASE)

    def stop(*_: Any) -> None:  # once: the job in hand stops in order; twice: at once
        crawl_worker.request_stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log = logging.getLogger("newswatch.worker")
    log.info("worker %s on %s (fleet %s), working directory %s", crawl_worker.name,
             redacted(redis_url), crawl_worker.keys.name, crawl_worker.workdir)
    counts = crawl_worker.run(max_jobs=max_jobs, once=once)
    log.info("worker %s stopped: %s", crawl_worker.name,
             ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "no job")
    sys.exit(0)
