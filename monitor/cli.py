"""The ``newswatch`` command: a thin shell over the ``monitor`` library."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from monitor.config import DEFAULT_CONFIG, ConfigError
from monitor.crawl import CrawlError, CrawlResult, crawl
from monitor.store import COUNTS, DEFAULT_DB

console = Console(stderr=True)
out = Console() if sys.stdout.isatty() else Console(width=110)


def _fail(message: str, code: int = 1) -> None:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    sys.exit(code)


def _run_with_progress(**kwargs: Any) -> CrawlResult:
    """Run a crawl with a live progress bar per source."""
    with Progress(TextColumn("[bold]{task.description:<16}"), BarColumn(),
                  MofNCompleteColumn(), TextColumn("{task.fields[errors]} errors"),
                  TimeElapsedColumn(), console=console, transient=False) as bar:
        tasks: dict[str, Any] = {}

        def update(snapshot: dict[str, dict[str, int]]) -> None:
            for name, counts in snapshot.items():
                if name not in tasks:
                    tasks[name] = bar.add_task(name, total=None, errors=0)
                found = counts["found"]
                bar.update(tasks[name], total=max(found, 1),
                           completed=counts["done"] + 0, errors=counts["errors"])

        return crawl(progress=update, **kwargs)


def summary_table(result: CrawlResult) -> Table:
    """found / new / updated / duplicate / irrelevant / unchanged / errors / requests per
    source, with totals."""
    table = Table(title="crawl summary", show_footer=True)
    keys = list(COUNTS)
    totals = result.totals
    table.add_column("source", footer="total", no_wrap=True, min_width=14)
    for key in keys:
        table.add_column(key, justify="right", footer=str(totals[key]))
    table.add_column("status")
    for run in result.runs:
        table.add_row(run["source"], *(str(run[k]) for k in keys), run["status"])
    return table


def _report(result: CrawlResult) -> None:
    out.print(summary_table(result))
    for run in result.runs:
        if run.get("error_detail"):
            console.print(f"[yellow]{run['source']}[/] errors:", highlight=False)
            for line in run["error_detail"].splitlines()[:5]:
                console.print(f"  {line}", highlight=False, soft_wrap=True)


@click.group()
@click.version_option(package_name="newswatch")
def main() -> None:
    """newswatch: watch Vietnamese news sites for Vietnam–US relations articles."""


@main.command("crawl")
@click.option("--config", "config", type=click.Path(path_type=Path), default=DEFAULT_CONFIG,
              show_default=True, help="Sources file.")
@click.option("--db", type=click.Path(path_type=Path), default=DEFAULT_DB, show_default=True,
              help="SQLite database file.")
@click.option("--source", "sources", multiple=True, help="Crawl only this source (repeatable).")
@click.option("--log-level", default="WARNING", show_default=True, help="Scrapy log level.")
def crawl_command(config: Path, db: Path, sources: tuple[str, ...], log_level: str) -> None:
    """Crawl all sources (or some) once, then print a summary."""
    try:
        result = _run_with_progress(config=config, db_path=db, sources=sources or None,
                                    scrapy_settings={"LOG_LEVEL": log_level.upper()})
    except ConfigError as exc:
        _fail(str(exc), 2)
    except CrawlError as exc:
        _fail(f"crawl failed: {exc}")
    _report(result)
    if not result.ok:
        _fail("some sources did not finish (see status column)")


@main.command()
@click.option("--db", type=click.Path(path_type=Path), default=Path("newswatch-demo.db"),
              show_default=True, help="SQLite database file for the demo.")
def demo(db: Path) -> None:
    """Start the replica site farm, crawl it, and print what was stored."""
    from monitor.demo import run_demo

    try:
        result = run_demo(db, runner=_run_with_progress)
    except (ConfigError, CrawlError) as exc:
        _fail(str(exc))
    _report(result)
    stored = sum(result.totals[k] for k in ("new", "irrelevant", "duplicate", "updated"))
    out.print(f"\nDatabase: [bold]{result.db_path}[/] ({stored} articles stored or updated "
              "in this run)")
    out.print(f"Try: sqlite-utils query {result.db_path} "
              "\"select source, title from articles limit 5\"", highlight=False)
    if not result.ok:
        _fail("some sources did not finish (see status column)")


@main.command()
@click.argument("file", type=click.File("r", encoding="utf-8"))
def judge(file: Any) -> None:
    """Judge JSON lines {"id", "title", "text"} (FILE or - for stdin) for the default topic.

    Prints one JSON line per input: {"id", "score", "relevant", "reasons"}.
    """
    import json

    from monitor.relevance import judge_lines

    try:
        for verdict in judge_lines(file):
            out.print(json.dumps(verdict, ensure_ascii=False), highlight=False, soft_wrap=True)
    except (ValueError, ConfigError) as exc:
        _fail(str(exc), 2)


@main.command()
@click.option("--port", default=8800, show_default=True, help="Port on every 127.0.0.x host.")
@click.option("--extra", default=0, show_default=True,
              help="Add this many generated articles (for load tests).")
@click.option("--prerender", is_flag=True, help="Render every page before serving.")
def farm(port: int, extra: int, prerender: bool) -> None:
    """Serve the replica site farm until interrupted."""
    from monitor.farm import Farm

    with Farm(port=port, extra=extra) as running:
        if prerender:
            running.prerender()
        for name, value in running.variables.items():
            out.print(f"export {name}={value}", highlight=False)
        count = len(running.all_articles())
        console.print(f"serving {count} articles on {len(running.sites)} sites; Ctrl-C to stop. "
                      "Crawl it with: newswatch crawl --config config/demo.yaml "
                      "(after the exports above)", highlight=False)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass


@main.command()
@click.option("--db", type=click.Path(path_type=Path), default=DEFAULT_DB, show_default=True,
              help="SQLite database file.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8001, show_default=True, help="Port.")
def serve(db: Path, host: str, port: int) -> None:
    """Browse the database in Datasette (read-only), with newswatch's queries and feed."""
    from monitor.serve import DatabaseNotFound, check_database
    from monitor.serve import serve as run_serve

    try:
        check_database(db)
        console.print(f"serving {db} read-only on http://{host}:{port}/ ; Ctrl-C to stop",
                      highlight=False)
        run_serve(db, host=host, port=port)
    except DatabaseNotFound as exc:
        _fail(str(exc), 2)


@main.command()
@click.option("--db", type=click.Path(path_type=Path), default=DEFAULT_DB, show_default=True,
              help="SQLite database file.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl",
              show_default=True, help="Output format.")
@click.option("--output", type=click.Path(path_type=Path), default=None,
              help="Write to this file instead of stdout.")
@click.option("--relevant-only", is_flag=True, help="Only articles judged relevant.")
def export(db: Path, fmt: str, output: Path | None, relevant_only: bool) -> None:
    """Export articles (id, url, source, title, author, published, language, relevance,
    relevant, story_id, text) as JSON lines or CSV."""
    from monitor.export import DatabaseNotFound
    from monitor.export import export as run_export

    try:
        if output is None:
            count = run_export(db, sys.stdout, fmt, relevant_only)
        else:
            with output.open("w", encoding="utf-8", newline="") as handle:
                count = run_export(db, handle, fmt, relevant_only)
    except DatabaseNotFound as exc:
        _fail(str(exc), 2)
    console.print(f"{count} articles exported", highlight=False)


if __name__ == "__main__":
    main()
