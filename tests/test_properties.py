"""Property tests (hypothesis): pure functions never raise, and are idempotent where they
should be. Bounded (200 examples each), no network."""

from __future__ import annotations

import unicodedata
from datetime import UTC

from hypothesis import example, given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html

from monitor.changes.diff import unified_diff, word_diff
from monitor.extract import extract, normalize_text
from monitor.extract.article import _date_from_rule
from monitor.extract.charset import decode_html
from monitor.judge import fold, judge
from monitor.sources import DateRule, SiteProfile, canonicalize
from monitor.sources.config import load_profiles

BOUNDED = settings(max_examples=200, deadline=None)

VIETNAMESE = "ạảãàáâậầấẩẫăắằặẳẵđĐêềếểễệôốồổỗộơớờởỡợưứừửữựýỳỷỹỵíìỉĩịúùủũụóòỏõọéèẻẽẹ"
text_vi = st.text(alphabet=st.one_of(
    st.characters(codec="utf-8"), st.sampled_from(VIETNAMESE + " \n\tMỹ Việt Nam Hoa Kỳ US ")),
    max_size=300)

# -- URLs ----------------------------------------------------------------------------------
_label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
_hosts = st.one_of(
    st.lists(_label, min_size=1, max_size=4).map(".".join),
    st.builds(lambda a, b, c, d: f"{a}.{b}.{c}.{d}", *[st.integers(0, 255)] * 4),
    st.sampled_from(["[::1]", "[2001:db8::1]", "xn--vit-nam-7ya.vn", "việt.vn", "LAODONG.VN"]),
)
_segment = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="/?#"),
                   max_size=12)
_query_key = st.one_of(st.sampled_from(["utm_source", "fbclid", "gclid", "id", "page", "q"]),
                       _segment)
_query = st.lists(st.tuples(_query_key, _segment), max_size=4).map(
    lambda pairs: "&".join(f"{k}={v}" for k, v in pairs))
urls = st.builds(
    lambda scheme, host, port, path, query, fragment: (
        f"{scheme}://{host}{port}/{'/'.join(path)}" + (f"?{query}" if query else "")
        + (f"#{fragment}" if fragment else "")),
    st.sampled_from(["http", "https", "HTTP", "Https"]), _hosts,
    st.sampled_from(["", ":80", ":443", ":8800", ":0"]),
    st.lists(_segment, max_size=4), _query, _segment)


@BOUNDED
@given(urls)
@example("http://example.com/a b/%zz?x=1&utm_source=y#f")
@example("https://LAODONG.VN:443/thoi-su/viet-my-1.ldo?utm_medium=x&b=2&a=1")
@example("http://[/")  # raised ValueError: Invalid IPv6 URL (found by this test)
@example("http://a:99999/x")  # raised ValueError: Port out of range
@example("https://l\\/k1")  # was not idempotent: https://l//k1, then https://l/k1
@example("https://l\\ê']/x?a']=")  # was not idempotent: the query went on the 2nd pass
def test_canonicalize_never_raises_and_is_idempotent(url: str) -> None:
    once = canonicalize(url)
    assert isinstance(once, str)
    assert canonicalize(once) == once


# -- relevance -----------------------------------------------------------------------------
@BOUNDED
@given(st.one_of(st.none(), text_vi), st.one_of(st.none(), text_vi),
       st.one_of(st.none(), text_vi))
@example("Việt Nam – Hoa Kỳ", "Mỹ và Việt Nam ký thỏa thuận.\nHoa Kỳ.", None)
def test_judge_never_raises_and_scores_in_unit_interval(title, text, lead) -> None:
    verdict = judge(title, text, lead)
    assert 0.0 <= verdict.score <= 1.0
    assert isinstance(verdict.relevant, bool)


@BOUNDED
@given(text_vi)
@example("Ǆ")  # title-case digraph
@example("İ")  # lower() adds a combining dot
def test_fold_is_idempotent(text: str) -> None:
    once = fold(text)
    assert fold(once) == once


# -- diffs ---------------------------------------------------------------------------------
@BOUNDED
@given(text_vi, text_vi)
def test_diffs_never_raise_and_word_diff_rebuilds_both_texts(old: str, new: str) -> None:
    assert isinstance(unified_diff(old, new), str)
    ops = word_diff(old, new)
    assert {op for op, _ in ops} <= {"=", "-", "+"}
    assert "".join(text for op, text in ops if op in "=-") == old
    assert "".join(text for op, text in ops if op in "=+") == new


# -- extraction ----------------------------------------------------------------------------
@BOUNDED
@given(text_vi)
@example("a\u00a0\u2028b\x1c c\r\n\u0085d")  # separators splitlines() knows, \s may not
@example("e\u0301\u0323")  # NFD, marks in non-canonical order
def test_normalize_text_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert unicodedata.is_normalized("NFC", once)


_PROFILE_RULES = [DateRule.model_validate(p["date"]) for p in load_profiles().values()
                  if p.get("date")]
_ZONE = UTC


@BOUNDED
@given(st.sampled_from(_PROFILE_RULES), text_vi)
@example(DateRule(xpath="//p", pattern=r"(\d+)", formats=["%d/%m/%Y"]), "99")
@example(DateRule(xpath="//p", formats=["%Y-%m-%d"]), "9999-12-31")
def test_date_rule_parsing_never_raises(rule: DateRule, text: str) -> None:
    page = lxml_html.fromstring("<html><body><p></p><div></div></body></html>")
    for node in page.xpath("//p|//div"):
        node.text = "".join(c for c in text if c.isprintable() or c in "\n\t")
        node.set("class", "news-date")
        node.set("data-role", "publishdate")
    value = _date_from_rule(page, rule, _ZONE)
    assert value is None or isinstance(value, str)


@BOUNDED
@given(text_vi, text_vi)
@example("Ngày đăng 31/02/2024 | 9:05 AM", "x")
@example("Published: 9999-99-99T99:99", "x")
def test_extract_with_a_date_line_never_raises(date_line: str, body: str) -> None:
    profile = SiteProfile.model_validate({
        "date": {"xpath": "//div[@class='date']",
                 "pattern": r"(\d{1,2}/\d{1,2}/\d{4} \| \d{1,2}:\d\d [AP]M)",
                 "formats": ["%d/%m/%Y | %I:%M %p"]}})
    clean = "".join(c for c in date_line + body if c.isprintable() or c == "\n")
    page = (f"<html><head><title>t</title><meta property='article:published_time' "
            f"content='{clean[:40].replace(chr(39), '')}'></head><body><article>"
            f"<h1>t</h1><div class='date'>{clean[:60]}</div><p>{clean}</p>"
            "</article></body></html>")
    result = extract(page, "http://127.0.0.12/a-1", profile=profile)
    assert result is None or result.published is None or isinstance(result.published, str)


# -- charsets ------------------------------------------------------------------------------
@BOUNDED
@given(st.binary(max_size=400), st.one_of(
    st.none(), st.sampled_from(["text/html; charset=utf-8", "text/html; charset=windows-1258",
                                "charset=latin-1", "text/html; charset=bogus", "utf-16",
                                b"text/html; charset=\xff"])))
@example(b"\xef\xbb\xbf\xff", None)
@example(b"\xff\xfe\x00\xd8", None)  # UTF-16 BOM, lone surrogate
@example(b'<meta charset="utf-7">+AGEAYQ-', None)
def test_decode_html_never_raises_and_returns_nfc(body: bytes, header) -> None:
    text = decode_html(body, header)
    assert isinstance(text, str)
    assert unicodedata.is_normalized("NFC", text)
