"""Stories, duplicates and versions, through real crawls of the farm."""

from __future__ import annotations

import json
import urllib.request

import pytest

from monitor.alerts import load_alert_config
from monitor.farm import Farm
from monitor.run import CrawlResult, crawl
from monitor.sources import DEMO_CONFIG
from monitor.store import Store

from .test_alerts import STORY as RARE_EARTHS_STORY


def _by_url(db) -> dict[str, dict]:
    store = Store(db)
    try:
        return {row["url"]: row for row in store.articles()}
    finally:
        store.close()


@pytest.fixture(scope="module")
def rows(crawled: CrawlResult) -> dict[str, dict]:
    return _by_url(crawled.db_path)


def _story(farm: Farm, rows: dict[str, dict], site: str, slug: str) -> int:
    return rows[farm.url_of(site, slug)]["story_id"]


def test_seed_pair_is_one_story(farm: Farm, rows: dict[str, dict]) -> None:
    english = _story(farm, rows, "laodong_en",
                     "the-us-continues-to-promote-high-tech-cooperation-with-vietnam")
    vietnamese = _story(farm, rows, "laodong_vi",
                        "pho-thu-tuong-bui-thanh-son-gap-pho-co-van-an-ninh-quoc-gia-my")
    assert english == vietnamese


def test_every_en_vi_pair_and_republication_joins_its_story(farm: Farm,
                                                            rows: dict[str, dict]) -> None:
    pairs: dict[str, set[int]] = {}
    for article in farm.all_articles():
        story = _story(farm, rows, article.site, article.slug)
        if article.pair:
            pairs.setdefault(article.pair, set()).add(story)
        if article.republished_from:
            origin = article.republished_from
            assert story == _story(farm, rows, origin["site"], origin["slug"]), article.slug
            # sources are crawled concurrently: whichever of the two came second is the copy
            links = {rows[farm.url_of(article.site, article.slug)]["link"],
                     rows[farm.url_of(origin["site"], origin["slug"])]["link"]}
            assert links & {"copy", "near"}, article.slug
    assert len(pairs) >= 5 and all(len(stories) == 1 for stories in pairs.values())


@pytest.mark.parametrize(("one", "other"), [
    # same officials (Bui Thanh Son, To Lam), same trip, a day apart: Finer vs Blinken
    (("laodong_vi", "pho-thu-tuong-bui-thanh-son-gap-pho-co-van-an-ninh-quoc-gia-my"),
     ("laodong_en", "vietnam-us-foreign-ministers-meet-in-new-york")),
    # Bui Thanh Son and Blinken: Vientiane in July vs New York in September
    (("laodong_vi", "bui-thanh-son-gap-blinken-tai-vieng-chan"),
     ("laodong_en", "bui-thanh-son-meets-blinken-in-new-york")),
])
def test_same_officials_different_event_stay_apart(farm: Farm, rows: dict[str, dict],
                                                   one: tuple[str, str],
                                                   other: tuple[str, str]) -> None:
    assert _story(farm, rows, *one) != _story(farm, rows, *other)


def test_relevance_is_stored_with_reasons(farm: Farm, rows: dict[str, dict]) -> None:
    for article in farm.all_articles():
        row = rows[farm.url_of(article.site, article.slug)]
        assert bool(row["relevant"]) == (article.topic == "vn-us"), article.slug
        if row["relevant"]:
            assert json.loads(row["reasons"]) and 0 < row["relevance"] <= 1


def test_publish_copy_edit_and_noise(fresh_farm: Farm, tmp_path) -> None:
    db, variables = tmp_path / "v.db", fresh_farm.variables
    sources = ["laodong_en", "vietnam_vn"]
    crawl(DEMO_CONFIG, db, variables=variables, sources=sources)
    story = {**RARE_EARTHS_STORY, "published": "2024-12-22T09:00:00+07:00"}
    url = fresh_farm.publish({"site": "laodong_en", **story})
    first = crawl(DEMO_CONFIG, db, variables=variables, sources=sources)
    assert (first.totals["new"], first.totals["duplicate"], first.totals["irrelevant"]) == (1, 0, 0)
    original = _by_url(db)[url]
    assert original["relevant"] == 1 and original["version"] == 1

    copy_url = fresh_farm.publish({
        "site": "vietnam_vn", **story, "slug": "vietnam-us-rare-earths-memorandum",
        "published": "2024-12-22T15:00:00+07:00",
        "republished_from": {"site": "laodong_en", "slug": story["slug"]}})
    second = crawl(DEMO_CONFIG, db, variables=variables, sources=sources)
    assert (second.totals["new"], second.totals["duplicate"]) == (0, 1)
    rows = _by_url(db)
    assert rows[copy_url]["story_id"] == original["story_id"]
    stories = Store(db).db["stories"].count

    edited = "Under the document, the US will support Vietnam in surveying reserves and " \
             "training 200 geologists by 2027."
    fresh_farm.edit("laodong_en", story["slug"], replace={1: edited})
    third = crawl(DEMO_CONFIG, db, variables=variables, sources=["laodong_en"],
                  scrapy_settings={"NEWSWATCH_RECHECK_DAYS": 36500})  # dated 2024: re-check
    assert (third.totals["updated"], third.totals["new"], third.totals["duplicate"]) == (1, 0, 0)
    store = Store(db)
    versions = list(store.db["versions"].rows_where(
        "article_id = ?", [original["id"]], order_by="version"))
    assert [v["version"] for v in versions] == [1, 2]
    diff = versions[1]["diff"].splitlines()
    assert [line for line in diff if line.startswith("-") and not line.startswith("---")] == \
        ["-" + story["paragraphs"][1]]
    assert [line for line in diff if line.startswith("+") and not line.startswith("+++")] == \
        ["+" + edited]
    assert "<ins>" in versions[1]["word_diff"] and "<del>" in versions[1]["word_diff"]
    assert store.db["stories"].count == stories
    assert store.article(url)["version"] == 2 and edited in store.article(url)["text"]
    store.close()

    spaced = [p.replace(" the ", "  the  ") for p in fresh_farm.article(
        "laodong_en", story["slug"]).paragraphs]
    fresh_farm.edit("laodong_en", story["slug"], paragraphs=spaced)  # whitespace only
    fourth = crawl(DEMO_CONFIG, db, variables=variables, sources=["laodong_en"],
                  scrapy_settings={"NEWSWATCH_RECHECK_DAYS": 36500})
    assert fourth.totals["updated"] == 0 and fourth.totals["unchanged"] >= 1

    before = urllib.request.urlopen(url, timeout=10).read()
    fresh_farm.count("laodong_en", story["slug"], comments=12)  # counter only
    assert urllib.request.urlopen(url, timeout=10).read() != before  # the page did change
    fifth = crawl(DEMO_CONFIG, db, variables=variables, sources=["laodong_en"],
                  scrapy_settings={"NEWSWATCH_RECHECK_DAYS": 36500})
    assert fifth.totals["updated"] == 0
    store = Store(db)
    try:
        assert store.db["versions"].count_where("article_id = ?", [original["id"]]) == 2
        # the outbox, filled in the same transactions: one "new" per channel for the story,
        # one "updated" per channel for version 2; nothing for the copy or the noise
        alerts = [(a["kind"], a["article_id"], a["version"]) for a in store.db["alerts"].rows_where(
            "story_id = ?", [original["story_id"]], order_by="id")]
        channels = len(load_alert_config().rules[0].channels)
        assert alerts == [("new", original["id"], 1)] * channels + \
            [("updated", original["id"], 2)] * channels
    finally:
        store.close()


def test_lsh_parameters_match_datasketch() -> None:
    from datasketch.lsh import _optimal_param

    from monitor.changes import dedupe

    assert (dedupe.BANDS, dedupe.ROWS) == _optimal_param(dedupe.NEAR_THRESHOLD, dedupe.NUM_PERM,
                                                         0.5, 0.5)
