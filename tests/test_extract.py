"""Extraction rules, one clutter kind at a time, on small realistic pages."""

from __future__ import annotations

import unicodedata

import pytest

from monitor.extract import content_hash, extract, normalize_text
from monitor.extract.article import clean_lines
from monitor.sources import DateRule, SiteProfile, canonicalize, trusted_canonical

BODY = [
    "Deputy Prime Minister Bui Thanh Son met the US Ambassador in Hanoi on Tuesday to "
    "discuss trade, education and the legacy of war between the two countries.",
    "The two sides agreed to speed up projects on clean energy and semiconductors, and to "
    "prepare for the 30th anniversary of diplomatic relations next year.",
    "The ambassador said Washington supports a strong, independent and prosperous Vietnam "
    "and will keep working with Hanoi on regional security and climate change.",
]


def page(extra_in_body: str = "", extra_after: str = "", head: str = "",
         lang: str = "en") -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in BODY)
    return (f'<html lang="{lang}"><head><title>Talks in Hanoi</title>{head}</head><body>'
            '<div class="menu"><ul><li><a href="/">Home</a></li><li><a href="/w">World</a></li>'
            f'</ul></div><div class="article"><h1>Talks in Hanoi</h1>{paragraphs}'
            f"{extra_in_body}</div>{extra_after}</body></html>")


@pytest.mark.parametrize(("kind", "fragment"), [
    ("comment counter en", "<div><a href='#c'>Comment (0)</a></div>"),
    ("comment counter vi", "<p>Bình luận (12)</p>"),
    ("view counter", "<p>View count: 9</p>"),
    ("photo caption marker", "<p>Talks in Hanoi- Ảnh 1.</p>"),
    ("figcaption", "<figure><img src='a.jpg'><figcaption>The minister at the talks."
                   "</figcaption></figure>"),
    ("source link", "<p><a href='https://example.org/original'>Source</a></p>"),
    ("source link vi", "<p><a href='https://example.org/original'>Nguồn</a></p>"),
    ("related heading", "<p>RELATED NEWS</p>"),
    ("byline with pipe", "<p>Khánh Minh |</p>"),
    ("posted-on line", "<p>Ngày đăng 23/09/2024 | 12:43 PM | View count: 9</p>"),
])
def test_clutter_kind_dropped(kind: str, fragment: str) -> None:
    result = extract(page(extra_in_body=fragment), "https://example.org/a-1")
    assert result is not None
    assert result.text.splitlines() == BODY, kind


def test_profile_clutter_and_prefix_and_lead() -> None:
    widget = "<div class='weather'><ul>" + "".join(
        f"<li>{p}</li>" for p in ["An Giang", "Bac Lieu", "Ca Mau", "Da Nang"] * 20) + "</ul></div>"
    html = page(extra_in_body="", extra_after=widget).replace(
        "<h1>Talks in Hanoi</h1>", "<h1>Talks in Hanoi</h1><h2 class='sapo'>VGP - The lead.</h2>")
    profile = SiteProfile(clutter=["//div[@class='weather']"], strip_prefixes=["VGP - "],
                          lead="//h2[@class='sapo']")
    result = extract(html, "https://example.org/a-1", profile)
    assert result is not None
    assert result.text.splitlines() == ["The lead.", *BODY]
    assert result.lead == "The lead."


def test_site_date_rule_keeps_time_and_zone() -> None:
    html = page(extra_after="<div class='date'>Ngày đăng 23/09/2024 | 12:43 PM</div>")
    rule = DateRule(xpath="//div[@class='date']", pattern=r"(\d\d/\d\d/\d{4} \| \d\d:\d\d [AP]M)",
                    formats=["%d/%m/%Y | %I:%M %p"])
    result = extract(html, "https://example.org/a-1", SiteProfile(date=rule), tz="+07:00")
    assert result is not None and result.published == "2024-09-23T12:43:00+07:00"


def test_meta_and_json_ld_dates() -> None:
    meta = '<meta property="article:published_time" content="2024-11-16T19:01:00+07:00">'
    assert extract(page(head=meta), "https://e.org/a").published == "2024-11-16T19:01:00+07:00"
    ld = '<script type="application/ld+json">{"@graph":[{"datePublished":"2024-03-26T10:05:00"}]}'
    ld += "</script>"
    assert extract(page(head=ld), "https://e.org/a").published == "2024-03-26T10:05:00+07:00"


def test_unicode_is_nfc_and_hash_ignores_form() -> None:
    decomposed = unicodedata.normalize("NFD", "Bùi Thanh Sơn gặp Ngoại trưởng Hoa Kỳ tại Hà Nội")
    assert normalize_text(decomposed) == unicodedata.normalize("NFC", decomposed)
    assert content_hash(decomposed) == content_hash(unicodedata.normalize("NFC", decomposed))


def test_language_from_page_or_letters() -> None:
    vi = page(lang="").replace(BODY[0], "Phó Thủ tướng Bùi Thanh Sơn đã tiếp Đại sứ Hoa Kỳ "
                               "tại Hà Nội để trao đổi về hợp tác thương mại và giáo dục.")
    assert extract(vi.replace(' lang=""', ""), "https://e.org/a").language == "vi"
    assert extract(page(lang="en-US"), "https://e.org/a").language == "en"


def test_sentence_mentioning_clutter_words_is_kept() -> None:
    lines = clean_lines("The Source of the dispute was the comment (0) policy.\nSource",
                        SiteProfile())
    assert lines == ["The Source of the dispute was the comment (0) policy."]


def test_canonical_urls() -> None:
    assert canonicalize("HTTP://En.Laodong.vn/a-1.ldo?utm_source=rss&b=2&a=1#top") == \
        "http://en.laodong.vn/a-1.ldo?a=1&b=2"
    page_url = "https://en.laodong.vn/politics/a-1.ldo?utm_medium=feed"
    assert trusted_canonical(page_url, "/politics/a-1.ldo") == \
        "https://en.laodong.vn/politics/a-1.ldo"
    assert trusted_canonical(page_url, "https://other.example/steal") == \
        "https://en.laodong.vn/politics/a-1.ldo"
    # a canonical link that does not parse is ignored, not raised
    assert trusted_canonical(page_url, "http://[::1") == "https://en.laodong.vn/politics/a-1.ldo"


def test_page_without_article() -> None:
    assert extract("<html><body><ul><li><a href='/'>Home</a></li></ul></body></html>",
                   "https://e.org/tag/x") is None
    assert extract("", "https://e.org/") is None


# Generic rules (pages without a site profile body container: monitor.extract.fusion), one kind
# at a time. Each fragment sits at the end of the article container, or before it.


@pytest.mark.parametrize(("kind", "before", "after"), [
    ("title echoed at the top", "<p>Talks in Hanoi</p>", ""),
    ("see-also line", "", "<p>Read more: <a href='/x-1'>Vietnam and Japan sign a new trade "
                          "pact in Tokyo</a></p>"),
    ("see-also line vi", "", "<p>Xem thêm: <a href='/x-2'>Thủ tướng tiếp Đại sứ Nhật Bản tại "
                             "Hà Nội</a></p>"),
    ("see-also heading and its links", "",
     "<h3>Don't miss</h3><p><a href='/a'>Hanoi opens a new metro line to the west</a></p>"
     "<p><a href='/b'>Rice exports reach a record in the first half</a> [VIDEO]</p>"),
    ("link headlines", "",
     "<p><a href='/c'>Ho Chi Minh City plans a new ring road around the centre</a></p>"
     "<p><a href='/d'>Da Nang welcomes the first cruise ship of the season</a></p>"),
    ("copyright notice", "", "<p>© 2024 Example News. All rights reserved.</p>"),
    ("follow prompt", "", "<p>Follow Example News on Facebook, Twitter and Instagram.</p>"),
    ("newsletter prompt", "", "<p>Sign up for our free morning newsletter to get the day's "
                              "stories in your inbox.</p>"),
    ("share prompt", "", "<p>Like this story? Share it with a friend!</p>"),
    ("comment prompt", "", "<p>Tell us what you think...</p><p>3 comments</p>"),
])
def test_generic_clutter_kind_dropped(kind: str, before: str, after: str) -> None:
    html = page(extra_in_body=after).replace("<h1>Talks in Hanoi</h1>",
                                             f"<h1>Talks in Hanoi</h1>{before}")
    result = extract(html, "https://example.org/a-1")
    assert result is not None
    assert result.text.splitlines() == BODY, kind


def test_sentences_like_generic_clutter_are_kept() -> None:
    body = ["More than 200 delegates attended the forum, which was followed on Facebook and "
            "Twitter by thousands of viewers across the country.",
            "Related talks on clean energy will follow in Ho Chi Minh City next month, the "
            "ministry said in a statement on Tuesday."]
    html = page(extra_in_body="".join(f"<p>{p}</p>" for p in body))
    result = extract(html, "https://example.org/a-1")
    assert result is not None and result.text.splitlines() == BODY + body


def test_modified_date_and_images_are_metadata() -> None:
    head = ('<meta property="article:published_time" content="2024-11-16T19:01:00+07:00">'
            '<meta property="article:modified_time" content="2024-11-17T08:30:00+07:00">'
            '<meta property="og:image" content="/img/cover.jpg">')
    figure = ("<figure><img src='/img/talks.jpg'><figcaption>The two delegations at the talks."
              "</figcaption></figure>")
    result = extract(page(extra_in_body=figure, head=head), "https://example.org/news/a-1")
    assert result is not None
    assert result.published == "2024-11-16T19:01:00+07:00"
    assert result.modified == "2024-11-17T08:30:00+07:00"
    assert result.images == [
        {"src": "https://example.org/img/cover.jpg", "caption": None},
        {"src": "https://example.org/img/talks.jpg",
         "caption": "The two delegations at the talks."},
    ]
    assert "delegations at the talks" not in result.text
    ld = ('<script type="application/ld+json">{"@type": "NewsArticle", '
          '"datePublished": "2024-03-26T10:05:00", '
          '"dateModified": "2024-03-27T09:00:00Z"}</script>')
    result = extract(page(head=ld), "https://e.org/a")
    assert result is not None and result.modified == "2024-03-27T09:00:00+00:00"


def test_title_author_lead_are_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "Thủ tướng tiếp Đại sứ Hoa Kỳ")
    head = f'<meta property="og:title" content="{nfd}"><meta name="author" content="{nfd}">'
    profile = SiteProfile(lead="//p[@class='sapo']")
    html = page(head=head).replace("<h1>Talks in Hanoi</h1>",
                                   f"<h1>Talks in Hanoi</h1><p class='sapo'>{nfd}.</p>")
    result = extract(html, "https://e.org/a", profile)
    assert result is not None
    for value in (result.title, result.author, result.lead):
        assert value is not None and unicodedata.is_normalized("NFC", value)


def test_lead_of_a_related_news_teaser_is_not_taken_for_the_articles_lead() -> None:
    """Found by the soak run: a laodong article without a sapo took the sapo of the first
    RELATED NEWS teaser as its lead, and lost it (a spurious new version) when the related
    list changed."""
    import urllib.request

    from monitor.farm import Farm
    from monitor.sources.config import load_profiles

    paragraphs = ["Foreign Minister Bui Thanh Son received six US senators in Hanoi.",
                  "The senators praised the cooperation on recovering the remains of "
                  "American servicemen.", "Son asked them to back market economy status."]
    with Farm(sites=["laodong_en"]) as farm:
        url = farm.publish({"site": "laodong_en", "slug": "no-sapo", "lang": "en",
                            "title": "Foreign Minister meets US senators",
                            "published": "2026-11-23T10:00:00+07:00", "paragraphs": paragraphs})
        with urllib.request.urlopen(url) as answer:
            html = answer.read()
    assert b"related-news" in html and b"chappeau" in html  # the teaser has a sapo
    result = extract(html, url, SiteProfile(**load_profiles()["laodong"]))
    assert result is not None
    assert result.text.splitlines() == paragraphs
    assert result.lead == paragraphs[0]


def test_references_to_control_characters_are_recognised() -> None:
    """The pre-check that spares most pages the tree walk must see every numeric reference
    lxml turns into a character it then refuses, and pass ordinary ones."""
    from monitor.extract.article import _NOT_XML, _NOT_XML_REFERENCE

    for ref in ("&#1;", "&#x1F;", "&#X0b", "&#11;", "&#0031;", "&#x2<", "&#65534;", "&#xFFFF;"):
        assert _NOT_XML_REFERENCE.search(f"a {ref} b"), ref
        code = int(ref[3:].rstrip(";<"), 16) if ref[2] in "xX" else int(ref[2:].rstrip(";"))
        assert _NOT_XML.search(chr(code)), ref
    for ref in ("&#39;", "&#x27;", "&#8217;", "&#x2014;", "&#10;", "&#13;", "&#9;", "&#127;",
                "&#123;", "&#x1F600;", "&#655350;"):
        assert not _NOT_XML_REFERENCE.search(f"a {ref} b"), ref


def test_raw_control_characters_never_reach_the_tree() -> None:
    """The tree walk runs only for numeric references: the control characters themselves
    are deleted by trafilatura's ``load_html`` before parsing (the same set as ``_NOT_XML``),
    so a page holding them raw still gives its article, without them."""
    from trafilatura.utils import INVALID_XML_CHARS

    from monitor.extract.article import _NOT_XML

    every = "".join(map(chr, range(0x10000)))  # both sets lie in the BMP
    assert INVALID_XML_CHARS.findall(every) == _NOT_XML.findall(every)
    raw = "".join(chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20),
                                   0xFFFE, 0xFFFF])
    paragraph = "The ministers met in Hanoi on Tuesday to discuss trade and security. "
    html = (f"<html><head><title>Talks{raw}</title></head><body><article><h1>Talks</h1>"
            + "".join(f"<p>{paragraph * 3}{raw}end {i}.</p>" for i in range(4))
            + "</article></body></html>")
    result = extract(html, "https://example.com/talks-1.html")
    assert result is not None and "end 3." in result.text
    assert not _NOT_XML.search(result.text) and not _NOT_XML.search(result.title or "")
