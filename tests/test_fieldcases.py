"""Field cases 01, 03, 04, 05, 06, 07 and 16 (../shared/fieldcases, copied to
tests/data/fieldcases) and more inputs of the same kinds, written here: lists and
sub-headings in a profile's body container, visible datelines, non-ISO meta and JSON-LD
dates, relative and URL dates, WHATWG charset labels, JSON-LD-only articles, captions
outside <figure>, bodies split by an ad block, authors that are the site's name, agency
tags and invisible characters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from monitor.extract import extract
from monitor.extract.charset import codec_name, decode_html
from monitor.extract.pagemeta import parse_date, strip_agency_tag, url_date
from monitor.sources import SiteProfile
from monitor.sources.config import load_profiles

CASES = Path(__file__).parent / "data" / "fieldcases"
PROFILES = load_profiles()
HANOI = timezone(timedelta(hours=7))


def _case(folder: str, name: str) -> str:
    return (CASES / folder / name).read_text(encoding="utf-8")


def _profile(name: str) -> SiteProfile:
    return SiteProfile(**PROFILES[name])


PARAGRAPHS = [
    "The Ministry of Foreign Affairs said on Monday that the two countries had agreed on a "
    "new framework for cooperation in trade, technology and education.",
    "Officials said the first projects would start before the end of the year, with funding "
    "from both governments and private partners.",
]


def _page(body: str, head: str = "", lang: str = "en", title: str = "Talks in Hanoi") -> str:
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}'
            f"</title>{head}</head><body><div class='nav'><a href='/'>Home</a> "
            f"<a href='/world'>World</a></div>{body}<div class='footer'>Example</div>"
            "</body></html>")


# --------------------------------------------------------------------------- case01


def test_case01_lists_and_subheading_inside_the_laodong_container() -> None:
    html = _case("case01_lists-subheads-dropped", "profile_art_body.html")
    result = extract(html, "https://laodong.vn/thoi-su/a-1.ldo", _profile("laodong"))
    assert result is not None
    lines = result.text.splitlines()
    wanted = ["The agreement covers the following areas:",
              "Semiconductor supply chains and workforce training for engineers",
              "Clean energy investment, including offshore wind projects in the south",
              "Scholarships for 500 Vietnamese students at American universities each year",
              "Education exchanges expand further",
              "Officials said the first projects would start before the end of the year, with "
              "funding from both governments and private partners."]
    assert lines[-len(wanted):] == wanted


@pytest.mark.parametrize(("profile", "open_tag", "close_tag"), [
    ("baochinhphu", "<div class='detail-content afcbc-body' data-role='content'>", "</div>"),
    ("mofa", "<div class='news-content'>", "</div>"),
    ("vnexpress", "<article class='fck_detail '>", "</article>"),
    ("dantri", "<div class='singular-content'>", "</div>"),
])
def test_lists_subheadings_and_bold_link_headings_kept_in_every_profile_container(
        profile: str, open_tag: str, close_tag: str) -> None:
    body = (f"{open_tag}<p>{PARAGRAPHS[0]}</p><ol class='x-unknown'><li>Trade in farm goods"
            "</li><li>Clean energy</li></ol><h3 class='sub'>What comes next</h3>"
            "<p><strong><a href='/tag/education'>Education exchanges</a></strong></p>"
            f"<p>{PARAGRAPHS[1]}</p>{close_tag}")
    result = extract(_page(body), "https://example.vn/a-1.htm", _profile(profile))
    assert result is not None
    assert result.text.splitlines()[-6:] == [
        PARAGRAPHS[0], "Trade in farm goods", "Clean energy", "What comes next",
        "Education exchanges", PARAGRAPHS[1]]


# --------------------------------------------------------------------------- case16


def test_case16_split_body_with_a_profile_and_without() -> None:
    html = _case("case16_split-body-containers", "split_by_ad.html")
    for profile in (SiteProfile(body="//div[@class='article-body']"), None):
        result = extract(html, "https://example.com/a-1", profile)
        assert result is not None
        lines = result.text.splitlines()
        assert len(lines) == 4 and lines[2].startswith("SECOND HALF: both sides")
        assert lines[3].startswith("SECOND HALF: the ministry")
        assert "Advertisement" not in result.text


def test_split_body_in_three_parts_vietnamese_profile_container() -> None:
    parts = ["Phó Thủ tướng đã tiếp Đại sứ Hoa Kỳ tại Hà Nội, hai bên thảo luận về hợp tác "
             "kinh tế và thương mại trong thời gian tới.",
             "Đại sứ khẳng định Washington mong muốn làm sâu sắc hơn quan hệ giữa hai nước.",
             "Hai bên nhất trí chuẩn bị cho vòng đối thoại kinh tế tiếp theo vào cuối năm."]
    body = "<div class='ad'>Quảng cáo</div>".join(
        f"<div class='singular-content'><p>{p}</p></div>" for p in parts)
    result = extract(_page(body, lang="vi"), "https://dantri.com.vn/a-1.htm",
                     _profile("dantri"))
    assert result is not None and result.text.splitlines() == parts


# --------------------------------------------------------------------------- case03


@pytest.mark.parametrize("name", ["d1_weekday_slash_gmt7.html",
                                  "d2_weekday_slash_gmt7_padded.html",
                                  "d5_slash_time_no_zone.html", "d6_english_gmt7.html"])
def test_case03_visible_dateline_without_profile(name: str) -> None:
    html = _case("case03_visible-dateline-vn", name)
    result = extract(html, "https://baovidu.vn/thoi-su/pho-thu-tuong-tiep-dai-su.html")
    assert result is not None and result.published == "2024-03-25T14:30:00+07:00"


@pytest.mark.parametrize(("dateline", "expected"), [
    ("Cập nhật: 14:30 25/03/2024", "2024-03-25T14:30:00+07:00"),
    ("Thứ Hai, 25/03/2024 - 14:30", "2024-03-25T14:30:00+07:00"),
    ("Ngày 25 tháng 3 năm 2024 | 14:30", "2024-03-25T14:30:00+07:00"),
    ("Posted 25 March 2024, 07:30 GMT", "2024-03-25T07:30:00+00:00"),
    ("Mar 25, 2024 at 9:30 AM GMT+9", "2024-03-25T09:30:00+09:00"),
])
def test_more_datelines_both_languages(dateline: str, expected: str) -> None:
    body = (f"<div class='post'><span class='post-date'>{dateline}</span><h1>Talks</h1>"
            + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</div>")
    result = extract(_page(body), "https://example.vn/a-1")
    assert result is not None and result.published == expected


def test_relative_dateline_resolved_against_fetch_time_and_lists_ignored() -> None:
    fetched = datetime(2024, 3, 25, 16, 30, tzinfo=HANOI)
    for words, expected in (("2 giờ trước", "2024-03-25T14:30:00+07:00"),
                            ("3 hours ago", "2024-03-25T13:30:00+07:00")):
        body = (f"<div class='post'><span class='time'>{words}</span>"
                + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</div>")
        result = extract(_page(body), "https://example.vn/a-1", fetched=fetched)
        assert result is not None and result.published == expected
    # a sidebar of other stories, each with its own relative time, dates nothing
    sidebar = "".join(f"<li><a href='/s{i}'>Story {i}</a><span class='time'>{i} giờ trước"
                      "</span></li>" for i in (1, 5, 6))
    body = "<div>" + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + f"</div><ul>{sidebar}</ul>"
    result = extract(_page(body), "https://example.vn/news/a-20221224083224103.htm",
                     fetched=fetched)
    assert result is not None and result.published == "2022-12-24T08:32:24+07:00"


def test_url_date_beats_links_inside_the_page() -> None:
    body = ("<div>" + "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
            + "<p><a href='/2022/11/15/old-story.html'>Old story</a></p></div>")
    url = "https://dantri.com.vn/the-gioi/tin-20221224100422289.htm"
    result = extract(_page(body, lang="vi"), url)
    assert result is not None and result.published == "2022-12-24T10:04:22+07:00"
    assert url_date("https://example.com/2024/03/25/story", HANOI) == "2024-03-25"
    assert url_date("https://example.com/a-20241399100422289.htm", HANOI) is None


# --------------------------------------------------------------------------- case04


@pytest.mark.parametrize(("name", "expected"), [
    ("j1_jsonld_rfc822.html", "2024-03-25T07:30:00+00:00"),
    ("j3_jsonld_dmy.html", "2024-03-25T14:30:00+07:00"),
    ("m1_meta_rfc822.html", "2024-03-25T07:30:00+00:00"),
    ("m2_meta_slashes.html", "2024-03-25T14:30:00+07:00"),
    ("m4_meta_short_offset.html", "2024-03-25T02:30:00-05:00"),
    ("ok1_meta_iso_control.html", "2024-03-25T14:30:00+07:00"),
])
def test_case04_meta_and_json_ld_dates_not_iso(name: str, expected: str) -> None:
    html = _case("case04_meta-jsonld-date-non-iso", name)
    result = extract(html, "https://example.com/dpm-receives-us-ambassador")
    assert result is not None
    published = datetime.fromisoformat(result.published)
    assert published == datetime.fromisoformat(expected)
    assert published.utcoffset() == datetime.fromisoformat(expected).utcoffset()


@pytest.mark.parametrize(("value", "expected"), [
    ("Mon, 25 Mar 2024 14:30:00 +0700", "2024-03-25T14:30:00+07:00"),
    ("2024-03-25T14:30:00+0700", "2024-03-25T14:30:00+07:00"),
    ("2024-03-25 14:30:00 +7:00", "2024-03-25T14:30:00+07:00"),
    ("25-03-2024 14:30", "2024-03-25T14:30:00+07:00"),
    ("25.03.2024 14:30", "2024-03-25T14:30:00+07:00"),
    ("25/03/2024", "2024-03-25"),
    ("March 25, 2024 2:30 PM", "2024-03-25T14:30:00+07:00"),
    ("Thứ hai, 25/3/2024, 14:30 (GMT+7)", "2024-03-25T14:30:00+07:00"),
    ("tomorrow-ish", None),
    ("1,204 lượt xem", None),
])
def test_more_meta_date_forms(value: str, expected: str | None) -> None:
    assert parse_date(value, HANOI, relative=False) == expected


# --------------------------------------------------------------------------- case05


def test_case05_latin1_label_decodes_as_windows_1252() -> None:
    raw = (CASES / "case05_latin1-label-cp1252-bytes" / "latin1_meta_cp1252_bytes.html"
           ).read_bytes()
    result = extract(raw, "https://example.com/envoys")
    assert result is not None
    everything = (result.title or "") + result.text
    assert not any("\x80" <= c <= "\x9f" for c in everything)
    # the headline's own dash is not a site separator (field case 26)
    assert "Envoy’s visit – talks resume" == result.title
    assert "€100 billion" in result.text and "“we are ready" in result.text
    assert " – and the envoy’s team" in result.text


@pytest.mark.parametrize("label", ["iso-8859-1", "ISO_8859-1", "latin1", "l1", "ascii",
                                   "us-ascii", "windows-1252", "cp819"])
def test_western_labels_mean_windows_1252(label: str) -> None:
    assert codec_name(label) == "cp1252"
    body = f'<meta charset="{label}"><p>\x93Quoted\x94 \x80 5 \x96 6</p>'.encode("latin-1")
    assert "“Quoted” € 5 – 6" in decode_html(body)
    assert "“Quoted” € 5 – 6" in decode_html(body.replace(label.encode(), b"x"), label)


# --------------------------------------------------------------------------- case06


def test_case06_article_only_in_json_ld() -> None:
    html = _case("case06_jsonld-only-body", "app_shell_jsonld_body.html")
    result = extract(html, "https://example.com/dpm-receives-us-ambassador")
    assert result is not None
    assert len(result.text.splitlines()) == 3
    assert result.text.startswith("Deputy Prime Minister Bui Thanh Son received")
    assert result.title == "DPM receives US Ambassador"
    assert result.author == "Minh Anh"
    assert result.published == "2024-03-25T14:30:00+07:00"


def test_json_ld_only_vietnamese_with_raw_line_breaks_and_no_og_title() -> None:
    body = "\n".join(["Phó Thủ tướng Bùi Thanh Sơn đã tiếp Đại sứ Hoa Kỳ tại Hà Nội.",
                      "Hai bên thảo luận về hợp tác kinh tế, thương mại và giáo dục.",
                      "Hai bên nhất trí chuẩn bị cho vòng đối thoại tiếp theo."])
    script = ('<script type="application/ld+json">{"@type": "NewsArticle", "headline": '
              '"Phó Thủ tướng tiếp Đại sứ", "datePublished": "25/03/2024 14:30", '
              '"author": [{"@type": "Person", "name": "Minh Anh"}], '
              f'"articleBody": "{body}",}}</script>')  # raw line breaks, trailing comma
    html = ("<html lang='vi'><head><meta charset='utf-8'>" + script
            + "</head><body><div id='root'>Đang tải…</div></body></html>")
    result = extract(html, "https://example.vn/a-1")
    assert result is not None and result.text == body
    assert result.title == "Phó Thủ tướng tiếp Đại sứ" and result.author == "Minh Anh"
    assert result.published == "2024-03-25T14:30:00+07:00"


# --------------------------------------------------------------------------- case07

CAPTION = "Phó Thủ tướng Bùi Thanh Sơn bắt tay Đại sứ Hoa Kỳ. Ảnh: TTXVN"


@pytest.mark.parametrize("name", ["c1_table_tplCaption.html", "c2_img_then_em_in_p.html",
                                  "c4_figure_control.html"])
def test_case07_captions_out_of_the_text_and_on_the_image(name: str) -> None:
    html = _case("case07_captions-leak-into-body", name)
    result = extract(html, "https://example.vn/thoi-su/a-1.html")
    assert result is not None
    assert "bắt tay" not in result.text and len(result.text.splitlines()) == 3
    assert result.images == [{"src": "https://example.vn/photos/a.jpg", "caption": CAPTION}]


@pytest.mark.parametrize("photo", [
    "<div class='photo'><img src='/p/b.jpg'></div><p>The ministers at the talks. "
    "Photo: Reuters</p>",
    "<p><img src='/p/b.jpg'><br><i>The ministers at the talks (Ảnh: Minh Anh)</i></p>",
    "<table class='image'><tr><td><img src='/p/b.jpg'></td></tr><tr><td>The ministers at "
    "the talks.</td></tr></table>",
])
def test_more_caption_shapes_generic_and_in_a_profile(photo: str) -> None:
    body = f"<article><p>{PARAGRAPHS[0]}</p>{photo}<p>{PARAGRAPHS[1]}</p></article>"
    for profile in (None, SiteProfile(body="//article")):
        result = extract(_page(body), "https://example.com/a-1", profile)
        assert result is not None
        assert result.text.splitlines()[-2:] == PARAGRAPHS and "ministers" not in result.text
        assert [i["src"] for i in result.images][-1] == "https://example.com/p/b.jpg"
        assert "The ministers at the talks" in (result.images[-1]["caption"] or "")


def test_emphasis_inside_a_paragraph_after_an_image_is_text() -> None:
    body = (f"<article><p>{PARAGRAPHS[0]}</p><p><img src='/p/c.jpg'> <em>Officials</em> said "
            f"the plan was ready.</p><p>{PARAGRAPHS[1]}</p></article>")
    result = extract(_page(body), "https://example.com/a-1")
    assert result is not None and "Officials said the plan was ready." in result.text


# --------------------------------------------------------------------------- author, tags


def test_author_is_a_person_never_the_site() -> None:
    head = ('<meta name="author" content="VnExpress"><meta property="og:site_name" '
            'content="Báo Ví Dụ"><script type="application/ld+json">{"@type": "NewsArticle",'
            ' "author": {"@type": "Organization", "name": "Báo Ví Dụ"}}</script>')
    body = "<article>" + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</article>"
    result = extract(_page(body, head), "https://vnexpress.net/a-1.html")
    assert result is not None and result.author is None
    byline = "<p class='byline'>By <a rel='author' href='/u/lan'>Lan Anh</a></p>"
    result = extract(_page(byline + body, head), "https://vnexpress.net/a-1.html")
    assert result is not None and result.author == "Lan Anh"
    person = ('<script type="application/ld+json">{"@type": "NewsArticle", "author": '
              '{"@type": "Person", "name": "Thuy Dung"}}</script>'
              '<meta name="author" content="en.baochinhphu.vn">')
    result = extract(_page(body, person), "https://en.baochinhphu.vn/a-111.htm")
    assert result is not None and result.author == "Thuy Dung"


def test_vnexpress_right_aligned_byline_is_the_author_not_text() -> None:
    body = ("<p class='description'>Lời dẫn của bài báo về cuộc gặp.</p>"
            "<article class='fck_detail '>"
            + "".join(f"<p class='Normal'>{p}</p>" for p in PARAGRAPHS)
            + "<p class='Normal' style='text-align:right;'><strong>Lê Phương</strong></p>"
            "</article>")
    result = extract(_page(body, lang="vi"), "https://vnexpress.net/a-1.html",
                     _profile("vnexpress"))
    assert result is not None and result.author == "Lê Phương"
    assert result.text.splitlines() == ["Lời dẫn của bài báo về cuộc gặp.", *PARAGRAPHS]


@pytest.mark.parametrize("tag", ["VGP – ", "VGP - ", "(Dân trí) - ", "TTO - ", "(VOV) - ",
                                 "(Chinhphu.vn) - ", "VNA - ", "(Dân trí) – "])
def test_agency_tags_removed_from_the_lead(tag: str) -> None:
    lead = "The Prime Minister met the US Ambassador in Hanoi on Monday."
    assert strip_agency_tag(tag + lead) == lead
    body = f"<article><p>{tag}{PARAGRAPHS[0]}</p><p>{PARAGRAPHS[1]}</p></article>"
    result = extract(_page(body), "https://example.vn/a-1")
    assert result is not None and result.text.splitlines() == PARAGRAPHS
    assert strip_agency_tag("VGPS - a word") == "VGPS - a word"


def test_title_without_soft_hyphen_and_zero_width_characters() -> None:
    head = '<meta property="og:title" content="\u00ad\u200bTalks in Hanoi\ufeff">'
    body = "<article>" + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</article>"
    result = extract(_page(body, head), "https://example.com/a-1")
    assert result is not None and result.title == "Talks in Hanoi"


def test_vietnamese_paragraphs_ending_in_ellipsis_are_kept() -> None:
    """The removed "teaser block" rule dropped everything between two long lines ending
    in "…", which Vietnamese writers use in ordinary sentences."""
    paragraphs = [
        "Theo Bộ Công Thương, giá xăng dầu trong nước sẽ được điều chỉnh vào chiều nay, "
        "trong bối cảnh giá thế giới biến động mạnh và nguồn cung chưa ổn định…",
        "Nhiều doanh nghiệp đầu mối cho biết đã chuẩn bị đủ hàng cho dịp Tết.",
        "Bộ trưởng yêu cầu các đơn vị không để xảy ra tình trạng thiếu hụt xăng dầu tại "
        "bất kỳ địa phương nào, nhất là các tỉnh vùng sâu vùng xa và biên giới...",
        "Các cửa hàng bán lẻ phải mở cửa đúng giờ và niêm yết giá công khai.",
    ]
    body = "<article>" + "".join(f"<p>{p}</p>" for p in paragraphs) + "</article>"
    result = extract(_page(body, lang="vi"), "https://example.vn/a-1")
    assert result is not None and result.text.splitlines() == paragraphs


def test_fetch_time_default_is_now() -> None:
    body = ("<div><span class='time'>2 giờ trước</span>"
            + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</div>")
    before = datetime.now(UTC)
    result = extract(_page(body), "https://example.vn/a-1")
    assert result is not None and result.published
    published = datetime.fromisoformat(result.published)
    assert timedelta(hours=1, minutes=59) < before - published < timedelta(hours=2, minutes=1)


TEASER = ("The prime minister asked ministries to speed up public investment and to clear the "
          "obstacles that have held back large infrastructure projects in the northern …")


@pytest.mark.parametrize("card", [
    "<div class='card'><h3><a href='/x{i}'>Another story about the economy {i}</a></h3>"
    "<p>{teaser}</p></div>",
    "<article class='postbox post-{i}'><a href='/share{i}'>Share</a><img src='/t{i}.jpg'>"
    "<p>{teaser}</p></article>",
])
def test_teaser_cards_after_the_article_are_dropped(card: str) -> None:
    cards = "".join(card.format(i=i, teaser=TEASER.replace("northern", f"region {i}"))
                    for i in range(3))
    body = ("<article><h1>Talks</h1>" + "".join(f"<p>{p}</p>" for p in PARAGRAPHS * 2)
            + f"</article><section class='more'>{cards}</section>")
    result = extract(_page(body), "https://example.com/a-1")
    assert result is not None and result.text.splitlines() == PARAGRAPHS * 2


def test_ellipsis_paragraphs_in_repeated_wrappers_with_links_are_kept() -> None:
    paragraphs = [
        "Theo Bộ Công Thương, giá xăng dầu trong nước sẽ được điều chỉnh vào chiều nay, "
        "trong bối cảnh <a href='/gia-the-gioi'>giá thế giới</a> biến động mạnh và nguồn "
        "cung chưa ổn định…",
        "Nhiều doanh nghiệp đầu mối cho biết đã chuẩn bị đủ hàng cho dịp Tết.",
        "Bộ trưởng yêu cầu các đơn vị không để xảy ra tình trạng thiếu hụt xăng dầu tại "
        "bất kỳ địa phương nào, nhất là các tỉnh vùng sâu vùng xa và biên giới...",
        "Các cửa hàng bán lẻ phải mở cửa đúng giờ và niêm yết giá công khai.",
    ]
    body = "<article>" + "".join(f"<div class='para'><p>{p}</p></div>"
                                 for p in paragraphs) + "</article>"
    result = extract(_page(body, lang="vi"), "https://example.vn/a-1")
    assert result is not None
    assert len(result.text.splitlines()) == 4 and "biên giới..." in result.text


@pytest.mark.parametrize("signature", [
    "<p style='text-align: right;'><strong>Lê Phương</strong></p>",
    "<p align='right'>Minh Anh</p>",
    "<p><strong style='text-align:right'>Thuy Dung</strong></p>",
])
def test_right_aligned_signature_is_the_author_on_generic_pages(signature: str) -> None:
    head = '<meta name="author" content="Example">'
    body = "<article>" + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + signature + "</article>"
    result = extract(_page(body, head), "https://example.vn/a-1")
    assert result is not None and result.text.splitlines() == PARAGRAPHS
    assert result.author in ("Lê Phương", "Minh Anh", "Thuy Dung")
    # a right-aligned closing sentence stays text
    closing = "<p style='text-align:right'>The ministry will report in June.</p>"
    body = "<article>" + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + closing + "</article>"
    result = extract(_page(body), "https://example.vn/a-1")
    assert result is not None and result.text.endswith("The ministry will report in June.")


def test_lazy_loaded_photo_keeps_its_real_address_and_caption() -> None:
    photo = ("<figure><img src='data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAI"
             "CTAEAOw==' data-src='https://cdn.example.vn/p/a.jpg'><figcaption><p class='Image'>"
             "Y bác sĩ nội soi cho bệnh nhân. Ảnh: <em>Bệnh viện cung cấp</em></p></figcaption>"
             "</figure>")
    body = (f"<article class='fck_detail '><p>{PARAGRAPHS[0]}</p>{photo}<p>{PARAGRAPHS[1]}</p>"
            "</article>")
    result = extract(_page(body, lang="vi"), "https://vnexpress.net/a-1.html",
                     _profile("vnexpress"))
    assert result is not None and result.text.splitlines() == PARAGRAPHS
    assert result.images == [{"src": "https://cdn.example.vn/p/a.jpg",
                              "caption": "Y bác sĩ nội soi cho bệnh nhân. Ảnh: Bệnh viện cung cấp"}]


def test_case01_generic_page_list_and_subheading_put_back() -> None:
    html = _case("case01_lists-subheads-dropped", "profile_art_body.html")
    result = extract(html, "https://example.com/a-1")
    assert result is not None
    lines = result.text.splitlines()
    start = lines.index("The agreement covers the following areas:")
    assert lines[start + 1: start + 6] == [
        "Semiconductor supply chains and workforce training for engineers",
        "Clean energy investment, including offshore wind projects in the south",
        "Scholarships for 500 Vietnamese students at American universities each year",
        "Education exchanges expand further",
        "Officials said the first projects would start before the end of the year, with "
        "funding from both governments and private partners."]


def test_generic_vietnamese_list_put_back_but_not_a_contents_list_nor_a_kicker() -> None:
    intro = ("Thủ tướng yêu cầu các bộ, ngành tập trung thực hiện ngay những nhiệm vụ "
             "trọng tâm sau đây:")
    last = ("Các địa phương phải báo cáo kết quả thực hiện trước ngày 15 tháng sau để Chính "
            "phủ tổng hợp và chỉ đạo kịp thời.")
    body = (f"<div class='noi-dung'><p>{PARAGRAPHS[0]}</p><p>{intro}</p><ul class='x'>"
            "<li>Bảo đảm đủ xăng dầu cho sản xuất và tiêu dùng</li>"
            "<li>Giữ ổn định giá cả các mặt hàng thiết yếu</li></ul>"
            f"<h3>THỜI SỰ</h3><p>{last}</p></div>")
    toc = ("<div class='noi-dung'><p>Contents of this report follow here for the readers "
           "today:</p><ul><li><a href='#a'>Part one</a> background</li></ul></div>")
    result = extract(_page(toc + body, lang="vi"), "https://example.vn/a-1")
    assert result is not None
    lines = result.text.splitlines()
    start = lines.index(intro)
    assert lines[start + 1: start + 4] == ["Bảo đảm đủ xăng dầu cho sản xuất và tiêu dùng",
                                           "Giữ ổn định giá cả các mặt hàng thiết yếu", last]
    assert "Part one background" not in result.text and "THỜI SỰ" not in result.text
