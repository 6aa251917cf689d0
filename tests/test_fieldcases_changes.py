"""Change-detection field case 24 (../shared/fieldcases, copied to tests/data/fieldcases)
and more inputs of its kind, written here: live widgets inside the article body whose only
change is a number (reaction bars, reader polls, exchange-rate tickers, player durations,
follower counts, ratings) make no version; plus kinds found in change monitors' trackers
(invisible-character and markup-only changes, a consent wall served in place of the
article). Real crawls of real local servers, with the shipped alert rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.changes import volatile
from monitor.run import crawl

from .pages import PageServer, sources_file
from .test_changes import _now, _rows

ROOT = Path(__file__).parent.parent
CASE24 = Path(__file__).parent / "data" / "fieldcases" / "case24_in-body-live-widgets"
SHIPPED_ALERTS = ROOT / "config" / "alerts.yaml"
P2 = ("Talks focused on trade, investment and education, and on the next steps of the "
      "Comprehensive Strategic Partnership agreed last year.")
P3 = "The ambassador said Washington wanted to deepen cooperation in every field."


def _page(article_id: str, own: str, mid: str, published: str) -> str:
    page = (CASE24 / "article_template.html").read_text(encoding="utf-8")
    for key, value in (("N", article_id), ("OWN", own), ("MID", mid), ("P2", P2),
                       ("P3", P3), ("PUBLISHED", published)):
        page = page.replace("{{" + key + "}}", value)
    return page


def _p(*lines: str) -> str:
    return "".join(f"<p>{line}</p>" for line in lines)


# More widgets of case24's kind, ours: (what, v1 markup, v2 markup)
OWN_WIDGETS = [
    ("reaction bar, Facebook style", "<div class='fb-like'>" + _p("👍❤️ 2,3K") + "</div>",
     "<div class='fb-like'>" + _p("👍❤️ 2,6K") + "</div>"),
    ("reaction labels", "<div class='react'>" + _p("Like 1.204 · Share 87") + "</div>",
     "<div class='react'>" + _p("Like 1.377 · Share 95") + "</div>"),
    ("poll, English, percent first", "<div class='poll'>" + _p(
        "Was the visit a success?", "Yes — 62% (310 votes)", "No — 38% (190 votes)",
        "Total votes: 500") + "</div>",
     "<div class='poll'>" + _p("Was the visit a success?", "Yes — 64% (355 votes)",
                               "No — 36% (200 votes)", "Total votes: 555") + "</div>"),
    ("exchange-rate ticker", "<div class='ticker'>" + _p(
        "USD/VND 25.245 ▲0,12%", "EUR/VND 27.310 ▼0,05%", "VN-Index: 1.254,3 điểm (+0,8%)")
     + "</div>",
     "<div class='ticker'>" + _p("USD/VND 25.310 ▲0,38%", "EUR/VND 27.290 ▼0,12%",
                                 "VN-Index: 1.260,1 điểm (-0,2%)") + "</div>"),
    ("audio player duration", "<div class='audio'>" + _p("Nghe bài viết", "Thời lượng: 03:45",
                                                         "00:00 / 03:45") + "</div>",
     "<div class='audio'>" + _p("Nghe bài viết", "Thời lượng: 03:47", "01:12 / 03:47")
     + "</div>"),
    ("video player position", "<div class='player'>" + _p("▶ 02:10") + "</div>",
     "<div class='player'>" + _p("▶ 02:13") + "</div>"),
    ("follower count", "<div class='follow'>" + _p("VnExample · 12,5K người theo dõi",
                                                   "1.2K followers") + "</div>",
     "<div class='follow'>" + _p("VnExample · 12,6K người theo dõi", "1.3K followers")
     + "</div>"),
    ("aggregate rating (thp/urlwatch#116)", "<div class='rating'>" + _p(
        "Đánh giá: 4,1/5 (123 lượt đánh giá)", "4.5 ★ (87 ratings)") + "</div>",
     "<div class='rating'>" + _p("Đánh giá: 4,2/5 (130 lượt đánh giá)", "4.4 ★ (95 ratings)")
     + "</div>"),
]


def case24_inputs() -> dict[str, dict]:
    variants = json.loads((CASE24 / "variants.json").read_text(encoding="utf-8"))
    own = {str(3001 + i): {"what": what, "own": f"The talks on {what} were described as warm.",
                           "v1": {"MID": v1}, "v2": {"MID": v2}}
           for i, (what, v1, v2) in enumerate(OWN_WIDGETS)}
    return {**variants, **own}


@pytest.mark.parametrize(("what", "v1", "v2"), OWN_WIDGETS, ids=[w[0] for w in OWN_WIDGETS])
def test_widget_lines_mask_alike(what: str, v1: str, v2: str) -> None:
    import lxml.html

    def lines(markup: str) -> str:
        return "\n".join(" ".join(p.text_content().split())
                         for p in lxml.html.fromstring(f"<div>{markup}</div>").iter("p"))
    assert volatile.mask(f"{P2}\n{lines(v1)}") == volatile.mask(f"{P2}\n{lines(v2)}")


@pytest.mark.parametrize("line", [
    "Quốc hội thông qua với 450 phiếu tán thành (93,75%).",
    "The deal was approved by 300 votes",
    "Xuất khẩu đạt 25.245 triệu USD",
    "The exchange rate rose 0.12% to 25,245 dong per dollar on Monday.",
    "Trade rose 5% to 1,204 million USD",
])
def test_news_figures_near_widget_words_are_not_masked(line: str) -> None:
    assert volatile.mask(line) == line


def test_case24_live_widgets_make_no_version_and_no_alert(tmp_path: Path) -> None:
    inputs = case24_inputs()
    published = _now()
    with PageServer("127.0.0.91") as site:
        def show(version: str) -> None:
            links = []
            for article_id, spec in inputs.items():
                path = f"/news/dpm-receives-ambassador-{article_id}.html"
                site.pages[path] = _page(article_id, spec["own"], spec[version]["MID"],
                                         published)
                links.append(f'<a href="{path}">talks {article_id}</a>')
            site.pages["/news"] = f"<html><body><!-- {version} -->{''.join(links)}</body></html>"

        config = sources_file(tmp_path / "sources.yaml", "case24", [site.host],
                              [f"{site.base}/news"], r"-\d{4}\.html$")
        db = tmp_path / "case24.db"
        show("v1")
        first = crawl(config, db, alerts=SHIPPED_ALERTS)
        show("v2")
        second = crawl(config, db, alerts=SHIPPED_ALERTS)
    assert first.ok and second.ok and first.totals["errors"] == 0
    stored = len(inputs)
    assert _rows(db, "select count(*) from articles")[0][0] == stored
    assert _rows(db, "select count(*) from alerts where kind = 'new'")[0][0] > 0  # relevant
    assert second.totals["updated"] == 0 and second.totals["unchanged"] == stored
    assert _rows(db, "select count(*) from versions")[0][0] == stored  # version 1 only
    assert _rows(db, "select count(*) from alerts where kind = 'updated'")[0][0] == 0


def test_case24_a_real_edit_next_to_a_live_widget_is_one_version(tmp_path: Path) -> None:
    spec = json.loads((CASE24 / "variants.json").read_text(encoding="utf-8"))["1002"]
    published = _now()
    with PageServer("127.0.0.92") as site:
        path = "/news/dpm-receives-ambassador-1002.html"
        site.pages["/news"] = lambda: ("<html><body><!-- " + str(sum(site.hits.values()))
                                       + f' --><a href="{path}">talks</a></body></html>')
        site.pages[path] = _page("1002", spec["own"], spec["v1"]["MID"], published)
        config = sources_file(tmp_path / "sources.yaml", "case24", [site.host],
                              [f"{site.base}/news"], r"-\d{4}\.html$")
        db = tmp_path / "edit.db"
        crawl(config, db, alerts=SHIPPED_ALERTS)
        site.pages[path] = _page("1002", spec["own"], spec["v2"]["MID"], published).replace(
            "clean energy.", "clean energy, with 40 companies in June.")
        second = crawl(config, db, alerts=SHIPPED_ALERTS)
    assert second.totals["updated"] == 1
    (kinds, diff), = _rows(db, "select kinds, diff from versions where version = 2")
    assert "40 companies" in diff and "phiếu" not in diff  # the poll is masked, not diffed
    assert json.loads(kinds)
    updated = _rows(db, "select count(*) from alerts where kind = 'updated'")[0][0]
    assert updated == 2  # one per channel of the shipped rules


# --------------------------------------------------------------------------- found kinds
VI = ["Phó Thủ tướng Bùi Thanh Sơn đã tiếp Đại sứ Hoa Kỳ Marc Knapper tại Hà Nội, hai bên "
      "thảo luận về hợp tác kinh tế, thương mại và giáo dục.",
      "Đại sứ khẳng định Washington mong muốn làm sâu sắc hơn quan hệ Đối tác chiến lược toàn "
      "diện giữa hai nước trong thời gian tới.",
      "Hai bên nhất trí chuẩn bị cho vòng đối thoại kinh tế tiếp theo vào cuối năm nay."]
TITLE = "Phó Thủ tướng tiếp Đại sứ Hoa Kỳ"


def _vi_page(title: str, paragraphs: list[str], published: str, wrap: str = "{}") -> str:
    body = "".join(wrap.format(f"<p>{p}</p>") for p in paragraphs)
    return (f'<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>{title}'
            f'</title><meta property="article:published_time" content="{published}"></head>'
            f"<body><div class='nav'><a href='/'>Trang chủ</a></div><h1>{title}</h1>"
            f"<article class='fck_detail'>{body}</article><div class='footer'>Báo Ví Dụ"
            "</div></body></html>")


def _soft(text: str) -> str:
    """The same words with soft hyphens and zero-width spaces inside, no-break spaces."""
    words = [w[:3] + "\u00ad" + w[3:] if len(w) > 6 else w for w in text.split(" ")]
    return "\u00a0".join(words).replace("Hoa Kỳ", "Hoa\u200bKỳ".replace("\u200b", "\u200b "))


RENDERINGS = {  # the same article, rendered again: (title, paragraphs, paragraph wrapper)
    "soft_hyphens_and_no_break_spaces": (TITLE, [_soft(p) for p in VI], "{}"),
    "decomposed_unicode": (__import__("unicodedata").normalize("NFD", TITLE),
                           [__import__("unicodedata").normalize("NFD", p) for p in VI], "{}"),
    "zero_width_and_bom": ("\ufeff" + TITLE.replace(" ", " \u200b"),
                           [p.replace(", ", ",\u200b ") + "\u2060" for p in VI], "{}"),
    "markup_only": (TITLE, VI, "<div class='para-x1'>\n  {}\n</div>"),
    "bold_and_spans": (TITLE, [p.replace("Washington", "<strong>Washington</strong>")
                               .replace("Hà Nội", "<span class='loc'>Hà Nội</span>")
                       for p in VI], "{}"),
}


def test_invisible_character_and_markup_changes_make_no_version(tmp_path: Path) -> None:
    """dgtlmoon/changedetection.io#574 (no-break spaces), #133 (whitespace-only changes):
    the same text rendered again with soft hyphens, zero-width spaces, a byte-order mark,
    decomposed Unicode, other markup makes no version and no alert; a real edit does."""
    published = _now()
    with PageServer("127.0.0.93") as site:
        def show(version: int) -> None:
            links = []
            for i, name in enumerate(sorted(RENDERINGS)):
                path = f"/news/pho-thu-tuong-tiep-dai-su-{4001 + i}.html"
                title, paragraphs, wrap = RENDERINGS[name] if version == 2 else (TITLE, VI, "{}")
                if version == 3 and name == "markup_only":
                    paragraphs = [*VI[:2], VI[2].replace("cuối năm nay", "tháng Sáu")]
                site.pages[path] = _vi_page(title, paragraphs, published, wrap)
                links.append(f'<a href="{path}">bài {i}</a>')
            site.pages["/news"] = f"<html><body><!-- {version} -->{''.join(links)}</body></html>"

        db = tmp_path / "renders.db"
        # every stored article due at each crawl (1 s at most): the schedule's wait grows with the
        # article's age (monitor.changes.recheck), and on a loaded machine the crawls came
        # late enough that the edited article was not due yet at the third
        due = "    recheck: {min: 0s, max: 1s}\n"
        for profile in ("", "    profile: vnexpress\n"):  # generic, and a body container
            config = sources_file(tmp_path / "sources.yaml", "renders", [site.host],
                                  [f"{site.base}/news"], r"-\d{4}\.html$", profile + due)
            db.unlink(missing_ok=True)
            show(1)
            first = crawl(config, db, alerts=SHIPPED_ALERTS)
            show(2)
            second = crawl(config, db, alerts=SHIPPED_ALERTS)
            show(3)  # a real edit of one article
            third = crawl(config, db, alerts=SHIPPED_ALERTS)
            assert first.ok and first.totals["errors"] == 0, (
                [(run["status"], run["error_detail"]) for run in first.runs],
                first.unreachable)
            assert second.totals["updated"] == 0, profile
            assert second.totals["unchanged"] == len(RENDERINGS)
            assert third.totals["updated"] == 1
            assert _rows(db, "select count(*) from alerts where kind = 'updated'")[0][0] == 2


CONSENT_WALL = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Before you continue'
    "</title></head><body><div class='consent-wall'><h1>Before you continue</h1>"
    "<p>We use cookies and data to deliver and maintain our services, track outages and "
    "protect against spam, fraud and abuse, and measure audience engagement.</p>"
    "<p>If you choose to accept all, we will also use cookies and data to develop and "
    "improve new services and show personalised ads, depending on your settings.</p>"
    "<button>Reject all</button><button>Accept all</button></div></body></html>")
MAINTENANCE = (
    '<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>Bảo trì</title>'
    "</head><body><div class='maintenance'><h1>Hệ thống đang bảo trì</h1><p>Xin lỗi quý "
    "độc giả, hệ thống đang được nâng cấp. Vui lòng quay lại sau ít phút.</p></div>"
    "</body></html>")


@pytest.mark.parametrize("stand_in", ["consent_wall", "maintenance"])
def test_a_page_served_in_place_of_the_article_is_no_version(tmp_path: Path,
                                                             stand_in: str) -> None:
    """dgtlmoon/changedetection.io#962 (a change with nothing changed when the watched
    part fails to load), nextcloud/news#714 (a consent notice fetched as the article): a
    consent wall or a maintenance page answered with 200 at the article's URL makes no
    version and no "updated" alert; it is recorded as the crawl's error, and the article
    served again afterwards is unchanged."""
    published = _now()
    page = _vi_page(TITLE, VI, published)
    with PageServer("127.0.0.94") as site:
        path = "/news/pho-thu-tuong-tiep-dai-su-5001.html"
        site.pages["/news"] = lambda: ("<html><body><!-- " + str(sum(site.hits.values()))
                                       + f' --><a href="{path}">bài</a></body></html>')
        site.pages[path] = page
        config = sources_file(tmp_path / "sources.yaml", "standin", [site.host],
                              [f"{site.base}/news"], r"-\d{4}\.html$")
        db = tmp_path / "standin.db"
        crawl(config, db, alerts=SHIPPED_ALERTS)
        site.pages[path] = CONSENT_WALL if stand_in == "consent_wall" else MAINTENANCE
        second = crawl(config, db, alerts=SHIPPED_ALERTS)
        site.pages[path] = page
        third = crawl(config, db, alerts=SHIPPED_ALERTS)
    assert second.totals["updated"] == 0 and second.totals["errors"] == 1
    assert third.totals["unchanged"] == 1 and third.totals["updated"] == 0
    assert _rows(db, "select count(*) from versions")[0][0] == 1
    assert _rows(db, "select count(*) from alerts where kind = 'updated'")[0][0] == 0
    assert "Before you continue" not in _rows(db, "select title from articles")[0][0]
