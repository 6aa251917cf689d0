"""Issue 13: volatile text never makes a version (case08), one article across a source's
hosts (case09), AMP folding; real crawls of real local servers."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.changes import volatile
from monitor.run import crawl
from monitor.sources import canonicalize, trusted_canonical
from monitor.sources.urls import fold_amp

from .pages import PageServer, alerts_file, sources_file

DATA = Path(__file__).parent / "data" / "fieldcases"
CASE08 = DATA / "case08_volatile-counters-new-version"
CASE09 = DATA / "case09_cross-host-canonical-duplicates"


def _now() -> str:
    return datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).isoformat(timespec="seconds")


def _rows(db: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


# -- the masking rules, one input of each kind in each language -----------------------------
VOLATILE_PAIRS = [  # (kind, before, after): the line changes by itself
    ("counter_number_first", "1,204 views", "3,877 views"),
    ("counter_number_first", "1.204 lượt xem", "3.877 lượt xem"),
    ("counter_number_first", "12 comments", "15 comments"),
    ("counter_number_first", "12 bình luận", "15 bình luận"),
    ("counter_label_first", "Views: 1,204", "Views: 3,877"),
    ("counter_label_first", "Lượt xem: 1.204", "Lượt xem: 3.877"),
    ("counter_label_first", "Comment (0)", "Comment (4)"),
    ("counter_label_first", "Bình luận (0)", "Bình luận (4)"),
    ("relative_time", "Posted 2 hours ago", "Posted 5 hours ago"),
    ("relative_time", "2 giờ trước", "5 giờ trước"),
    ("relative_time", "10 minutes ago", "an hour ago"),
    ("relative_time", "Đăng 10 phút trước", "Đăng 45 phút trước"),
    ("relative_word", "just now", "3 minutes ago"),
    ("relative_word", "vừa xong", "3 phút trước"),
    ("updated_stamp", "Updated 14:32", "Updated 15:07"),
    ("updated_stamp", "Cập nhật 14:32 25/03/2024", "Cập nhật 15:07 25/03/2024"),
    ("updated_stamp", "Last updated: 9:05 AM GMT+7", "Last updated: 11:40 AM GMT+7"),
    ("updated_stamp", "Cập nhật lúc 9h05", "Cập nhật lúc 11h40"),
    ("live_clock", "14:32:10", "14:35:55"),
    ("live_clock", "Hà Nội, 14:32", "Hà Nội, 14:40"),
    ("live_clock", "Live · 10:05 AM (GMT+7)", "Live · 10:09 AM (GMT+7)"),
    ("live_clock", "Trực tiếp 10:05", "Trực tiếp 10:09"),
    ("mixed strip", "Posted 2 hours ago · 1,204 views · 3 comments",
     "Posted 3 hours ago · 1,310 views · 5 comments"),
    ("mixed strip", "Cập nhật 14:32 | 1.204 lượt xem | 12 bình luận",
     "Cập nhật 15:02 | 1.310 lượt xem | 14 bình luận"),
]
BODY = ("Deputy Prime Minister Bui Thanh Son received the US Ambassador in Hanoi on Monday "
        "to discuss cooperation in trade, investment and education.")


@pytest.mark.parametrize(("kind", "before", "after"), VOLATILE_PAIRS)
def test_volatile_lines_mask_to_the_same_text(kind: str, before: str, after: str) -> None:
    one = volatile.mask(f"{before}\n{BODY}")
    two = volatile.mask(f"{after}\n{BODY}")
    assert one == two == BODY  # a wholly volatile line leaves nothing behind
    if kind in ("live_clock", "relative_word"):
        return  # a clock or "just now" is only masked as a line of its own
    inline_one = volatile.mask(f"{BODY}\nThe talks ended. {before}")
    inline_two = volatile.mask(f"{BODY}\nThe talks ended. {after}")
    assert inline_one == inline_two and "The talks ended." in inline_one


NOT_VOLATILE = [  # news, not noise: must stay as written
    "The minister said 1,204 comments were received during the consultation, and the "
    "talks began 2 hours ago in Hanoi after the delegations arrived from Washington.",
    "Bộ Công Thương cho biết đã nhận 1.204 ý kiến góp ý và cuộc họp bắt đầu từ 2 giờ trước "
    "tại Hà Nội với sự tham dự của đại diện hai nước.",
    "Cập nhật: Bộ Ngoại giao đã xác nhận thông tin.",
    "Correction: the agreement was signed on March 25, not March 24.",
    "Vietnam, US sign 12 agreements",
    "Trade rose 5% to 1,204 million USD",
]


@pytest.mark.parametrize("line", NOT_VOLATILE)
def test_news_text_is_not_masked(line: str) -> None:
    assert volatile.mask(line) == line


def test_a_profile_rule_masks_site_specific_text() -> None:
    rule = [r"Mã bài: \d+"]
    assert volatile.mask(f"{BODY} Mã bài: 4411", rule) == volatile.mask(f"{BODY} Mã bài: 98",
                                                                        rule)
    assert volatile.mask(f"{BODY} Mã bài: 4411") != volatile.mask(f"{BODY} Mã bài: 98")


# -- case08: two crawls, the page changes only in volatile text ------------------------------
def _case08_page(article_id: str, variant: dict[str, str], published: str) -> str:
    page = (CASE08 / "article_template.html").read_text(encoding="utf-8")
    for key in ("TOP", "BOTTOM", "AFTER"):
        page = page.replace("{{" + key + "}}", variant.get(key, ""))
    return page.replace("{{N}}", article_id).replace("{{PUBLISHED}}", published)


def _own_variants() -> dict[str, dict]:
    """More of case08's kind, ours: Vietnamese relative time, comment counters, stamps,
    a live clock, and a strip of several at once."""
    def p(text: str) -> str:
        return f"<p>{text}</p>"
    pairs = [pair for pair in VOLATILE_PAIRS if pair[0] != "counter_label_first"]
    return {str(2001 + i): {"what": kind, "v1": {"TOP": p(before)}, "v2": {"TOP": p(after)}}
            for i, (kind, before, after) in enumerate(pairs)}


@pytest.fixture
def case08_inputs() -> dict[str, dict]:
    variants = json.loads((CASE08 / "variants.json").read_text(encoding="utf-8"))
    return {**variants, **_own_variants()}


def test_case08_volatile_text_makes_no_version_and_no_alert(tmp_path: Path,
                                                           case08_inputs: dict) -> None:
    published = _now()
    with PageServer("127.0.0.81") as site:
        def show(version: str) -> None:
            links = []
            for article_id, spec in case08_inputs.items():
                path = f"/news/trade-talks-{article_id}.html"
                site.pages[path] = _case08_page(article_id, spec[version], published)
                links.append(f'<a href="{path}">talks {article_id}</a>')
            site.pages["/news"] = f"<html><body><!-- {version} -->{''.join(links)}</body></html>"

        config = sources_file(tmp_path / "sources.yaml", "case08", [site.host],
                              [f"{site.base}/news"], r"-\d{4}\.html$")
        alerts = alerts_file(tmp_path / "alerts.yaml")
        db = tmp_path / "case08.db"
        show("v1")
        first = crawl(config, db, alerts=alerts)
        show("v2")
        second = crawl(config, db, alerts=alerts)
    assert first.ok and second.ok and first.totals["errors"] == 0
    stored = len(case08_inputs)
    assert _rows(db, "select count(*) from articles")[0][0] == stored
    assert second.totals["updated"] == 0 and second.totals["unchanged"] == stored
    assert _rows(db, "select count(*) from versions")[0][0] == stored  # version 1 only
    assert _rows(db, "select count(*) from alerts where kind = 'updated'")[0][0] == 0
    # the stored text keeps what the page printed at its version (see docs/ALERTS.md)
    text = _rows(db, "select text from articles where url like '%-1001.html'")[0][0]
    assert "1,204 views" in text


def test_case08_a_real_edit_next_to_volatile_text_is_one_version(tmp_path: Path) -> None:
    published = _now()
    variants = json.loads((CASE08 / "variants.json").read_text(encoding="utf-8"))
    spec = variants["1001"]
    with PageServer("127.0.0.82") as site:
        path = "/news/trade-talks-1001.html"
        site.pages["/news"] = f'<html><body><a href="{path}">talks</a></body></html>'
        site.pages[path] = _case08_page("1001", spec["v1"], published)
        site.pages["/news"] = lambda: ("<html><body><!-- " + str(sum(site.hits.values()))
                                       + f' --><a href="{path}">talks</a></body></html>')
        config = sources_file(tmp_path / "sources.yaml", "case08", [site.host],
                              [f"{site.base}/news"], r"-\d{4}\.html$")
        alerts = alerts_file(tmp_path / "alerts.yaml")
        db = tmp_path / "edit.db"
        crawl(config, db, alerts=alerts)
        edited = _case08_page("1001", spec["v2"], published).replace(
            "later this year.", "in Washington in July, with 40 delegates.")
        site.pages[path] = edited
        second = crawl(config, db, alerts=alerts)
    assert second.totals["updated"] == 1
    (kinds, changes, diff), = _rows(db, "select kinds, changes, diff from versions "
                                        "where version = 2")
    assert "numbers" in json.loads(kinds)
    assert [c["op"] for c in json.loads(changes)] == ["-", "+"]
    assert "views" not in diff  # the diff is of the masked text: the counter is not in it
    assert _rows(db, "select count(*) from alerts where kind = 'updated'")[0][0] == 1


# -- case09: one article under the bare and m. hosts of a source -----------------------------
def _case09(first: str, canonical: str, published: str) -> str:
    page = (CASE09 / "article_template.html").read_text(encoding="utf-8")
    return (page.replace("{{FIRST}}", first).replace("{{CANONICAL}}", canonical)
            .replace("{{PUBLISHED}}", published))


FIRST = ("Deputy Prime Minister Bui Thanh Son received the US Ambassador in Hanoi on Monday; "
         "the two sides discussed Vietnam-US cooperation in trade, investment and education.")


def test_case09_one_article_one_version_one_alert_across_hosts(tmp_path: Path) -> None:
    published = _now()
    with PageServer("127.0.0.83") as desktop, PageServer("127.0.0.84",
                                                          desktop.port) as mobile:
        path = "/news/vietnam-us-trade-talks-1001.html"
        canonical = desktop.base + path

        def show(first: str) -> None:
            for site in (desktop, mobile):
                site.pages[path] = _case09(first, canonical, published)
                listing = (CASE09 / "listing.html").read_text(encoding="utf-8")
                site.pages["/"] = (listing.replace("{{DESKTOP}}", desktop.base)
                                   .replace("{{MOBILE}}", mobile.base)
                                   + f"<!-- {len(first)} -->")

        # the source owns both hosts: the bare one and its m. one (here two addresses)
        config = sources_file(tmp_path / "sources.yaml", "case09",
                              [desktop.host, mobile.host], [f"{desktop.base}/"],
                              r"-\d{4}\.html$")
        alerts = alerts_file(tmp_path / "alerts.yaml")
        db = tmp_path / "case09.db"
        show(FIRST)
        first = crawl(config, db, alerts=alerts)
        show(FIRST.replace("on Monday", "on Tuesday, March 26,"))
        second = crawl(config, db, alerts=alerts)
        assert mobile.hits.get(path) == 2  # the m. page was fetched both times
    assert first.ok and second.ok and first.totals["errors"] == 0
    assert _rows(db, "select url from articles") == [(canonical,)]
    assert _rows(db, "select count(*) from versions where version = 2")[0][0] == 1
    assert second.totals["updated"] == 1
    assert _rows(db, "select count(*) from alerts where kind = 'updated'")[0][0] == 1
    assert _rows(db, "select count(*) from alerts where kind = 'new'")[0][0] == 1


# -- canonical URLs and AMP ------------------------------------------------------------------
OWNED = ["vnexpress.net", "laodong.vn"]


@pytest.mark.parametrize(("page", "declared", "expected"), [
    ("https://m.vnexpress.net/a-1.html", "https://vnexpress.net/a-1.html",
     "https://vnexpress.net/a-1.html"),
    ("https://vnexpress.net/a-1.html", "https://www.vnexpress.net/a-1.html",
     "https://www.vnexpress.net/a-1.html"),
    ("https://amp.laodong.vn/a-1.ldo", "https://laodong.vn/a-1.ldo",
     "https://laodong.vn/a-1.ldo"),
    ("https://en.laodong.vn/a-1.ldo", "https://laodong.vn/a-1.ldo",
     "https://laodong.vn/a-1.ldo"),
    # someone else's site: refused, the page keeps its own URL
    ("https://m.vnexpress.net/a-1.html", "https://evil.example/a-1.html",
     "https://m.vnexpress.net/a-1.html"),
    ("https://vnexpress.net/a-1.html", "https://vnexpress.net.evil.example/a-1.html",
     "https://vnexpress.net/a-1.html"),
    ("https://vnexpress.net/a-1.html", "https://laodong.vn/b-2.ldo",
     "https://laodong.vn/b-2.ldo"),  # both domains are this (test) source's
])
def test_canonical_on_an_owned_host_is_trusted(page: str, declared: str,
                                               expected: str) -> None:
    assert trusted_canonical(page, declared, OWNED) == expected


def test_without_the_source_domains_only_the_same_host_is_trusted() -> None:
    assert trusted_canonical("https://m.vnexpress.net/a-1.html",
                             "https://vnexpress.net/a-1.html") == "https://m.vnexpress.net/a-1.html"


@pytest.mark.parametrize(("amp", "plain"), [
    ("https://vnexpress.net/amp/a-1.html", "https://vnexpress.net/a-1.html"),
    ("https://vnexpress.net/a-1.html?amp=1", "https://vnexpress.net/a-1.html"),
    ("https://vnexpress.net/a-1.html?amp", "https://vnexpress.net/a-1.html"),
    ("https://laodong.vn/a-1.ldo/amp", "https://laodong.vn/a-1.ldo"),
    ("https://laodong.vn/a-1.amp.html", "https://laodong.vn/a-1.html"),
    ("https://laodong.vn/a-1.html?page=2&amp=1", "https://laodong.vn/a-1.html?page=2"),
])
def test_amp_spellings_fold_to_the_article_url(amp: str, plain: str) -> None:
    assert canonicalize(amp) == canonicalize(plain)
    assert fold_amp(fold_amp(amp)) == fold_amp(amp)


def test_amp_page_with_its_canonical_on_the_source() -> None:
    assert trusted_canonical("https://amp.vnexpress.net/a-1.html",
                             "https://vnexpress.net/a-1.html", OWNED) == \
        "https://vnexpress.net/a-1.html"
    assert canonicalize("https://vnexpress.net/news/ample-supply-1.html") == \
        "https://vnexpress.net/news/ample-supply-1.html"
