"""The ledger of a crawl run (crawler.ledger): every discovered link and every article
request ends under a named outcome, the identities hold, and people see what was lost.

The fuzzed site serves feeds, sitemaps and listings generated from a seed, with the
malformed inputs reported against crawlers (links without a URL, unparsable hosts and
ports, off-site and overlong links, duplicates under other URL forms, broken XML), and
article URLs that answer in every way a page can fail (404, 500, binary bytes, no text,
a redirect off-site, a redirect onto a page already fetched). Real crawls
(monitor.run.crawl) of real HTTP servers on 127.0.0.0/8."""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from crawler.ledger import LINK_OUTCOMES, PAGE_OUTCOMES, check, dropped, merge, summary

ARTICLE = ("<html><head><title>Story {n}</title></head><body><article><h1>Story {n}</h1>"
           + "<p>Viet Nam and the United States held talks on trade and security, the "
             "ministry said in a statement on story {n}.</p>" * 6 + "</article></body></html>")


def test_check_names_each_identity_that_does_not_hold() -> None:
    good = {"discovered": 5, "issued": 3, "rechecked": 1, "settled": 0,
            "links": {"requested": 2, "seen": 3}, "pages": {"new": 2, "failed": 1}}
    assert check(good) == []
    assert "links discovered" in check({**good, "discovered": 6})[0]
    assert "issued" in check({**good, "issued": 4})[0]
    assert "with an outcome" in check({**good, "pages": {"new": 2}})[0]
    unfinished = {**good, "pages": {"new": 2, "unfinished": 1}}
    assert check(unfinished, finished=False) == []
    assert "unfinished in a finished run" in check(unfinished, finished=True)[0]
    assert summary(good) == "links 5: requested 2, seen 3; pages 3: new 2, failed 1"
    assert dropped(good) == "not stored: failed 1"
    assert merge([good, None, good])["pages"] == {"new": 4, "failed": 2}


# -- a fuzzed site ---------------------------------------------------------------------------
class FuzzSite:
    """Feeds, a sitemap and listing pages generated from ``seed``, on ``host``."""

    def __init__(self, host: str, seed: int) -> None:
        self.host = host
        self.rng = random.Random(seed)
        self.server = ThreadingHTTPServer((host, 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.fates = {n: self.rng.choice(["ok", "ok", "ok", "404", "500", "png", "empty",
                                          "offsite", "to_seen"]) for n in range(40)}

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.server.server_address[1]}"

    def __enter__(self) -> FuzzSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def source(self, name: str) -> dict[str, Any]:
        return {"name": name, "title": name, "language": "en", "domains": [self.host],
                "feeds": [f"{self.base}/feed.rss", f"{self.base}/broken.rss"],
                "sitemaps": [f"{self.base}/sitemap.xml"],
                "listings": [f"{self.base}/list.html"],
                "article_pattern": r"/a/\d+\.html$", "concurrency": 4, "download_delay": 0}

    def links(self, count: int) -> list[str | None]:
        """Article links and the malformed ones, shuffled."""
        rng, base = self.rng, self.base
        pool: list[str | None] = []
        for _ in range(count):
            n = rng.randrange(40)
            pool.append(rng.choice([
                f"{base}/a/{n}.html", f"/a/{n}.html", f"{base}/a/{n}.html?utm_source=x",
                f"{base}/a/{n}.html#top", f"http://{self.host}:{self.server.server_address[1]}"
                f"/a/{n}.html", f"{base}/section/{n}", f"{base}/a/{n}-video.mp4",
                f"http://203.0.113.9/a/{n}.html", "http://[::1", f"{base}:99999/a/1.html",
                "javascript:void(0)", "mailto:desk@example.org", "", None,
                f"{base}/{'x' * 2100}/a/{n}.html", f"{base}/tag/my-and-vn-{n}.html",
            ]))
        return pool

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?")[0]
                if path == "/robots.txt":
                    return self._send(200, b"User-agent: *\nDisallow: /a/39.html\n",
                                      "text/plain")
                if path == "/feed.rss":
                    items = "".join(
                        f"<item><title>t</title>{'' if u is None else f'<link>{_x(u)}</link>'}"
                        "</item>" for u in site.links(25))
                    return self._send(200, f'<?xml version="1.0"?><rss version="2.0"><channel>'
                                      f"<title>f</title>{items}</channel></rss>".encode(),
                                      "application/rss+xml")
                if path == "/broken.rss":
                    return self._send(200, b"<rss><channel><item><link>/a/1.html</link>"
                                      b"<item><title>unclosed", "application/rss+xml")
                if path == "/sitemap.xml":
                    urls = "".join(f"<url><loc>{_x(u or '')}</loc></url>"
                                   for u in site.links(25))
                    return self._send(200, ('<?xml version="1.0"?><urlset xmlns="http://www.'
                                            f'sitemaps.org/schemas/sitemap/0.9">{urls}'
                                            "</urlset>").encode(), "application/xml")
                if path == "/list.html":
                    anchors = "".join(f'<a href="{_x(u or "")}">x</a>' if u is not None
                                      else "<a>no href</a>" for u in site.links(40))
                    return self._send(200, f"<html><body>{anchors}</body></html>".encode(),
                                      "text/html")
                if path.startswith("/a/") and path.endswith(".html"):
                    n = int(path[3:-5])
                    fate = site.fates.get(n, "ok")
                    if fate == "404":
                        return self._send(404, b"gone", "text/plain")
                    if fate == "500":
                        return self._send(500, b"oops", "text/plain")
                    if fate == "png":
                        return self._send(200, b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "text/html")
                    if fate == "empty":
                        return self._send(200, b"<html><body></body></html>", "text/html")
                    if fate == "offsite":
                        return self._redirect("http://203.0.113.9/elsewhere.html")
                    if fate == "to_seen":
                        return self._redirect(f"{site.base}/a/{(n + 1) % 40}.html")
                    return self._send(200, ARTICLE.format(n=n).encode(), "text/html")
                return self._send(404, b"no", "text/plain")

            def _redirect(self, to: str) -> None:
                self.send_response(301)
                self.send_header("Location", to)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _send(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


def _x(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


@pytest.fixture
def fuzzed(tmp_path: Path) -> Iterator[tuple[list[FuzzSite], Path]]:
    sites = [FuzzSite(f"127.0.0.{61 + i}", seed) for i, seed in enumerate((3, 17, 2026))]
    for site in sites:
        site.__enter__()
    try:
        yield sites, tmp_path / "fuzz.db"
    finally:
        for site in sites:
            site.__exit__()


def _books(db: Path) -> dict[str, dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        return {source: json.loads(text) for source, text in
                conn.execute("select source, ledger from crawl_runs order by id")}


def test_a_fuzzed_crawl_accounts_for_every_link_and_request_and_says_what_was_lost(
        fuzzed: tuple[list[FuzzSite], Path], tmp_path: Path) -> None:
    """One `newswatch crawl` (the command docs/USAGE.md shows) of three fuzzed sites: each
    run's ledger balances and names every kind of loss the sites serve; the crawl prints
    the ledger line and each source's losses; `newswatch status` shows the losses of each
    source's last run, and its JSON carries the ledger."""
    import yaml

    sites, db = fuzzed
    config = tmp_path / "sources.yaml"
    config.write_text(yaml.safe_dump(
        {"sources": [site.source(f"fuzz{i}") for i, site in enumerate(sites)]}))
    run = subprocess.run([sys.executable, "-m", "monitor.cli", "crawl", "--config",
                          str(config), "--db", str(db), "--no-alerts"],
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode in (0, 1), run.stderr  # 1: a source with errors is not "ok"
    books = _books(db)
    assert set(books) == {"fuzz0", "fuzz1", "fuzz2"}
    for source, book in books.items():
        assert check(book) == [], (source, book)
        assert set(book["links"]) <= set(LINK_OUTCOMES)
        assert set(book["pages"]) <= set(PAGE_OUTCOMES)
        assert book["discovered"] >= 80 and book["issued"] >= 10, book
    total = merge(books.values())
    # the kinds of loss the sites serve each show up under their own name
    for outcome in ("seen", "off_site", "not_article", "malformed", "too_long", "no_link"):
        assert total["links"].get(outcome), (outcome, total["links"])
    for outcome in ("new", "failed", "not_text", "no_text", "robots"):
        assert total["pages"].get(outcome), (outcome, total["pages"])
    assert total["pages"].get("off_site", 0) + total["pages"].get("refused", 0)
    with sqlite3.connect(db) as conn:  # a broken feed is an error of its run, not a zero
        details = [row[0] or "" for row in conn.execute("select error_detail from crawl_runs")]
    assert all("broken.rss" in detail for detail in details)
    # what people see (lines wrap at the terminal's width: read the words)
    said = " ".join(run.stdout.split())
    assert "ledger: links " in said, said
    for source in books:
        assert f"{source}: not requested:" in said, said
    assert "not stored:" in said
    status = subprocess.run([sys.executable, "-m", "monitor.cli", "status", "--db", str(db)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert status.returncode == 0, status.stderr
    shown = " ".join(status.stdout.split())
    assert "inputs lost in the last runs" in shown
    assert "fuzz0: not requested:" in shown
    data = json.loads(subprocess.run(
        [sys.executable, "-m", "monitor.cli", "status", "--db", str(db), "--json"],
        capture_output=True, text=True, timeout=60, check=True).stdout)
    assert all(check(json.loads(row["ledger"])) == [] for row in data["last_runs"])
    with sqlite3.connect(db) as conn:  # source health got the losses (check_losses)
        signals = [json.loads(row[0]) for row in conn.execute("select signals from health_runs")]
    assert len(signals) == 3 and all("malformed" in s["losses"] for s in signals), signals


def test_a_loss_reason_that_jumps_degrades_the_source_naming_it() -> None:
    """Source health reads the ledger's losses (monitor.sources.health.check_losses): a
    reason far above the source's own baseline is a health signal; the usual level of a
    reason (a site that always has 4 robots-forbidden links) is not."""
    from monitor.sources import health

    base = dict.fromkeys(health.SIGNAL_KEYS, 0) | {"stored": 1, "fail": {},
                                                    "requests": 10, "pages": 8,
                                                    "extracted": 8, "text_chars": 16000,
                                                    "discovery_ok": 3}
    usual = base | {"losses": {"robots": 4, "malformed": 1}}
    values = health.load_thresholds()
    steady = health.Context(signals=usual | {"losses": {"robots": 6, "malformed": 2}},
                            baseline=[usual] * 5, thresholds=values,
                            at="2026-12-01T09:00:00+00:00")
    assert health.judge(steady)[1]["losses"]["level"] == "ok"
    jump = health.Context(signals=usual | {"losses": {"robots": 5, "malformed": 9,
                                                      "off_site": 7}},
                          baseline=[usual] * 5, thresholds=values,
                          at="2026-12-01T10:00:00+00:00")
    state, checks = health.judge(jump)
    assert state == "degraded"
    reason = checks["losses"]["reason"]
    assert "9 malformed (usually 1)" in reason and "7 off_site (usually 0)" in reason
    assert "robots" not in reason
    # runs from before the ledger (no "losses"): no evidence, no verdict
    assert health.check_losses(health.Context(signals=base, baseline=[base] * 5,
                                              thresholds=values)) is None
