"""The profile guard (monitor.extract.guard): a profile whose body rule reads the wrong
block never makes a page worse than no profile; the crawl stores the generic reading and
source health names the rule, once."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from monitor.extract import extract, guard
from monitor.extract.eval import per_page_f1, profile_for
from monitor.farm import Farm
from monitor.run import crawl
from monitor.sources import DEMO_CONFIG, SiteProfile, load_settings
from monitor.store import Store

from .test_health import _alerts_file, _health_alerts, _state, publish

REALPAGES = Path(__file__).resolve().parents[1].parent / "shared" / "realpages"

STORY = [
    "Vietnam and the United States signed an agreement on clean energy cooperation in "
    "Hanoi on Monday, the foreign ministry said in a statement.",
    "The agreement covers grid modernisation, training for engineers and joint research "
    "on offshore wind, and runs for five years.",
    "Officials from both sides said the deal builds on the comprehensive strategic "
    "partnership the two countries agreed in 2023.",
    "A working group will meet every quarter and report to ministers once a year on the "
    "progress of each project.",
]
TEASERS = [f"Most read story number {n} about markets and the weather this week" for n in
           range(6)]


def _page() -> str:
    story = "".join(f"<p>{p}</p>" for p in STORY)
    teasers = "".join(f"<li><a href='/s/{n}'>{t}</a></li>" for n, t in enumerate(TEASERS))
    return (f"<html><head><title>Energy deal</title></head><body><main><article>"
            f"<h1>Vietnam and US sign energy deal</h1><div class='article-body'>{story}</div>"
            f"</article><aside class='sidebar'><ul>{teasers}</ul></aside></main>"
            "</body></html>")


@pytest.mark.parametrize(("body", "page"), [
    ("//aside[contains(@class,'sidebar')]", _page()),  # a sidebar
    ("//aside//ul", _page()),  # a list of teasers
])
def test_a_wrong_body_rule_loses_to_the_generic_reading(body: str, page: str) -> None:
    url = "https://example.vn/energy-deal-123.html"
    wrong = extract(page, url, SiteProfile(body=body))
    plain = extract(page, url, None)
    assert wrong is not None and plain is not None
    assert wrong.text == plain.text and wrong.guard and f"`{body}`" in wrong.guard
    right = extract(page, url, SiteProfile(body="//div[@class='article-body']"))
    assert right is not None and right.guard is None
    assert right.text.splitlines() == STORY


def test_a_short_article_whose_generic_reading_is_the_teaser_list_keeps_the_profile() -> None:
    """Found by tests/test_incremental.py: on a two-paragraph article the generic reading
    took the related-news teasers; the readings disagree, and the title decides."""
    story = ["Vietnam and the United States held talks in Hanoi on trade.",
             "The second paragraph says more about the talks and the plans."]
    teasers = "".join(f"<div class='related'><h3><a href='/n/{n}'>{t}</a></h3><p>{t} and "
                      "more words about the weather, markets and the roads this week</p></div>"
                      for n, t in enumerate(TEASERS))
    page = ("<html><head><title>Index talks</title></head><body><h1>Index talks</h1>"
            "<div class='content'>" + "".join(f"<p>{p}</p>" for p in story) + "</div>"
            f"<section class='more'>{teasers}</section></body></html>")
    result = extract(page, "https://example.vn/index-talks-1.html",
                     SiteProfile(body="//div[@class='content']"))
    assert result is not None and result.guard is None
    assert result.text.splitlines() == story


def test_the_gate_and_comparison_thresholds() -> None:
    # nothing in common, and the generic reading is what the title says: the profile loses
    assert guard.loses("abc def ghi jkl", "xyz uvw " * 100, "//r", "Xyz uvw headline")
    # nothing in common, but neither reading is clearly the page's own: the profile stands
    assert guard.loses("abc def ghi jkl", "xyz uvw " * 100, "//r", "Other words") is None
    assert guard.loses("x y z w", "short", "//r") is None  # a tiny generic text never wins
    text = " ".join(STORY)  # a short article: the generic reading adds teasers, no loss
    assert guard.loses(text, text + " Related: " + " ".join(TEASERS) * 3, "//r") is None


@pytest.mark.skipif(not (REALPAGES / "truth").is_dir(), reason="../shared/realpages absent")
def test_the_guard_keeps_every_real_page_read_through_its_outlets_profile() -> None:
    """On ../shared/realpages the guard never replaces a right profile's reading, and a
    body rule pointed at the page's footer or another block is never worse than the
    generic reading by more than 0.02 F1."""
    for path in sorted((REALPAGES / "truth").glob("*.json")):
        truth = json.loads(path.read_text(encoding="utf-8"))
        html = gzip.decompress((REALPAGES / "html" / f"{path.stem}.html.gz").read_bytes())
        profile = profile_for(truth["url"])
        result = extract(html, truth["url"], profile)
        assert result is not None and result.guard is None, (path.stem, result and result.guard)
        plain = extract(html, truth["url"], None)
        assert plain is not None
        for body in ("//footer", "(//ul)[last()]", "//header"):
            wrong = extract(html, truth["url"], SiteProfile(body=body))
            if wrong is None:
                continue
            assert (per_page_f1(truth["articleBody"], wrong.text)
                    >= per_page_f1(truth["articleBody"], plain.text) - 0.02), (path.stem, body)


def test_a_crawl_with_a_sidebar_body_rule_stores_the_generic_text_and_alerts_once(
        fresh_farm: Farm, tmp_path: Path) -> None:
    farm, db, alerts = fresh_farm, tmp_path / "g.db", _alerts_file(tmp_path / "alerts.yaml")
    site = "laodong_en"
    settings = load_settings(DEMO_CONFIG, farm.variables)
    source = settings.source(site)
    sidebar = "//div[contains(@class,'sidebar')]"
    source = source.model_copy(update={"profile": source.profile.model_copy(
        update={"body": sidebar})})
    settings = settings.model_copy(update={"sources": [source]})
    url = publish(farm, site)
    crawl(settings, db, sources=[site], alerts=alerts)
    store = Store(db)
    try:
        row = store.db.execute("select text from articles where url = ?", [url]).fetchone()
    finally:
        store.close()
    assert row is not None, "the article was stored"
    assert "Officials from Vietnam and the United States met in Hanoi" in row[0]
    assert "most-read" not in row[0].lower()
    state = _state(db, site)
    (alert,) = _health_alerts(db)
    assert state["state"] == "degraded"
    assert f"body selector `{sidebar}` read other text than the article" in alert["message"]
    publish(farm, site)
    crawl(settings, db, sources=[site], alerts=alerts)  # still wrong: no second alert
    assert len(_health_alerts(db)) == 1


def test_doctor_shows_the_guards_verdict() -> None:
    """`newswatch doctor SOURCE URL` lists the guard's verdict beside the rules' matches."""
    from monitor.extract.doctor import article_report
    from monitor.sources import Settings

    def source(body: str):  # noqa: ANN202 - a Source
        return Settings.model_validate({"sources": [{
            "name": "s", "title": "S", "language": "en", "domains": ["example.vn"],
            "article_pattern": r"-\d+\.html$", "profile": {"body": body}}]}).sources[0]

    url = "https://example.vn/energy-deal-123.html"
    wrong = {f.rule: f for f in article_report(source("//aside[contains(@class,'sidebar')]"),
                                               _page().encode(), url)}
    assert not wrong["guard"].ok and "generic text stored" in wrong["guard"].matched
    right = {f.rule: f for f in article_report(source("//div[@class='article-body']"),
                                               _page().encode(), url)}
    assert right["guard"].ok
