"""Pages served in windows-1258, with a wrong or missing charset declaration, or with
mixed NFC/NFD text, decode to the article's exact paragraphs (NFC). Each case fetches
the page from a running farm with urllib, as bytes plus the Content-Type header."""

from __future__ import annotations

import unicodedata
import urllib.request

import pytest

from monitor.extract import extract, normalize_text
from monitor.extract.charset import decode_html, header_charset, meta_charset
from monitor.farm import Farm
from monitor.farm.content import FarmArticle
from monitor.sources import DEMO_CONFIG, load_settings

# (case, encoding, Content-Type charset, <meta charset>, Unicode form); "same" is the
# encoding itself, None no declaration.
CASES = [
    ("windows-1258 declared right", "windows-1258", "same", "same", "nfc"),
    ("windows-1258 declared nowhere", "windows-1258", None, None, "nfc"),
    ("header iso-8859-1 on utf-8 bytes", "utf-8", "iso-8859-1", None, "nfc"),
    ("header iso-8859-1 and meta on utf-8 bytes", "utf-8", "iso-8859-1", "iso-8859-1", "nfc"),
    ("meta utf-8 on windows-1258 bytes", "windows-1258", None, "utf-8", "nfc"),
    ("header and meta utf-8 on windows-1258 bytes", "windows-1258", "utf-8", "utf-8", "nfc"),
    ("header iso-8859-1 on windows-1258 bytes", "windows-1258", "iso-8859-1", None, "nfc"),
    ("utf-8 declared nowhere", "utf-8", None, None, "nfc"),
    ("mixed NFC and NFD paragraphs", "utf-8", "same", "same", "mixed"),
    ("all NFD, header iso-8859-1", "utf-8", "iso-8859-1", "same", "nfd"),
]


def _vietnamese(farm: Farm) -> FarmArticle:
    """A Vietnamese article with many letters windows-1258 only has decomposed."""
    candidates = [a for a in farm.all_articles() if a.lang == "vi"]
    return max(candidates, key=lambda a: len(unicodedata.normalize("NFD", " ".join(a.paragraphs)))
               - len(" ".join(a.paragraphs)))


def _fetch(url: str) -> tuple[bytes, str | None]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read(), response.headers.get("Content-Type")


@pytest.mark.parametrize(("case", "encoding", "header", "meta", "form"), CASES,
                         ids=[c[0] for c in CASES])
def test_charset_case_extracts_exact_paragraphs(farm: Farm, case: str, encoding: str,
                                                header: str | None, meta: str | None,
                                                form: str) -> None:
    article = _vietnamese(farm)
    url = farm.encoded_url(article.site, article.slug, encoding=encoding, header=header,
                           meta=meta, form=form)
    body, content_type = _fetch(url)
    # the farm really served what the case says
    if header is None:
        assert "charset" not in (content_type or "")
    if encoding == "windows-1258":
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
    if form != "nfc":
        assert unicodedata.normalize("NFC", body.decode("utf-8")) != body.decode("utf-8")
    profile = load_settings(DEMO_CONFIG, farm.variables).source(article.site).profile
    result = extract(body, farm.url_of(article.site, article.slug), profile,
                     charset_hint=content_type)
    assert result is not None, case
    expected = ([article.lead] if article.lead else []) + article.paragraphs
    assert result.text.splitlines() == [normalize_text(p) for p in expected], case
    assert unicodedata.is_normalized("NFC", result.text)
    assert result.title == unicodedata.normalize("NFC", article.title)
    for value in (result.title, result.author, result.lead):
        assert value is None or unicodedata.is_normalized("NFC", value)


def test_decode_html_units() -> None:
    text = "<html><body><p>Hà Nội – Thủ tướng tiếp Đại sứ Hoa Kỳ tại trụ sở Chính phủ</p>"
    utf8 = text.encode("utf-8")
    assert decode_html(utf8, "iso-8859-1") == text  # valid multi-byte UTF-8 wins
    assert decode_html(utf8, None) == text
    assert decode_html("<p>café crème</p>".encode("cp1252"), "text/html; charset=windows-1252") \
        == "<p>café crème</p>"
    assert decode_html(b"\xef\xbb\xbf<p>x</p>", "iso-8859-1") == "<p>x</p>"  # BOM
    assert header_charset("text/html; charset=UTF-8") == "utf-8"
    assert header_charset(b"text/html") is None
    assert header_charset("windows-1258") == "cp1258"
    assert meta_charset(b'<meta http-equiv="Content-Type" content="text/html; '
                        b'charset=windows-1258">') == "cp1258"


def test_crawl_decodes_what_the_headers_get_wrong(fresh_farm, tmp_path) -> None:
    """End to end: a page served as windows-1258 under a false utf-8 declaration, and one
    with no declaration at all, are stored with the right text."""
    from monitor.extract import normalize_text
    from monitor.run import crawl
    from monitor.sources import DEMO_CONFIG
    from monitor.store import Store

    article = fresh_farm.sites["laodong_vi"].articles[0]
    fresh_farm.set_encoding("laodong_vi", article.slug, encoding="windows-1258", header="utf-8",
                            meta="utf-8")
    other = fresh_farm.sites["laodong_vi"].articles[1]
    fresh_farm.set_encoding("laodong_vi", other.slug, encoding="windows-1258", header=None,
                            meta=None)
    result = crawl(DEMO_CONFIG, tmp_path / "c.db", variables=fresh_farm.variables,
                   sources=["laodong_vi"])
    assert result.totals["errors"] == 0
    store = Store(result.db_path)
    try:
        for item in (article, other):
            row = store.article(fresh_farm.url_of("laodong_vi", item.slug))
            expected = [normalize_text(p) for p in ([item.lead] if item.lead else [])
                        + item.paragraphs]
            assert row["text"].splitlines() == expected
            assert row["title"] == item.title
    finally:
        store.close()
