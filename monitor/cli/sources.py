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
from monitor.store import DEFAULT_DB


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
@click.option("--status", "status", is_flag=True,
              help="The watch list: last check, last change, counts, health, next check "
                   "and whether paused, from --db.")
@click.option("--db", type=click.Path(path_type=Path), default=DEFAULT_DB, show_default=True,
              help="SQLite database file (with --status).")
@click.pass_context
def sources_command(ctx: click.Context, config: Path, as_json: bool, status: bool,
                    db: Path) -> None:
    """List the sources: language, edition pair, profile and whether the profile was
    checked against real pages (and how many). ``sources add URL`` onboards a site;
    ``sources --status`` is the watch list; ``sources pause|resume NAME`` stops and
    restarts the daemon's crawls of a source."""
    if ctx.invoked_subcommand is not None:
        return
    import json

    if status:
        _watch_list(config, db, as_json)
        return

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


def _watch_list(config: Path, db: Path, as_json: bool) -> None:
    """``newswatch sources --status``: one row per configured source (and any other the
    database knows), as ``monitor.browse.home.watch_list`` gives it."""
    import json
    import sqlite3

    from monitor.browse import watch_list
    from monitor.sources import load_settings

    try:
        names = [source.name for source in load_settings(config).sources]
    except ConfigError as exc:
        fail(str(exc), 2)
    _existing(db)
    from monitor.store import Store

    Store(db).close()  # migrated (a database from an older newswatch gains its tables)
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        known = {row["source"] for row in watch_list(conn)}
        rows = watch_list(conn, sources=sorted(set(names) | known))
    finally:
        conn.close()
    if as_json:
        for row in rows:
            click.echo(json.dumps({k: v for k, v in row.items() if not k.endswith("_local")},
                                  ensure_ascii=False))
        return
    table = Table(title=f"{len(rows)} sources")
    for column in ("source", "last check", "last change", "articles", "relevant", "health",
                   "next check", "paused"):
        table.add_column(column, overflow="fold")
    for row in rows:
        health = row["health"] + (f": {' '.join(row['health_reasons'])}"
                                  if row["health_reasons"] else "")
        paused = f"yes, since {row['paused_local']}" if row["paused"] else "no"
        if row["skipped"]:  # what the daemon did about it: nothing silent
            paused += (f"; {row['skipped']} crawl(s) skipped by the daemon, last "
                       f"{row['last_skipped_local']}")
        table.add_row(row["source"], row["last_check_local"] or "never",
                      row["last_change_local"] or "none", str(row["articles"]),
                      str(row["relevant"]), Text(health),
                      "none (paused)" if row["paused"] else row["next_check_local"]
                      or "no daemon running", paused)
    out.print(table)


def _existing(db: Path) -> None:
    if not db.is_file():
        fail(f"{db}: no such database", 2)


def _source_name(config: Path, name: str) -> None:
    from monitor.sources import load_settings

    try:
        load_settings(config).source(name)
    except ConfigError as exc:
        fail(str(exc), 2)


@sources_command.command("pause")
@click.argument("name")
@click.option("--db", type=click.Path(path_type=Path), default=DEFAULT_DB, show_default=True,
              help="SQLite database file.")
@click.option("--config", "config", type=click.Path(path_type=Path), default=DEFAULT_CONFIG,
              show_default=True, help="Sources file (NAME must be one of its sources).")
@click.option("--by", default=None, help="Who pauses (shown in the watch list).")
@click.option("--note", default=None, help="Why (kept with the pause).")
def sources_pause(name: str, db: Path, config: Path, by: str | None, note: str | None) -> None:
    """Pause source NAME: the daemon skips its crawls (and refuses `newswatch check NAME`)
    until `newswatch sources resume NAME`. Exit 2: no such database or source."""
    from monitor.store import Store, pause_source

    _existing(db)
    _source_name(config, name)
    store = Store(db)
    try:
        row = pause_source(store, name, by, note)
    finally:
        store.close()
    out.print(f"{name} paused since {row['paused']}: the daemon will not crawl it "
              f"(newswatch sources resume {name})", highlight=False)


@sources_command.command("resume")
@click.argument("name")
@click.option("--db", type=click.Path(path_type=Path), default=DEFAULT_DB, show_default=True,
              help="SQLite database file.")
def sources_resume(name: str, db: Path) -> None:
    """Resume source NAME: the daemon crawls it again at its next scheduled time.
    Exit 2: no such database."""
    from monitor.store import Store, resume_source

    _existing(db)
    store = Store(db)
    try:
        resumed = resume_source(store, name)
    finally:
        store.close()
    out.print(f"{name} resumed" if resumed else f"{name} was not paused", highlight=False)
