"""Real Scrapy crawls of the replica farm: discovery, clean storage, no duplicates."""

from __future__ import annotations

import os
import subprocess
import sys

from monitor.extract import normalize_text
from monitor.farm import Farm
from monitor.run import CrawlResult, crawl
from monitor.sources import DEMO_CONFIG
from monitor.store import Store

from .conftest import REPO


def _rows(result: CrawlResult) -> dict[str, dict]:
    store = Store(result.db_path)
    try:
        return {row["url"]: row for row in store.articles()}
    finally:
        store.close()


def test_every_farm_article_found_and_stored(farm: Farm, crawled: CrawlResult) -> None:
    rows = _rows(crawled)
    expected = {farm.url_of(a.site, a.slug) for a in farm.all_articles()}
    assert set(rows) == expected
    assert crawled.ok
    assert crawled.totals["errors"] == 0
    stored = sum(crawled.totals[k] for k in ("new", "irrelevant", "duplicate"))
    assert stored == len(expected)


def test_stored_text_title_date_language_exact(farm: Farm, crawled: CrawlResult) -> None:
    rows = _rows(crawled)
    wrong = []
    for article in farm.all_articles():
        row = rows[farm.url_of(article.site, article.slug)]
        expected = ([article.lead] if article.lead else []) + article.paragraphs
        if row["text"].splitlines() != [normalize_text(p) for p in expected]:
            wrong.append(f"{article.site}/{article.slug}")
        if row["title"] != article.title:
            wrong.append(f"title of {article.site}/{article.slug}: {row['title']!r}")
        if row["published"] != article.published.isoformat():  # time and zone included
            wrong.append(f"date of {article.site}/{article.slug}: {row['published']!r}")
        if row["language"] != article.lang:
            wrong.append(f"language of {article.site}/{article.slug}: {row['language']!r}")
        for caption in article.captions:
            assert caption not in row["text"]
    assert wrong == []


def test_tracking_parameters_never_stored(crawled: CrawlResult) -> None:
    assert not [url for url in _rows(crawled) if "utm_" in url or "#" in url]


def test_second_crawl_stores_nothing_twice(farm: Farm, tmp_path) -> None:
    db = tmp_path / "twice.db"
    first = crawl(DEMO_CONFIG, db, variables=farm.variables, sources=["laodong_vi", "mofa_en"])
    # without conditional GETs every feed, sitemap and listing is parsed again, so every
    # article is seen again: stored ones are skipped (old) or re-checked (recent), never stored
    second = crawl(DEMO_CONFIG, db, variables=farm.variables, sources=["laodong_vi", "mofa_en"],
                   scrapy_settings={"NEWSWATCH_CONDITIONAL_GET": False})
    stored = sum(first.totals[k] for k in ("new", "irrelevant", "duplicate"))
    assert first.totals["new"] > 0
    assert second.totals["new"] == second.totals["irrelevant"] == 0
    assert second.totals["duplicate"] == second.totals["updated"] == 0
    assert second.totals["unchanged"] + second.totals["skipped"] == stored
    store = Store(db)
    try:
        count = store.db["articles"].count
        runs = store.runs()
    finally:
        store.close()
    assert count == stored
    assert [r["status"] for r in runs] == ["finished"] * 4


def test_edit_is_an_update_not_a_new_article(fresh_farm: Farm, tmp_path) -> None:
    db = tmp_path / "edit.db"
    crawl(DEMO_CONFIG, db, variables=fresh_farm.variables, sources=["mofa_en"])
    article = fresh_farm.sites["mofa_en"].articles[0]
    fresh_farm.edit("mofa_en", article.slug, replace={0: "A corrected first paragraph."})
    # the farm's articles are from 2024, not due for days: the sitemap's <lastmod> says
    # this one changed since it was stored, so it is re-checked now (no option needed)
    result = crawl(DEMO_CONFIG, db, variables=fresh_farm.variables, sources=["mofa_en"])
    assert result.totals["updated"] == 1 and result.totals["new"] == 0
    row = _rows(result)[fresh_farm.url_of("mofa_en", article.slug)]
    assert "A corrected first paragraph." in row["text"]


def test_scrapy_crawl_command_from_repo_root(farm: Farm, tmp_path) -> None:
    db = tmp_path / "scrapy.db"
    env = {**os.environ, **farm.variables}
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "news", "-a", "source=mofa_en",
         "-a", "config=config/demo.yaml", "-s", f"NEWSWATCH_DB={db}", "-s", "LOG_LEVEL=INFO"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    store = Store(db)
    try:
        assert store.db["articles"].count == len(farm.sites["mofa_en"].articles)
    finally:
        store.close()


def test_full_text_search_finds_the_blinken_articles(crawled: CrawlResult) -> None:
    store = Store(crawled.db_path)
    try:
        hits = store.search("Blinken")
    finally:
        store.close()
    assert hits and all("Blinken" in (h["text"] + h["title"]) for h in hits)


def test_robots_txt_is_obeyed_and_errors_are_recorded(farm: Farm, tmp_path) -> None:
    base, host = farm.base_url("mofa_en"), farm.variables["FARM_MOFA_EN_HOST"]
    config = tmp_path / "robots.yaml"
    config.write_text(
        "sources:\n  - name: mofa_en\n    title: t\n    language: en\n"
        f"    domains: ['{host}']\n"
        f"    listings: ['{base}/search?q=us', '{base}/no-such-listing']\n"
        "    article_pattern: '-\\d+$'\n    download_delay: 0\n    profile: mofa\n",
        encoding="utf-8")
    result = crawl(config, tmp_path / "r.db")
    (run,) = result.runs
    assert run["status"] == "finished"
    assert run["requests"] == 2  # robots.txt and the 404 listing: /search never fetched
    assert run["errors"] == 1 and "no-such-listing" in run["error_detail"]
    assert "404" in run["error_detail"]


def test_dropped_item_is_logged_on_one_line_with_its_reason() -> None:
    from scrapy import Spider
    from scrapy.exceptions import DropItem
    from scrapy.utils.test import get_crawler

    from crawler.logformatter import OneLineLogFormatter

    crawler = get_crawler(Spider, {"LOG_FORMATTER": "crawler.logformatter.OneLineLogFormatter"})
    spider = Spider.from_crawler(crawler, name="t")
    item = {"url": "http://127.0.0.1/a", "raw": "<html>" * 1000}
    result = OneLineLogFormatter().dropped(item, DropItem("no article text: http://127.0.0.1/a"),
                                           None, spider)
    line = result["msg"] % result["args"]
    assert line == "Dropped: no article text: http://127.0.0.1/a"


def test_missing_alerts_file_is_refused_before_the_crawl(tmp_path) -> None:
    from monitor.run import crawl
    from monitor.sources import ConfigError

    config = tmp_path / "one.yaml"
    config.write_text("sources:\n  - name: one\n    title: One\n    language: en\n"
                      "    domains: ['127.0.0.1']\n    listings: ['http://127.0.0.1:9/']\n"
                      "    article_pattern: 'a'\n", encoding="utf-8")
    missing = tmp_path / "missing-alerts.yaml"
    try:
        crawl(config, tmp_path / "x.db", alerts=missing)
    except ConfigError as exc:
        assert "no such alerts file" in str(exc)
    else:
        raise AssertionError("crawl started with a missing alerts file")
    assert not (tmp_path / "x.db").exists()
