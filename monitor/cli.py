"""The ``newswatch`` command: a thin shell over the ``monitor`` library."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any


def _interrupted(*_: Any) -> None:
    """SIGINT while the command starts (its imports take a second): exit 130 quietly.
    A crawl replaces this with its own orderly stop while it runs."""
    sys.stderr.write("interrupted\n")
    sys.exit(130)


def _stopped_before_start(*_: Any) -> None:
    """``newswatch run`` or ``serve`` stopped (SIGTERM, Ctrl-C) while it starts: exit 0,
    as a stopped daemon or server does. Each replaces this with its own handlers."""
    sys.stderr.write("stopped\n")
    sys.exit(0)


def _command(argv: list[str]) -> str | None:
    """The subcommand's name in ``argv`` (the first word that is not an option)."""
    return next((word for word in argv if not word.startswith("-")), None)


if __name__ == "__main__" or Path(sys.argv[0]).name == "newswatch":  # the command itself
    signal.signal(signal.SIGINT, _interrupted)
    if _command(sys.argv[1:]) in ("run", "serve"):  # the services: a stop is exit 0
        signal.signal(signal.SIGINT, _stopped_before_start)
        signal.signal(signal.SIGTERM, _stopped_before_start)
    if _command(sys.argv[1:]) == "run":
        # until the daemon's own handlers are in place: a reload (SIGHUP, e.g. systemctl
        # reload right after start) means nothing yet, the file is read when it starts,
        # and its default action would kill the daemon
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

import click  # noqa: E402
from rich import box  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.markup import escape  # noqa: E402
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402
from rich.table import Table  # noqa: E402
from rich.text import Text  # noqa: E402

from monitor.config import DEFAULT_CONFIG, ConfigError  # noqa: E402
from monitor.crawl import CrawlError, CrawlResult, crawl  # noqa: E402
from monitor.store import COUNTS, DEFAULT_DB  # noqa: E402

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C
console = Console(stderr=True)
out = Console()  # tables fit 80 columns (COLUMNS, or the terminal's width)


def _fail(message: str, code: int = 1) -> None:
    """``error: message`` on one line (never wrapped, even when stderr is not a
    terminal), then exit ``code``."""
    # the message is text, never markup or emoji codes: it quotes what the user typed
    # ("[/b]", a path, "127.0.0.1:-1:"), which rich would read as tags or an emoji
    console.print(Text.assemble(("error:", "bold red"), " ", message), highlight=False,
                  soft_wrap=True, emoji=False)
    sys.exit(code)


def _run_with_progress(**kwargs: Any) -> CrawlResult:
    """Run a crawl with a live progress bar per source."""
    bar = Progress(TextColumn("[bold]{task.description:<14}"), BarColumn(bar_width=12),
                   MofNCompleteColumn(), TextColumn("{task.fields[errors]} err"),
                   TextColumn("{task.fields[requests]} req"), TimeElapsedColumn(),
                   TextColumn("{task.fields[step]}"), console=console, transient=False)
    tasks: dict[str, Any] = {}
    started: list[bool] = []

    def update(snapshot: dict[str, dict[str, int]]) -> None:
        if not started:  # started with the first report: a config error prints no bar
            started.append(True)
            bar.start()
        for name, counts in snapshot.items():
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=None, errors=0, requests=0,
                                           step="starting")
            found = counts["found"]
            # until pages are found the bar pulses (no total) and the step says what is
            # being fetched: robots.txt, feeds, sitemaps, listings
            step = counts.get("step", "")
            bar.update(tasks[name], total=found if found or step == "done" else None,
                       completed=counts["done"],
                       errors=counts["errors"], requests=counts.get("requests", 0),
                       step=step)

    try:
        return crawl(progress=update, **kwargs)
    finally:
        if started:
            bar.stop()


# column headers short enough for a summary of every count to fit 80 columns
SHORT = {"found": "found", "new": "new", "updated": "upd", "duplicate": "dup",
         "irrelevant": "irrel", "unchanged": "unch", "skipped": "skip", "errors": "err",
         "requests": "req"}
LEGEND = ("upd updated, dup duplicate, irrel irrelevant, unch unchanged, skip skipped "
          "(not due), err errors, req requests")


def _narrow_table(title: str, caption: str | None = None, footer: bool = False) -> Table:
    """A table that fits 80 columns: no side borders, one space between columns. Cells
    are never cut: numbers and times do not wrap, text wraps at spaces."""
    return Table(title=title, caption=caption, show_footer=footer, box=box.SIMPLE_HEAD,
                 padding=(0, 0), show_edge=False, caption_justify="left")


def summary_table(result: CrawlResult) -> Table:
    """found / new / updated / duplicate / irrelevant / unchanged / skipped / errors /
    requests per source, with totals; abbreviated headers, explained in the caption."""
    table = _narrow_table("crawl summary", caption=LEGEND, footer=True)
    keys = list(COUNTS)
    totals = result.totals
    table.add_column("source", footer="total", no_wrap=True)
    for key in keys:
        header = SHORT.get(key, key)
        table.add_column(header, justify="right", footer=str(totals[key]), no_wrap=True,
                         min_width=len(header))
    table.add_column("status", overflow="fold")
    for run in sorted(result.runs, key=lambda run: run["source"]):  # not the finish order
        table.add_row(*_cells(run["source"], *(str(run[k]) for k in keys), run["status"]))
    return table


def _cells(*values: str) -> list[Text]:
    """Table cells of data (titles, errors, names from files): text, never rich markup,
    so a title such as "[Video] ..." or an error quoting "[/b]" prints as it is."""
    return [Text(value) for value in values]


def _short_time(value: str | None) -> str:
    """An ISO timestamp as ``YYYY-MM-DD HH:MM`` (UTC), or ``-``."""
    if not value:
        return "-"
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M")


def _report(result: CrawlResult) -> None:
    out.print(summary_table(result))
    _report_problems(result)


def _report_problems(result: CrawlResult) -> None:
    """One warning line per unreachable host, then each run's first error lines (an
    unreachable host's lines left out: summed up in its warning)."""
    for host, info in result.unreachable.items():  # one line per host, not per request
        sources = ", ".join(info.get("sources") or []) or "?"
        console.print(f"[yellow]warning:[/] {host} ({sources}) unreachable: "
                      f"{info['failures']} failures, e.g. {escape(info['reason'])}",
                      highlight=False, soft_wrap=True)
    from monitor.reach import host_of

    for run in result.runs:
        lines = [line for line in (run.get("error_detail") or "").splitlines()
                 if host_of(line.split(": ", 1)[0]) not in result.unreachable]
        if lines:  # (an unreachable host's lines are summed up above)
            console.print(f"[yellow]{run['source']}[/] errors:", highlight=False)
            for line in lines[:5]:
                console.print(f"  {line}", highlight=False, soft_wrap=True, markup=False)


LOG_LEVELS = click.Choice(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
                          case_sensitive=False)
_debug = False  # --debug: show the traceback of an unexpected error


class _Newswatch(click.Group):
    """One error path for every command: a user error is one ``error: ...`` line and
    exit 2, never a traceback (``newswatch --debug ...`` shows one for unexpected
    errors); Ctrl-C outside a crawl exits 130 quietly."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """The process's entry (``newswatch``, ``python -m monitor.cli``; not CliRunner,
        which calls ``main``): once the command has decided its exit code, a Ctrl-C
        while the interpreter shuts down does not turn it into death by SIGINT."""
        try:
            return self.main(*args, **kwargs)
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)

    def main(self, args: Any = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        from monitor.dbfile import DatabaseFileError

        try:
            code = super().main(args, prog_name or "newswatch", complete_var,
                                standalone_mode=False, **extra)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "newswatch"
            _fail(f"{exc.format_message()} (see {where} --help)", 2)
        except click.ClickException as exc:  # a file option that cannot be opened, ...
            _fail(exc.format_message(), 2)
        except click.Abort:  # Ctrl-C (KeyboardInterrupt) outside a crawl
            console.print("interrupted", highlight=False)
            sys.exit(EXIT_INTERRUPTED)
        except (ConfigError, DatabaseFileError) as exc:
            _fail(str(exc), 2)
        except Exception as exc:  # noqa: BLE001 - a bug: one line, unless --debug
            if _debug:
                raise
            _fail(f"unexpected {type(exc).__name__}: {exc} "
                  "(run newswatch --debug ... for the traceback)", 1)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=_Newswatch)
@click.version_option(package_name="newswatch")
@click.option("--debug", is_flag=True, help="Show the traceback of an unexpected error.")
def main(debug: bool) -> None:
    """newswatch: watch Vietnamese news sites for Vietnam–US relations articles.

    Exit codes: 0 done; 1 some source failed or was unreachable; 2 bad input (config,
    option, file, database); 130 interrupted (Ctrl-C).
    """
    global _debug
    _debug = debug


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
def crawl_command(config: Path, db: Path, sources: tuple[str, ...], log_level: str,
                  alerts_config: Path | None = None, no_alerts: bool = False) -> None:
    """Crawl all sources (or some) once, then print a summary."""
    from monitor.dbfile import database_to_write

    alerts_file = _alerts_choice(alerts_config, no_alerts)
    database_to_write(db)
    try:
        result = _run_with_progress(config=config, db_path=db, sources=sources or None,
                                    scrapy_settings={"LOG_LEVEL": log_level.upper()},
                                    alerts=alerts_file)
    except ConfigError as exc:
        _fail(str(exc), 2)
    except CrawlError as exc:
        _fail(f"crawl failed: {exc}")
    _report(result)
    _exit_for(result)


def _alerts_choice(alerts_config: Path | None, no_alerts: bool) -> Path | None:
    """The alerts file of ``crawl``, ``demo`` and ``run``: ``--alerts-config`` or
    config/alerts.yaml; None with ``--no-alerts`` (giving both is a usage error, exit 2)."""
    from monitor.alerts import ALERTS_FILE

    if no_alerts:
        if alerts_config is not None:
            _fail("give --alerts-config or --no-alerts, not both", 2)
        return None
    return alerts_config or ALERTS_FILE


def _exit_for(result: CrawlResult) -> None:
    """Exit code of a crawl: 130 interrupted, 1 some source did not finish, else 0."""
    if result.interrupted:
        console.print("interrupted: the crawl stopped early; what was extracted is stored, "
                      "its runs are marked interrupted", highlight=False, soft_wrap=True)
        sys.exit(EXIT_INTERRUPTED)
    if not result.ok:
        failed = result.failed_sources
        _fail(f"{len(failed)} of {len(result.runs)} sources failed or were unreachable: "
              f"{', '.join(failed) or '?'}")


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
    from monitor.backfill import backfill as run_backfill
    from monitor.dbfile import database_to_write
    from monitor.lifecycle import Interrupt

    database_to_write(db)
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
            _fail(str(exc), 2)
        except CrawlError as exc:
            _fail(f"backfill failed: {exc}")
        finally:
            show.stop()
        _backfill_summary(source, result, show.failed)
        _exit_for(result.crawl)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _backfill_summary(source: str, result: Any, failed_now: int) -> None:
    """A backfill session's summary on stdout (docs/BACKFILL.md), then its problems."""
    from monitor.backfill import DONE

    counts, stored = result.counts, result.stored_now
    rate = stored / result.seconds if result.seconds else 0.0
    lines = [f"backfill {source}: {result.state}",
             f"  this session: {stored:,} articles stored, {failed_now:,} failed, "
             f"{result.crawl.totals['requests']:,} requests in {result.seconds:.0f} s "
             f"({rate:.1f} articles/s)",
             f"  archive: {counts['stored']:,} of {counts['urls']:,} listed articles stored, "
             f"{counts['failed']:,} failed, {counts['pending']:,} to go; child sitemaps "
             f"{counts['children_read']:,} of {counts['children']:,} read"]
    if result.state != DONE:
        lines.append(f"  resume with: newswatch backfill {source} (same --db and --config)")
    for line in lines:
        out.print(line, highlight=False, soft_wrap=True, markup=False)
    _report_problems(result.crawl)  # an unreachable site: one warning line, as crawl


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
        eta = _duration(left / rate) if rate > 0 else "?"
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


def _duration(seconds: float) -> str:
    """``1h02m``, ``4m05s`` or ``12s``."""
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


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
    from monitor.dbfile import database_to_write
    from monitor.demo import DemoPortBusy, run_demo

    alerts_file = _alerts_choice(alerts_config, no_alerts)
    database_to_write(db)
    try:
        result = run_demo(db, runner=_run_with_progress, port=port, alerts=alerts_file)
    except DemoPortBusy as exc:
        _fail(str(exc), 2)
    except ConfigError as exc:  # bad input: the alerts file given (exit 2, as crawl)
        _fail(str(exc), 2)
    except CrawlError as exc:
        _fail(str(exc))
    _report(result)
    stored = sum(result.totals[k] for k in ("new", "irrelevant", "duplicate", "updated"))
    out.print(f"\nDatabase: [bold]{result.db_path}[/] ({stored} articles stored or updated "
              "in this run)")
    out.print(f"Try: sqlite-utils query {result.db_path} "  # one line: copied as it is
              "\"select source, title from articles limit 5\"", highlight=False,
              soft_wrap=True, markup=False)
    _exit_for(result)


@main.command()
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--explain", is_flag=True,
              help="Print a table of the reasons per article instead of JSON.")
def judge(file: Any, explain: bool) -> None:
    """Judge JSON lines {"id", "title", "text"} (FILE or - for stdin) for the default topic.

    Prints one JSON line per input: {"id", "score", "relevant", "reasons"}; with
    --explain, a table per input: which terms, where, which requirement they met, what
    lowered the score, and the verdict.
    """
    import json

    from monitor.relevance import judge_lines

    try:
        for verdict in judge_lines(file):
            if explain:
                _print_explained(verdict)
            else:
                out.print(json.dumps(verdict, ensure_ascii=False), highlight=False,
                          soft_wrap=True)
    except (ValueError, ConfigError) as exc:
        _fail(str(exc), 2)


def _print_explained(verdict: dict[str, Any]) -> None:
    """One article's verdict as a table of its reasons (``newswatch judge --explain``)."""
    from monitor.relevance import explain_rows

    word = "[green]relevant[/]" if verdict["relevant"] else "[red]not relevant[/]"
    table = Table(title=f"{verdict.get('id')}: {word} (score {verdict['score']:.3f})",
                  title_justify="left")
    for column in ("group", "field", "terms", "what it did"):
        table.add_column(column, overflow="fold")
    for row in explain_rows(verdict["reasons"]):
        table.add_row(*_cells(*row))
    out.print(table)


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
    from monitor.lifecycle import Wakeup

    stop, stopping = Wakeup(), []

    def on_sigterm(*_: object) -> None:
        stopping.append(True)
        stop.set()

    signal.signal(signal.SIGTERM, on_sigterm)
    from monitor.demo import FARM_HINT, DemoPortBusy, check_port
    from monitor.farm import Farm
    from monitor.farm.server import FarmError

    try:
        if port:  # busy: one line, never other ports than the user asked for
            check_port(port, FARM_HINT)
    except DemoPortBusy as exc:
        _fail(str(exc), 2)
    try:
        running = Farm(port=port, extra=extra, archive=archive, archive_site=archive_site)
    except (FarmError, ValueError) as exc:
        _fail(str(exc), 2)
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


@main.command()
@click.option("--db", type=click.Path(path_type=Path), default=DEFAULT_DB, show_default=True,
              help="SQLite database file.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8001, show_default=True, type=click.IntRange(1, 65535),
              help="Port.")
def serve(db: Path, host: str, port: int) -> None:
    """Browse the database in Datasette (read-only), with newswatch's queries and feed."""
    from monitor.dbfile import existing_database
    from monitor.serve import DatabaseNotFound, check_database
    from monitor.serve import serve as run_serve

    existing_database(db)  # missing, empty, not SQLite: one line, rc 2
    _check_port_free(host, port)  # before saying "serving on"
    try:
        check_database(db)
        console.print(f"serving {db} read-only on http://{host}:{port}/ ; follows live "
                      "changes (each query sees the last commit) ; Ctrl-C to stop",
                      highlight=False, soft_wrap=True)
        # uvicorn stops on Ctrl-C, then raises the signal again for the previous handler:
        # a stopped server is a normal end (exit 0), as for `newswatch run`
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            run_serve(db, host=host, port=port)
        except KeyboardInterrupt:
            pass
    except DatabaseNotFound as exc:
        _fail(str(exc), 2)


def _check_port_free(host: str, port: int) -> None:
    """Exit 2 with one line if ``host:port`` cannot be bound (in use, bad address)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        _fail(f"cannot serve on {host}:{port}: {exc.strerror or exc}", 2)
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            _fail(f"cannot serve on {host}:{port}: {exc.strerror or exc}", 2)


@main.command()
@click.argument("query")
@click.option("--db", type=click.Path(path_type=Path), default=DEFAULT_DB, show_default=True,
              help="SQLite database file.")
@click.option("--limit", default=20, show_default=True, help="Most results to show.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines (matches between "
              "U+E000 and U+E001 in title_marked and snippet).")
def search(query: str, db: Path, limit: int, as_json: bool) -> None:
    """Full-text search as analysts type it: with or without diacritics, đ = d
    ("doi tac" finds "đối tác"); FTS5 syntax ("phrase", OR, prefix*). Best match first."""
    import json
    import sqlite3

    from rich.text import Text

    from monitor.dbfile import existing_database
    from monitor.search import END, START
    from monitor.store import Store

    store = Store(existing_database(db))
    try:
        rows = store.search(query, limit=limit)
    except sqlite3.OperationalError as exc:
        _fail(f"bad search query {query!r}: {exc}", 2)
    finally:
        store.close()
    out = Console(highlight=False)
    for row in rows:
        if as_json:
            keep = ("id", "url", "source", "language", "published", "title", "title_marked",
                    "snippet")
            click.echo(json.dumps({k: row[k] for k in keep}, ensure_ascii=False))
            continue
        line = Text(f"{row['id']}  {row['published'] or ''}  {row['source']}  ")
        for part, marked in (("title_marked", True), ("snippet", False)):
            text = Text()
            for i, piece in enumerate((row[part] or "").replace(END, START).split(START)):
                text.append(piece, style="bold reverse" if i % 2 else ("bold" if marked
                                                                        else ""))
            line.append(text if marked else Text("\n    ").append(text))
        out.print(line)
    if not as_json:
        console.print(f"{len(rows)} result(s)", highlight=False)


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
    from monitor.dbfile import existing_database
    from monitor.export import DatabaseNotFound
    from monitor.export import export as run_export

    existing_database(db)  # before any output: no CSV header, no empty file, on a bad db
    if output is not None and not output.parent.is_dir():
        _fail(f"{output}: cannot write: no such directory {output.parent}", 2)
    try:
        if output is None:
            count = run_export(db, sys.stdout, fmt, relevant_only)
        else:
            with output.open("w", encoding="utf-8", newline="") as handle:
                count = run_export(db, handle, fmt, relevant_only)
    except DatabaseNotFound as exc:
        _fail(str(exc), 2)
    except BrokenPipeError:
        raise  # stdout's reader left (`| head`): click exits 1 quietly, as every command
    except OSError as exc:  # the output file: permission denied, a directory, disk full
        _fail(f"{output}: cannot write: {exc.strerror or exc}", 2)
    console.print(f"{count} articles exported", highlight=False)


def _alerts_setup(db: Path, alerts_config: Path) -> tuple[Any, Any]:
    from monitor.alerts import load_alert_config
    from monitor.dbfile import existing_database
    from monitor.store import Store

    existing_database(db)
    try:
        config = load_alert_config(alerts_config)
    except ConfigError as exc:
        _fail(str(exc), 2)
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
    from monitor.dbfile import existing_database
    from monitor.delivery import list_alerts
    from monitor.store import Store

    store = Store(existing_database(obj["db"]))
    try:
        rows = list_alerts(store, status, limit)
    finally:
        store.close()
    # 80 columns: one line per alert where the title fits; the rule and the last error
    # go under the title
    table = _narrow_table(f"alerts ({len(rows)}) · times UTC",
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
        table.add_row(*_cells(str(row["id"]), row["kind"], row["channel"], row["status"],
                              str(row["attempts"]),
                              _short_time(row["sent"] or row["next_attempt"]), about))
    out.print(table)


@alerts.command("deliver")
@_alerts_options_here_too
@click.option("--max-attempts", default=8, show_default=True,
              help="Attempts before an alert is marked failed.")
@click.pass_obj
def alerts_deliver(obj: dict[str, Any], max_attempts: int) -> None:
    """One delivery pass over the due pending alerts."""
    import logging

    from monitor.delivery import deliver_pending

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
    from monitor.dbfile import existing_database
    from monitor.delivery import retry_failed
    from monitor.store import Store

    store = Store(existing_database(obj["db"]))
    try:
        if ids:  # an id that is no alert is a typo: say so, change nothing
            known = {row["id"] for row in store.db.query(
                f"select id from alerts where id in ({', '.join('?' * len(ids))})", ids)}
            if unknown := sorted(set(ids) - known):
                _fail(f"no alert {', '.join(map(str, unknown))} in {obj['db']} "
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
    from monitor.alerts import load_alert_config
    from monitor.delivery import DeliveryError, send_test

    try:
        config = load_alert_config(obj["alerts_config"])
    except ConfigError as exc:
        _fail(str(exc), 2)
    if channel not in config.channels:
        _fail(f"no channel {channel!r} (have: {', '.join(config.channels) or 'none'})", 2)
    try:
        send_test(config, channel)
    except DeliveryError as exc:
        _fail(str(exc))
    out.print(f"test message sent to {channel}", highlight=False)


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
def run(config: Path, db: Path, alerts_config: Path | None, deliver_every: float,
        claim_timeout: float, log_level: str, no_alerts: bool = False) -> None:
    """Run the daemon: scheduled crawls, alert delivery, heartbeat. Stops on SIGTERM.

    One daemon per database. Exit codes: 0 stopped (SIGTERM, SIGINT); 2 bad config, or
    another daemon already runs on the database."""
    import logging

    from monitor.dbfile import database_to_write
    from monitor.owners import DaemonRunning
    from monitor.scheduler import Daemon

    alerts_file = _alerts_choice(alerts_config, no_alerts)
    database_to_write(db)
    logging.basicConfig(level=log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if log_level.upper() != "DEBUG":  # "Running job", "executed successfully" every 5 s:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # crawls say it better
    try:
        daemon = Daemon(config, db, alerts=alerts_file,
                        deliver_every=deliver_every, claim_timeout=claim_timeout)
    except ConfigError as exc:
        _fail(str(exc), 2)
    try:
        sys.exit(daemon.run_forever())
    except DaemonRunning as exc:  # one daemon per database
        _fail(str(exc), 2)


@main.command()
@click.option("--db", type=click.Path(path_type=Path), default=DEFAULT_DB, show_default=True,
              help="SQLite database file.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def status(db: Path, as_json: bool) -> None:
    """Is the daemon alive; last run, counts and errors per source; next runs; the outbox."""
    import json

    from monitor.dbfile import existing_database
    from monitor.scheduler import status as daemon_status

    report = daemon_status(existing_database(db))
    report["health"] = _health_rows(db)
    if as_json:
        out.print(json.dumps(report, default=str), highlight=False, soft_wrap=True)
        return
    daemon = report["daemon"]
    if daemon["pid"] is None:
        out.print("daemon: [red]never started[/] on this database (newswatch run)")
    else:
        alive = "[green]alive[/]" if daemon["alive"] else "[red]not running[/]"
        out.print(f"daemon: {alive} (pid {daemon['pid']}, last heartbeat {daemon['beat']})")
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
    table = _narrow_table("last run per source (times UTC)")
    table.add_column("source", no_wrap=True)
    table.add_column("started", no_wrap=True)
    for column in ("new", "upd", "dup", "err"):
        table.add_column(column, justify="right", no_wrap=True, min_width=len(column))
    table.add_column("next run", no_wrap=True)
    table.add_column("status", overflow="fold")
    for run_row in report["last_runs"]:
        table.add_row(*_cells(run_row["source"], _short_time(run_row["started"]),
                              *(str(run_row.get(k) or 0) for k in ("new", "updated",
                                                                  "duplicate", "errors")),
                              _short_time(report["next_runs"].get(
                                  f"crawl:{run_row['source']}")),
                              run_row["status"]))
    out.print(table)
    alerts = report["alerts"]
    out.print("alerts: " + (", ".join(f"{k} {v}" for k, v in sorted(alerts.items()))
                            or "none"))
    _print_health(report["health"])


def _health_rows(db: Path) -> list[dict[str, Any]]:
    """Each source's health (``monitor.health.report``)."""
    from monitor.health import report as health_report
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
    table = _narrow_table("source health (since: UTC)",
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
        table.add_row(Text(row["source"]), state, _short_time(row["since"]),
                      *_cells(str(signals.get("pages", 0)), str(signals.get("extracted", 0)),
                              str(sum((signals.get("fail") or {}).values())),
                              str(signals.get("unmatched", 0)),
                              "; ".join(row["reasons"]) or "-"))
    out.print(table)



@main.command()
@click.argument("source")
@click.argument("url", required=False)
@click.option("--config", "config", type=click.Path(path_type=Path), default=DEFAULT_CONFIG,
              show_default=True, help="Sources file (${VAR} placeholders from the environment).")
@click.option("--listing", default=None,
              help="A listing page URL or saved file (default: the source's first listing).")
def doctor(source: str, url: str | None, config: Path, listing: str | None) -> None:
    """What each rule of SOURCE and its profile matches on one listing page and one
    article (URL, a saved file, or the first article the listing links to). Exit 1 when
    a rule matched nothing, 2 for a config error or a page that cannot be fetched."""
    from rich.markup import escape

    from monitor.config import load_settings
    from monitor.doctor import DoctorError, diagnose

    try:
        found = load_settings(config).source(source)
        report = diagnose(found, url, listing)
    except ConfigError as exc:
        _fail(str(exc), 2)
    except DoctorError as exc:
        _fail(str(exc), 2)
    broken = 0
    for part in ("listing", "article"):
        if report[part] is None:
            continue
        table = Table(title=f"{part}: {report[part]['url']}", show_lines=False)
        for column in ("rule", "value", "matched"):
            table.add_column(column, overflow="fold")
        for finding in report[part]["findings"]:
            mark = "[green]✓[/]" if finding.ok else "[red]✗[/]"
            broken += not finding.ok
            table.add_row(f"{mark} {escape(finding.rule)}", escape(finding.value),
                          escape(finding.matched))
        out.print(table)
    if report["article"] is None:
        console.print("no article to check: give a URL (the listing linked to none)",
                      highlight=False)
        broken += 1
    if broken:
        sys.exit(1)


@main.command()
@click.argument("article_id", type=int)
@click.argument("verdict", type=click.Choice(["relevant", "irrelevant"]))
@click.option("--db", type=click.Path(path_type=Path), default=DEFAULT_DB, show_default=True,
              help="SQLite database file.")
@click.option("--by", "analyst", default=None, help="Who labels (kept with the label).")
@click.option("--note", default=None, help="Why (kept with the label).")
def label(article_id: int, verdict: str, db: Path, analyst: str | None,
          note: str | None) -> None:
    """Mark a stored article relevant or irrelevant (table relevance_labels).

    The labels become labelled data for the next tuning round: see `newswatch labels`.
    """
    from monitor.labels import LabelError, add_label
    from monitor.store import Store

    if not db.exists():
        _fail(f"{db}: no such database", 2)
    store = Store(db)
    try:
        row = add_label(store, article_id, verdict, analyst, note)
    except LabelError as exc:
        _fail(str(exc), 2)
    finally:
        store.close()
    judged = {None: "not judged", 1: "relevant", 0: "irrelevant"}[row["judged_relevant"]]
    out.print(f"article {article_id} labelled {verdict} (the judge said {judged})",
              highlight=False)


@main.command()
@click.option("--db", type=click.Path(path_type=Path), default=DEFAULT_DB, show_default=True,
              help="SQLite database file.")
@click.option("--output", type=click.Path(path_type=Path), default=None,
              help="Write to this file instead of standard output.")
def labels(db: Path, output: Path | None) -> None:
    """Export analysts' labels as labelled JSON lines (latest label per article).

    The file is read by `python -m monitor.relevance_eval FILE`.
    """
    from monitor.labels import export_jsonl
    from monitor.store import Store

    if not db.exists():
        _fail(f"{db}: no such database", 2)
    store = Store(db)
    try:
        lines = list(export_jsonl(store))
    finally:
        store.close()
    if output:
        output.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        console.print(f"{len(lines)} labelled articles written to {output}", highlight=False)
    else:
        for line in lines:
            click.echo(line)



@main.command("sources")
@click.option("--config", "config", type=click.Path(path_type=Path), default=DEFAULT_CONFIG,
              show_default=True, help="Sources file.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def sources_command(config: Path, as_json: bool) -> None:
    """List the sources: language, edition pair, profile and whether the profile was
    checked against real pages (and how many)."""
    import json

    from monitor.outlets import load_outlets

    try:
        rows = load_outlets(config)
    except ConfigError as exc:
        _fail(str(exc), 2)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row.as_dict(), ensure_ascii=False))
        return
    table = Table(title=f"{len(rows)} sources")
    for column in ("source", "lang", "edition", "profile", "checked against real pages"):
        table.add_column(column)
    for row in rows:
        edition = f"{row.edition} ({row.edition_language})" if row.edition else "-"
        checked = f"yes, {row.checked} page(s)" if row.checked else "no"
        table.add_row(row.name, row.language, edition, row.profile or "-", checked)
    out.print(table)
    checked = sum(1 for row in rows if row.checked)
    out.print(f"{checked} of {len(rows)} sources have a profile checked against real pages")

if __name__ == "__main__":
    main()
