"""Extraction field cases 07 (leftover), 13, 23, 26 and 29 (../shared/fieldcases, copied to
tests/data/fieldcases) and more inputs of the same kinds, written here: reader comments
inside a profile's body container, other stories' teaser cards filling a short page,
headlines cut at their own dash, lists in layout-table cells, a ``div.caption`` photo;
plus kinds found in other trackers (advertisement labels, consent banners, a paragraph
that is wholly a link)."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest

from monitor.extract import extract, fusion
from monitor.sources import SiteProfile
from monitor.sources.config import load_profiles

CASES = Path(__file__).parent / "data" / "fieldcases"
PROFILES = load_profiles()


def _case(folder: str, name: str) -> str:
    return (CASES / folder / name).read_text(encoding="utf-8")


def _tsv(folder: str, name: str) -> list[list[str]]:
    rows = _case(folder, name).splitlines()
    return [row.split("\t") for row in rows if row.strip() and not row.startswith("#")]


def _profile(name: str) -> SiteProfile:
    return SiteProfile(**PROFILES[name])


def _page(body: str, head: str = "", lang: str = "vi", title: str = "Talks in Hanoi") -> str:
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}'
            f"</title>{head}</head><body><div class='nav'><a href='/'>Trang chủ</a> "
            f"<a href='/the-gioi'>Thế giới</a></div>{body}<div class='footer'>Example</div>"
            "</body></html>")


PARAGRAPHS_VI = [
    "Phó Thủ tướng Bùi Thanh Sơn đã tiếp Đại sứ Hoa Kỳ tại Hà Nội, hai bên thảo luận về hợp "
    "tác kinh tế, thương mại và giáo dục trong thời gian tới.",
    "Đại sứ khẳng định Washington mong muốn làm sâu sắc hơn quan hệ Đối tác chiến lược toàn "
    "diện giữa hai nước.",
    "Hai bên nhất trí chuẩn bị cho vòng đối thoại kinh tế tiếp theo vào cuối năm nay.",
]
PARAGRAPHS_EN = [
    "The Ministry of Foreign Affairs said on Monday that the two countries had agreed on a "
    "new framework for cooperation in trade, technology and education.",
    "Officials said the first projects would start before the end of the year, with funding "
    "from both governments and private partners.",
    "Both sides also discussed the upcoming visit of a US business delegation.",
]

# --------------------------------------------------------------------------- case13
# Reader comments inside a profile's body container. Each comment says a word no article
# paragraph holds ("bạn đọc", "reader"), so a leak is visible.

COMMENT_SHAPES = {
    "wordpress_ol_commentlist": (
        "<div id='comments' class='comments-area'><h3 class='comments-title'>2 comments</h3>"
        "<ol class='commentlist'><li class='comment'><div class='comment-author'>Minh</div>"
        "<p>Reader Minh: great news for both countries, finally.</p></li>"
        "<li class='comment'><p>Reader Lan: I hope the talks bring real jobs.</p></li></ol>"
        "<div id='respond'><h3>Leave a Reply</h3><p>Reader prompt: your email address will "
        "not be published.</p></div></div>"),
    "details_commentbox": (
        "<details class='CommentBox'><summary>Bình luận của bạn đọc Hùng (3)</summary>"
        "<p>Bạn đọc Hùng: rất mong hai nước hợp tác lâu dài.</p></details>"),
    "comment_list_div": (
        "<div class='comment-list'><div class='item'><b>Bạn đọc Nam</b><p>Bạn đọc Nam viết: "
        "tin rất vui cho doanh nghiệp Việt.</p></div></div>"),
    "section_comments": (
        "<section class='comments'><h2>Comments</h2><article class='c'><p>Reader Tom: "
        "a step in the right direction.</p></article></section>"),
    "vietnamese_heading_box": (
        "<div class='box-binh-luan'><div class='title'>Bình luận (2)</div><ul>"
        "<li>Bạn đọc Thu: hy vọng thủ tục đầu tư sẽ đơn giản hơn.</li>"
        "<li>Bạn đọc An: cần thêm học bổng cho sinh viên.</li></ul></div>"),
    "vietnamese_heading_only": (
        "<div class='box'><h3>Ý kiến bạn đọc</h3><div class='item'><p>Bạn đọc Hoa: một "
        "tin vui cho quan hệ hai nước.</p></div></div>"),
    "disqus": (
        "<div id='disqus_thread'><div class='post'><p>Reader Jake via Disqus: about time "
        "this happened.</p></div></div>"),
    "facebook_plugin": (
        "<div class='fb-comments' data-href='https://example.vn/a-1'><div class='_5mdd'>"
        "<p>Bạn đọc Quang qua Facebook: tuyệt vời.</p></div></div>"),
    "heading_among_paragraphs": (
        "<h3>Bình luận</h3><p>Bạn đọc Vy: mong sớm có thêm đường bay thẳng.</p>"
        "<p>Bạn đọc Khoa: đồng ý với ý kiến trên.</p>"),
}
COMMENT_WORDS = ("Reader", "Bạn đọc", "bạn đọc", "Bình luận", "Comments", "Leave a Reply",
                 "Ý kiến bạn đọc")
# (profile, its body container opening and closing tags)
CONTAINERS = {
    "laodong": ("<div class='art-body'>", "</div>"),
    "vnexpress": ("<article class='fck_detail'>", "</article>"),
    "dantri": ("<div class='singular-content'>", "</div>"),
    "tuoitre": ("<div class='detail-content afcbc-body'>", "</div>"),
    "baochinhphu": ("<div data-role='content'>", "</div>"),
    "vietnamnet": ("<div class='maincontent main-content'>", "</div>"),
}


def _comments_page(profile: str, shapes: list[str], paragraphs: list[str]) -> str:
    opening, closing = CONTAINERS[profile]
    body = (opening + "".join(f"<p>{p}</p>" for p in paragraphs)
            + "".join(COMMENT_SHAPES[s] for s in shapes) + closing)
    return _page(f"<div class='main-column'><h1>Talks</h1>{body}</div>")


def test_case13_wordpress_list_and_collapsed_comment_in_the_profile_container() -> None:
    html = _comments_page("laodong", ["wordpress_ol_commentlist", "details_commentbox"],
                          PARAGRAPHS_VI)
    for profile in (_profile("laodong"), None):  # with the profile and on the generic path
        result = extract(html, "https://laodong.vn/thoi-su/a-1.ldo", profile)
        assert result is not None
        assert result.text.splitlines() == PARAGRAPHS_VI
        assert not any(word in result.text for word in COMMENT_WORDS)


@pytest.mark.parametrize("profile", sorted(CONTAINERS))
@pytest.mark.parametrize("shape", sorted(COMMENT_SHAPES))
def test_comment_sections_in_every_profile_container(profile: str, shape: str) -> None:
    paragraphs = PARAGRAPHS_EN if shape in ("section_comments", "disqus") else PARAGRAPHS_VI
    html = _comments_page(profile, [shape], paragraphs)
    for site_profile in (_profile(profile), None):  # the generic path stays clean too
        result = extract(html, "https://example.vn/a-1.html", site_profile)
        assert result is not None
        assert result.text.splitlines() == paragraphs, shape
        assert not any(word in result.text for word in COMMENT_WORDS)


@pytest.mark.parametrize("block", [
    # an opinion column is "commentary", not comments
    "<div class='commentary'><p>{p}</p></div>",
    # a comment counter at the top of the article removes nothing after it
    "<div class='comment-count'>Bình luận (0)</div><p>{p}</p>",
    # a wrapper whose class mentions comments but that holds the article
    "<div class='content has-comments'><p>{p}</p></div>",
])
def test_article_text_near_comment_marks_is_kept(block: str) -> None:
    body = ("<article class='fck_detail'>" + block.format(p=PARAGRAPHS_VI[0])
            + "".join(f"<p>{p}</p>" for p in PARAGRAPHS_VI[1:]) + "</article>")
    result = extract(_page(body), "https://vnexpress.net/a-1.html", _profile("vnexpress"))
    assert result is not None and result.text.splitlines() == PARAGRAPHS_VI


# --------------------------------------------------------------------------- case23
# A page whose own text is short gets other stories' teaser cards as its body.

CASE23 = "case23_short-body-teaser-fill"


@pytest.mark.parametrize("row", _tsv(CASE23, "expected.tsv"), ids=lambda row: row[0])
def test_case23_short_page_keeps_its_text_and_no_teaser(row: list[str]) -> None:
    name, own, teasers = row[0], row[1], row[2].split("|")
    result = extract(_case(CASE23, name), f"https://example.vn/video/{name}")
    assert result is not None  # a short page is kept, not dropped
    assert own in result.text
    assert not [t for t in teasers if t in result.text]


SUMMARIES = [
    "Chiều 20/7, Thủ tướng đã tiếp Bộ trưởng Tài chính Hoa Kỳ đang ở thăm chính thức Việt "
    "Nam, hai bên trao đổi về hợp tác kinh tế và tài chính.",
    "Hội nghị về hợp tác bán dẫn giữa Việt Nam và Hoa Kỳ đã thu hút hơn ba trăm doanh "
    "nghiệp tham dự tại Thành phố Hồ Chí Minh.",
    "Đại sứ Hoa Kỳ đã đến thăm tỉnh Quảng Trị và làm việc với lãnh đạo tỉnh về các dự án "
    "khắc phục hậu quả chiến tranh.",
]
# (what, the page's own part, the card markup with {i}, {summary}); og:type or not
SHORT_PAGES = {
    "photo_story": (
        "<div class='photo-story'><h1>Ảnh: Lễ đón Tổng thống</h1><img src='/p/1.jpg'>"
        "<p class='sapo'>Những hình ảnh lễ đón chính thức sáng 11/9 tại Hà Nội.</p></div>",
        "<div class='story'><a href='/anh/a-{i}.html'><img src='/t{i}.jpg'></a><h3>"
        "<a href='/anh/a-{i}.html'>Bộ trưởng Tài chính Hoa Kỳ thăm Việt Nam {i}</a></h3>"
        "<p>{summary}</p></div>", '<meta property="og:type" content="article">'),
    "video_list_items": (
        "<div class='video-detail'><h1>Video: Đối thoại kinh tế</h1><video src='/v.mp4'>"
        "</video><p class='sapo'>Phiên đối thoại kinh tế diễn ra sáng nay tại Hà Nội.</p>"
        "</div>",
        "<li class='video-item'><a href='/video/v-{i}.html'>Đại sứ Mỹ thăm miền Trung số "
        "{i}</a><span class='desc'>{summary}</span></li>",
        '<script type="application/ld+json">{{"@type": "VideoObject", "name": "x"}}</script>'),
    "paywall_en": (
        "<div class='article-body'><h1>Inside the deal</h1><p>When negotiators met in Hanoi, "
        "few expected an agreement on chip packaging within months.</p><div class='paywall'>"
        "<p>Subscribe to read the full story.</p></div></div>",
        "<article class='teaser'><h2><a href='/a-{i}.html'>Trade between the two countries "
        "grows {i}</a></h2><p>{summary}</p></article>", ""),
}


@pytest.mark.parametrize("what", sorted(SHORT_PAGES))
def test_short_pages_are_not_filled_with_teaser_cards(what: str) -> None:
    own, card, head = SHORT_PAGES[what]
    cards = "".join(card.format(i=i, summary=s) for i, s in enumerate(SUMMARIES))
    wrapper = "ul" if card.startswith("<li") else "div"
    html = _page(f"{own}<div class='related'><h3>Xem thêm</h3><{wrapper} class='list'>"
                 f"{cards}</{wrapper}></div>", head=head.replace("{{", "{").replace("}}", "}"))
    result = extract(html, "https://example.vn/a-1.html")
    assert result is not None
    assert not any(s[:40] in result.text for s in SUMMARIES)
    assert ("11/9" in result.text or "Hà Nội" in result.text or "Hanoi" in result.text)


def test_a_listicle_of_linked_items_under_its_intro_is_the_article() -> None:
    intro = ("Dưới đây là năm dự án hợp tác nổi bật giữa Việt Nam và Hoa Kỳ trong năm nay, "
             "theo tổng hợp của phóng viên từ các bộ ngành liên quan.")
    items = "".join(
        f"<div class='item'><h3><a href='https://partner.example/p{i}'>Dự án hợp tác số {i} "
        f"nổi bật</a></h3><p>{s}</p></div>" for i, s in enumerate(SUMMARIES))
    html = _page(f"<article><h1>Năm dự án</h1><p>{intro}</p>{items}</article>")
    tree = lxml.html.fromstring(html)
    dropped: list[tuple[str, str]] = []
    kept = fusion.tidy_lines([intro, *SUMMARIES], fusion.page_signals(tree, []), dropped)
    assert kept == [intro, *SUMMARIES] and dropped == []
    # the same cards after an article they are not part of are dropped, with their reason
    html = _page(f"<article><h1>Năm dự án</h1><p>{intro}</p></article><div class='more'>"
                 f"{items}</div>")
    kept = fusion.tidy_lines([intro, *SUMMARIES],
                             fusion.page_signals(lxml.html.fromstring(html), []), dropped)
    assert kept == [intro] and dropped == [("teaser card list", s) for s in SUMMARIES]


def test_a_page_too_short_and_not_an_item_is_still_no_article() -> None:
    html = _page("<div class='tag'><h1>Hoa Kỳ</h1><p>Tin tức mới nhất về Hoa Kỳ.</p></div>")
    assert extract(html, "https://example.vn/tag/hoa-ky") is None


# --------------------------------------------------------------------------- case26
# A headline with its own dash is cut as if the dash came before a site name.

CASE26 = "case26_headline-cut-at-own-dash"


@pytest.mark.parametrize("row", _tsv(CASE26, "expected.tsv"), ids=lambda row: row[0])
def test_case26_headline_with_its_own_dash_is_whole(row: list[str]) -> None:
    result = extract(_case(CASE26, row[0]), "https://example.vn/thoi-su/a-1.html")
    assert result is not None and result.title == row[1]


HEADLINES = {
    "vi_en_dash": "Việt Nam – Hoa Kỳ ký thỏa thuận hợp tác bán dẫn",
    "vi_em_dash": "Quan hệ Việt – Mỹ — bước tiến mới sau 30 năm",
    "vi_hyphen": "Đối thoại Việt Nam - Hoa Kỳ về nhân quyền lần thứ 27",
    "vi_pipe": "Hợp tác giáo dục | Học bổng Fulbright mở rộng cho sinh viên",
    "vi_colon": "Thủ tướng: Việt Nam sẵn sàng đón làn sóng đầu tư mới từ Mỹ",
    "en_en_dash": "Vietnam – US: a decade of comprehensive partnership",
    "en_hyphen": "Vietnam - US trade talks - what comes next",
    "en_em_dash": "Chips, clean energy — and what Hanoi wants from Washington",
    "en_pipe": "Analysis | Why the upgrade matters for both sides",
}
# (how the site names itself on the page, the suffix in <title>, the URL)
SITE_SUFFIXES = {
    "outlet_name": ("", " - VnExpress", "https://vnexpress.net/a-1.html", "vnexpress"),
    "outlet_name_pipe": ("", " | Tuổi Trẻ Online", "https://tuoitre.vn/a-1.htm", "tuoitre"),
    "host_name": ("", " – Baoquocte.vn", "https://baoquocte.vn/a-1.html", None),
    "og_site_name": ('<meta property="og:site_name" content="Báo Ví Dụ">', " — Báo Ví Dụ",
                     "https://example.vn/a-1.html", None),
    "application_name": ('<meta name="application-name" content="Hanoi Daily">',
                         ": Hanoi Daily", "https://example.com/a-1.html", None),
}


def _headline_page(title: str, h1: str | None, head: str = "") -> str:
    heading = f"<h1>{h1}</h1>" if h1 else ""
    return _page(f"<article>{heading}" + "".join(f"<p>{p}</p>" for p in PARAGRAPHS_EN)
                 + "</article>", head=head, title=title)


@pytest.mark.parametrize("headline", sorted(HEADLINES))
def test_a_headline_s_own_dash_is_never_a_site_separator(headline: str) -> None:
    text = HEADLINES[headline]
    for h1 in (text, None):  # <title> equal to the <h1>, and <title> alone
        result = extract(_headline_page(text, h1), "https://example.vn/a-1.html")
        assert result is not None and result.title == text
    og = f'<meta property="og:title" content="{text}">'
    result = extract(_headline_page(text, text, og), "https://vietnam.vn/a-1.html")
    assert result is not None and result.title == text


@pytest.mark.parametrize("site", sorted(SITE_SUFFIXES))
@pytest.mark.parametrize("headline", sorted(HEADLINES))
def test_the_site_name_after_a_separator_is_cut(site: str, headline: str) -> None:
    head, suffix, url, profile = SITE_SUFFIXES[site]
    text = HEADLINES[headline]
    for h1 in (text, None):
        for tag in ("title", "og"):  # the suffix in <title>, and in og:title
            page_head = head + (f'<meta property="og:title" content="{text}{suffix}">'
                                if tag == "og" else "")
            title = text + suffix if tag == "title" else "Other"
            html = _headline_page(title, h1 if tag == "og" else None, page_head)
            result = extract(html, url, _profile(profile) if profile else None)
            assert result is not None and result.title == text, (tag, h1)


def test_the_h1_shows_the_headline_a_title_part_it_lacks_is_cut() -> None:
    text = HEADLINES["vi_en_dash"]
    for title in (f"{text} - Tin nóng 24h", f"Thời sự | {text}"):
        og = f'<meta property="og:title" content="{title}">'
        result = extract(_headline_page(title, text, og), "https://example.vn/a-1.html")
        assert result is not None and result.title == text


# --------------------------------------------------------------------------- case29
# Lists in the cells of a layout table, a data table with links, a pull quote.

CASE29 = "case29_tables-quotes-embeds"


@pytest.mark.parametrize("row", _tsv(CASE29, "expected.tsv"), ids=lambda row: row[0])
def test_case29_table_of_lists_data_table_and_quote_in_the_text(row: list[str]) -> None:
    name, body_xpath, wanted = row[0], row[1], row[2].split("|")
    profile = SiteProfile(body=body_xpath) if body_xpath != "-" else None
    result = extract(_case(CASE29, name), "https://example.vn/kinh-te/a-1.html", profile)
    assert result is not None
    assert [w for w in wanted if w not in result.text] == []
    lines = result.text.splitlines()
    intro = lines.index("Các mặt hàng xuất khẩu chủ lực gồm:")
    assert lines[intro + 1: intro + 6] == ["Điện thoại và linh kiện", "Dệt may", "Đồ gỗ",
                                           "Máy tính", "Giày dép"]


LIST_TABLES = {
    "two_cells_ul": "<table><tr><td><ul><li>{0}</li><li>{1}</li></ul></td>"
                    "<td><ul><li>{2}</li></ul></td></tr></table>",
    "one_cell_ol": "<table class='layout'><tbody><tr><td><ol><li>{0}</li><li>{1}</li>"
                   "<li>{2}</li></ol></td></tr></tbody></table>",
    "two_rows": "<table width='100%'><tr><td><ul><li>{0}</li></ul></td></tr>"
                "<tr><td><ul><li>{1}</li><li>{2}</li></ul></td></tr></table>",
}
ITEMS = ["Semiconductor supply chains and engineer training",
         "Clean energy investment in offshore wind",
         "Scholarships for Vietnamese students in the United States"]


@pytest.mark.parametrize("shape", sorted(LIST_TABLES))
def test_lists_in_layout_table_cells_are_kept_generic_and_in_a_profile(shape: str) -> None:
    table = LIST_TABLES[shape].format(*ITEMS)
    body = (f"<div class='story'><p>{PARAGRAPHS_EN[0]}</p><p>The agreement covers:</p>"
            f"{table}<p>{PARAGRAPHS_EN[1]}</p><p>{PARAGRAPHS_EN[2]}</p></div>")
    for profile in (None, SiteProfile(body="//div[@class='story']")):
        result = extract(_page(body, lang="en"), "https://example.com/a-1", profile)
        assert result is not None
        lines = [line.lstrip("- ") for line in result.text.splitlines()]
        start = lines.index("The agreement covers:")
        assert lines[start + 1: start + 4] == ITEMS, profile


# --------------------------------------------------------------------------- case07 (c3)
# A caption in div.caption: out of the text, and recorded with its photo.

CAPTION = "Phó Thủ tướng Bùi Thanh Sơn bắt tay Đại sứ Hoa Kỳ. Ảnh: TTXVN"


def test_case07_div_caption_recorded_with_its_image() -> None:
    html = _case("case07_captions-leak-into-body", "c3_div_caption.html")
    result = extract(html, "https://example.vn/thoi-su/a-1.html")
    assert result is not None
    assert "bắt tay" not in result.text and len(result.text.splitlines()) == 3
    assert result.images == [{"src": "https://example.vn/photos/a.jpg", "caption": CAPTION}]


@pytest.mark.parametrize("photo", [
    "<div class='photo'><img src='/p/b.jpg'><div class='caption'>{c}</div></div>",
    "<div class='VCSortableInPreviewMode'><div><img src='/p/b.jpg'></div>"
    "<div class='PhotoCMS_Caption'><p>{c}</p></div></div>",
    "<div class='image'><a href='/p/b.jpg'><img src='/p/b.jpg'></a></div>"
    "<p class='image-caption'>{c}</p>",
    "<p><img src='/p/b.jpg'><br><span class='img-desc'>{c}</span></p>",
    "<div class='pic'><img src='/p/b.jpg'><p class='chu-thich'>{c}</p></div>",
])
def test_more_class_caption_shapes_generic_and_in_a_profile(photo: str) -> None:
    caption = "Hai bên bắt tay sau hội đàm tại Hà Nội"  # no credit: only the class says so
    body = (f"<article class='story'><p>{PARAGRAPHS_VI[0]}</p>{photo.format(c=caption)}"
            f"<p>{PARAGRAPHS_VI[1]}</p><p>{PARAGRAPHS_VI[2]}</p></article>")
    for profile in (None, SiteProfile(body="//article[@class='story']")):
        result = extract(_page(body), "https://example.vn/a-1.html", profile)
        assert result is not None
        assert result.text.splitlines() == PARAGRAPHS_VI
        assert {"src": "https://example.vn/p/b.jpg", "caption": caption} in result.images


def test_a_description_paragraph_after_a_photo_is_text() -> None:
    body = (f"<article><p>{PARAGRAPHS_VI[0]}</p><div class='photo'><img src='/p/b.jpg'></div>"
            f"<p class='description'>{PARAGRAPHS_VI[1]}</p><p>{PARAGRAPHS_VI[2]}</p></article>")
    result = extract(_page(body), "https://example.vn/a-1.html")
    assert result is not None and result.text.splitlines() == PARAGRAPHS_VI


# --------------------------------------------------------------------------- found kinds
# Kinds reported against other extractors, each with inputs of ours, on the generic path
# and in a profile container.

STORY = SiteProfile(body="//article[@class='story']")


def _story(middle: str, before: str = "") -> str:
    return _page(f"{before}<article class='story'><p>{PARAGRAPHS_EN[0]}</p>{middle}"
                 f"<p>{PARAGRAPHS_EN[1]}</p><p>{PARAGRAPHS_EN[2]}</p></article>", lang="en")


@pytest.mark.parametrize("label", [
    "<div class='ad-label'>Advertisement</div>", "<p>ADVERTISEMENT</p>",
    "<div class='qc'><span>Quảng cáo</span></div>", "<p>Scroll to continue with content</p>",
    "<div>Ad</div>", "<p>Sponsored</p>", "<div class='adv'>QUẢNG CÁO</div>",
    "<p>Story continues below advertisement</p>",
])
def test_ad_slot_labels_are_not_text(label: str) -> None:
    """thomastuts/article-extractor#1: the "Advertisement" label of an ad slot in the body."""
    for profile in (None, STORY):
        result = extract(_story(label), "https://example.com/a-1", profile)
        assert result is not None and result.text.splitlines() == PARAGRAPHS_EN


def test_a_sentence_about_advertising_is_text() -> None:
    line = "Advertising revenue at state media fell by a third, the ministry said."
    for profile in (None, STORY):
        result = extract(_story(f"<p>{line}</p>"), "https://example.com/a-1", profile)
        assert result is not None and line in result.text


CONSENT = {
    "en_banner": "<div id='cookie-banner' class='cookie-consent'><p>We use cookies to "
                 "improve your experience on our site and to show you personalised "
                 "advertising. By clicking Accept, you agree to our use of cookies.</p>"
                 "<button>Accept all</button><a href='/privacy'>Cookie settings</a></div>",
    "vi_notice": "<div class='cookie-notice'><p>Chúng tôi sử dụng cookie để cải thiện trải "
                 "nghiệm của bạn trên trang web. Bằng việc tiếp tục truy cập, bạn đồng ý với "
                 "chính sách cookie của chúng tôi.</p><button>Đồng ý</button></div>",
    "unmarked_en": "<div class='box'><p>This website uses cookies to ensure you get the best "
                   "experience on our website.</p></div>",
    "gdpr_bar": "<section class='gdpr-bar'><p>Your privacy matters: we and our partners "
                "store and access information on your device.</p></section>",
}


@pytest.mark.parametrize("banner", sorted(CONSENT))
def test_cookie_consent_banners_are_not_text(banner: str) -> None:
    """adbar/trafilatura#569, firecrawl/firecrawl#78: the consent notice in the text."""
    for where in ("in", "before"):
        html = _story(CONSENT[banner]) if where == "in" else _story("", CONSENT[banner])
        for profile in (None, STORY):
            result = extract(html, "https://example.com/a-1", profile)
            assert result is not None and result.text.splitlines() == PARAGRAPHS_EN, where


@pytest.mark.parametrize("paragraph", [
    "<p><a href='/live-updates'><strong>On Friday, the two delegations met again in Hanoi "
    "and agreed on a timetable for the next round of talks.</strong></a></p>",
    "<p><a href='/bai-truoc.html'>Trước đó, hai bên đã ký biên bản ghi nhớ về hợp tác phát "
    "triển nguồn nhân lực ngành bán dẫn tại Hà Nội.</a></p>",
])
def test_a_paragraph_that_is_wholly_a_link_is_kept(paragraph: str) -> None:
    """mozilla/readability#878: a paragraph whose whole text is a link is dropped."""
    text = " ".join(lxml.html.fromstring(paragraph).text_content().split())
    for profile in (None, STORY):
        result = extract(_story(paragraph), "https://example.com/a-1", profile)
        assert result is not None
        assert result.text.splitlines() == [PARAGRAPHS_EN[0], text, *PARAGRAPHS_EN[1:]]


def test_a_linked_headline_between_paragraphs_is_still_not_text() -> None:
    headline = "<p><a href='/a-2.html'>Vietnam and US agree to expand trade talks</a></p>"
    result = extract(_story(headline), "https://example.com/a-1")
    assert result is not None and result.text.splitlines() == PARAGRAPHS_EN
