"""``newswatch alerts ...``: the outbox, delivery, retries and test messages."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from monitor.cli.app import (
    cells,
    fail,
    main,
    narrow_table,
    out,
    short_time,
)
from monitor.sources import ConfigError
from monitor.store import DEFAULT_DB


def _alerts_setup(db: Path, alerts_config: Path) -> tuple[Any, Any]:
    from monitor.alerts import load_alert_config
    from monitor.store import Store, existing_database

    existing_database(db)
    try:
        config = load_alert_config(alerts_config)
    except ConfigError as exc:
        fail(str(exc), 2)
    return Store(db), config


@main.group()
@click.option("--db", type=click.Path(path_type=Path), default=DEFAULT_DB, show_default=True,
              help="SQLite database file.")
@click.option("--alerts-config", type=click.Path(path_type=Path), default=None,
              help="Alerts file (default: config/alerts.yaml).")
@click.pass_context
def alerts(ctx: click.Context, db: Path, alerts_config: Path | None) -> None:
    """The alert outbox: list, deliver, retry, test a channel."""
    from monitor.alerts import ALERTS_FILE

    ctx.obj = {"db": db, "alerts_config": alerts_config or ALERTS_FILE}


def _alerts_options_here_too(command: Any) -> Any:
    """``--db`` and ``--alerts-config`` after the subcommand too (``newswatch alerts list
    --db X``), where every other command takes them; given there, they win over the
    group's (``newswatch alerts --db X list``)."""
    import functools

    @click.option("--db", "here_db", type=click.Path(path_type=Path), default=None,
                  help="SQLite database file (or before the subcommand).")
    @click.option("--alerts-config", "here_alerts", type=click.Path(path_type=Path),
                  default=None, help="Alerts file (or before the subcommand).")
    @functools.wraps(command)
    def wrapper(*args: Any, here_db: Path | None = None, here_alerts: Path | None = None,
                **kwargs: Any) -> Any:
        obj = click.get_current_context().ensure_object(dict)
        if here_db is not None:
            obj["db"] = here_db
        if here_alerts is not None:
            obj["alerts_config"] = here_alerts
        return command(*args, **kwargs)
    return wrapper


@alerts.command("list")
@_alerts_options_here_too
@click.option("--status", type=click.Choice(["pending", "sending", "sent", "failed", "digested"]),
              default=None, help="Only alerts in this state.")
@click.option("--limit", default=50, show_default=True, help="At most this many (newest).")
@click.pass_obj
def alerts_list(obj: dict[str, Any], status: str | None, limit: int) -> None:
    """Alerts in the outbox, newest first."""
    from monitor.alerts import list_alerts
    from monitor.store import Store, existing_database

    store = Store(existing_database(obj["db"]))
    try:
        rows = list_alerts(store, status, limit)
    finally:
        store.close()
    # 80 columns: one line per alert where the title fits; the rule and the last error
    # go under the title
    table = narrow_table(f"alerts ({len(rows)}) · times UTC",
                          caption="when: sent at, or the next attempt; about: title · "
                          "rule · last error")
    for column in ("id", "kind", "channel", "status", "tries", "when"):
        table.add_column(column, no_wrap=True, justify="right" if column in (
            "id", "tries") else "left")
    table.add_column("about", overflow="fold")
    for row in rows:
        about = f"{row['title'] or ''} · {row['rule']}"
        if row["last_error"]:
            about += f" · {row['last_error'][:200]}"
        table.add_row(*cells(str(row["id"]), row["kind"], row["channel"], row["status"],
                              str(row["attempts"]),
                              short_time(row["sent"] or row["next_attempt"]), about))
    out.print(table)


@alerts.command("deliver")
@_alerts_options_here_too
@click.option("--max-attempts", default=8, show_default=True,
              help="Attempts before an alert is marked failed.")
@click.pass_obj
def alerts_deliver(obj: dict[str, Any], max_attempts: int) -> None:
    """One delivery pass over the due pending alerts."""
    import logging

    from monitor.alerts import deliver_pending

    store, config = _alerts_setup(obj["db"], obj["alerts_config"])
    # the pass's log lines (a failure per channel and reason, with its count and attempt;
    # a channel working again), as the daemon's log shows them
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    alerts_log = logging.getLogger("newswatch.alerts")
    alerts_log.addHandler(handler)
    alerts_log.setLevel(logging.INFO)
    try:
        report = deliver_pending(store, config, max_attempts=max_attempts)
    finally:
        alerts_log.removeHandler(handler)
        store.close()
    out.print(f"sent {report.sent}, retrying {report.retrying}, failed {report.failed}, "
              f"held for digest {report.held}, recovered {report.recovered}", highlight=False)


@alerts.command("retry")
@_alerts_options_here_too
@click.argument("ids", nargs=-1, type=int)
@click.pass_obj
def alerts_retry(obj: dict[str, Any], ids: tuple[int, ...]) -> None:
    """Put failed alerts (all, or IDs) back to pending; the next delivery sends them."""
    from monitor.alerts import retry_failed
    from monitor.store import Store, existing_database

    store = Store(existing_database(obj["db"]))
    try:
        if ids:  # an id that is no alert is a typo: say so, change nothing
            known = {row["id"] for row in store.db.query(
                f"select id from alerts where id in ({', '.join('?' * len(ids))})", ids)}
            if unknown := sorted(set(ids) - known):
                fail(f"no alert {', '.join(map(str, unknown))} in {obj['db']} "
                      "(newswatch alerts list --status failed shows the failed ones)", 2)
        count = retry_failed(store, ids or None)
    finally:
        store.close()
    out.print(f"{count} failed alerts queued again", highlight=False)


@alerts.command("test")
@_alerts_options_here_too
@click.argument("channel")
@click.pass_obj
def alerts_test(obj: dict[str, Any], channel: str) -> None:
    """Send a test message to CHANNEL; exit 1 if it fails."""
    from monitor.alerts import DeliveryError, load_alert_config, send_test

    try:
        config = load_alert_config(obj["alerts_config"])
    except ConfigError as exc:
        fail(str(exc), 2)
    if channel not in config.channels:
        fail(f"no channel {channel!r} (have: {', '.join(config.channels) or 'none'})", 2)
    try:
        send_test(config, channel)
    except DeliveryError as exc:
        fail(str(exc))
    out.print(f"test message sent to {channel}", highlight=False)
