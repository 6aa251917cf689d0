"""``newswatch profile learn``: a site profile learned from a source's own articles."""

from __future__ import annotations

from pathlib import Path

import click

from monitor.cli.app import fail, main, out
from monitor.sources import DEFAULT_CONFIG, ConfigError


@main.group("profile")
def profile_group() -> None:
    """Site profiles: learn one from a site's pages."""


@profile_group.command("learn")
@click.argument("source")
@click.option("--pages", type=click.IntRange(2, 100), default=10, show_default=True,
              help="Article pages to learn from (fetched through the source's feeds, "
                   "sitemaps and listings).")
@click.option("--from-files", "from_files", multiple=True,
              type=click.Path(path_type=Path, exists=True),
              help="Read saved article pages (files, or directories of *.html) instead "
                   "(repeatable).")
@click.option("--config", "config", type=click.Path(path_type=Path), default=DEFAULT_CONFIG,
              show_default=True, help="Sources file (${VAR} placeholders from the environment).")
@click.option("--output", type=click.Path(path_type=Path), default=None,
              help="Write the profile YAML here instead of printing it.")
def learn_command(source: str, pages: int, from_files: tuple[Path, ...], config: Path,
                  output: Path | None) -> None:
    """Learn SOURCE's site profile from its article pages and print it as YAML, each
    rule with its evidence (pages matched, what it removed). Exit 2 for a config error,
    or when too few pages with article text were found."""
    from monitor.cli.sources import _progress, show_learned
    from monitor.extract import LearnError, learn_profile, onboard
    from monitor.sources import load_settings

    try:
        found = load_settings(config).source(source)
        if from_files:
            files = [f for path in from_files for f in
                     (sorted(path.glob("*.htm*")) if path.is_dir() else [path])]
            learned = learn_profile([(f.resolve().as_uri(), f.read_bytes())
                                     for f in files[:pages]], found.timezone)
        else:
            learned, _ = onboard.learn_source(found, pages, _progress)
    except (ConfigError, LearnError, onboard.OnboardError) as exc:
        fail(str(exc), 2)
    except OSError as exc:
        fail(f"cannot read: {exc}", 2)
    text = learned.to_yaml(found.profile_name or source)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"{output}: cannot write: {exc.strerror or exc}", 2)
    show_learned(learned)
    out.print(f"wrote {output}")
