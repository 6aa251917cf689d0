"""The hostile-site corpus: one real crawl of ``monitor.farm.hostile``, then one test per
kind of misbehaviour. Each asserts the crawl finished, the case is recorded once (URL and
a plain reason) or its article stored correctly, and nothing half-written is stored.
See docs/RELIABILITY.md."""

from __future__ import annotations

import os
import re
import threading
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crawler.spiders.news import MAX_CHILD_SITEMAPS
from monitor.extract import normalize_text
from monitor.extract.charset import header_charset, meta_charset
from monitor.farm.hostile import (
    ARTICLE_PATTERN,
    ARTICLES,
    CHARSET_CASES,
    CHILD_SITEMAP,
    FEEDS,
    HUGE_CHUNK,
    HUGE_PAGE,
    INDEX_SITEMAPS,
    OFFSITE_HOST,
    REDIRECT_TARGET,
    SITEMAPS,
    STORED,
    HostileSite,
)
from monitor.run import crawl
from monitor.store import Store

SETTINGS = {"DOWNLOAD_TIMEOUT": 2, "RETRY_TIMES": 1, "DOWNLOAD_MAXSIZE": 1_000_000}
MB = 1024 * 1024


@dataclass
class HostileRun:
    site: HostileSite
    run: dict[str, Any]
    errors: list[str]
    rows: dict[str, dict[str, Any]]
    seconds: float
    peak_rss: int | None  # bytes: the crawl process's peak resident memory (None: unknown)
    log: str = ""  # the crawl's log (Scrapy's LOG_FILE)

    def errors_for(self, path: str) -> list[str]:
        url = self.site.url(path)
        return [line for line in self.errors if line.startswith(url + ":")]


@contextmanager
def child_peak_rss() -> Iterator[dict[str, int]]:
    """Poll the peak resident memory (``VmHWM``) of this process's children while the
    block runs; yields {pid: bytes}. The crawl runs in such a child. Linux /proc only
    (empty elsewhere)."""
    peaks: dict[str, int] = {}
    done = threading.Event()

    def poll() -> None:
        me = str(os.getpid())
        while True:
            for pid in (p for p in os.listdir("/proc") if p.isdigit()):
                try:
                    stat = Path(f"/proc/{pid}/stat").read_text()
                    if stat.rpartition(")")[2].split()[1] != me:
                        continue
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            peaks[pid] = max(peaks.get(pid, 0), int(line.split()[1]) * 1024)
                except (OSError, IndexError, ValueError):  # gone meanwhile
                    continue
            if done.wait(0.05):
                return

    poller = threading.Thread(target=poll, daemon=True)
    if os.path.isdir("/proc/self"):
        poller.start()
    try:
        yield peaks
    finally:
        done.set()
        if poller.is_alive():
            poller.join()


def _crawl(site: HostileSite, tmp: Path, feeds: list[str], sitemaps: list[str],
           listings: list[str]) -> tuple[Any, float, int | None]:
    """Crawl the hostile site as one source; (result, seconds, peak RSS of the crawl)."""
    base = site.base_url

    def urls(paths: list[str]) -> str:
        return "[" + ", ".join(f"'{base}{path}'" for path in paths) + "]"

    config = tmp / "hostile.yaml"
    config.write_text(
        "sources:\n  - name: hostile\n    title: Hostile\n    language: en\n"
        f"    domains: ['{site.host}']\n    listings: {urls(listings)}\n"
        f"    feeds: {urls(feeds)}\n    sitemaps: {urls(sitemaps)}\n"
        f"    article_pattern: '{ARTICLE_PATTERN}'\n    download_delay: 0\n"
        "    profile: mofa\n", encoding="utf-8")
    started = time.monotonic()
    with child_peak_rss() as peaks:
        result = crawl(config, tmp / "hostile.db", alerts=None, timeout=120,
                       scrapy_settings={**SETTINGS, "LOG_FILE": str(tmp / "crawl.log")})
    return result, time.monotonic() - started, max(peaks.values(), default=None)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileRun]:
    tmp = tmp_path_factory.mktemp("hostile")
    with HostileSite() as site:
        result, seconds, peak = _crawl(site, tmp, list(FEEDS), list(SITEMAPS), ["/news"])
        store = Store(Path(result.db_path))
        try:
            rows = {row["url"]: row for row in store.articles()}
        finally:
            store.close()
        (run,) = result.runs
        errors = (run["error_detail"] or "").splitlines()
        log = (tmp / "crawl.log").read_text(encoding="utf-8", errors="replace")
        yield HostileRun(site, run, errors, rows, seconds, peak, log)


@pytest.fixture(scope="module")
def baseline_rss(tmp_path_factory: pytest.TempPathFactory) -> int | None:
    """Peak RSS of a small, harmless crawl (one feed, one article): what a crawl process
    costs before any hostile page."""
    with HostileSite() as site:
        result, _, peak = _crawl(site, tmp_path_factory.mktemp("baseline"),
                                 ["/feed/bad-dates.rss"], [], [])
    assert result.totals["new"] + result.totals["irrelevant"] + result.totals[
        "duplicate"] == 1
    return peak


def test_crawl_finishes_quickly_and_stores_the_good_articles(hostile: HostileRun) -> None:
    assert hostile.run["status"] == "finished"
    # not stalled: the crawl ended on its own inside its 120 s limit (a wall-clock bound
    # below that failed on a loaded machine: 46 s against 45); each slow endpoint was cut
    # at the 2 s download timeout (test_failing_case_is_recorded_once_and_nothing_stored)
    assert hostile.seconds < 120
    assert set(hostile.rows) == {hostile.site.url(path) for path in STORED}
    # every error line names a URL of the hostile site (or the offsite redirect target)
    assert all(line.startswith((hostile.site.base_url, f"http://{OFFSITE_HOST}:"))
               for line in hostile.errors)
    assert len(hostile.errors) == len(set(hostile.errors)) == hostile.run["errors"]


# -- failures: recorded once, nothing stored ----------------------------------------------
FAILING = {
    "/a/http-500": "HTTP 500",
    "/a/http-503": "HTTP 503",
    "/a/http-429": "HTTP 429",
    "/feed/missing.rss": "HTTP 404",
    "/a/redirect-spiral": "max redirections reached",
    "/a/reset-mid-body": "connection closed before the whole body arrived",
    "/a/truncated": "connection closed before the whole body arrived",
    "/a/slow-drip": "took longer than 2.0 seconds",
    "/a/big-page": "larger than download max size",
    "/a/huge-page": "larger than download max size (1000000); cancelled while the body streamed",
    "/a/gzip-bomb": "exceeded DOWNLOAD_MAXSIZE (1000000 B) during decompression",
    "/a/binary-as-html": "PNG bytes served as text/html",
    "/a/pdf-as-html": "PDF bytes served as text/html",
    "/a/redirect-loop": "refused: redirect loop (",
    "/a/empty": "no article text on the page",
    "/a/tag-page": "no article text on the page",
    "/feed/xml-bomb.rss": "feed refused: it declares XML entities",
    "/feed/xxe.rss": "feed refused: it declares XML entities",
    "/sitemap/xml-bomb.xml": "sitemap refused: it declares XML entities",
    "/feed/bad-dates.rss": "2 feed entries without a link skipped",
    "/sitemap/index-10000.xml": f"sitemap index lists {INDEX_SITEMAPS} sitemaps; "
                                f"followed the first {MAX_CHILD_SITEMAPS}",
}


@pytest.mark.parametrize(("path", "reason"), FAILING.items(), ids=list(FAILING))
def test_failing_case_is_recorded_once_and_nothing_stored(hostile: HostileRun, path: str,
                                                         reason: str) -> None:
    (line,) = hostile.errors_for(path)
    assert reason in line
    if path.startswith("/a/"):
        assert not [url for url in hostile.rows if url.startswith(hostile.site.url(path))]


def test_errors_are_retried_at_most_once(hostile: HostileRun) -> None:
    for path in ("/a/http-500", "/a/http-503", "/a/http-429", "/a/truncated"):
        assert hostile.site.hits(path) == 2, path  # RETRY_TIMES = 1


def test_retry_after_is_honoured(hostile: HostileRun) -> None:
    for path in ("/a/http-503", "/a/http-429"):  # both answer "Retry-After: 1"
        first, second = [t for t, p in hostile.site.times if p.split("?")[0] == path]
        assert second - first >= 0.9, path


def test_retry_after_values() -> None:
    from crawler.middlewares import retry_after_seconds

    assert retry_after_seconds(b"7") == 7.0
    assert retry_after_seconds(b"Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert retry_after_seconds(b"soon") is None and retry_after_seconds(None) is None


def test_redirect_spiral_is_bounded(hostile: HostileRun) -> None:
    assert hostile.site.hits("/r/spiral") <= 2 * 20  # REDIRECT_MAX_TIMES per attempt


def test_redirect_to_another_host_is_refused_and_recorded(hostile: HostileRun) -> None:
    (line,) = [line for line in hostile.errors if OFFSITE_HOST in line]
    assert "refused" in line
    assert not [url for url in hostile.rows if OFFSITE_HOST in url]


def test_redirect_loop_is_recorded_once_and_stores_nothing(hostile: HostileRun) -> None:
    # A → B → A: refused when B answers with A (crawler.middlewares.RedirectLoopMiddleware),
    # one line under A naming the whole chain; no request storm, nothing stored
    a, b = hostile.site.url("/a/redirect-loop"), hostile.site.url("/r/loop")
    assert hostile.errors_for("/a/redirect-loop") == [
        f"{a}: refused: redirect loop ({a} → {b} → back to {a})"]
    assert not hostile.errors_for("/r/loop")
    assert hostile.site.hits("/a/redirect-loop") == 1
    assert hostile.site.hits("/r/loop") == 1
    assert not [u for u in hostile.rows if "loop" in u]


def test_huge_streamed_page_is_cut_at_the_cap(hostile: HostileRun,
                                               baseline_rss: int | None) -> None:
    # 50 MB, chunked, no Content-Length: the cap can only trigger while the body streams
    (line,) = hostile.errors_for("/a/huge-page")
    assert "larger than download max size (1000000)" in line
    assert hostile.site.hits("/a/huge-page") == 1  # a cancelled download is not retried
    received = int(re.search(r"received (\d+) bytes", line).group(1))
    assert 1_000_000 < received < 1_000_000 + 2 * HUGE_CHUNK  # cut just past the cap
    # the server counts a write once it returns: the one in flight when the client hung
    # up is not counted, so "sent" may be a chunk or two short of "received"
    sent = hostile.site.sent["/a/huge-page"]
    assert 1_000_000 - 2 * HUGE_CHUNK < sent < 5 * MB < HUGE_PAGE
    if hostile.peak_rss is None or baseline_rss is None:
        pytest.skip("no /proc: peak RSS of the crawl process not measured")
    # the body was never buffered whole: the crawl process's peak stays well under
    # 50 MB above a harmless crawl's
    assert hostile.peak_rss < 250 * MB
    assert hostile.peak_rss - baseline_rss < 25 * MB, (hostile.peak_rss, baseline_rss)


def test_sitemap_index_fan_out_is_bounded(hostile: HostileRun) -> None:
    children = [p for p in hostile.site.requests if p.startswith(CHILD_SITEMAP)]
    assert len(children) == len(set(children)) == MAX_CHILD_SITEMAPS  # of 10,000 listed
    url = hostile.site.url("/sitemap/index-10000.xml")
    assert hostile.errors_for("/sitemap/index-10000.xml") == [
        f"{url}: sitemap index lists {INDEX_SITEMAPS} sitemaps; followed the first "
        f"{MAX_CHILD_SITEMAPS} (at most {MAX_CHILD_SITEMAPS} per crawl)"]
    assert not [line for line in hostile.errors if CHILD_SITEMAP in line]  # empty, not errors


# -- cases that succeed -------------------------------------------------------------------
def test_normal_article_stored(hostile: HostileRun) -> None:
    row = hostile.rows[hostile.site.url("/a/normal")]
    assert row["title"] == ARTICLES["/a/normal"].title
    assert "120 billion USD" in row["text"]


def test_redirect_chain_stores_the_final_article(hostile: HostileRun) -> None:
    row = hostile.rows[hostile.site.url(REDIRECT_TARGET)]
    assert row["title"] == ARTICLES[REDIRECT_TARGET].title
    assert not hostile.errors_for("/a/redirect-chain")
    assert hostile.site.hits("/r/chain-2") == 1


def test_malformed_html_with_nul_bytes_is_stored(hostile: HostileRun) -> None:
    row = hostile.rows[hostile.site.url("/a/malformed")]
    assert row["title"] == ARTICLES["/a/malformed"].title
    assert "Fulbright University Vietnam" in row["text"]
    assert "\0" not in row["text"] and "\0" not in row["title"]
    assert not hostile.errors_for("/a/malformed")


@pytest.mark.parametrize("path", list(CHARSET_CASES))
def test_charset_case_is_stored_with_exact_nfc_text(hostile: HostileRun, path: str) -> None:
    encoding, header, meta, form = CHARSET_CASES[path]
    body, content_type = hostile.site.encoded_article(path)
    # the site serves what the case says
    assert header_charset(content_type) == (header and header_charset(header))
    assert meta_charset(body) == (meta and header_charset(meta))
    if encoding == "windows-1258":
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
    if form == "mixed":
        assert unicodedata.normalize("NFC", body.decode("utf-8")) != body.decode("utf-8")
    # stored once, right, in NFC
    article = ARTICLES[path]
    row = hostile.rows[hostile.site.url(path)]
    assert row["title"] == unicodedata.normalize("NFC", article.title)
    assert row["text"].splitlines() == [normalize_text(p) for p in article.paragraphs]
    assert unicodedata.is_normalized("NFC", row["text"] + row["title"])
    assert "Hà Nội" in row["text"] and "Việt Nam" in row["title"] + row["text"]
    mojibake = ("Ã", "áº", "á»", "\ufffd")  # UTF-8 read as a Western code page; replacement
    assert not [m for m in mojibake if m in row["text"] + row["title"]]
    assert not hostile.errors_for(path)


def test_canonical_to_another_site_is_not_trusted(hostile: HostileRun) -> None:
    row = hostile.rows[hostile.site.url("/a/canonical-elsewhere")]
    assert row["title"] == ARTICLES["/a/canonical-elsewhere"].title
    assert not [url for url in hostile.rows if "evil.example" in url]


def test_feed_with_invalid_dates_still_yields_its_linked_article(hostile: HostileRun) -> None:
    row = hostile.rows[hostile.site.url("/a/from-feed")]
    assert row["title"] == ARTICLES["/a/from-feed"].title
    assert row["published"] == ARTICLES["/a/from-feed"].published.isoformat()


def test_robots_txt_disallowed_page_never_fetched(hostile: HostileRun) -> None:
    assert hostile.site.hits("/a/disallowed") == 0
    assert not hostile.errors_for("/a/disallowed")
    assert hostile.run["skipped"] == 1


def test_xml_entities_never_expanded_nor_read(hostile: HostileRun) -> None:
    stored = " ".join(row["text"] + row["title"] + row["url"] for row in hostile.rows.values())
    assert "root:" not in stored and "lollol" not in stored
    assert not [p for p in hostile.site.requests if "lol" in p or "root" in p]


def test_each_recorded_case_is_logged_once_as_an_error(hostile: HostileRun) -> None:
    """The crawl's log has one ERROR line per recorded case, the same line as in the run
    (Scrapy's own "Gave up retrying" is demoted to DEBUG: it had no reason for data loss)."""
    errors = [line for line in hostile.log.splitlines() if "] ERROR: " in line]
    assert len(errors) == len(hostile.errors)
    for recorded in hostile.errors:
        assert sum(line.endswith("] ERROR: " + recorded) for line in errors) == 1, recorded
