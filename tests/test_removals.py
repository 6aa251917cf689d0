"""Issue 13: articles their site takes down become one ``removed`` event and alert; a
transient 503 does not. Real crawls of the farm."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.changes.removals import is_removal_notice
from monitor.farm import Farm
from monitor.run import crawl
from monitor.sources import DEMO_CONFIG

from .pages import alerts_file

SITE = "laodong_en"


def _story(slug: str, n: int) -> dict:
    return {
        "site": SITE, "slug": slug, "lang": "en", "topic": "vn-us", "author": "Thanh Ha",
        "title": f"Vietnam, US sign memorandum on critical minerals ({n})",
        "published": datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).isoformat(timespec="seconds"),
        "lead": f"Vietnam and the United States signed memorandum number {n} on cooperation "
                "in rare earths and critical minerals in Hanoi.",
        "paragraphs": [
            f"The memorandum {n} was signed by Minister Do Duc Duy and US Ambassador Marc "
            "Knapper in the presence of officials of both sides in Hanoi.",
            "Under the document, the US will support Vietnam in surveying reserves, training "
            "geologists and building processing capacity.",
            "Ambassador Knapper said the agreement reflects the Comprehensive Strategic "
            "Partnership between Vietnam and the United States.",
        ],
    }


def _removed(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        articles = conn.execute("select url, removed_reason, length(text) from articles "
                                "where removed is not null order by url").fetchall()
        alerts = conn.execute("select count(*) from alerts where kind = 'removed'").fetchone()
        return [*articles, ("alerts", alerts[0])]
    finally:
        conn.close()


def test_deleted_notice_and_redirected_articles_are_removed_once_503_is_not(
        fresh_farm: Farm, tmp_path: Path) -> None:
    farm, db = fresh_farm, tmp_path / "removals.db"
    alerts = alerts_file(tmp_path / "alerts.yaml")
    urls = {how: farm.publish(_story(f"minerals-{how}", n))
            for n, how in enumerate(["delete", "notice", "redirect", "flaky", "kept"], 1)}

    def run() -> list[tuple]:
        result = crawl(DEMO_CONFIG, db, variables=farm.variables, sources=[SITE],
                       alerts=alerts)
        assert result.ok
        return _removed(db)

    assert run() == [("alerts", 0)]
    for how in ("delete", "notice", "redirect"):
        farm.unpublish(SITE, f"minerals-{how}", how)
    farm.fail(SITE, "minerals-flaky", 503, requests=3)  # one check: the first try + 2 retries
    assert run() == [("alerts", 0)]  # found gone once: not yet a removal; 503: no evidence
    after = run()  # gone on two checks in a row
    gone = {url: reason for url, reason, *_ in after[:-1]}
    assert gone == {urls["delete"]: "HTTP 404", urls["notice"]: "removal notice",
                    urls["redirect"]: f"redirected to {farm.base_url(SITE)}/politics"}
    assert all(length > 200 for *_, length in after[:-1])  # the last text is kept
    assert after[-1] == ("alerts", 3)  # one rule, one channel: one alert each
    assert run() == after  # and never again


def test_a_503_on_two_crawls_is_not_a_removal(fresh_farm: Farm, tmp_path: Path) -> None:
    farm, db = fresh_farm, tmp_path / "flaky.db"
    alerts = alerts_file(tmp_path / "alerts.yaml")
    farm.publish(_story("minerals-down", 9))
    crawl(DEMO_CONFIG, db, variables=farm.variables, sources=[SITE], alerts=alerts)
    for _ in range(2):
        farm.fail(SITE, "minerals-down", 503, requests=3)
        crawl(DEMO_CONFIG, db, variables=farm.variables, sources=[SITE], alerts=alerts)
    assert _removed(db) == [("alerts", 0)]


def test_removal_notices_in_both_languages() -> None:
    chrome = "<div class='menu'><a href='/'>Home</a> <a href='/x'>World</a></div>"
    assert is_removal_notice(f"<html><body>{chrome}<h1>Bài viết không tồn tại</h1></body>")
    assert is_removal_notice(f"<html><body>{chrome}<p>This article has been removed.</p>")
    assert is_removal_notice("<html><body><div>Bài viết này đã bị gỡ bỏ.</div></body>")
    assert not is_removal_notice(
        "<html><body><p>The ministry said the article has been removed from the draft law "
        "after consultations with businesses and experts.</p></body></html>")
