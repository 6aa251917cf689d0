"""Backfill (issue 17): a real archive on the farm, a real `newswatch backfill` process
stopped with a real SIGINT half-way, resumed, and checked against the farm's own log of
the pages it served: newest first, no stored article requested twice, all stored."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from monitor.farm import Farm
from monitor.farm.sites import SITES
from monitor.store import order_children, order_entries
from monitor.store.frontier import url_date

from .conftest import PATIENCE, REPO

CLI = [sys.executable, "-m", "monitor.cli"]
ARCHIVE = 1500  # archive articles on baochinhphu_en
SITE = "baochinhphu_en"
WINDOW = 16  # BackfillSpider.window for the source's concurrency (4): requests in flight


@pytest.fixture(scope="module")
def archive_farm() -> Iterator[Farm]:
    with Farm(archive=ARCHIVE, archive_site=SITE, sites=[SITE]) as running:
        yield running


def _stored(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("select count(*) from articles where source = ?",
                                [SITE]).fetchone()[0]
    except sqlite3.OperationalError:  # not migrated yet
        return 0


def _stored_archive(db: Path, farm: Farm) -> set[int]:
    """Archive indices of the stored articles."""
    assert farm.archive is not None
    with sqlite3.connect(db) as conn:
        urls = [row[0] for row in conn.execute("select url from articles")]
    found = {farm.archive.index_of(urlsplit(url).path) for url in urls}
    return {i for i in found if i is not None}


def _backfill(farm: Farm, db: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, **farm.config_variables(), "COLUMNS": "200"}
    return subprocess.Popen([*CLI, "backfill", SITE, "--config", "config/demo.yaml",
                             "--db", str(db), *extra], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_backfill_newest_first_stopped_and_resumed(archive_farm: Farm, tmp_path: Path) -> None:
    farm, db = archive_farm, tmp_path / "backfill.db"
    archive = farm.archive
    assert archive is not None
    archive.reset_log()
    # the farm lists the archive's children, and their articles, oldest first
    index = urllib.request.urlopen(farm.base_url(SITE) + "/sitemap.xml").read().decode()
    months = re.findall(r"/sitemaps/archive-(\d{4}-\d\d)\.xml", index)
    assert len(months) >= 5 and months == sorted(months)

    proc = _backfill(farm, db)
    deadline = time.monotonic() + 60 * PATIENCE
    while _stored(db) < ARCHIVE // 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "interrupted" in out, (out, err[-2000:])
    assert "resume with: newswatch backfill baochinhphu_en" in out

    first = archive.order.tolist()
    stored = _stored_archive(db, farm)
    assert ARCHIVE // 3 <= len(stored) < ARCHIVE  # stopped part-way
    # newest first: the n-th page served is the n-th newest, give or take the requests
    # in flight (the farm lists them oldest first: the backfill reordered them)
    assert all(abs(i - (ARCHIVE - 1 - n)) <= 2 * WINDOW for n, i in enumerate(first)), first[:50]
    assert min(stored) >= ARCHIVE - len(first) - 2 * WINDOW

    archive.reset_log()
    proc = _backfill(farm, db)
    out, err = proc.communicate(timeout=120 * PATIENCE)
    assert proc.returncode == 0, err[-2000:]
    assert "backfill baochinhphu_en: done" in out, out
    second = archive.order.tolist()
    refetched = stored & set(second)
    assert not refetched, f"{len(refetched)} stored articles requested again"
    assert _stored_archive(db, farm) == set(range(ARCHIVE))  # every article, once
    assert len(second) == len(set(second))
    # the rest, newest first too
    assert all(abs(i - (ARCHIVE - 1 - len(first) - n)) <= 4 * WINDOW
               for n, i in enumerate(second)), second[:50]

    # done: a third run requests no article at all
    archive.reset_log()
    proc = _backfill(farm, db, "--limit", "5")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    assert not archive.order.tolist() and "0 articles stored" in out


def test_child_order_by_lastmod_then_url_date() -> None:
    children = [("https://x.vn/sitemap-news.xml", None),
                ("https://x.vn/s/2019-05.xml", url_date("https://x.vn/s/2019-05.xml")),
                ("https://x.vn/s/a.xml", "2024-02-01T00:00:00+00:00"),
                ("https://x.vn/s/20230104.xml", url_date("https://x.vn/s/20230104.xml"))]
    assert [c[0].rsplit("/", 1)[-1] for c in order_children(children)] == [
        "sitemap-news.xml", "a.xml", "20230104.xml", "2019-05.xml"]
    assert url_date("https://x.vn/sitemap-2024-02.xml") == "2024-02-29T23:59:59+00:00"
    assert url_date("https://x.vn/sitemap-posts.xml") is None
    entries = [("a", "2020-01-01T00:00:00+00:00"), ("b", None), ("c", "2021-01-01T00:00:00+00:00")]
    assert [e[0] for e in order_entries(entries)] == ["c", "a", "b"]


@pytest.mark.parametrize(("source", "config", "expected"), [
    ("nosuch", "config/demo.yaml", "unknown source 'nosuch'"),
    ("nositemap", "nositemap.yaml", "has no sitemaps"),
])
def test_bad_input_is_one_line_and_exit_2(source: str, config: str, expected: str,
                                          tmp_path: Path) -> None:
    (tmp_path / "nositemap.yaml").write_text(
        "sources:\n  - name: nositemap\n    title: No sitemap\n    language: en\n"
        "    domains: [example.org]\n    feeds: ['https://example.org/rss']\n"
        "    article_pattern: '/news/'\n", encoding="utf-8")
    path = config if config.startswith("config/") else str(tmp_path / config)
    env = {**os.environ, "COLUMNS": "80"}
    for name in SITES:  # config/demo.yaml loads whole; nothing is fetched
        env[f"FARM_{name.upper()}"], env[f"FARM_{name.upper()}_HOST"] = (
            "http://127.0.0.1:9", "127.0.0.1")
    proc = subprocess.run([*CLI, "backfill", source, "--config", path,
                           "--db", str(tmp_path / "x.db")], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], lines


def test_cursor_since_and_retry_failed(tmp_path: Path) -> None:
    """The cursor alone (SQLite, no crawl): ``since`` skips old children and old URLs;
    failed URLs wait for ``retry_failed``; stored ones are never handed out."""
    from monitor.store import BackfillLog

    db = tmp_path / "cursor.db"
    log = BackfillLog(db, "s", since="2024-03-01T00:00:00+00:00")
    log.begin()
    assert log.add_children([("https://x.vn/sitemap-2024-02.xml", None),
                             ("https://x.vn/sitemap-2024-04.xml", None),
                             ("https://x.vn/news.xml", None)]) == 3
    child = log.next_child()
    assert child is not None and child[1].endswith("news.xml")  # undated first
    log.add_entries(child[0], [("https://x.vn/a", "2024-05-02T00:00:00+00:00", None, None),
                               ("https://x.vn/b", "2024-02-02T00:00:00+00:00", None, None),
                               ("https://x.vn/c", None, None, None)])
    child = log.next_child()
    assert child is not None and child[1].endswith("2024-04.xml")
    log.add_entries(child[0], [])
    assert log.next_child() is None  # 2024-02 ends before --since
    rows = log.next_urls(0, 10)
    assert [r[1] for r in rows] == ["https://x.vn/a", "https://x.vn/c"]
    log.mark_failed([(rows[0][0], "HTTP 503")])
    log.conn.execute("insert into sources (name) values ('s')")
    log.conn.execute("insert into articles (url, source) values ('https://x.vn/c', 's')")
    log.conn.commit()
    assert log.next_urls(0, 10) == []
    assert log.counts()["failed"] == 1 and log.counts()["stored"] == 1
    log.begin(retry_failed=True)
    assert [r[1] for r in log.next_urls(0, 10)] == ["https://x.vn/a"]
    log.close()
