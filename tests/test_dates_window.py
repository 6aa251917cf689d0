"""Field case 22 (a two-digit year read a century off, ``12:05 SA`` read as noon, a meta
date a year after the fetch taken over a correct visible dateline) and more of its kind:
page dates pass through a sanity window (not before 1990, not more than an hour after the
fetch: ``monitor.sources.discovery.plausible``), two-digit years go to the century nearest
the fetch, SA/CH are a.m./p.m., and a time without a zone is the site's (+07:00 on .vn).
A hypothesis property test writes instants in many shapes and checks the instant read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from monitor.extract import extract
from monitor.extract.pagemeta import parse_date, url_date
from monitor.sources import SiteProfile

from .conftest import REPO

CASE22 = REPO / "tests" / "data" / "fieldcases" / "case22_dateline-century-midnight-future"
HANOI = timezone(timedelta(hours=7))
FETCHED = datetime(2024, 3, 26, 9, 0, tzinfo=HANOI)
URL = "https://example.vn/thoi-su/pho-thu-tuong-tiep-dai-su-1001.html"
PARAGRAPHS = (
    "<p>Phó Thủ tướng Bùi Thanh Sơn đã tiếp Đại sứ Hoa Kỳ tại Hà Nội, hai bên thảo luận về "
    "hợp tác kinh tế, thương mại và giáo dục trong thời gian tới.</p><p>Đại sứ khẳng định "
    "Washington mong muốn làm sâu sắc hơn quan hệ Đối tác chiến lược toàn diện.</p><p>Hai "
    "bên nhất trí chuẩn bị cho vòng đối thoại kinh tế tiếp theo vào cuối năm nay.</p>")


def _expected() -> list[tuple[str, str, str]]:
    rows = (CASE22 / "expected.tsv").read_text(encoding="utf-8").splitlines()
    return [tuple(line.split("\t")[:3]) for line in rows if line and not line.startswith("#")]


def _page(dateline: str = "", head: str = "") -> str:
    return (f'<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>Tin</title>'
            f'{head}</head><body><div class="main"><div class="header-content"><span '
            f'class="date">{dateline}</span></div><h1>Phó Thủ tướng tiếp Đại sứ</h1><article>'
            f"{PARAGRAPHS}</article></div></body></html>")


# -- case22 ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "dateline", "published"), _expected())
def test_case22_page_dates_in_the_window(name: str, dateline: str, published: str) -> None:
    result = extract((CASE22 / name).read_bytes(), URL, fetched=FETCHED)
    assert result is not None and dateline in (CASE22 / name).read_text(encoding="utf-8")
    assert datetime.fromisoformat(result.published) == datetime.fromisoformat(published)
    assert datetime.fromisoformat(result.published) <= FETCHED + timedelta(hours=1)


# -- more of the kind -----------------------------------------------------------------------
@pytest.mark.parametrize(("dateline", "published"), [
    ("26-03-24 09:05", "2024-03-26T09:05:00+07:00"),        # two-digit year, other separators
    ("26.03.24 08:15", "2024-03-26T08:15:00+07:00"),
    ("31/12/99 23:00", "1999-12-31T23:00:00+07:00"),        # the nearest century is the last
    ("26/03/2024 02:30 CH", None),                          # 14:30: after the fetch → None
    ("25/03/2024 02:30 CH", "2024-03-25T14:30:00+07:00"),   # chiều: p.m.
    ("25/03/2024 12:30 CH", "2024-03-25T12:30:00+07:00"),   # 12:30 p.m. is half past noon
    ("25/03/2024 8:00 tối", "2024-03-25T20:00:00+07:00"),   # tối (evening): p.m.
    ("25/03/2024 09:15 sáng", "2024-03-25T09:15:00+07:00"),
    ("26/03/2024 12:05 sa", "2024-03-26T00:05:00+07:00"),
    ("Thứ ba, 26/3/2024, 12:05 SA (GMT+7)", "2024-03-26T00:05:00+07:00"),
    ("01/01/1970 07:00", None),                             # the Unix epoch: a CMS's zero
    ("26/03/2025 08:30", None),                             # a year after the fetch
])
def test_visible_datelines_of_the_kind(dateline: str, published: str | None) -> None:
    result = extract(_page(dateline).encode(), URL, fetched=FETCHED)
    assert result is not None
    if published is None:  # no time after the window (a date alone may remain)
        found = datetime.fromisoformat(result.published or "2024-01-01")
        assert (found if found.tzinfo else found.replace(tzinfo=HANOI)) <= FETCHED
        assert datetime(1990, 1, 1, tzinfo=UTC) <= found.replace(tzinfo=found.tzinfo or HANOI)
    else:
        assert datetime.fromisoformat(result.published) == datetime.fromisoformat(published)


@pytest.mark.parametrize("head", [
    '<meta property="article:published_time" content="2025-03-26T08:30:00+07:00">',
    '<meta itemprop="datePublished" content="2034-03-26T08:30:00+07:00">',
    '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Tin", '
    '"datePublished": "2025-03-26T08:30:00+07:00"}</script>',
    '<meta property="article:published_time" content="0001-01-01T00:00:00Z">',
    '<meta property="article:published_time" content="1970-01-01T00:00:00+00:00">',
])
def test_meta_and_json_ld_dates_outside_the_window_give_way_to_the_dateline(head: str) -> None:
    result = extract(_page("26/03/2024 08:30", head).encode(), URL, fetched=FETCHED)
    assert result is not None
    assert datetime.fromisoformat(result.published) == datetime(2024, 3, 26, 8, 30,
                                                                 tzinfo=HANOI)


def test_a_profile_date_rule_value_after_the_fetch_is_not_taken() -> None:
    profile = SiteProfile(date={"xpath": "//span[@class='date']", "formats": ["%d/%m/%Y %H:%M"]})
    html = _page("26/03/2025 08:30", '<meta property="article:published_time" '
                 'content="2024-03-26T08:30:00+07:00">')
    result = extract(html.encode(), URL, profile, fetched=FETCHED)
    assert result is not None
    assert datetime.fromisoformat(result.published) == datetime(2024, 3, 26, 8, 30,
                                                                 tzinfo=HANOI)


def test_url_dates_and_htmldate_are_bounded_too() -> None:
    assert url_date("https://x.vn/a-20250326083000123.htm", HANOI, FETCHED) is None
    assert url_date("https://x.vn/2024/03/25/a.html", HANOI, FETCHED) == "2024-03-25"
    # htmldate last: only a copyright-like future date in the text: never taken
    html = _page().replace("</article>", "<p>Cập nhật 12/12/2031</p></article>")
    result = extract(html.encode(), "https://example.vn/thoi-su/tin.html", fetched=FETCHED)
    assert result is not None and (result.published is None or result.published <= "2024-03-26")


# -- property: instants written in many shapes are read as that instant, or refused ---------
WEEKDAYS = ["Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy", "Chủ nhật"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


def _twelve(when: datetime, am: str, pm: str) -> str:
    return f"{(when.hour % 12) or 12:02d}:{when.minute:02d} {am if when.hour < 12 else pm}"


def _written(when: datetime, shape: str) -> str:
    """``when`` (aware, +07:00) written the way pages write it."""
    d, m, y = when.day, when.month, when.year
    hm = f"{when.hour:02d}:{when.minute:02d}"
    utc = when.astimezone(UTC)
    return {
        "dmy": f"{d:02d}/{m:02d}/{y} {hm}",
        "dmy_short": f"{d}/{m}/{y}, {hm}",
        "dmy_two_digit": f"{d:02d}/{m:02d}/{y % 100:02d} {hm}",
        "dmy_dash": f"{d:02d}-{m:02d}-{y} {hm}",
        "ampm": f"{d:02d}/{m:02d}/{y} {_twelve(when, 'AM', 'PM')}",
        "sa_ch": f"{d:02d}/{m:02d}/{y} {_twelve(when, 'SA', 'CH')}",
        "sa_ch_two_digit": f"{d:02d}/{m:02d}/{y % 100:02d} {_twelve(when, 'SA', 'CH')}",
        "vn_weekday_gmt7": f"{WEEKDAYS[when.weekday()]}, {d}/{m}/{y}, {hm} (GMT+7)",
        "gmt7": f"{d:02d}/{m:02d}/{y} {hm} GMT+7",
        "iso_zone": when.isoformat(),
        "iso_naive": when.replace(tzinfo=None).isoformat(),
        "iso_utc": utc.isoformat().replace("+00:00", "Z"),
        "english": f"{MONTHS[m - 1]} {d}, {y} {_twelve(when, 'AM', 'PM')}",
        "rfc822": utc.strftime("%a, %d %b %Y %H:%M:%S GMT"),
    }[shape]


SHAPES = ["dmy", "dmy_short", "dmy_two_digit", "dmy_dash", "ampm", "sa_ch", "sa_ch_two_digit",
          "vn_weekday_gmt7", "gmt7", "iso_zone", "iso_naive", "iso_utc", "english", "rfc822"]
FETCH_TIMES = st.datetimes(datetime(2005, 1, 1), datetime(2035, 12, 31)).map(
    lambda t: t.replace(second=0, microsecond=0, tzinfo=HANOI))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fetched=FETCH_TIMES, back=st.integers(-59, 40 * 365 * 24 * 60),
       shape=st.sampled_from(SHAPES))
def test_written_instants_in_the_window_are_read_as_written(
        fetched: datetime, back: int, shape: str) -> None:
    """An instant between 1990 and an hour after the fetch, in any of the shapes, reads
    as that instant (zone-less: +07:00); dateparser alone gives 1924 for a two-digit year
    minutes after the fetch, and noon for 12:05 SA."""
    when = fetched - timedelta(minutes=back)
    assume(when.year >= 1990)
    found = parse_date(_written(when, shape), HANOI, fetched)
    assert found is not None, _written(when, shape)
    assert datetime.fromisoformat(found) == when, (_written(when, shape), found)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fetched=FETCH_TIMES, ahead=st.integers(61, 3 * 365 * 24 * 60),
       before=st.datetimes(datetime(1900, 1, 1), datetime(1989, 12, 31)),
       shape=st.sampled_from([s for s in SHAPES if "two_digit" not in s]),
       future=st.booleans())
def test_written_instants_outside_the_window_are_refused(
        fetched: datetime, ahead: int, before: datetime, shape: str, future: bool) -> None:
    when = (fetched + timedelta(minutes=ahead) if future
            else before.replace(second=0, microsecond=0, tzinfo=HANOI))
    assert parse_date(_written(when, shape), HANOI, fetched) is None


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fetched=FETCH_TIMES, back=st.integers(-59, 20 * 365 * 24 * 60),
       shape=st.sampled_from(["dmy", "dmy_two_digit", "sa_ch", "vn_weekday_gmt7", "ampm"]),
       meta_ahead=st.integers(2 * 60, 2 * 365 * 24 * 60))
def test_whole_pages_a_future_meta_never_wins(fetched: datetime, back: int, shape: str,
                                              meta_ahead: int) -> None:
    """Through ``extract`` (meta, dateline, htmldate): a meta date after the window is never
    the published date; the visible dateline is."""
    when = fetched - timedelta(minutes=back)
    assume(when.year >= 1990)
    meta = (fetched + timedelta(minutes=meta_ahead)).isoformat()
    html = _page(_written(when, shape), f'<meta property="article:published_time" '
                 f'content="{meta}">')
    result = extract(html.encode(), URL, fetched=fetched)
    assert result is not None
    assert datetime.fromisoformat(result.published) == when


# -- self-found kinds -----------------------------------------------------------------------
@pytest.mark.parametrize(("dateline", "published"), [
    # scrapinghub/dateparser#528: hours written with an "h"
    ("14h30 ngày 25/3/2024", "2024-03-25T14:30:00+07:00"),
    ("Cập nhật lúc 9h05 ngày 26/03/2024", "2024-03-26T09:05:00+07:00"),
    ("08h30 - 26/03/2024 (GMT+7)", "2024-03-26T08:30:00+07:00"),
])
def test_hours_written_with_h(dateline: str, published: str) -> None:
    result = extract(_page(dateline).encode(), URL, fetched=FETCHED)
    assert result is not None
    assert datetime.fromisoformat(result.published) == datetime.fromisoformat(published)


def test_minus_zero_offset_is_utc_not_the_sites_zone() -> None:
    """scrapinghub/dateparser#458: ``-0000`` (RFC 5322: UTC, local zone unknown)."""
    head = '<meta property="article:published_time" content="Mon, 25 Mar 2024 07:30:00 -0000">'
    result = extract(_page("", head).encode(), URL, fetched=FETCHED)
    assert result is not None
    assert datetime.fromisoformat(result.published) == datetime(2024, 3, 25, 14, 30,
                                                                tzinfo=HANOI)


@pytest.mark.parametrize("zero", ["0001-01-01 00:00:00 +0000 UTC", "1970-01-01T00:00:00Z",
                                  "Thu, 01 Jan 1970 00:00:00 GMT", "0000-00-00 00:00:00"])
def test_zero_dates_of_a_cms_give_way_to_the_dateline(zero: str) -> None:
    """devopsdays/devopsdays-web#1185 (Go's zero time in article:published_time),
    artsy/positron#333 (1970: a zero Unix time)."""
    head = f'<meta property="article:published_time" content="{zero}">'
    result = extract(_page("25/03/2024 14:30", head).encode(), URL, fetched=FETCHED)
    assert result is not None
    assert datetime.fromisoformat(result.published) == datetime(2024, 3, 25, 14, 30,
                                                                tzinfo=HANOI)
