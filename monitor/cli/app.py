"""The ``newswatch`` command group and what its commands share: one error path, the
consoles, one-line failures, tables that fit 80 columns."""

from __future__ import annotations

import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from monitor.sources import ConfigError

# exit codes (docs/USAGE.md "Exit codes"): 0 done, 1 some source failed or was unreachable
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2  # config, option, file, database path (DatabaseFileError)
EXIT_DATABASE = 3  # the database cannot be written now: full, locked, I/O error
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C
console = Console(stderr=True)
out = Console()  # tables fit 80 columns (COLUMNS, or the terminal's width)


def fail(message: str, code: int = 1) -> None:
    """``error: message`` on one line (never wrapped, even when stderr is not a
    terminal), then exit ``code``."""
    # the message is text, never markup or emoji codes: it quotes what the user typed
    # ("[/b]", a path, "127.0.0.1:-1:"), which rich would read as tags or an emoji
    console.print(Text.assemble(("error:", "bold red"), " ", message), highlight=False,
                  soft_wrap=True, emoji=False)
    sys.exit(code)


def narrow_table(title: str, caption: str | None = None, footer: bool = False) -> Table:
    """A table that fits 80 columns: no side borders, one space between columns. Cells
    are never cut: numbers and times do not wrap, text wraps at spaces."""
    return Table(title=title, caption=caption, show_footer=footer, box=box.SIMPLE_HEAD,
                 padding=(0, 0), show_edge=False, caption_justify="left")


def cells(*values: str) -> list[Text]:
    """Table cells of data (titles, errors, names from files): text, never rich markup,
    so a title such as "[Video] ..." or an error quoting "[/b]" prints as it is."""
    return [Text(value) for value in values]


def short_time(value: str | None) -> str:
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


def duration(seconds: float) -> str:
    """``1h02m``, ``4m05s`` or ``12s``."""
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def alerts_choice(alerts_config: Path | None, no_alerts: bool) -> Path | None:
    """The alerts file of ``crawl``, ``demo`` and ``run``: ``--alerts-config`` or
    config/alerts.yaml; None with ``--no-alerts`` (giving both is a usage error, exit 2)."""
    from monitor.alerts import ALERTS_FILE

    if no_alerts:
        if alerts_config is not None:
            fail("give --alerts-config or --no-alerts, not both", 2)
        return None
    return alerts_config or ALERTS_FILE


def withhold_alert_secrets(*files: Path | None) -> None:
    """Before a command starts crawl processes that send no alert (``crawl``,
    ``backfill``, ``run --no-alerts``): the variables of the alert channels (of
    config/alerts.yaml and ``files``) leave this process's environment, so no crawl
    process or extraction worker holds an alert secret (docs/SECURITY.md). A broken
    alerts file is left to the command to report."""
    from monitor.alerts import ALERTS_FILE, load_alert_config, withhold_secrets

    for path in {ALERTS_FILE, *(f for f in files if f)}:
        try:
            withhold_secrets(load_alert_config(path))
        except ConfigError:
            continue


def exit_code_of(problem: Exception) -> int:
    """The exit code of a database problem (``monitor.store.database_problem``): 2 for
    the path given (DatabaseFileError), 3 for a database that cannot be written now."""
    from monitor.store import DatabaseUnavailable

    return EXIT_DATABASE if isinstance(problem, DatabaseUnavailable) else EXIT_BAD_INPUT


def given_db(ctx: click.Context | None) -> Path | None:
    """The ``--db`` of the command running in ``ctx`` (or of a group above it, as for
    ``newswatch alerts --db X list``); None when it has none."""
    while ctx is not None:
        for key in ("here_db", "db"):
            value = ctx.params.get(key)
            if value is not None:
                return Path(value)
        if isinstance(ctx.obj, dict) and ctx.obj.get("db") is not None:
            return Path(ctx.obj["db"])
        ctx = ctx.parent
    return None


class _Command(click.Command):
    """A newswatch command: what SQLite or the file system says about its database,
    wherever it surfaces (a read-only file, a lock held too long, a full disk), becomes
    one line naming the cause and the database (``monitor.store.database_problem``)."""

    def invoke(self, ctx: click.Context) -> Any:
        import sqlite3

        from monitor.store import database_problem

        try:
            return super().invoke(ctx)
        except (sqlite3.Error, OSError) as exc:
            problem = database_problem(exc, given_db(ctx))
            if problem is None:
                raise
            raise problem from None


class _Group(click.Group):
    """A command group whose commands are ``_Command``s (``newswatch alerts``)."""

    command_class = _Command


def next_command(*words: str, keep: tuple[str, ...] = ("config", "db")) -> str:
    """``newswatch WORDS ...`` as one shell line (``shlex.join``: a path with a space or
    a quote pastes as it is), carrying over the options of ``keep`` (parameter names)
    that the running command was given (on its command line or from the environment),
    so that the line, pasted, works on the same config and database as this command
    (a resume hint without ``--config`` would crawl the real outlets)."""
    import shlex

    from click.core import ParameterSource

    args = ["newswatch", *words]
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        options = {p.name: p for p in ctx.command.params if isinstance(p, click.Option)}
        for name in keep:
            value = ctx.params.get(name)
            if (name not in options or value is None or value is False
                    or ctx.get_parameter_source(name) in (None, ParameterSource.DEFAULT,
                                                          ParameterSource.DEFAULT_MAP)):
                continue
            flag = options[name].opts[-1] if options[name].opts[-1].startswith("--") \
                else options[name].opts[0]
            args += [flag] if value is True else [flag, str(value)]
    return shlex.join(args)


LOG_LEVELS = click.Choice(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
                          case_sensitive=False)


class _Duration(click.ParamType):
    """A duration as the sources file writes them: a whole number and s, m, h or d."""

    name = "DURATION"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        text = str(value).strip()
        if not re.fullmatch(r"\d+[smhd]", text):
            self.fail(f"{value!r} is not a duration: a whole number and s, m, h or d "
                      "(0s, 30m, 2h, 7d)", param, ctx)
        return text


def recheck_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--recheck-min``, ``--recheck-max``, ``--recheck-budget``: the re-check schedule's
    settings over every source's ``recheck:`` (docs/USAGE.md "Re-checks"); the command
    gets them as ``recheck_min``, ``recheck_max``, ``recheck_budget`` (None: the file's)."""
    options = [
        click.option("--recheck-min", type=_Duration(), default=None,
                     help="Shortest interval between two re-checks of an article "
                          "(default: the sources file's recheck.min, else 0s)."),
        click.option("--recheck-max", type=_Duration(), default=None,
                     help="Longest interval: every stored article is re-checked at least "
                          "this often (default: recheck.max, else 7d)."),
        click.option("--recheck-budget", type=click.IntRange(min=0), default=None,
                     metavar="N", help="Re-check requests per source per hour (default: "
                                       "recheck.budget, else a tenth of what the source's "
                                       "download_delay allows)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def recheck_overrides(recheck_min: str | None, recheck_max: str | None,
                      recheck_budget: int | None) -> dict[str, Any]:
    """The ``--recheck-*`` options given, as ``monitor.sources.with_recheck`` takes them."""
    given = {"min": recheck_min, "max": recheck_max, "budget": recheck_budget}
    return {k: v for k, v in given.items() if v is not None}
_debug = False  # --debug: show the traceback of an unexpected error


class _Newswatch(click.Group):
    """One error path for every command: a user error is one ``error: ...`` line and
    exit 2, never a traceback (``newswatch --debug ...`` shows one for unexpected
    errors); a database that cannot be written now (full, locked, I/O error) is one line
    and exit 3; Ctrl-C outside a crawl exits 130 quietly."""

    command_class = _Command
    group_class = _Group

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
        from monitor.store import DatabaseFileError, DatabaseUnavailable

        try:
            code = super().main(args, prog_name or "newswatch", complete_var,
                                standalone_mode=False, **extra)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "newswatch"
            fail(f"{exc.format_message()} (see {where} --help)", 2)
        except click.ClickException as exc:  # a file option that cannot be opened, ...
            fail(exc.format_message(), 2)
        except click.Abort:  # Ctrl-C (KeyboardInterrupt) outside a crawl
            console.print("interrupted", highlight=False)
            sys.exit(EXIT_INTERRUPTED)
        except (ConfigError, DatabaseFileError) as exc:
            fail(str(exc), EXIT_BAD_INPUT)
        except DatabaseUnavailable as exc:
            fail(str(exc), EXIT_DATABASE)
        except Exception as exc:  # noqa: BLE001 - a bug: one line, unless --debug
            if _debug:
                raise
            fail(f"unexpected {type(exc).__name__}: {exc} "
                  "(run newswatch --debug ... for the traceback)", 1)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=_Newswatch)
@click.version_option(package_name="newswatch")
@click.option("--debug", is_flag=True, help="Show the traceback of an unexpected error.")
def main(debug: bool) -> None:
    """newswatch: watch Vietnamese news sites for Vietnam–US relations articles.

    Exit codes: 0 done; 1 some source failed or was unreachable; 2 bad input (config,
    option, file, database path: missing folder, read-only); 3 not now: the database
    cannot be written now (disk full, locked by another process, disk I/O error), or no
    daemon runs on it (check); 4 the daemon did not take a request in time (check); 130
    interrupted (Ctrl-C).
    """
    global _debug
    _debug = debug
