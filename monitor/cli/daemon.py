"""``newswatch run`` (the daemon), ``newswatch status`` and ``newswatch check``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.text import Text

from monitor.cli.app import (
    LOG_LEVELS,
    alerts_choice,
    cells,
    fail,
    main,
    narrow_table,
    next_command,
    out,
    recheck_options,
    recheck_overrides,
    short_time,
    withhold_alert_secrets,
)
from monitor.sources import DEFAULT_CONFIG, ConfigError
from monitor.store import DEFAULT_DB


@main.command()
@click.option("--config", "config", type=click.Path(path_type=Path), default=DEFAULT_CONFIG,
              show_default=True, help="Sources file (${VAR} placeholders from the environment).")
@click.option("--db", type=click.Path(path_type=Path), default=DEFAULT_DB, show_default=True,
              help="SQLite database file.")
@click.option("--alerts-config", type=click.Path(path_type=Path), default=None,
              help="Alerts file (default: config/alerts.yaml).")
@click.option("--deliver-every", default=15.0, show_default=True,
              help="Seconds between alert delivery passes.")
@click.option("--claim-timeout", default=300.0, show_default=True,
              help="Seconds after which an alert left 'sending' by a crash is sent again.")
@click.option("--log-level", default="INFO", show_default=True, type=LOG_LEVELS)
@click.option("--no-alerts", is_flag=True, help="Queue and deliver no alerts.")
@click.option("--redis", "redis_url", envvar="NEWSWATCH_REDIS", default=None,
              metavar="URL", show_envvar=True,
              help="Crawl through a fleet of workers: due crawls become jobs in this Redis "
                   "(redis://[:PASSWORD@]HOST:PORT/DB, rediss:// for TLS); the daemon "
                   "stores what they send (docs/SCALE.md).")
@click.option("--fleet", "fleet", default=None, metavar="NAME",
              help="The fleet's name in Redis (its keys nw:{NAME}:...; default newswatch).")
@recheck_options
def run(config: Path, db: Path, alerts_config: Path | None, deliver_every: float,
        claim_timeout: float, log_level: str, no_alerts: bool = False,
        redis_url: str | None = None, fleet: str | None = None,
        recheck_min: str | None = None, recheck_max: str | None = None,
        recheck_budget: int | None = None) -> None:
    """Run the daemon: scheduled crawls, alert delivery, heartbeat. Stops on SIGTERM.

    One daemon per database. With --redis (or NEWSWATCH_REDIS), crawls are offered to
    workers (`newswatch worker`) as jobs and this daemon is the one writer. Exit codes:
    0 stopped (SIGTERM, SIGINT); 2 bad config, a bad --redis URL or --fleet name, or
    another daemon already runs on the database; 3 the database cannot be written now,
    or Redis cannot be reached (refused, wrong password, older than 7.0)."""
    import logging

    from monitor.fleet import Keys, RedisUnavailable, redacted
    from monitor.run import Daemon
    from monitor.store import DaemonRunning, database_to_write

    if fleet is not None and not redis_url:
        fail("--fleet needs --redis URL (or NEWSWATCH_REDIS)", 2)
    if redis_url is not None and not redis_url.startswith(("redis://", "rediss://",
                                                           "unix://")):
        fail(f"--redis {redacted(redis_url)}: not a Redis URL (redis://HOST:PORT/DB, "
             "rediss:// for TLS)", 2)
    if fleet is not None:
        try:
            Keys(fleet)
        except ValueError as exc:  # a name the fleet's keys cannot hold
            fail(f"--fleet: {exc}", 2)

    alerts_file = alerts_choice(alerts_config, no_alerts)
    database_to_write(db)
    logging.basicConfig(level=log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if log_level.upper() != "DEBUG":  # "Running job", "executed successfully" every 5 s:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # crawls say it better
    try:
        if alerts_file is None:  # no deliveries: no alert secret in any process
            withhold_alert_secrets()
        # keep_secrets: the channels' variables leave the environment, so the crawl
        # processes start without them; the daemon delivers with the values it keeps
        daemon = Daemon(config, db, alerts=alerts_file, keep_secrets=True,
                        deliver_every=deliver_every, claim_timeout=claim_timeout,
                        recheck=recheck_overrides(recheck_min, recheck_max, recheck_budget),
                        redis_url=redis_url or None, fleet=fleet)
    except ConfigError as exc:
        fail(str(exc), 2)
    try:
        sys.exit(daemon.run_forever())
    except DaemonRunning as exc:  # one daemon per database
        fail(str(exc), 2)
    except RedisUnavailable as exc:  # (the message holds no password)
        fail(f"Redis unreachable: {exc}", 3)


@main.command()
@click.option("--db", type=click.Path(path_type=Path), default=DEFAULT_DB, show_default=True,
              help="SQLite database file.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def status(db: Path, as_json: bool) -> None:
    """Is the daemon alive; last run, counts and errors per source; next runs; the outbox."""
    import json

    from monitor.run import status as daemon_status
    from monitor.store import existing_database

    report = daemon_status(existing_database(db))
    report["health"] = _health_rows(db)
    if as_json:
        out.print(json.dumps(report, default=str), highlight=False, soft_wrap=True)
        return
    daemon = report["daemon"]
    _print_daemon(daemon)
    if daemon.get("config"):
        out.print(f"config: {daemon['config']} (loaded {daemon['config_loaded']})",
                  highlight=False)
    if daemon.get("config_error"):
        out.print("[red]config error:[/] the file on disk is not in use; keeping the last "
                  "good config", highlight=False)
        for line in daemon["config_error"].splitlines():
            out.print(f"  {line}", highlight=False, soft_wrap=True, markup=False)
    if daemon.get("alerts_error"):
        out.print("[red]alerts config error:[/] the file on disk is not in use; keeping the "
                  "last good alerts config", highlight=False)
        out.print(f"  {daemon['alerts_error']}", highlight=False, soft_wrap=True, markup=False)
    if daemon["alive"] and daemon.get("waiting"):
        out.print(f"waiting for a crawl slot (max_parallel_crawls "
                  f"{daemon['max_parallel_crawls']}): {', '.join(daemon['waiting'])}",
                  highlight=False, soft_wrap=True)
    table = narrow_table("last run per source (times UTC)")
    table.add_column("source", no_wrap=True)
    table.add_column("started", no_wrap=True)
    for column in ("new", "upd", "dup", "err"):
        table.add_column(column, justify="right", no_wrap=True, min_width=len(column))
    table.add_column("next run", no_wrap=True)
    table.add_column("status", overflow="fold")
    for run_row in report["last_runs"]:
        table.add_row(*cells(run_row["source"], short_time(run_row["started"]),
                              *(str(run_row.get(k) or 0) for k in ("new", "updated",
                                                                  "duplicate", "errors")),
                              short_time(report["next_runs"].get(
                                  f"crawl:{run_row['source']}")),
                              run_row["status"]))
    out.print(table)
    _print_dropped(report["last_runs"])
    alerts = report["alerts"]
    out.print("alerts: " + (", ".join(f"{k} {v}" for k, v in sorted(alerts.items()))
                            or "none"))
    if report.get("fleet"):
        _print_fleet(report["fleet"])
    _print_health(report["health"])


def _print_fleet(fleet: dict[str, Any]) -> None:
    """The fleet's part of ``newswatch status`` (``newswatch run --redis``): Redis, its
    jobs and stream backlog, what waits, what Redis lost, and a table of workers."""
    from rich.markup import escape

    jobs = fleet.get("jobs") or {}
    stream = fleet.get("stream") or {}
    counts = fleet.get("counts") or {}
    out.print(f"fleet {fleet['name']} on Redis {fleet['redis']} (as of "
              f"{short_time(fleet.get('updated'))} UTC): jobs queued {jobs.get('queued', 0)}, "
              f"held {jobs.get('held', 0)}, failed {jobs.get('failed', 0)}; stream backlog: "
              f"pending {stream.get('pending', 0)}, lag {stream.get('lag')}, entries "
              f"{stream.get('entries', 0)}", highlight=False, soft_wrap=True, markup=False)
    intake = fleet.get("intake") or {}
    out.print(f"  offered: {counts.get('jobs', 0)} jobs ({counts.get('sources', 0)} sources), "
              f"busy {counts.get('busy', 0)}, re-offered {counts.get('reoffered', 0)}; "
              f"stored: {intake.get('articles', 0)} articles, {intake.get('runs', 0)} runs, "
              f"already stored {intake.get('already_stored', 0)}, refused "
              f"{intake.get('refused', 0)}", highlight=False, soft_wrap=True, markup=False)
    if fleet.get("redis_error"):
        out.print(f"[red]  Redis unreachable:[/] {escape(fleet['redis_error'])} (retrying)",
                  highlight=False, soft_wrap=True)
    if fleet.get("intake_error"):
        out.print(f"[red]  writer:[/] {escape(fleet['intake_error'])}", highlight=False,
                  soft_wrap=True)
    for warning in fleet.get("warnings") or []:
        out.print(f"[red]  lost:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    if fleet.get("busy"):
        out.print("  waiting for their site's job to end: " + ", ".join(
            f"{name} ({info['site']})" for name, info in fleet["busy"].items()),
            highlight=False, soft_wrap=True, markup=False)
    for job, info in (jobs.get("failed_ids") or {}).items():
        out.print(f"  failed job {job}: {info.get('reason')}", highlight=False,
                  soft_wrap=True, markup=False)
    workers = fleet.get("workers") or {}
    if not workers:
        out.print("  workers: none (start one: newswatch worker --redis URL)",
                  highlight=False, markup=False)
        return
    table = narrow_table("fleet workers")
    table.add_column("worker", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("last beat", justify="right", no_wrap=True)
    table.add_column("job", overflow="fold")
    for name, info in sorted(workers.items()):
        table.add_row(*cells(name, info.get("state", "?"), f"{info.get('age', '?')} s ago",
                              ", ".join(info.get("holds") or []) or str(info.get("job") or "-")))
    out.print(table)


@main.command()
@click.argument("source")
@click.option("--db", type=click.Path(path_type=Path), default=DEFAULT_DB, show_default=True,
              help="SQLite database file of the running daemon.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds to wait for the daemon to take the request.")
@click.option("--no-wait", is_flag=True, help="Leave the request for the daemon and return.")
def check(source: str, db: Path, timeout: float, no_wait: bool) -> None:
    """Ask the running daemon to crawl SOURCE now.

    Prints when the daemon took the request: crawling now, or queued right after the
    crawl of SOURCE that is running. Exit codes: 0 taken (with --no-wait: left for it);
    2 bad input (no such database, a source the daemon does not have: close names are
    listed); 3 no daemon runs on the database (or it is stopping); 4 the daemon did not
    take it within --timeout (the request is withdrawn)."""
    from monitor.run import ControlError
    from monitor.run import check as ask_daemon

    try:
        result = ask_daemon(db, source, wait=not no_wait, timeout=timeout)
    except ControlError as exc:
        fail(str(exc), exc.exit_code)
    out.print(result.line, highlight=False, soft_wrap=True, markup=False)


def _print_daemon(daemon: dict[str, Any]) -> None:
    """The daemon's line of ``newswatch status``: its state word first (one meaning
    each, ``monitor.run.daemon.DAEMON_STATES``, docs/DAEMON.md), then when and which."""
    word, pid, beat = daemon["state"], daemon["pid"], short_time(daemon["beat"])
    if word == "alive":
        line = Text.assemble("daemon: ", (word, "green"),
                             f" (pid {pid}, last heartbeat {daemon['beat']})")
    elif word == "stopped":
        line = Text.assemble("daemon: ", (word, "yellow"),
                             f" at {beat} UTC (a clean stop; pid {pid})")
    elif word == "died":
        line = Text.assemble("daemon: ", (word, "red"),
                             f": not running; the last daemon (pid {pid}) stopped beating at "
                             f"{beat} UTC without a clean stop (killed? crashed?)")
    else:
        line = Text.assemble("daemon: ", (word, "red"), " on this database")
    out.print(line, highlight=False)  # wrapped at spaces to the terminal's width
    if word not in ("alive", "stopped", "died"):
        # the command on a line of its own, whole (it is pasted), when it fits the width
        command = next_command("run", keep=("db",))
        if len(command) + 11 > out.width:
            command = "newswatch run, with this --db"
        out.print(f"start it: {command}", highlight=False, soft_wrap=True, markup=False)


def _print_dropped(runs: list[dict[str, Any]]) -> None:
    """Per source, what its last run did not request or did not store, and why
    (``crawler.ledger``); nothing when nothing was lost."""
    from crawler import ledger

    lines = [(run["source"], ledger.dropped(ledger.load(run.get("ledger")))) for run in runs]
    lines = [(source, lost) for source, lost in lines if lost]
    if lines:
        out.print("inputs lost in the last runs (crawler.ledger):", highlight=False)
        for source, lost in lines:
            out.print(f"  {source}: {lost}", highlight=False, soft_wrap=True)
    deferred = [(run["source"], ((ledger.load(run.get("ledger")) or {}).get("recheck") or {}))
                for run in runs]
    deferred = [(source, counts) for source, counts in deferred if counts.get("deferred")]
    if deferred:  # due articles the budget left for later (docs/USAGE.md "Re-checks")
        out.print("re-checks deferred in the last runs (over the budget; still due):",
                  highlight=False)
        for source, counts in deferred:
            out.print(f"  {source}: recheck deferred {counts['deferred']} (due "
                      f"{counts.get('due', 0)}, budget {counts.get('budget', 0)})",
                      highlight=False, soft_wrap=True)


def _health_rows(db: Path) -> list[dict[str, Any]]:
    """Each source's health (``monitor.sources.health.report``)."""
    from monitor.sources.health import report as health_report
    from monitor.store import Store

    store = Store(db)
    try:
        return health_report(store.db)
    finally:
        store.close()


def _print_health(rows: list[dict[str, Any]]) -> None:
    """The health table of ``newswatch status``: state, since, key signals, reasons."""

    if not rows:
        return
    colour = {"ok": "green", "degraded": "yellow", "failing": "red"}
    table = narrow_table("source health (since: UTC)",
                          caption="the last run: pages article pages fetched, extr "
                          "those that gave text, fail failed requests, unm unmatched "
                          "links (docs/HEALTH.md)")
    table.add_column("source", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("since", no_wrap=True)
    for column in ("pages", "extr", "fail", "unm"):
        table.add_column(column, justify="right", no_wrap=True, min_width=len(column))
    table.add_column("why", overflow="fold")
    for row in rows:
        signals = row["signals"]
        state = Text(row["state"], style=colour.get(row["state"], "white"))
        table.add_row(Text(row["source"]), state, short_time(row["since"]),
                      *cells(str(signals.get("pages", 0)), str(signals.get("extracted", 0)),
                              str(sum((signals.get("fail") or {}).values())),
                              str(signals.get("unmatched", 0)),
                              "; ".join(row["reasons"]) or "-"))
    out.print(table)
