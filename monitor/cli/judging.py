"""``newswatch judge``, ``label`` and ``labels``: relevance and the analysts' corrections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from monitor.cli.app import (
    alerts_choice,
    cells,
    console,
    fail,
    main,
    out,
)
from monitor.sources import ConfigError
from monitor.store import DEFAULT_DB


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

    from monitor.judge import judge_lines

    try:
        for verdict in judge_lines(file):
            if explain:
                _print_explained(verdict)
            else:
                out.print(json.dumps(verdict, ensure_ascii=False), highlight=False,
                          soft_wrap=True)
    except (ValueError, ConfigError) as exc:
        fail(str(exc), 2)


def _print_explained(verdict: dict[str, Any]) -> None:
    """One article's verdict as a table of its reasons (``newswatch judge --explain``)."""
    from monitor.judge import explain_rows

    word = "[green]relevant[/]" if verdict["relevant"] else "[red]not relevant[/]"
    table = Table(title=f"{verdict.get('id')}: {word} (score {verdict['score']:.3f})",
                  title_justify="left")
    for column in ("group", "field", "terms", "what it did"):
        table.add_column(column, overflow="fold")
    for row in explain_rows(verdict["reasons"]):
        table.add_row(*cells(*row))
    out.print(table)


@main.command()
@click.argument("article_id", type=int)
@click.argument("verdict", type=click.Choice(["relevant", "irrelevant"]))
@click.option("--db", type=click.Path(path_type=Path), default=DEFAULT_DB, show_default=True,
              help="SQLite database file.")
@click.option("--by", "analyst", default=None, help="Who labels (kept with the label).")
@click.option("--note", default=None, help="Why (kept with the label).")
@click.option("--alerts-config", type=click.Path(path_type=Path), default=None,
              help="Alerts file whose rules queue the alert of an article labelled "
                   "relevant (default: config/alerts.yaml).")
@click.option("--no-alerts", is_flag=True, help="Queue no alert (withdrawn ones are "
                                                "still restored).")
def label(article_id: int, verdict: str, db: Path, analyst: str | None,
          note: str | None, alerts_config: Path | None = None, no_alerts: bool = False) -> None:
    """Mark a stored article relevant or irrelevant (table relevance_labels).

    The label overrides the judge at once: exports (--relevant-only), the feeds, the
    home and latest-relevant pages and alert rules read it. Labelled irrelevant, the
    article's alerts not yet sent are withdrawn; labelled relevant, the alerts a label
    withdrew are restored and the alert rules queue its alert as if the judge had found
    it relevant (once: not if its story's alert was queued or sent before). The labels
    become labelled data for the next tuning round: see `newswatch labels`.
    """
    from monitor.alerts import load_alert_config
    from monitor.store import LabelError, Store, add_label, database_to_write, existing_database

    alerts_file = alerts_choice(alerts_config, no_alerts)
    try:
        rules = load_alert_config(alerts_file) if alerts_file else None
    except ConfigError as exc:
        fail(str(exc), 2)
    database_to_write(existing_database(db))  # a newswatch database this user can write
    store = Store(db)
    try:
        row = add_label(store, article_id, verdict, analyst, note, alerts=rules)
    except LabelError as exc:
        fail(str(exc), 2)
    finally:
        store.close()
    judged = {None: "not judged", 1: "relevant", 0: "irrelevant"}[row["judged_relevant"]]
    out.print(f"article {article_id} labelled {verdict} (the judge said {judged})",
              highlight=False)
    if row["withdrawn"]:
        out.print(f"{row['withdrawn']} alert(s) not yet sent withdrawn (outbox status "
                  "'withdrawn')", highlight=False)
    if row["restored"]:
        out.print(f"{row['restored']} withdrawn alert(s) restored (outbox status "
                  "'pending')", highlight=False)
    if row["queued"]:
        out.print(f"{row['queued']} alert(s) queued by the rules of {alerts_file}",
                  highlight=False, soft_wrap=True)
    elif verdict == "relevant" and not row["restored"]:  # say why no alert
        why = ("its story's alert is in the outbox already "
               f"({row['story_alerts']}: queued, sent or withdrawn before)"
               if row["story_alerts"] else "--no-alerts" if rules is None
               else f"no rule of {alerts_file} matches it")
        out.print(f"no alert queued: {why}", highlight=False, soft_wrap=True)


@main.command()
@click.option("--db", type=click.Path(path_type=Path), default=DEFAULT_DB, show_default=True,
              help="SQLite database file.")
@click.option("--output", type=click.Path(path_type=Path), default=None,
              help="Write to this file instead of standard output.")
def labels(db: Path, output: Path | None) -> None:
    """Export analysts' labels as labelled JSON lines (latest label per article).

    The file is read by `python -m monitor.judge.eval FILE`.
    """
    from monitor.store import OutputFileError, Store, existing_database, export_jsonl, output_file

    store = Store(existing_database(db))
    try:
        lines = list(export_jsonl(store))
    finally:
        store.close()
    if output:
        try:
            with output_file(output, protect=db) as handle:
                handle.write("".join(line + "\n" for line in lines))
        except OutputFileError as exc:
            fail(str(exc), 2)
        except OSError as exc:  # permission denied, disk full
            fail(f"{output}: cannot write: {exc.strerror or exc}", 2)
        console.print(f"{len(lines)} labelled articles written to {output}", highlight=False)
    else:
        for line in lines:
            click.echo(line)
