"""``newswatch demo`` and ``newswatch farm``: the replica sites."""

from __future__ import annotations

import signal
from pathlib import Path

import click

from monitor.cli.app import (
    alerts_choice,
    console,
    exit_code_of,
    fail,
    main,
    out,
)
from monitor.cli.report import exit_for, report, run_with_progress
from monitor.run import CrawlError
from monitor.sources import ConfigError
from monitor.store import DEFAULT_DB


@main.command()
@click.option("--db", type=click.Path(path_type=Path), default=DEFAULT_DB,
              show_default=True, help="SQLite database file (the same default as every "
              "command, so that `newswatch status`/`serve` find the demo's).")
@click.option("--port", default=8800, show_default=True, type=click.IntRange(1, 65535),
              help="The farm's port (fixed: the same URLs at every run).")
@click.option("--alerts-config", type=click.Path(path_type=Path), default=None,
              help="Alerts file whose rules queue alerts (default: config/alerts.yaml).")
@click.option("--no-alerts", is_flag=True, help="Queue no alerts.")
def demo(db: Path, port: int, alerts_config: Path | None = None,
         no_alerts: bool = False) -> None:
    """Start the replica site farm, crawl it, and print what was stored."""
    from monitor.run.demo import DemoPortBusy, run_demo
    from monitor.store import database_to_write

    alerts_file = alerts_choice(alerts_config, no_alerts)
    database_to_write(db)
    try:
        result = run_demo(db, runner=run_with_progress, port=port, alerts=alerts_file)
    except DemoPortBusy as exc:
        fail(str(exc), 2)
    except ConfigError as exc:  # bad input: the alerts file given (exit 2, as crawl)
        fail(str(exc), 2)
    except CrawlError as exc:
        fail(str(exc), exit_code_of(exc.database) if exc.database else 1)
    report(result)
    stored = sum(result.totals[k] for k in ("new", "irrelevant", "duplicate", "updated"))
    out.print(f"\nDatabase: [bold]{result.db_path}[/] ({stored} articles stored or updated "
              "in this run)")
    import shlex  # one line, quoted for the shell: pasted as it is

    out.print("Try: " + shlex.join(["sqlite-utils", "query", str(result.db_path),
                                    "select source, title from articles limit 5"]),
              highlight=False, soft_wrap=True, markup=False)
    exit_for(result)


@main.command()
@click.option("--port", default=8800, show_default=True, type=click.IntRange(0, 65535),
              help="Port on every 127.0.0.x host (0: a free port per site).")
@click.option("--extra", default=0, show_default=True,
              help="Add this many generated articles (for load tests).")
@click.option("--prerender", is_flag=True, help="Render every page before serving.")
@click.option("--archive", default=0, show_default=True,
              help="Add an archive of this many older articles to one site, generated "
              "lazily, behind its sitemap index (for backfills; docs/BACKFILL.md).")
@click.option("--archive-site", default="baochinhphu_en", show_default=True,
              help="The site that serves the archive (one with a sitemap index).")
def farm(port: int, extra: int, prerender: bool, archive: int, archive_site: str) -> None:
    """Serve the replica site farm until interrupted."""
    # SIGTERM is an orderly stop from the very start (a service manager or a script may
    # stop the farm while it is still generating its articles): exit 0, nothing printed
    # (the handler only wakes the main thread: ``Wakeup`` takes no lock in a handler)
    from monitor.processes import Wakeup

    stop, stopping = Wakeup(), []

    def on_sigterm(*_: object) -> None:
        stopping.append(True)
        stop.set()

    signal.signal(signal.SIGTERM, on_sigterm)
    from monitor.farm import Farm, FarmError
    from monitor.run.demo import FARM_HINT, DemoPortBusy, check_port

    try:
        if port:  # busy: one line, never other ports than the user asked for
            check_port(port, FARM_HINT)
    except DemoPortBusy as exc:
        fail(str(exc), 2)
    try:
        running = Farm(port=port, extra=extra, archive=archive, archive_site=archive_site)
    except (FarmError, ValueError) as exc:
        fail(str(exc), 2)
    with running:
        if stopping:
            return
        if prerender:
            running.prerender()
        for name, value in running.variables.items():
            out.print(f"export {name}={value}", highlight=False)
        count = len(running.all_articles())
        console.print(f"serving {count} articles on {len(running.sites)} sites; Ctrl-C to stop. "
                      "Crawl it with: newswatch crawl --config config/demo.yaml "
                      "(after the exports above)", highlight=False)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
