"""Bounded discovery (issue 34, hole 2): a sitemap index of 200 children of 250,000 URLs
each (every child under the 10 MiB cap) grew one crawl process to 4.9 GB; a 10 MB feed of
270,000 links cost 873 MB and held up a normal source in the same crawl from 1 s to 72 s.

Now a round takes at most the source's ``max_urls_per_round`` links (default 1,000) from
its sitemaps and feeds, newest first; the rest are counted ``over_cap`` and the children
not needed are not read (``unread_sitemaps``). Documents are read incrementally, in a
thread, one at a time per source: memory is bounded by design, not by a timeout.

The flood sites (``monitor.farm.hostile.DiscoveryFlood``) generate their documents per
request at full scale. The crawl's process tree (the crawl process, its forkserver,
extraction workers and writer) is sampled every 0.1 s: the sum of its PSS (proportional
set size, /proc/PID/smaps_rollup) must stay under 500 MB, and a crawl that passes it is
stopped at once (the code before this issue grew past it within seconds). A normal farm
source is crawled alone, then beside both floods in the same crawl: it stores the same
articles, and takes about as long."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from crawler import ledger
from monitor.farm import Farm
from monitor.farm.hostile import FLOOD_FEED, FLOOD_INDEX, DiscoveryFlood
from monitor.processes import Interrupt
from monitor.processes.lifecycle import descendants
from monitor.run import crawl
from monitor.sources import DEMO_CONFIG, Settings, Source, discovery, load_settings
from monitor.store import Store

MB = 1024 * 1024
BUDGET = 500 * MB  # the crawl's process tree, PSS summed
NORMAL = "laodong_en"
EXTRA = 200  # generated articles on the normal site: a crawl of a few seconds
FEED_CAP = 300  # the feed's source sets its own cap; the sitemaps' takes the default, 1,000
SLOWER = 3.0  # the normal source beside the floods may take this many times as long


def _memory(pid: int) -> tuple[int, int]:
    """(PSS, RSS) of process ``pid`` in bytes; (0, 0) once it is gone."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0, 0
    found = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in text.splitlines()
             if line.startswith(("Pss:", "Rss:"))}
    return found.get("Pss", 0), found.get("Rss", 0)


@contextmanager
def tree_memory(stop: Interrupt) -> Iterator[dict[str, Any]]:
    """Sample the memory of this process's descendants (the crawl's process tree;
    multiprocessing's resource tracker left out) every 0.1 s while the block runs:
    ``{"pss": peak sum, "rss": peak sum, "processes": most at once}``. Past ``BUDGET``
    (PSS) the crawl is stopped at once."""
    peak: dict[str, Any] = {"pss": 0, "rss": 0, "processes": 0, "breached": None}
    done = threading.Event()
    started = time.monotonic()

    def sample() -> None:
        me = os.getpid()
        while not done.wait(0.1):
            pids = []
            for pid in descendants(me):
                try:
                    if b"resource_tracker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                        continue
                except OSError:
                    continue
                pids.append(pid)
            sizes = [_memory(pid) for pid in pids]
            pss, rss = sum(s[0] for s in sizes), sum(s[1] for s in sizes)
            peak["pss"], peak["rss"] = max(peak["pss"], pss), max(peak["rss"], rss)
            peak["processes"] = max(peak["processes"], len(pids))
            if pss > BUDGET and stop.count < 2:
                peak["breached"] = time.monotonic() - started
                stop.request()
                stop.request()  # twice: at once

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        done.set()
        thread.join()


def _timed_crawl(settings: Settings, db: Path) -> tuple[Any, float, dict[str, Any]]:
    """Crawl every source of ``settings``; how long NORMAL took (from the first progress
    report showing its crawler started to the first showing it done, 0.25 s apart), and
    the tree's peak memory."""
    marks: dict[str, float] = {}

    def progress(snapshot: dict[str, dict[str, Any]]) -> None:
        step = (snapshot.get(NORMAL) or {}).get("step")
        if step and step != "starting":
            marks.setdefault("start", time.monotonic())
        if step == "done":
            marks.setdefault("end", time.monotonic())

    stop = Interrupt()
    with tree_memory(stop) as peak:
        result = crawl(settings, db, alerts=None, progress=progress, stop=stop)
    assert not result.interrupted, (
        f"stopped: the crawl's tree passed {BUDGET // MB} MB PSS {peak['breached']:.1f} s "
        f"after it started (peak seen {peak['pss'] / MB:.0f} MB)")
    return result, marks["end"] - marks["start"], peak


def _stored(db: Path, source: str) -> set[str]:
    store = Store(db)
    try:
        return {row["url"] for row in store.db.query(
            "select url from articles where source = ?", [source])}
    finally:
        store.close()


def _flood_source(name: str, base: str, **where: Any) -> Source:
    host = base.split("//", 1)[1].split(":", 1)[0]
    return Source(name=name, title=name, language="en", domains=[host],
                  article_pattern=r"/a/[\w-]+$", download_delay=0, **where)


@pytest.fixture(scope="module")
def normal_farm() -> Iterator[Farm]:
    with Farm(extra=EXTRA, sites=[NORMAL]) as farm:
        yield farm


def test_floods_stay_bounded_and_a_normal_source_beside_them_is_unaffected(
        tmp_path: Path, normal_farm: Farm) -> None:
    normal = load_settings(DEMO_CONFIG, normal_farm.config_variables()).source(NORMAL)
    expected = {normal_farm.url_of(NORMAL, a.slug) for a in normal_farm.sites[NORMAL].articles}
    alone, alone_seconds, _ = _timed_crawl(Settings(sources=[normal]), tmp_path / "alone.db")
    assert alone.ok and _stored(tmp_path / "alone.db", NORMAL) == expected
    with DiscoveryFlood("127.0.0.18") as sitemaps, DiscoveryFlood("127.0.0.19") as feed:
        flood = Settings(sources=[
            normal,
            _flood_source("flood_sitemaps", sitemaps.base_url,
                          sitemaps=[sitemaps.base_url + FLOOD_INDEX]),
            _flood_source("flood_feed", feed.base_url, feeds=[feed.base_url + FLOOD_FEED],
                          max_urls_per_round=FEED_CAP)])
        beside, beside_seconds, peak = _timed_crawl(flood, tmp_path / "beside.db")
    print(f"\nnormal source alone {alone_seconds:.2f} s, beside the floods "
          f"{beside_seconds:.2f} s; the crawl's tree at most {peak['pss'] / MB:.0f} MB PSS "
          f"({peak['rss'] / MB:.0f} MB RSS summed, {peak['processes']} processes)")
    assert peak["pss"] < BUDGET
    runs = {run["source"]: run for run in beside.runs}
    assert all(run["status"] == "finished" for run in runs.values())
    # the normal source: the same articles as alone, nothing over the cap, in its time
    assert _stored(tmp_path / "beside.db", NORMAL) == expected
    assert "over_cap" not in (ledger.load(runs[NORMAL]["ledger"]) or {}).get("links", {})
    assert beside_seconds <= SLOWER * max(alone_seconds, 0.5), (alone_seconds, beside_seconds)
    # the sitemap index: the newest child read, and no other; 1,000 links taken
    book = ledger.load(runs["flood_sitemaps"]["ledger"]) or {}
    children = [path for path in sitemaps.requests if path.startswith("/flood/child-")]
    assert children == [sitemaps.child(sitemaps.children - 1)]
    assert book["discovered"] == sitemaps.urls
    assert book["links"] == {"requested": 1000, "over_cap": sitemaps.urls - 1000}
    assert book["unread_sitemaps"] == sitemaps.children - 1
    assert "not read: 199 child sitemaps" in ledger.dropped(book)
    # the feed: read once, its source's cap of links taken, the rest counted
    book = ledger.load(runs["flood_feed"]["ledger"]) or {}
    assert feed.requests.count(FLOOD_FEED) == 1
    assert book["discovered"] == feed.feed_items
    assert book["links"] == {"requested": FEED_CAP, "over_cap": feed.feed_items - FEED_CAP}


# -- what is taken: newest first, the rest counted, the order of a small document kept ----
def _urlset(entries: list[tuple[str, str | None]]) -> bytes:
    return ("<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>" + "".join(
        f"<url><loc>{loc}</loc>" + (f"<lastmod>{mod}</lastmod>" if mod else "") + "</url>"
        for loc, mod in entries) + "</urlset>").encode()


def test_a_sitemap_over_the_limit_gives_its_newest_entries() -> None:
    entries = [(f"https://x.vn/a-{n}", f"2024-05-{n:02d}" if n % 4 else None)
               for n in range(1, 29)]
    doc = discovery.parse_sitemap(_urlset(entries), limit=5)
    assert doc.total == 28
    assert [e.url for e in doc.entries] == [f"https://x.vn/a-{n}" for n in (27, 26, 25, 23, 22)]
    undated = discovery.parse_sitemap(_urlset([(f"https://x.vn/b-{n}", None)
                                               for n in range(9)]), limit=3)
    assert [e.url for e in undated.entries] == [f"https://x.vn/b-{n}" for n in range(3)]


def test_a_document_within_the_limit_is_read_as_before() -> None:
    entries = [(f"https://x.vn/a-{n}", f"2024-05-{28 - n:02d}") for n in range(20)][::-1]
    body = _urlset(entries)
    assert discovery.parse_sitemap(body, limit=20) == discovery.parse_sitemap(body)
    items = "".join(f"<item><title>T{n}</title><link>https://x.vn/f-{n}</link>"
                    f"<pubDate>Mon, 0{1 + n % 9} Apr 2024 10:00:00 +0700</pubDate></item>"
                    for n in range(30))
    feed = f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode()
    assert discovery.parse_feed(feed, "https://x.vn/", limit=30) == discovery.parse_feed(
        feed, "https://x.vn/")


def test_a_feed_over_the_limit_gives_its_newest_entries_slimmed() -> None:
    items = "".join(
        f"<item><title>T{n}</title><link>https://x.vn/f-{n}</link>"
        f"<description>{'x' * 2000}</description>"
        + (f"<pubDate>{n:02d} Apr 2024 10:00:00 +0000</pubDate>" if n else "") + "</item>"
        for n in range(30))
    feed = (f"<rss version='2.0'><channel><title>t</title><language>vi</language>{items}"
            "</channel></rss>").encode()
    found = discovery.parse_feed(feed, "https://x.vn/", limit=4)
    assert found.total == 30 and found.error is None
    assert [e.url for e in found.entries] == [f"https://x.vn/f-{n}" for n in (29, 28, 27, 26)]
    assert [e.title for e in found.entries] == ["T29", "T28", "T27", "T26"]
    assert {e.language for e in found.entries} == {"vi"}
    assert found.entries[0].published == "2024-04-29T10:00:00+00:00"
    atom = ("<feed xmlns='http://www.w3.org/2005/Atom'><title>t</title>" + "".join(
        f"<entry><id>urn:{n}</id><link href='https://x.vn/e-{n}'/>"
        f"<updated>2024-05-{n + 1:02d}T00:00:00Z</updated></entry>" for n in range(10))
        + "</feed>").encode()
    assert [e.url for e in discovery.parse_feed(atom, "https://x.vn/", limit=2).entries] == [
        "https://x.vn/e-9", "https://x.vn/e-8"]
    json_feed = ('{"version": "https://jsonfeed.org/version/1.1", "items": ['
                 + ", ".join(f'{{"url": "https://x.vn/j-{n}", "date_published": '
                             f'"2024-05-{n + 1:02d}T00:00:00Z"}}' for n in range(10))
                 + "]}").encode()
    found = discovery.parse_feed(json_feed, "https://x.vn/", limit=3)
    assert found.total == 10 and [e.url for e in found.entries] == [
        "https://x.vn/j-9", "https://x.vn/j-8", "https://x.vn/j-7"]


def test_the_cap_is_a_source_setting(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("sources:\n  - {name: a, title: A, language: en, domains: [a.vn],\n"
                    "     article_pattern: x, max_urls_per_round: 50}\n"
                    "  - {name: b, title: B, language: en, domains: [b.vn], "
                    "article_pattern: x}\n")
    settings = load_settings(path)
    assert [s.max_urls_per_round for s in settings.sources] == [50, 1000]
