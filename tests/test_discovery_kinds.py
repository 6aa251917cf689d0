"""Field cases 18 (a sitemap's page <loc> after an extension's <image:loc>), 19 (a feed
item's date with a zone abbreviation, without a zone, on a 12-hour clock) and 21 (session
IDs in article links), by real Scrapy crawls of a real local server, and more inputs of
the same kinds; a differential property test of sitemap reading against Scrapy's
``scrapy.utils.sitemap.Sitemap`` (ultimate-sitemap-parser is not a dependency)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scrapy.utils.sitemap import Sitemap

from monitor.run import crawl
from monitor.sources import canonicalize, discovery
from monitor.sources.urls import drop_session
from monitor.store import Store

from .conftest import REPO
from .sites import Site, serving, source_config

DATA = REPO / "tests" / "data" / "fieldcases"
CASE18 = DATA / "case18_sitemap-image-loc-first"
CASE19 = DATA / "case19_feed-date-zone-hints"
CASE21 = DATA / "case21_session-id-in-urls"
HANOI = timezone(timedelta(hours=7))
PUBLISHED = datetime(2024, 3, 25, 14, 30, tzinfo=HANOI)
SM = "http://www.sitemaps.org/schemas/sitemap/0.9"
IMAGE = "http://www.google.com/schemas/sitemap-image/1.1"
NEWS = "http://www.google.com/schemas/sitemap-news/0.9"
VIDEO = "http://www.google.com/schemas/sitemap-video/1.1"
XHTML = "http://www.w3.org/1999/xhtml"


def _template(path: Path, **values: str) -> str:
    text = path.read_text(encoding="utf-8")
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    return text


def _stored(db: Path) -> list[dict]:
    store = Store(db)
    try:
        return store.articles()
    finally:
        store.close()


# -- case18 and its kind: the page URL is the sitemap's own <loc>, never an extension's -----
def test_case18_image_loc_before_the_page_loc(tmp_path: Path) -> None:
    paths = ["/news/dpm-receives-us-ambassador-1001.html", "/news/trade-talks-continue-1002.html"]
    with serving() as site:
        for name in ("sitemap_image_first.xml", "sitemap_news_image_first.xml"):
            site.add(f"/{name}", (CASE18 / name).read_bytes(), content_type="application/xml")
        for n, path in enumerate(paths):
            site.add(path, _template(CASE18 / "article.html", TITLE=f"Vietnam US talks {n}",
                                     PUBLISHED=PUBLISHED.isoformat()))
        result = crawl(source_config(tmp_path / "s.yaml", site, sitemaps=[
            "/sitemap_image_first.xml", "/sitemap_news_image_first.xml"]),
            tmp_path / "news.db", alerts=None)
    (run,) = result.runs
    assert {row["url"] for row in _stored(result.db_path)} == {site.base + p for p in paths}
    assert not [hit for hit in site.hits if hit.startswith("/photos/")]
    assert run["errors"] == 0 and run["status"] == "finished"


def _urlset(*urls: str, root: str = f'<urlset xmlns="{SM}" xmlns:image="{IMAGE}" '
            f'xmlns:news="{NEWS}" xmlns:video="{VIDEO}" xmlns:xhtml="{XHTML}">',
            close: str = "</urlset>") -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>' + root + "".join(urls) + close).encode()


PAGE = "https://example.vn/thoi-su/bai-viet-1001.html"
PHOTO = "https://cdn.example.vn/anh/1001.jpg"


@pytest.mark.parametrize("entry", [
    # video block (with its own content_loc/player_loc and title) first
    f"<url><video:video><video:content_loc>{PHOTO}.mp4</video:content_loc><video:player_loc>"
    f"{PHOTO}.html</video:player_loc><video:title>Clip</video:title></video:video>"
    f"<loc>{PAGE}</loc></url>",
    # hreflang alternates first (crawler-commons/crawler-commons#149)
    f'<url><xhtml:link rel="alternate" hreflang="en" href="{PHOTO}.en"/><loc>{PAGE}</loc></url>',
    # lastmod, changefreq, priority before the loc
    f"<url><lastmod>2024-03-25</lastmod><changefreq>daily</changefreq><priority>0.5</priority>"
    f"<loc>{PAGE}</loc></url>",
    # an image:loc written straight under <url> (no image:image wrapper)
    f"<url><image:loc>{PHOTO}</image:loc><loc>{PAGE}</loc></url>",
    # an empty <loc> first, then the real one
    f"<url><loc>  </loc><image:image><image:loc>{PHOTO}</image:loc></image:image>"
    f"<loc>{PAGE}</loc></url>",
])
def test_the_page_loc_wherever_it_stands_among_extension_children(entry: str) -> None:
    doc = discovery.parse_sitemap(_urlset(entry))
    assert [e.url for e in doc.entries] == [PAGE]


@pytest.mark.parametrize(("root", "close", "loc"), [
    (f'<sm:urlset xmlns:sm="{SM}" xmlns:image="{IMAGE}">', "</sm:urlset>", "sm:loc"),
    ('<urlset xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">', "</urlset>", "loc"),
    (f'<urlset xmlns="{SM.replace("http:", "https:")}" xmlns:image="{IMAGE}">', "</urlset>",
     "loc"),
])
def test_prefixed_missing_or_variant_sitemap_namespace(root: str, close: str, loc: str) -> None:
    url = "sm:url" if loc.startswith("sm:") else "url"
    entry = (f"<{url}><image:image><image:loc>{PHOTO}</image:loc></image:image>"
             f"<{loc}>{PAGE}</{loc}></{url}>")
    doc = discovery.parse_sitemap(_urlset(entry, root=root, close=close))
    assert [e.url for e in doc.entries] == [PAGE]


def test_news_hints_from_the_news_block_never_from_image_or_video_titles() -> None:
    entry = (f"<url><image:image><image:loc>{PHOTO}</image:loc><image:title>Photo title"
             f"</image:title></image:image><video:video><video:title>Clip title</video:title>"
             f"</video:video><news:news><news:publication><news:name>X</news:name>"
             f"<news:language>vi</news:language></news:publication><news:publication_date>"
             f"2024-03-25T14:30:00</news:publication_date><news:title>News title</news:title>"
             f"</news:news><loc>{PAGE}</loc></url>")
    (found,) = discovery.parse_sitemap(_urlset(entry), "+07:00").entries
    assert (found.title, found.language) == ("News title", "vi")
    # a publication date without a zone is in the source's zone
    assert datetime.fromisoformat(found.published) == PUBLISHED


@pytest.mark.parametrize("space", ["\n      ", "\u00a0", "\u200b", "\ufeff", "\u3000 \u200b"])
def test_unicode_and_zero_width_space_around_loc(space: str) -> None:
    """crawler-commons/crawler-commons#224, ArchiveTeam/wpull#491: <loc> padded with
    Unicode white space or zero-width characters."""
    doc = discovery.parse_sitemap(_urlset(f"<url><loc>{space}{PAGE}{space}</loc>"
                                          f"<lastmod>{space}2024-03-25{space}</lastmod></url>"))
    assert [e.url for e in doc.entries] == [PAGE]
    assert doc.lastmods == {PAGE: "2024-03-25"}


# generated sitemaps: children in any order, default or prefixed namespace, padding
_CHILDREN = {
    "lastmod": "<{p}lastmod>2024-03-2{n}T10:00:00+07:00</{p}lastmod>",
    "changefreq": "<{p}changefreq>hourly</{p}changefreq>",
    "image": "<image:image><image:loc>https://cdn.example.vn/p/{n}.jpg</image:loc>"
             "<image:title>Photo {n}</image:title></image:image>",
    "image2": "<image:image><image:loc>https://cdn.example.vn/q/{n}.png</image:loc>"
              "</image:image>",
    "news": "<news:news><news:publication><news:name>Ví Dụ</news:name><news:language>vi"
            "</news:language></news:publication><news:publication_date>2024-03-2{n}T08:00:00"
            "+07:00</news:publication_date><news:title>Tin {n}</news:title></news:news>",
    "video": "<video:video><video:content_loc>https://cdn.example.vn/v/{n}.mp4"
             "</video:content_loc><video:title>Clip {n}</video:title></video:video>",
    "xhtml": '<xhtml:link rel="alternate" hreflang="en" href="https://example.vn/en/{n}"/>',
}


@st.composite
def _sitemaps(draw: st.DrawFn) -> tuple[bytes, list[str], list[str | None]]:
    prefixed = draw(st.booleans())
    p = "sm:" if prefixed else ""
    declare = f'xmlns:sm="{SM}"' if prefixed else f'xmlns="{SM}"'
    pads = st.sampled_from(["", " ", "\n    ", "\t", "\r\n  "])
    urls, titles, entries = [], [], []
    for n in range(draw(st.integers(1, 4))):
        url = f"https://example.vn/thoi-su/tin-so-{n}-{draw(st.integers(1000, 99999))}.html"
        extras = draw(st.lists(st.sampled_from(sorted(_CHILDREN)), unique=True, max_size=7))
        children = [f"<{p}loc>{draw(pads)}{url}{draw(pads)}</{p}loc>"]
        children += [_CHILDREN[name].format(p=p, n=n) for name in extras]
        order = draw(st.permutations(range(len(children))))
        entries.append(f"<{p}url>{draw(pads)}" + draw(pads).join(children[i] for i in order)
                       + f"</{p}url>")
        urls.append(url)
        titles.append(f"Tin {n}" if "news" in extras else None)
    body = _urlset(*entries, root=f'<{p}urlset {declare} xmlns:image="{IMAGE}" '
                   f'xmlns:news="{NEWS}" xmlns:video="{VIDEO}" xmlns:xhtml="{XHTML}">',
                   close=f"</{p}urlset>")
    return body, urls, titles


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sitemaps())
def test_generated_sitemaps_read_like_scrapy_and_as_written(
        generated: tuple[bytes, list[str], list[str | None]]) -> None:
    body, urls, titles = generated
    doc = discovery.parse_sitemap(body)
    reference = [entry["loc"] for entry in Sitemap(body)]
    assert [e.url for e in doc.entries] == reference == urls
    assert [e.title for e in doc.entries] == titles


# -- case19 and its kind: a feed item's date read with its zone, or the source's ------------
def test_case19_feed_dates_stored_at_the_right_instant(tmp_path: Path) -> None:
    paths = ["/news/customs-talks-ict-1001.html", "/news/customs-talks-naive-1002.html",
             "/news/customs-talks-pm-1003.html"]
    with serving() as site:
        site.add("/rss.xml", (CASE19 / "feed.rss").read_bytes(),
                 content_type="application/rss+xml")
        for n, path in enumerate(paths):
            site.add(path, _template(CASE19 / "article_no_date.html",
                                     TITLE=f"Customs talks {n}"))
        result = crawl(source_config(tmp_path / "s.yaml", site, feeds=["/rss.xml"]),
                       tmp_path / "news.db", alerts=None)
    (run,) = result.runs
    rows = {row["url"]: row["published"] for row in _stored(result.db_path)}
    assert set(rows) == {site.base + p for p in paths}
    assert {url: datetime.fromisoformat(when) for url, when in rows.items()} == {
        site.base + p: PUBLISHED for p in paths}
    assert run["errors"] == 0


@pytest.mark.parametrize("written", [
    "Mon, 25 Mar 2024 14:30:00 ICT",          # case19: a zone abbreviation
    "2024-03-25 14:30:00",                    # case19: no zone: the source's
    "Mon, 25 Mar 2024 02:30 PM +0700",        # case19: 12-hour clock
    "Mon, 25 Mar 2024 14:30:00 GMT+7",
    "Mon, 25 Mar 2024 14:30 GMT+07:00",
    "25/03/2024 14:30",                       # day-first, no zone
    "25/03/2024 02:30 PM",
    "Mon, 25 Mar 2024 03:30:00 EDT",          # mmcdole/gofeed#94: a US abbreviation
    "Mon, 25 Mar 2024 07:30:00 -0000",        # scrapinghub/dateparser#458: -0000 is UTC
    "2024-03-25T14:30:00",                    # W3C datetime without its zone
    "Mon, 25 Mar 2024 07:30:00 GMT",          # the control: feedparser's own reading
    "2024-03-25T07:30:00Z",
])
def test_feed_dates_in_the_shapes_feeds_write_them(written: str) -> None:
    feed = ("<rss version='2.0'><channel><title>t</title><item><title>a</title>"
            f"<link>https://example.vn/a-1001.html</link><pubDate>{written}</pubDate></item>"
            "</channel></rss>").encode()
    (entry,) = discovery.parse_feed(feed, "https://example.vn/", "+07:00").entries
    assert entry.published is not None
    assert datetime.fromisoformat(entry.published) == PUBLISHED


@pytest.mark.parametrize("doc", [
    '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><title>a</title>'
    '<link href="https://example.vn/a-1001.html"/><updated>2024-03-25T14:30:00</updated>'
    "</entry></feed>",
    '{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [{"id": "1", '
    '"url": "https://example.vn/a-1001.html", "date_published": "2024-03-25T14:30:00"}]}',
])
def test_atom_and_json_feed_dates_without_a_zone_are_the_sources(doc: str) -> None:
    (entry,) = discovery.parse_feed(doc.encode(), "https://example.vn/", "+07:00").entries
    assert datetime.fromisoformat(entry.published) == PUBLISHED


@pytest.mark.parametrize("written", ["Mon, 25 Mar 2124 14:30:00 +0700", "1970-01-01T00:00:00Z",
                                     "not a date", ""])
def test_feed_dates_outside_the_window_or_unreadable_are_none(written: str) -> None:
    assert discovery.entry_date(written, tz="+07:00") is None


def test_feed_date_a_few_minutes_ahead_of_now_is_kept() -> None:
    ahead = datetime.now(UTC) + timedelta(minutes=5)
    found = discovery.entry_date(ahead.isoformat(timespec="seconds"))
    assert found and abs(datetime.fromisoformat(found) - ahead) < timedelta(seconds=1)


# -- case21 and its kind: session IDs are no part of an article's URL ----------------------
ARTICLES = {
    "/vi/tin-tuc/thu-truong-tiep-dai-su-1001.html": ";jsessionid={SID}",
    "/vi/tin-tuc/khac-phuc-hau-qua-chien-tranh-1003.html": "?PHPSESSID={SID}",
    # more of the kind: an ASP.NET cookieless session path, phpBB's sid, a SID upper case
    "/vi/tin-tuc/hop-tac-ban-dan-1005.html": "/(S({sid}))",
    "/vi/tin-tuc/giao-duc-dai-hoc-1007.html": "?sid={sid}",
    "/vi/tin-tuc/nang-luong-sach-1009.html": ";JSESSIONID={SID}.node01",
}


def _link(path: str, session: str, sid: str) -> str:
    spelled = session.format(SID=sid.upper(), sid=sid)
    if spelled.startswith("/("):
        return spelled + path
    return (path + spelled) if spelled.startswith(";") else path + spelled


def _serve_crawl(site: Site, sid: str) -> None:
    listing = _template(CASE21 / "listing_template.html", SID=sid.upper())
    extra = "".join(f'<li><a href="{_link(path, session, sid)}">x</a></li>'
                    for path, session in list(ARTICLES.items())[2:])
    site.add("/vi/tin-tuc", listing.replace("</ul>", extra + "</ul>"))
    for n, (path, session) in enumerate(ARTICLES.items()):
        page = _template(CASE21 / "article.html", TITLE=f"Tin số {n}", FIRST=(
            f"Đoạn mở đầu riêng của bài số {n} về quan hệ Việt Nam - Hoa Kỳ."),
            PUBLISHED=PUBLISHED.isoformat())
        link = _link(path, session, sid)
        site.add(path, page)  # the server answers with or without the session part
        site.add(link.split("?")[0], page)


@pytest.mark.parametrize("pattern", [r"-\d+\.html$", r"/vi/tin-tuc/[a-z0-9-]+-\d+\.html"],
                         ids=["anchored", "unanchored"])
def test_case21_session_ids_two_crawls_one_row_per_article(tmp_path: Path, pattern: str) -> None:
    db = tmp_path / "news.db"
    runs = []
    with serving() as site:
        config = source_config(tmp_path / "s.yaml", site, listings=["/vi/tin-tuc"],
                               pattern=pattern)
        for _ in range(2):
            _serve_crawl(site, secrets.token_hex(16))  # a new session at each crawl
            runs.extend(crawl(config, db, alerts=None).runs)
    rows = [row["url"] for row in _stored(db)]
    assert sorted(rows) == sorted(site.base + path for path in ARTICLES)
    assert all(run["errors"] == 0 for run in runs), [run["error_detail"] for run in runs]
    assert not [hit for hit in site.hits if "%3B" in hit.upper()]


@pytest.mark.parametrize(("url", "clean"), [
    ("https://x.vn/a-1001.html;jsessionid=8F3A2B", "https://x.vn/a-1001.html"),
    ("https://x.vn/a-1001.html;JSESSIONID=8F3A2B.node0?id=2", "https://x.vn/a-1001.html?id=2"),
    ("https://x.vn/a-1001.html?PHPSESSID=k3j4h5&id=2", "https://x.vn/a-1001.html?id=2"),
    ("https://x.vn/a-1001.html?ASPSESSIONIDQARTDCBS=KLMNOP", "https://x.vn/a-1001.html"),
    ("https://x.vn/(S(lit3py55t21z5v55vlm25s55))/vi/a-1001.html", "https://x.vn/vi/a-1001.html"),
    ("https://x.vn/(X(1)S(lit3py55t21z5v55vlm25s55))/a-1001.html", "https://x.vn/a-1001.html"),
    ("https://x.vn/forum/t.php?t=7&sid=0f3a9c2b7d1e4f5a6b7c8d9e0f1a2b3c",
     "https://x.vn/forum/t.php?t=7"),
    ("https://x.vn/a.php?CFID=123&CFTOKEN=4567&id=9", "https://x.vn/a.php?id=9"),
])
def test_session_ids_dropped_from_canonical_urls(url: str, clean: str) -> None:
    assert canonicalize(url) == clean
    assert canonicalize(clean) == clean


@pytest.mark.parametrize("url", [
    "https://x.vn/story.php?sid=12345",           # a story id, not a session
    "https://x.vn/search?s=vietnam",              # a search word
    "https://x.vn/a-1001.html;v=2",               # a path parameter that is not a session
    "https://x.vn/wiki/Hanoi_(city)",
])
def test_identity_parameters_and_path_parameters_kept(url: str) -> None:
    assert drop_session(url) == url
    assert canonicalize(url).replace("%28", "(").replace("%29", ")") == url


# -- self-found kinds -----------------------------------------------------------------------
SITEMAP = ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="' + SM + '"><url><loc>'
           + PAGE + "</loc></url></urlset>")


@pytest.mark.parametrize("before", [
    "<br />\n<b>Notice</b>: Undefined index: lang in /var/www/sitemap.php on line 7<br />\n",
    "\n\n   ",
    "\ufeff",
])
@pytest.mark.parametrize("declared", [True, False])
def test_output_before_the_sitemap_document_is_skipped(before: str, declared: bool) -> None:
    """evert/sitemap-php#21, dwightwatson/sitemap#33: a PHP notice or blank lines before
    the XML declaration (or before <urlset> when there is none)."""
    body = SITEMAP if declared else SITEMAP.split("?>", 1)[1]
    assert [e.url for e in discovery.parse_sitemap((before + body).encode()).entries] == [PAGE]


def test_a_page_that_is_not_a_sitemap_is_still_an_error() -> None:
    with pytest.raises(ValueError, match="not a sitemap"):
        discovery.parse_sitemap(b"<html><body><p>Notice</p><urlset></urlset></body></html>")


@pytest.mark.parametrize("links", [
    # kurtmckee/feedparser#367: a link without href (its URL as text) before the alternate
    '<link rel="enclosure" type="image/jpeg">https://cdn.example.vn/p.jpg</link>'
    '<link rel="alternate" type="text/html" href="{url}"/>',
    '<link rel="self" href="https://example.vn/feed/1"/><link rel="alternate" href="{url}"/>',
    '<link rel="enclosure" href="https://cdn.example.vn/c.mp3"/><link href="{url}"/>',
    '<link rel="edit" href="https://example.vn/api/1"/><link rel="alternate" type="text/html" '
    'href="{url}"/>',
])
def test_atom_entry_url_is_its_alternate_link_never_an_enclosure(links: str) -> None:
    body = (f'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>urn:1</id>'
            f"<title>a</title>{links.format(url=PAGE)}</entry></feed>").encode()
    assert [e.url for e in discovery.parse_feed(body, "https://example.vn/f.atom").entries] == [
        PAGE]
