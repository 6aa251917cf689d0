"""``newswatch sources`` and ``newswatch doctor``: the watched outlets and their rules."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from monitor.cli.app import (
    console,
    fail,
    main,
    out,
)
from monitor.sources import DEFAULT_CONFIG, PROFILES_FILE, ConfigError


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


@main.group("sources", invoke_without_command=True)
@click.option("--config", "config", type=click.Path(path_type=Path), default=DEFAULT_CONFIG,
              show_default=True, help="Sources file.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def sources_command(ctx: click.Context, config: Path, as_json: bool) -> None:
    """List the sources: language, edition pair, profile and whether the profile was
    checked against real pages (and how many). ``sources add URL`` onboards a site."""
    if ctx.invoked_subcommand is not None:
        return
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


def _progress(message: str) -> None:
    console.print(Text(message, style="dim"), highlight=False, soft_wrap=True)


def show_learned(learned: Any) -> None:
    """The learned rules with their evidence, as a table."""
    table = Table(title=f"profile learned from {learned.pages} pages")
    for column in ("rule", "value", "evidence"):
        table.add_column(column, overflow="fold")
    for item in learned.evidence:
        note = f"{item.pages}/{item.of} pages" + (f"; {item.note}" if item.note else "")
        table.add_row(item.rule, Text(item.value), Text(note))
    out.print(table)


@sources_command.command("add")
@click.argument("url")
@click.option("--name", default=None, help="The source's name (default: from the host).")
@click.option("--config", "config", type=click.Path(path_type=Path), default=DEFAULT_CONFIG,
              show_default=True, help="Sources file the source is added to.")
@click.option("--profiles", "profiles", type=click.Path(path_type=Path), default=PROFILES_FILE,
              show_default=True, help="Profiles file the learned profile is added to.")
@click.option("--pages", type=click.IntRange(2, 100), default=10, show_default=True,
              help="Sample articles to learn the profile from.")
@click.option("--yes", is_flag=True, help="Write the files without asking.")
def sources_add(url: str, name: str | None, config: Path, profiles: Path, pages: int,
                yes: bool) -> None:
    """Onboard the news site at URL: find its feeds (announced, common paths) and
    sitemaps (robots.txt, /sitemap.xml), propose an article pattern, learn a profile from
    sample articles, show them, and add the source to --config and the profile to
    --profiles. Only URL's registered domain is fetched. Exit 2 when the site gives no
    feed, sitemap or article pattern, or a file cannot be written."""
    from monitor.extract import LearnError, learn_profile, onboard

    try:
        found = onboard.discover_site(url, _progress)
        if not found.pattern or not found.articles:
            fail(f"{url}: no feed or sitemap listing articles was found "
                 f"({len(found.feeds)} feed(s), {len(found.sitemaps)} sitemap(s))", 2)
        sample = onboard.sample_pages(found.articles, pages,
                                      lambda u: onboard.same_site(u, found.home), _progress)
        learned = learn_profile(sample)
    except (onboard.OnboardError, LearnError) as exc:
        fail(str(exc), 2)
    name = name or onboard.source_name(found.host)
    entry = onboard.source_entry(name, found, learned, name)
    table = Table(title=f"source {name}")
    table.add_column("field")
    table.add_column("value", overflow="fold")
    for key, value in entry.items():
        table.add_row(key, Text(", ".join(value) if isinstance(value, list) else str(value)))
    out.print(table)
    if found.skipped:
        out.print(Text(f"not fetched (another domain): {', '.join(found.skipped)}"))
    show_learned(learned)
    if not yes and not click.confirm(f"add {name} to {config} and its profile to {profiles}?",
                                     default=True):
        fail("nothing written", 1)
    try:
        onboard.append_profile(profiles, name, learned)
        onboard.append_source(config, entry, profiles)
        from monitor.sources import load_settings

        load_settings(config, _farm_free_variables(config))
    except ConfigError as exc:
        fail(str(exc), 2)
    except OSError as exc:
        fail(f"cannot write: {exc}", 2)
    import shlex  # the next step, quoted for the shell: pasted as it is

    out.print(f"added {name} to {config} (profile {name} in {profiles}); crawl it: "
              + shlex.join(["newswatch", "crawl", "--config", str(config), "--source", name]),
              highlight=False, soft_wrap=True, markup=False)


def _farm_free_variables(config: Path) -> dict[str, str]:
    """Stand-ins for ${VAR}s of other sources, so that the written file can be checked."""
    import re

    names = re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", config.read_text(encoding="utf-8"))
    return {n: "http://127.0.0.1:9" if not n.endswith("_HOST") else "127.0.0.1"
            for n in names}


if __name__ == "__main__":
    main()
