"""Profiles learned from pages (issue 28): on every replica site of the farm, a profile
learned from 10 article pages reads the site's other pages as well as the hand-written
profile does, and ``newswatch sources add`` onboards a site nobody configured so that the
next real crawl stores its articles."""

from __future__ import annotations

import sqlite3
import urllib.request
from dataclasses import replace
from pathlib import Path

import yaml
from click.testing import CliRunner

from monitor.cli import main
from monitor.extract import extract, learn_profile, normalize_text
from monitor.extract.eval import aggregate, page_scores
from monitor.farm import SITES, Farm, load_corpus
from monitor.farm.content import synthetic_articles
from monitor.farm.sites import MARKUP
from monitor.sources import DEMO_CONFIG, load_settings

LEARN = 10  # tuning pages per site; the others are the checking pages
CHECK = 7


def _articles() -> list:
    """The corpus plus 16 generated articles per site, three in four with a lead."""
    corpus = load_corpus()
    extra = synthetic_articles(corpus, 16 * len(SITES), list(SITES))
    return corpus + [replace(a, lead=a.paragraphs[0], paragraphs=a.paragraphs[1:])
                     if i % 4 else a for i, a in enumerate(extra)]


def _truth(site: str, article) -> tuple[str, str | None]:
    """What the page shows: the lead (when the theme prints one) and the paragraphs;
    the author when the theme prints a byline."""
    spec = SITES[site]
    markup = MARKUP.get(spec.theme)
    lead = article.lead if article.lead and (markup is None or markup.get("sapo")) else None
    text = "\n".join(normalize_text(p) for p in ([lead] if lead else []) + article.paragraphs)
    shown = (spec.theme in ("laodong", "portal", "ministry")
             or bool(markup and markup["byline"] in ("top", "right")))
    return text, article.author if shown else None


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def test_learned_profiles_read_every_replica_as_well_as_the_hand_written_ones() -> None:
    rows, failures = [], []
    with Farm(articles=_articles()) as farm:
        settings = load_settings(DEMO_CONFIG, farm.config_variables())
        for site in SITES:
            source = settings.source(site)
            pages = [(farm.url_of(site, a.slug), a) for a in farm.sites[site].articles]
            tuning, checking = pages[:LEARN], pages[LEARN:LEARN + CHECK]
            assert len(checking) >= 5, site
            learned = learn_profile([(url, _fetch(url)) for url, _ in tuning], source.timezone)
            scores = {"learned": [], "hand": []}
            right = {"title": 0, "date": 0, "author": 0}
            for url, article in checking:
                html = _fetch(url)
                truth, author = _truth(site, article)
                mine = extract(html, url, learned.profile, source.timezone)
                theirs = extract(html, url, source.profile, source.timezone)
                scores["learned"].append(page_scores(truth, mine.text if mine else ""))
                scores["hand"].append(page_scores(truth, theirs.text if theirs else ""))
                right["title"] += bool(mine) and mine.title == article.title
                right["date"] += bool(mine) and mine.published == article.published.isoformat()
                right["author"] += bool(mine) and mine.author == author
            ours, hand = aggregate(scores["learned"]).f1, aggregate(scores["hand"]).f1
            shares = {k: v / len(checking) for k, v in right.items()}
            rows.append(f"{site:15} tuning {len(tuning)} checking {len(checking)}  F1 learned "
                        f"{ours:.4f} hand-written {hand:.4f}  title {shares['title']:.0%} "
                        f"date {shares['date']:.0%} author {shares['author']:.0%}")
            if ours < hand - 0.005 or min(shares.values()) < 0.98:
                failures.append(rows[-1])
    print("\n" + "\n".join(rows))
    assert failures == []


def test_profile_learn_command_from_saved_files(tmp_path: Path) -> None:
    """``newswatch profile learn SOURCE --from-files DIR --output FILE`` (docs/SOURCES.md):
    the YAML loads as a profiles file, each rule with its evidence."""
    pages = tmp_path / "pages"
    pages.mkdir()
    with Farm(sites=["tuoitre_vi"], articles=_articles()) as farm:
        for i, article in enumerate(farm.sites["tuoitre_vi"].articles[:LEARN]):
            (pages / f"{i:02d}.html").write_bytes(_fetch(farm.url_of("tuoitre_vi", article.slug)))
        out = tmp_path / "learned.yaml"
        result = CliRunner().invoke(main, ["profile", "learn", "tuoitre_vi", "--from-files",
                                           str(pages), "--output", str(out)])
        assert result.exit_code == 0, result.output
        learned = yaml.safe_load(out.read_text(encoding="utf-8"))["profiles"]["tuoitre"]
        assert learned["body"] and learned["lead"] and learned["author"]
        assert "# lead: matched" in out.read_text(encoding="utf-8")
        # through the source's own feeds and sitemaps (the farm's addresses)
        fetched = CliRunner().invoke(main, ["profile", "learn", "tuoitre_vi", "--pages", "10",
                                            "--config", str(DEMO_CONFIG)],
                                     env=farm.config_variables())
        assert fetched.exit_code == 0, fetched.output
        assert learned["body"] in fetched.output
    missing = CliRunner().invoke(main, ["profile", "learn", "nope"])
    assert missing.exit_code == 2 and "unknown source" in missing.output


def test_sources_add_onboards_a_site_nobody_configured(tmp_path: Path) -> None:
    """``newswatch sources add URL --name ... --config ... --profiles ... --yes`` on a farm
    site absent from the sources file: then ``newswatch crawl`` of it stores its articles
    with no error, read with the learned profile."""
    site = "baochinhphu_vi"
    config = tmp_path / "sources.yaml"
    demo = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    config.write_text("# a sources file without the site\nvariables: [FARM_*]\nsources:\n",
                      encoding="utf-8")
    with config.open("a", encoding="utf-8") as handle:
        keep = [s for s in demo["sources"] if s["name"] == "laodong_en"]
        handle.write(yaml.safe_dump(keep, allow_unicode=True, sort_keys=False)
                     .replace("\n", "\n  ").replace("- name", "  - name", 1).rstrip() + "\n")
    profiles = tmp_path / "profiles.yaml"
    with Farm(sites=[site, "laodong_en"], articles=_articles()) as farm:
        home = farm.base_url(site) + "/"
        added = CliRunner().invoke(main, ["sources", "add", home, "--name", "gov_vi",
                                          "--config", str(config), "--profiles",
                                          str(profiles), "--yes"],
                                   env=farm.config_variables())
        assert added.exit_code == 0, added.output
        assert "body" in added.output and "article_pattern" in added.output
        settings = load_settings(config, farm.config_variables())
        source = settings.source("gov_vi")
        assert source.profile.body and source.sitemaps and source.profile_name == "gov_vi"
        listed = CliRunner().invoke(main, ["sources", "--config", str(config)],
                                    env=farm.config_variables())
        assert listed.exit_code == 0 and "gov_vi" in listed.output
        db = tmp_path / "news.db"
        crawled = CliRunner().invoke(main, ["crawl", "--config", str(config), "--db", str(db),
                                            "--source", "gov_vi", "--no-alerts"],
                                     env=farm.config_variables())
        assert crawled.exit_code == 0, crawled.output
        expected = {a.title for a in farm.sites[site].articles}
    with sqlite3.connect(db) as conn:
        titles = {t for (t,) in conn.execute("SELECT title FROM articles")}
        assert _has(conn, "crawl_runs")
        errors = conn.execute("SELECT SUM(errors) FROM crawl_runs").fetchone()[0]
    assert titles and titles <= expected and len(titles) >= len(expected) - 1
    assert errors == 0
    again = CliRunner().invoke(main, ["sources", "add", home, "--name", "gov_vi", "--config",
                                      str(config), "--profiles", str(profiles), "--yes"])
    assert again.exit_code == 2 and "Traceback" not in again.output


def _has(conn: sqlite3.Connection, table: str) -> bool:
    return bool(conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone())
