"""`newswatch serve` on a database that is being written: ten crawls of a farm with new and
edited articles while a real `serve` child answers queries and searches in parallel."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.farm import Farm
from monitor.run import crawl
from monitor.sources import DEMO_CONFIG

REPO = Path(__file__).resolve().parents[1]
SITE = "mofa_en"
CRAWLS = 10


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _article(n: int) -> dict:
    title = f"Livewire{n} talks"
    return {
        "site": SITE, "slug": f"livewire-{n}", "lang": "en", "title": title,
        "published": datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).isoformat(timespec="seconds"),
        "paragraphs": [
            f"{title}: the Deputy Foreign Minister received a United States delegation.",
            "Both sides agreed to expand cooperation in trade, investment and education.",
            "The two sides also exchanged views on regional and international issues.",
        ],
    }


def _get(url: str) -> tuple[int, dict | None]:
    """Status and JSON body of a GET; 0 when the connection fails."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except OSError:
        return 0, None


class Poller(threading.Thread):
    """Asks the server in a loop (count, table page, table search, canned search,
    versions) and records every status."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.statuses: list[tuple[str, int]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        paths = ["/articles.json?_size=0", "/articles.json?_sort_desc=id&_size=20",
                 "/articles.json?_search=talks", "/search.json?q=delegation",
                 "/versions.json?_size=5", "/latest_relevant.json"]
        while not self.stop.is_set():
            for path in paths:
                status, _ = _get(self.base + path)
                self.statuses.append((path, status))


@pytest.mark.soak  # ten crawls: `python -m pytest -m soak` (not in CI's run)
def test_serve_follows_ten_crawls_while_they_write(fresh_farm: Farm, tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    first = crawl(DEMO_CONFIG, db, variables=fresh_farm.variables, sources=[SITE])
    assert first.ok
    port = _free_port()
    child = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "serve", "--db", str(db), "--port", str(port),
         "--allow-sql"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}/live"
    poller = Poller(base)
    try:
        startup = ""  # the console may wrap the line
        while "Ctrl-C" not in startup and child.poll() is None:
            startup += child.stdout.readline()
        startup = " ".join(startup.split())
        assert "follows live changes" in startup, startup
        deadline = time.monotonic() + 30
        while _get(f"{base}.json")[0] != 200:
            assert child.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)
        poller.start()
        published: list[str] = []
        for n in range(1, CRAWLS + 1):
            url = fresh_farm.publish(_article(n))
            if published:  # edit the article of the previous round
                fresh_farm.edit(SITE, f"livewire-{n - 1}",
                                replace={1: f"Edited in round {n}: the sides widened trade."})
            result = crawl(DEMO_CONFIG, db, variables=fresh_farm.variables, sources=[SITE])
            assert result.ok and result.totals["errors"] == 0, result.totals
            # the first query after the crawl ended sees the new article and the edit
            status, page = _get(f"{base}/articles.json?" + urllib.parse.urlencode(
                {"url": url, "_shape": "array"}))
            assert status == 200 and [row["url"] for row in page] == [url], (n, status, page)
            status, hits = _get(f"{base}/articles.json?" + urllib.parse.urlencode(
                {"_search": f"Livewire{n}", "_shape": "array"}))
            assert status == 200 and [row["url"] for row in hits] == [url], (n, hits)
            if published:
                status, edited = _get(f"{base}/articles.json?" + urllib.parse.urlencode(
                    {"url": published[-1], "_shape": "array"}))
                assert edited[0]["version"] == 2 and f"round {n}:" in edited[0]["text"], n
            published.append(url)
            # writes are still refused while the crawls go on
            insert = "insert into sources (name, title) values ('evil', 'evil')"
            assert _get(f"{base}?sql={urllib.parse.quote(insert)}")[0] == 400
            refused = urllib.request.Request(f"{base}/sources/-/insert", method="POST",
                                             data=b'{"row": {"name": "evil"}}',
                                             headers={"content-type": "application/json"})
            with pytest.raises(urllib.error.HTTPError) as error:
                urllib.request.urlopen(refused, timeout=10)
            assert error.value.code == 405
    finally:
        poller.stop.set()
        if poller.is_alive():
            poller.join(timeout=60)
        child.terminate()
        child.wait(timeout=10)
    statuses = poller.statuses
    failed = [(path, status) for path, status in statuses if status != 200]
    print(f"\n{CRAWLS} crawls, {len(statuses)} queries while they wrote, {len(failed)} failed")
    assert len(statuses) >= 6 * CRAWLS and not failed, failed[:10]
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("pragma integrity_check").fetchall() == [("ok",)]
        conn.execute("insert into articles_fts(articles_fts) values ('integrity-check')")
        assert conn.execute("select count(*) from sources where name = 'evil'").fetchone()[0] == 0
        assert conn.execute("select count(*) from articles where url like '%livewire-%'"
                            ).fetchone()[0] == CRAWLS
    finally:
        conn.close()
