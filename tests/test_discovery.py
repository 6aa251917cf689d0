"""Discovery formats, by real Scrapy crawls of a real local server: gzip by magic bytes
(case02), RSS 1.0 rdf:about (case10), RSS 2.0, Atom, JSON Feed, Google News sitemaps,
feed autodiscovery, tracking parameters, unmatched links; and an exception inside each
parse step recorded with the run (which then does not end a clean ``finished``)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.run import crawl
from monitor.sources import discovery
from monitor.store import Store

from .conftest import REPO
from .sites import Site, article_html, serving, source_config

DATA = REPO / "tests" / "data" / "fieldcases"
CASE02 = DATA / "case02_sitemap-gz-content-encoding"
CASE10 = DATA / "case10_rss10-item-rdf-about"
A1 = "/news/dpm-receives-us-ambassador-1001.html"
A2 = "/news/trade-talks-continue-1002.html"


def _articles(site: Site, *paths: str) -> None:
    for n, path in enumerate(paths):
        site.add(path, article_html(f"Vietnam US story {n} {path.rsplit('/', 1)[-1]}"))


def _run(tmp_path: Path, config: Path, **kwargs) -> tuple[dict, set[str]]:
    result = crawl(config, tmp_path / "news.db", alerts=None, **kwargs)
    (run,) = result.runs
    store = Store(result.db_path)
    try:
        urls = {row["url"] for row in store.articles()}
    finally:
        store.close()
    return run, urls


# -- case02 and its kind: gzip decided by magic bytes, never by name -------------------------
def test_case02_child_sitemap_gz_served_with_content_encoding(tmp_path: Path) -> None:
    with serving() as site:
        site.add("/sitemap_index.xml", (CASE02 / "sitemap_index.xml").read_bytes(),
                 content_type="application/xml")
        # the .xml.gz file's gzip bytes, sent with Content-Encoding: gzip: Scrapy unpacks
        # them, so the spider receives plain XML at a URL ending in .gz
        site.add("/sitemaps/news-2024-03.xml.gz", (CASE02 / "news-2024-03.xml").read_bytes(),
                 content_type="application/x-gzip", gzip_wire=True)
        template = (CASE02 / "article.html").read_text(encoding="utf-8")
        for n, path in enumerate((A1, A2)):
            site.add(path, template.replace("{{TITLE}}", f"Vietnam US talks {n}"))
        run, urls = _run(tmp_path, source_config(tmp_path / "s.yaml", site,
                                                 sitemaps=["/sitemap_index.xml"]))
    assert urls == {site.base + A1, site.base + A2}
    assert run["status"] == "finished" and run["errors"] == 0


def test_gzip_by_magic_whatever_the_name_and_a_broken_gzip_is_a_recorded_error(
        tmp_path: Path) -> None:
    urlset = ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
              '<url><loc>{{BASE}}%s</loc></url></urlset>')
    with serving() as site:
        # gzip bytes at a name without .gz, no Content-Encoding
        urlset = urlset.replace("{{BASE}}", site.base)  # before gzip: the server cannot
        site.add("/sitemap-a.xml", gzip.compress((urlset % A1).encode()),
                 content_type="application/xml")
        # a real .xml.gz file (no Content-Encoding): unpacked by its magic bytes
        site.add("/sitemap-b.xml.gz", gzip.compress((urlset % A2).encode()),
                 content_type="application/octet-stream")
        # gzip magic, then garbage: unreadable, recorded with its URL
        site.add("/sitemap-c.xml.gz", b"\x1f\x8b\x08\x00garbage-not-deflate",
                 content_type="application/octet-stream")
        _articles(site, A1, A2)
        run, urls = _run(tmp_path, source_config(
            tmp_path / "s.yaml", site, sitemaps=["/sitemap-a.xml", "/sitemap-b.xml.gz",
                                                 "/sitemap-c.xml.gz"]))
    assert urls == {site.base + A1, site.base + A2}
    assert run["errors"] == 1
    assert run["error_detail"].startswith(f"{site.base}/sitemap-c.xml.gz: unreadable sitemap")


# -- feeds ---------------------------------------------------------------------------------
def test_case10_rss10_item_with_url_only_in_rdf_about(tmp_path: Path) -> None:
    with serving() as site:
        site.add("/rss/news.rdf", (CASE10 / "feed.rdf").read_bytes(),
                 content_type="application/rdf+xml")
        template = (CASE10 / "article.html").read_text(encoding="utf-8")
        for n, path in enumerate((A1, A2)):
            site.add(path, template.replace("{{TITLE}}", f"Vietnam US talks {n}"))
        run, urls = _run(tmp_path, source_config(tmp_path / "s.yaml", site,
                                                 feeds=["/rss/news.rdf"]))
    assert urls == {site.base + A1, site.base + A2}
    assert run["errors"] == 0 and run["status"] == "finished"


RSS2 = """<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>a</title><link>{{BASE}}/news/first-story-here-1001.html</link></item>
<item><title>b</title>
<guid isPermaLink="true">{{BASE}}/news/second-story-here-1002.html</guid></item>
<item><title>c</title><guid isPermaLink="false">12345</guid></item>
</channel></rss>"""
ATOM = """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>t</title><id>urn:x</id><updated>2024-03-25T10:00:00Z</updated>
<entry><title>a</title><id>{{BASE}}/news/third-story-here-1003.html</id>
<updated>2024-03-25T10:00:00Z</updated></entry>
<entry><title>b</title><id>urn:uuid:1</id>
<link rel="related" href="{{BASE}}/news/not-this-one-1009.html"/>
<link rel="alternate" type="text/html" href="{{BASE}}/news/fourth-story-here-1004.html"/>
<updated>2024-03-25T10:00:00Z</updated></entry></feed>"""
JSONFEED = json.dumps({
    "version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [
        {"id": "1", "url": "{{BASE}}/news/fifth-story-here-1005.html", "title": "e",
         "date_published": "2024-03-25T14:30:00+07:00"},
        {"id": "{{BASE}}/news/sixth-story-here-1006.html", "title": "f"},
        {"id": "2", "external_url": "{{BASE}}/news/seventh-story-here-1007.html"}]})


def test_rss2_atom_and_json_feed_entry_urls(tmp_path: Path) -> None:
    paths = [f"/news/{w}-story-here-100{n}.html" for n, w in enumerate(
        ["first", "second", "third", "fourth", "fifth", "sixth", "seventh"], start=1)]
    with serving() as site:
        site.add("/rss.xml", RSS2, content_type="application/rss+xml")
        site.add("/atom.xml", ATOM, content_type="application/atom+xml")
        site.add("/feed.json", JSONFEED, content_type="application/feed+json")
        _articles(site, *paths, "/news/not-this-one-1009.html")
        run, urls = _run(tmp_path, source_config(tmp_path / "s.yaml", site,
                                                 feeds=["/rss.xml", "/atom.xml", "/feed.json"]))
    assert urls == {site.base + p for p in paths}
    # the RSS item whose guid is not a URL has no link: one error line, nothing else
    assert run["errors"] == 1 and "1 feed entries without a link" in run["error_detail"]


def test_entry_url_order() -> None:
    base = "https://x.vn/rss"
    assert discovery.entry_url({"link": "/a-1", "id": "https://x.vn/b-2"}, base) == \
        "https://x.vn/a-1"
    assert discovery.entry_url({"id": "https://x.vn/b-2"}, base) == "https://x.vn/b-2"
    assert discovery.entry_url({"id": "tag:x.vn,2024:1", "links": [
        {"rel": "enclosure", "href": "/img.jpg"},
        {"rel": "alternate", "href": "/c-3"}]}, base) == "https://x.vn/c-3"
    assert discovery.entry_url({"id": "urn:1", "link": "javascript:void(0)"}, base) is None
    assert discovery.entry_url({"link": "http://[::1"}, base) is None


# -- Google News sitemaps ------------------------------------------------------------------
NEWS = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>{{BASE}}/news/fresh-story-about-talks-1001.html</loc><news:news>
 <news:publication><news:name>X</news:name><news:language>en</news:language></news:publication>
 <news:publication_date>%s</news:publication_date><news:title>Fresh talks</news:title>
</news:news></url>
<url><loc>{{BASE}}/news/stale-story-about-talks-1002.html</loc><news:news>
 <news:publication><news:name>X</news:name><news:language>vi</news:language></news:publication>
 <news:publication_date>2020-01-02T08:00:00+07:00</news:publication_date>
 <news:title>Old talks</news:title></news:news></url>
</urlset>"""


def test_google_news_sitemap_hints_read_and_stale_urls_skipped(tmp_path: Path) -> None:
    fresh = (datetime.now(UTC) - timedelta(hours=2)).isoformat(timespec="seconds")
    doc = discovery.parse_sitemap((NEWS % fresh).encode())
    assert [(e.title, e.language) for e in doc.entries] == [("Fresh talks", "en"),
                                                            ("Old talks", "vi")]
    assert doc.entries[1].published == "2020-01-02T01:00:00+00:00"
    with serving() as site:
        site.add("/news-sitemap.xml", NEWS % fresh, content_type="application/xml")
        _articles(site, "/news/fresh-story-about-talks-1001.html",
                  "/news/stale-story-about-talks-1002.html")
        run, urls = _run(tmp_path, source_config(tmp_path / "s.yaml", site,
                                                 sitemaps=["/news-sitemap.xml"]),
                         scrapy_settings={"NEWSWATCH_STALE_AFTER": 72})
    assert urls == {site.base + "/news/fresh-story-about-talks-1001.html"}
    assert "/news/stale-story-about-talks-1002.html" not in site.hits
    assert run["errors"] == 0


# -- listings: autodiscovery, tracking parameters, unmatched links -------------------------
LISTING = """<html><head><title>News</title>
<link rel="alternate" type="application/atom+xml" title="All news" href="/hidden/feed.atom">
<link rel="alternate" type="application/rss+xml" href="http://elsewhere.example/rss">
<link rel="alternate" hreflang="vi" href="/vi/">
</head><body>
<a href="/news/shared-on-zalo-story-1001.html?zarsrc=30&amp;utm_source=zalo&amp;gidzl=AbC-12">z</a>
<a href="/news/shared-on-facebook-story-1002.html?fbclid=IwAR0xyz">f</a>
<a href="/tin-tuc/a-story-in-a-new-url-scheme-20240325.htm">new scheme 1</a>
<a href="/tin-tuc/another-story-in-the-new-scheme-20240326.htm">new scheme 2</a>
<a href="/about">about</a><a href="http://[::1">broken</a>
</body></html>"""
HIDDEN_ATOM = """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>t</title><id>urn:x</id><updated>2024-03-25T10:00:00Z</updated>
<entry><title>h</title><id>urn:h</id><link href="{{BASE}}/news/only-in-hidden-feed-1003.html"/>
<updated>2024-03-25T10:00:00Z</updated></entry></feed>"""


def test_listing_autodiscovers_feeds_drops_tracking_and_counts_unmatched(
        tmp_path: Path) -> None:
    stored = ["/news/shared-on-zalo-story-1001.html", "/news/shared-on-facebook-story-1002.html",
              "/news/only-in-hidden-feed-1003.html"]
    with serving() as site:
        site.add("/news", LISTING)
        site.add("/hidden/feed.atom", HIDDEN_ATOM, content_type="application/atom+xml")
        _articles(site, *stored)
        db = tmp_path / "news.db"
        result = crawl(source_config(tmp_path / "s.yaml", site, listings=["/news"]), db,
                       alerts=None)
    (run,) = result.runs
    store = Store(db)
    try:
        urls = {row["url"] for row in store.articles()}
        signals = json.loads(store.db.execute(
            "select signals from health_runs where run_id = ?", [run["id"]]).fetchone()[0])
    finally:
        store.close()
    assert urls == {site.base + p for p in stored}  # clean URLs, hidden feed followed
    assert not any("zarsrc" in hit or "fbclid" in hit for hit in site.hits
                   if hit.startswith("/news/"))
    assert signals["feeds_autodiscovered"] == 1 and signals["unmatched"] == 2
    assert signals["unmatched_examples"] == [
        site.base + "/tin-tuc/a-story-in-a-new-url-scheme-20240325.htm",
        site.base + "/tin-tuc/another-story-in-the-new-scheme-20240326.htm"]
    # the malformed link is one error line; the rest of the page was read
    assert run["errors"] == 1 and "malformed link skipped" in run["error_detail"]
    assert run["status"] == "finished"


def test_drop_tracking_keeps_identity_parameters() -> None:
    url = "https://x.vn/a-1.html?id=7&zarsrc=30&utm_medium=z&gidzl=Q-1&page=2&fbclid=z"
    assert discovery.drop_tracking(url) == "https://x.vn/a-1.html?id=7&page=2"
    assert discovery.drop_tracking("https://x.vn/a-1.html") == "https://x.vn/a-1.html"
    assert discovery.looks_like_article("https://x.vn/thoi-su/mot-bai-bao-moi-nhat.htm")
    assert discovery.looks_like_article("https://x.vn/p/1234567")
    assert not discovery.looks_like_article("https://x.vn/thoi-su/latest")


# -- an exception inside each parse step: recorded, the run not clean ----------------------
INJECT = '''
import os, sys
sys.path.insert(0, {repo!r})
from monitor.sources import discovery
STEP = os.environ.get("NW_INJECT")

def _boom(*args, **kwargs):
    raise RuntimeError("injected fault in the " + STEP + " step")

if STEP == "feed":
    discovery.parse_feed = _boom
elif STEP == "sitemap":
    discovery.parse_sitemap = _boom
elif STEP == "listing":
    discovery.autodiscover = _boom

if __name__ == "__main__":
    import json
    from monitor.run.crawl import crawl
    result = crawl(sys.argv[1], sys.argv[2], alerts=None)
    print(json.dumps(result.runs))
'''


@pytest.mark.parametrize("step,path", [("feed", "/rss.xml"), ("sitemap", "/sitemap.xml"),
                                       ("listing", "/news")])
def test_exception_inside_each_parse_step_is_recorded_and_run_not_clean(
        tmp_path: Path, step: str, path: str) -> None:
    script = tmp_path / "inject.py"  # patches the child crawl process too (spawn re-imports)
    script.write_text(INJECT.format(repo=str(REPO)), encoding="utf-8")
    with serving() as site:
        site.add("/rss.xml", RSS2, content_type="application/rss+xml")
        site.add("/sitemap.xml", '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                 "<url><loc>{{BASE}}/news/first-story-here-1001.html</loc></url></urlset>",
                 content_type="application/xml")
        site.add("/news", LISTING)
        _articles(site, "/news/first-story-here-1001.html")
        config = source_config(tmp_path / "s.yaml", site, feeds=["/rss.xml"],
                               sitemaps=["/sitemap.xml"], listings=["/news"])
        done = subprocess.run([sys.executable, str(script), str(config),
                               str(tmp_path / "news.db")], capture_output=True, text=True,
                              env={**os.environ, "NW_INJECT": step}, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    (run,) = json.loads(done.stdout.strip().splitlines()[-1])
    assert run["status"] == "partial: 1 parse step(s) failed"
    line = (f"{site.base}{path}: {step} parse failed: RuntimeError: injected fault in the "
            f"{step} step")
    assert line in run["error_detail"].splitlines()


def test_gzip_feeds_by_magic_and_the_unpack_cap(tmp_path: Path) -> None:
    with pytest.raises(discovery.UnreadableGzip, match="larger than 1000 bytes"):
        discovery.maybe_gunzip(gzip.compress(b"<rss>" + b" " * 100_000), max_size=1000)
    assert discovery.maybe_gunzip(b"<rss/>") == b"<rss/>"  # not gzip: as it came
    with serving() as site:
        site.add("/rss.gz", gzip.compress(RSS2.replace("{{BASE}}", site.base).encode()),
                 content_type="application/octet-stream")
        site.add("/broken.rss", b"\x1f\x8b\x08\x00\x00\x00", content_type="application/rss+xml")
        _articles(site, "/news/first-story-here-1001.html", "/news/second-story-here-1002.html")
        run, urls = _run(tmp_path, source_config(tmp_path / "s.yaml", site,
                                                 feeds=["/rss.gz", "/broken.rss"]))
    assert urls == {site.base + "/news/first-story-here-1001.html",
                    site.base + "/news/second-story-here-1002.html"}
    assert f"{site.base}/broken.rss: unreadable feed: gzip magic bytes but unreadable" in \
        run["error_detail"]
    assert run["status"] == "finished"  # unreadable is an error line, not a raised step
