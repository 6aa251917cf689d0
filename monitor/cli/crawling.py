"""``newswatch crawl``, ``newswatch backfill`` and ``newswatch recheck``."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, Progress, TextColumn

from monitor.cli.app import (
    EXIT_INTERRUPTED,
    LOG_LEVELS,
    alerts_choice,
    console,
    duration,
    exit_code_of,
    fail,
    main,
    next_command,
    out,
    recheck_options,
    recheck_overrides,
    withhold_alert_secrets,
)
from monitor.cli.report import exit_for, report, report_problems, run_with_progress
from monitor.run import CrawlError
from monitor.sources import DEFAULT_CONFIG, ConfigError
from monitor.store import DEFAULT_DB


@main.command("crawl")
@click.option("--config", "config", type=click.Path(path_type=Path), default=DEFAULT_CONFIG,
              show_default=True, help="Sources file.")
@click.option("--db", type=click.Path(path_type=Path), default=DEFAULT_DB, show_default=True,
              help="SQLite database file.")
@click.option("--source", "sources", multiple=True, help="Crawl only this source (repeatable).")
@click.option("--log-level", default="WARNING", show_default=True, type=LOG_LEVELS,
              help="Scrapy log level.")
@click.option("--alerts-config", type=click.Path(path_type=Path), default=None,
              help="Alerts file whose rules queue alerts (default: config/alerts.yaml).")
@click.option("--no-alerts", is_flag=True, help="Queue no alerts.")
@recheck_options
def crawl_command(config: Path, db: Path, sources: tuple[str, ...], log_level: str,
                  alerts_config: Path | None = None, no_alerts: bool = False,
                  recheck_min: str | None = None, recheck_max: str | None = None,
                  recheck_budget: int | None = None) -> None:
    """Crawl all sources (or some) once, then print a summary.

    Stored articles whose next check is due are re-checked too (conditional GETs), the
    most valuable first, within each source's re-check budget; see docs/USAGE.md
    "Re-checks" for the --recheck-* options."""
    from monitor.store import database_to_write

    alerts_file = alerts_choice(alerts_config, no_alerts)
    database_to_write(db)
    withhold_alert_secrets(alerts_file)  # the crawl sends no alert: no secret in its env
    try:
        result = run_with_progress(config=config, db_path=db, sources=sources or None,
                                    scrapy_settings={"LOG_LEVEL": log_level.upper()},
                                    alerts=alerts_file,
                                    recheck=recheck_overrides(recheck_min, recheck_max,
                                                              recheck_budget))
    except ConfigError as exc:
        fail(str(exc), 2)
    except CrawlError as exc:
        fail(f"crawl failed: {exc}", exit_code_of(exc.database) if exc.database else 1)
    report(result)
    exit_for(result)


@main.command()
@click.argument("source")
@click.option("--config", "config", type=click.Path(path_type=Path), default=DEFAULT_CONFIG,
              show_default=True, help="Sources file.")
@click.option("--db", type=click.Path(path_type=Path), default=DEFAULT_DB, show_default=True,
              help="SQLite database file.")
@click.option("--limit", type=int, default=None,
              help="Request at most this many articles in this session (resume later).")
@click.option("--since", default=None, metavar="DATE",
              help="Skip articles (and child sitemaps) dated before DATE (YYYY-MM-DD).")
@click.option("--retry-failed", is_flag=True,
              help="Request again the articles an earlier session kept as failed.")
@click.option("--reset", is_flag=True,
              help="Forget this source's backfill cursor first (stored articles stay).")
@click.option("--log-level", default="WARNING", show_default=True, type=LOG_LEVELS,
              help="Scrapy log level.")
def backfill(source: str, config: Path, db: Path, limit: int | None, since: str | None,
             retry_failed: bool, reset: bool, log_level: str) -> None:
    """Backfill SOURCE's archive from its sitemaps: newest first, resumable.

    Stop it any time (Ctrl-C); the same command resumes where it stopped, and never
    requests an article already stored. See docs/BACKFILL.md. Exit codes: 0 done (or
    --limit reached), 1 the crawl failed, 2 bad input, 130 interrupted.
    """
    from monitor.processes import Interrupt
    from monitor.run import backfill as run_backfill
    from monitor.store import database_to_write

    database_to_write(db)
    withhold_alert_secrets()  # a backfill sends no alert: no secret in its processes' env
    show = _BackfillProgress(source, limit)
    # SIGTERM (a service manager, `timeout`) stops a backfill in order, as Ctrl-C does:
    # the articles in flight are stored; a second signal stops it at once
    stop = Interrupt()
    previous = {sig: signal.signal(sig, lambda *_: stop.request())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:  # the handlers stay until the exit code is decided: a Ctrl-C that comes
        # after the session's end changes neither what is printed nor the exit code
        try:
            result = run_backfill(source, config=config, db_path=db, limit=limit,
                                  since=since, retry_failed=retry_failed, reset=reset,
                                  progress=show.update,
                                  scrapy_settings={"LOG_LEVEL": log_level.upper()},
                                  stop=stop)
        except ConfigError as exc:
            fail(str(exc), 2)
        except CrawlError as exc:
            fail(f"backfill failed: {exc}",
                 exit_code_of(exc.database) if exc.database else 1)
        finally:
            show.stop()
        _backfill_summary(source, result, show.failed, limit)
        exit_for(result.crawl)
        from monitor.store import frontier

        if result.state == frontier.FAILED:  # the site answered, its index did not read
            fail(f"backfill of {source} failed: its sitemap index could not be read "
                 "(its errors above)")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@main.command()
@click.argument("target", metavar="URL|ID")
@click.option("--config", "config", type=click.Path(path_type=Path), default=DEFAULT_CONFIG,
              show_default=True, help="Sources file (the article's source is read from it).")
@click.option("--db", type=click.Path(path_type=Path), default=DEFAULT_DB, show_default=True,
              help="SQLite database file.")
@click.option("--log-level", default="CRITICAL", show_default=True, type=LOG_LEVELS,
              help="Scrapy log level (the one line says what happened; WARNING shows the "
                   "crawl's own error lines too).")
@click.option("--alerts-config", type=click.Path(path_type=Path), default=None,
              help="Alerts file whose rules queue alerts (default: config/alerts.yaml).")
@click.option("--no-alerts", is_flag=True, help="Queue no alerts.")
def recheck(target: str, config: Path, db: Path, log_level: str,
            alerts_config: Path | None = None, no_alerts: bool = False) -> None:
    """Re-check one stored article now (by URL or article id), whatever its age.

    One conditional GET through the crawl's machinery (SSRF guard, robots.txt, the
    source's politeness); a changed text is stored as a new version with its diff and
    edit kinds and queues alerts as a crawl does. Prints one line: updated (with the
    edit kinds), unchanged, not modified, gone, moved. Needs no daemon. Exit codes: 0 the
    site answered (any of those); 1 the re-check failed (error: ...); 2 bad input (no
    such article, database or source); 130 interrupted.
    """
    from monitor.run import UnknownArticle
    from monitor.run import recheck as recheck_article
    from monitor.store import existing_database

    alerts_file = alerts_choice(alerts_config, no_alerts)
    existing_database(db)
    withhold_alert_secrets(alerts_file)  # the crawl sends no alert: no secret in its env
    try:
        result = recheck_article(target, config=config, db_path=db, alerts=alerts_file,
                                 scrapy_settings={"LOG_LEVEL": log_level.upper()})
    except UnknownArticle as exc:
        fail(str(exc), 2)
    except ConfigError as exc:
        fail(str(exc), 2)
    except CrawlError as exc:
        fail(f"re-check failed: {exc}")
    if result.outcome == "interrupted":
        console.print(result.line, highlight=False, soft_wrap=True, markup=False)
        sys.exit(EXIT_INTERRUPTED)
    if not result.ok:
        fail(result.line.removeprefix("error: "))
    out.print(result.line, highlight=False, soft_wrap=True, markup=False)


def _backfill_summary(source: str, result: Any, failed_now: int, limit: int | None) -> None:
    """A backfill session's summary on stdout (docs/BACKFILL.md), then its problems. The
    first line says the session's state, one meaning each (``monitor.store.frontier``);
    the command that resumes it is printed when resuming makes sense (stopped,
    interrupted), with the options this one was given (``next_command``)."""
    from monitor.store import frontier

    counts, stored = result.counts, result.stored_now
    rate = stored / result.seconds if result.seconds else 0.0
    why = {frontier.STOPPED: (f" (--limit {limit} reached)" if limit else
                              " (work left for the next session)"),
           frontier.FAILED: (" (its sitemap index could not be read: "
                             + ("the site was unreachable)" if result.crawl.unreachable
                                else "see its errors below)"))}.get(result.state, "")
    lines = [f"backfill {source}: {result.state}{why}",
             f"  this session: {stored:,} articles stored, {failed_now:,} failed, "
             f"{result.crawl.totals['requests']:,} requests in {result.seconds:.0f} s "
             f"({rate:.1f} articles/s)",
             f"  archive: {counts['stored']:,} of {counts['urls']:,} listed articles stored, "
             f"{counts['failed']:,} failed, {counts['pending']:,} to go; child sitemaps "
             f"{counts['children_read']:,} of {counts['children']:,} read"]
    if result.state in frontier.RESUMABLE:
        lines.append("  resume with: " + next_command(
            "backfill", source, keep=("config", "db", "since", "limit", "log_level")))
    for line in lines:
        out.print(line, highlight=False, soft_wrap=True, markup=False)
    report_problems(result.crawl)  # an unreachable site: one warning line, as crawl


class _BackfillProgress:
    """A backfill's progress line on stderr: articles stored of those listed so far
    (estimated for the child sitemaps not read yet, ``~``), rate and ETA; a live bar on
    a terminal, a plain line every ``EVERY`` seconds otherwise (logs, CI)."""

    EVERY = 10.0

    def __init__(self, source: str, limit: int | None) -> None:
        self.source, self.limit = source, limit
        self.bar: Progress | None = None
        self.task: Any = None
        self.started: float | None = None
        self.base = 0  # articles done when the rate's clock started
        self.printed = 0.0
        self.failed = 0

    def update(self, counts: dict[str, Any]) -> None:
        import time

        info = counts.get("backfill") or {}
        if not info:
            return
        now = time.monotonic()
        self.failed = int(info.get("failed", 0))
        done = int(counts.get("done", 0)) + self.failed
        if self.started is None and done:
            self.started, self.base = now, done
        completed = int(info.get("known_done", 0)) + done
        total = float(info.get("known", 0))
        unread = int(info.get("children", 0)) - int(info.get("children_read", 0))
        estimated = unread > 0 and info.get("read_now")
        if estimated:
            total += unread * info["entries_read"] / info["read_now"]
        left = max(0.0, total - completed)
        if self.limit:
            left = min(left, max(0, self.limit - int(info.get("requested", 0))))
        rate = ((done - self.base) / (now - self.started)
                if self.started is not None and now > self.started else 0.0)
        eta = duration(left / rate) if rate > 0 else "?"
        text = (f"{completed:,}/{'~' if estimated else ''}{int(total):,} "
                f"{rate:.0f}/s ETA {eta} sitemaps {info.get('children_read', 0)}/"
                f"{info.get('children', 0)} {counts.get('errors', 0)} err")
        if console.is_terminal:
            if self.bar is None:
                self.bar = Progress(TextColumn("[bold]{task.description:<14}"),
                                    BarColumn(bar_width=10), TextColumn("{task.fields[text]}"),
                                    console=console)  # fits 80 columns
                self.task = self.bar.add_task(self.source, total=None, text="")
                self.bar.start()
            self.bar.update(self.task, total=max(total, completed) or None,
                            completed=completed, text=text)
        elif now - self.printed >= self.EVERY:
            self.printed = now
            console.print(f"backfill {self.source}: {text} stored", highlight=False,
                          soft_wrap=True)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
