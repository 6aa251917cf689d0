"""``newswatch sources`` and ``newswatch doctor``: the watched outlets and their rules."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from monitor.cli.app import (
    console,
    fail,
    main,
    out,
)
from monitor.sources import DEFAULT_CONFIG, ConfigError


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

    from monitor.extract import DoctorError, diagnose
    from monitor.sources import load_settings

    try:
        found = load_settings(config).source(source)
        report = diagnose(found, url, listing)
    except ConfigError as exc:
        fail(str(exc), 2)
    except DoctorError as exc:
        fail(str(exc), 2)
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


@main.command("sources")
@click.option("--config", "config", type=click.Path(path_type=Path), default=DEFAULT_CONFIG,
              show_default=True, help="Sources file.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def sources_command(config: Path, as_json: bool) -> None:
    """List the sources: language, edition pair, profile and whether the profile was
    checked against real pages (and how many)."""
    import json

    from monitor.sources import load_outlets

    try:
        rows = load_outlets(config)
    except ConfigError as exc:
        fail(str(exc), 2)
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
