"""Issue 17 (throughput): the profile-rule health check that moved from the reactor to the
extraction worker, and the farm's outlet replicas as heavy as real outlet pages."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import lxml.html
import pytest

from monitor.farm.chrome import site_chrome
from monitor.farm.content import FarmArticle
from monitor.farm.render import render_article
from monitor.farm.sites import MARKUP, SITES
from monitor.processes import extract_checked
from monitor.processes.workers import rule_misses
from monitor.sources import DateRule, SiteProfile

from .conftest import REPO

REALPAGES = REPO.parent / "shared" / "realpages"
BODY = "//div[@class='art-body']"
DATE = DateRule(xpath="//span[@class='date']", formats=["%d/%m/%Y %H:%M"])
PROFILE = SiteProfile(body=BODY, date=DATE)
ARTICLE = ("<html><head><title>T</title></head><body><h1>Title</h1>"
           "<span class='date'>01/02/2026 10:00</span><div class='art-body'>"
           + "".join(f"<p>Paragraph {n} of the article, long enough to be text.</p>"
                     for n in range(6)) + "</div></body></html>")


def test_rule_misses_names_each_rule_that_matched_nothing() -> None:
    assert rule_misses(ARTICLE, PROFILE) == []
    redesigned = ARTICLE.replace("art-body", "story-body")
    assert rule_misses(redesigned, PROFILE) == ["body_miss"]
    undated = ARTICLE.replace("class='date'", "class='time'")
    assert rule_misses(undated, PROFILE) == ["date_rule_miss"]
    assert rule_misses("", PROFILE) == ["body_miss", "date_rule_miss"]  # nothing to read
    assert rule_misses("\x00\x00", PROFILE) == ["body_miss", "date_rule_miss"]
    assert rule_misses(redesigned, SiteProfile()) == []  # no rules: nothing to miss
    broken = SiteProfile(body="//div[@class=")  # an XPath lxml cannot run matches nothing
    assert rule_misses(ARTICLE, broken) == ["body_miss"]


def test_extract_checked_checks_only_when_asked_and_decodes_bytes() -> None:
    page = ARTICLE.replace("art-body", "story-body").encode("utf-8")
    article, misses = extract_checked(page, "http://x.test/a", PROFILE, "+07:00",
                                      "text/html; charset=utf-8", (), check_rules=True)
    assert misses == ["body_miss"]
    assert article is not None and "Paragraph 3" in article["text"]  # the generic path
    again, none = extract_checked(page, "http://x.test/a", PROFILE, "+07:00",
                                  "text/html; charset=utf-8", (), check_rules=False)
    assert none == [] and again is not None and again["text"] == article["text"]


def _outlet_page() -> tuple[str, str]:
    site = next(s for s in SITES.values() if s.theme in MARKUP)
    article = FarmArticle(site=site.name, slug="a-story", lang=site.lang, title="A story",
                          lead="The lead of the story.", author="Reporter",
                          published=datetime(2026, 11, 2, 8, 30, tzinfo=UTC),
                          paragraphs=[f"Paragraph {n} of the body." for n in range(5)],
                          captions=[])
    return site.name, render_article(site, article, "http://127.0.0.1/a-story", [], 10)


def test_outlet_replicas_carry_site_chrome_outside_the_body() -> None:
    name, html = _outlet_page()
    # as heavy as the lightest real outlet page (34.8 KB raw, ~400 elements)
    assert len(html.encode("utf-8")) > 34_000
    tree = lxml.html.fromstring(html)
    assert sum(1 for _ in tree.iter()) > 350
    body_tag, body_cls = MARKUP[SITES[name].theme]["body"]
    (body,) = tree.xpath(f"//{body_tag}[@class='{body_cls}']")
    assert not body.xpath(".//script | .//style | .//nav | .//aside | .//footer")
    chrome = site_chrome(SITES[name])
    assert chrome is site_chrome(SITES[name])  # built once per site
    assert chrome.nav in html and chrome.aside in html and chrome.footer in html


@pytest.mark.skipif(not (REALPAGES / "unlabelled").exists(), reason="no ../shared/realpages")
def test_outlet_replica_size_within_the_real_pages_range() -> None:
    sizes = [len(gzip.open(path).read())
             for folder in ("html", "unlabelled")
             for path in (REALPAGES / folder).glob("*.html.gz")]
    _, html = _outlet_page()
    assert min(sizes) <= len(html.encode("utf-8")) <= max(sizes)


@pytest.mark.parametrize("theme", sorted(MARKUP))
def test_the_worker_checks_the_rules_on_the_extractors_tree_as_a_parse_of_its_own_would(
        theme: str) -> None:
    """Every outlet replica's page, checked against its profile and against the profile
    of a redesign (its body container and date element gone): the misses found on the
    extractor's tree (one parse per page) are those of a parse of its own
    (``rule_misses``), and the article is extracted either way."""
    from monitor.sources.config import load_profiles

    profile = SiteProfile.model_validate(load_profiles()[theme])
    redesign = profile.model_copy(update={
        "body": "//div[@class='story-2027']",
        "date": DateRule(xpath="//time[@class='pub-2027']", formats=["%d/%m/%Y %H:%M"])})
    site = next(s for s in SITES.values() if s.theme == theme)
    article = FarmArticle(site=site.name, slug="a-story", lang=site.lang, title="A story",
                          lead="The lead of the story.", author="Reporter",
                          published=datetime(2026, 11, 2, 8, 30, tzinfo=UTC),
                          paragraphs=[f"Paragraph {n} of the body, with enough words to be "
                                      "text of an article." for n in range(6)], captions=[])
    html = render_article(site, article, "http://127.0.0.1/a-story", [], 10)
    for rules in (profile, redesign):
        extracted, misses = extract_checked(html.encode("utf-8"), "http://127.0.0.1/a-story",
                                            rules, "+07:00", "text/html; charset=utf-8",
                                            (), check_rules=True)
        assert misses == rule_misses(html, rules)
        assert extracted is not None and "Paragraph 3 of the body" in extracted["text"]
    assert "body_miss" not in rule_misses(html, profile)
    assert rule_misses(html, redesign) == ["body_miss", "date_rule_miss"]
