"""``newswatch serve``, ``search`` and ``export``: reading the database."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

from monitor.cli.app import (
    console,
    fail,
    main,
)
from monitor.store import DEFAULT_DB


@main.command()
@click.option("--db", type=click.Path(path_type=Path), default=DEFAULT_DB, show_default=True,
              help="SQLite database file.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8001, show_default=True, type=click.IntRange(1, 65535),
              help="Port.")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME",
              help="Also answer requests for this host name (repeatable; e.g. the name a "
                   "reverse proxy forwards). Others get 421: no DNS rebinding.")
@click.option("--allow-sql", is_flag=True,
              help="Let readers run their own SQL (?sql=). Off by default: whoever reaches "
                   "the server could read every table with it (each query stays bounded).")
def serve(db: Path, host: str, port: int, allow_hosts: tuple[str, ...],
          allow_sql: bool = False) -> None:
    """Browse the database in Datasette (read-only), with newswatch's queries and feed."""
    from monitor.browse import DatabaseNotFound, check_database
    from monitor.browse import serve as run_serve
    from monitor.store import existing_database

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
            run_serve(db, host=host, port=port, allow_hosts=allow_hosts, allow_sql=allow_sql)
        except KeyboardInterrupt:
            pass
    except DatabaseNotFound as exc:
        fail(str(exc), 2)


def _check_port_free(host: str, port: int) -> None:
    """Exit 2 with one line if ``host:port`` cannot be bound (in use, bad address)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        fail(f"cannot serve on {host}:{port}: {exc.strerror or exc}", 2)
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            fail(f"cannot serve on {host}:{port}: {exc.strerror or exc}", 2)


class _QueryFirst(click.Command):
    """``search``: a query that starts with a dash (``-30%``, ``-US``) is the query, not an
    unknown option; ``--word`` is taken for a misspelt option unless it follows ``--``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["nw_after_dashes"] = "--" in args
        return super().parse_args(ctx, args)


@main.command(cls=_QueryFirst, context_settings={"ignore_unknown_options": True})
@click.argument("query")
@click.option("--db", type=click.Path(path_type=Path), default=DEFAULT_DB, show_default=True,
              help="SQLite database file.")
@click.option("--limit", default=20, show_default=True, help="Most results to show.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines (matches between "
              "U+E000 and U+E001 in title_marked and snippet).")
@click.option("--fts", is_flag=True, help="Read QUERY as SQLite FTS5 syntax (column "
              "filters, ^, +, parentheses); a query FTS5 cannot parse exits 2.")
def search(query: str, db: Path, limit: int, as_json: bool, fts: bool) -> None:
    """Full-text search as analysts type it: with or without diacritics, đ = d
    ("doi tac" finds "đối tác"). QUERY is plain text, any string: punctuation is read as
    the articles' text is (U.S., Vietnam-US, Vietnam's, Việt - Mỹ); "phrase", OR, NOT
    and prefix* keep their meaning. Best match first."""
    import json

    from monitor.store import Store, existing_database
    from monitor.store.search import END, START, QuerySyntaxError

    if (query.startswith("--") and query[2:3].isalpha()
            and not click.get_current_context().meta.get("nw_after_dashes")):
        # a misspelt option (--jsn), not a search for it; such a query goes after "--"
        fail(f"no such option: {query} (a query that starts with -- goes after --: "
             "newswatch search -- QUERY)", 2)
    store = Store(existing_database(db))
    try:
        rows = store.search(query, limit=limit, fts=fts)
    except QuerySyntaxError as exc:
        fail(f"bad search query {query!r} (FTS5 syntax, --fts): {exc}", 2)
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
    from monitor.browse import DatabaseNotFound
    from monitor.browse import export as run_export
    from monitor.store import OutputFileError, existing_database, output_file

    existing_database(db)  # before any output: no CSV header, no empty file, on a bad db
    try:
        if output is None:
            count = run_export(db, sys.stdout, fmt, relevant_only)
        else:
            with output_file(output, protect=db) as handle:
                count = run_export(db, handle, fmt, relevant_only)
    except (DatabaseNotFound, OutputFileError) as exc:
        fail(str(exc), 2)
    except BrokenPipeError:
        raise  # stdout's reader left (`| head`): click exits 1 quietly, as every command
    except OSError as exc:  # the output file: permission denied, a directory, disk full
        fail(f"{output}: cannot write: {exc.strerror or exc}", 2)
    console.print(f"{count} articles exported", highlight=False)
