"""A stop keeps what was fetched, on a loaded machine (issue 31).

A daemon stopped 28 s after start with four crawls running, at a load of 8 on two cores,
stored 0 of the pages its runs had counted: the fixed 6 s grace ran out before the
extraction pool delivered anything, and the parent killed the crawl's process group.
The grace now adapts to the pages in hand and lasts while the stop makes progress
(``monitor.processes.StopGrace``); the ledger's fourth identity (a fetched page is never
``unfinished``, ``crawler.ledger``) turns a lost page into an error line of the run.

The test makes the machine busy itself (two CPU burners, whatever ``--burners`` says),
so it means the same on an idle machine and in CI.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from crawler.ledger import STORED, check
from monitor.farm import Farm
from monitor.processes import StopGrace
from monitor.processes.lifecycle import GRACE_SECONDS, MAX_GRACE_SECONDS, PAGE_GRACE_SECONDS
from monitor.sources import DEMO_CONFIG

from .burners import MARK
from .conftest import INTERPRETER_NOISE, REPO
from .test_daemon import CLI

pytestmark = pytest.mark.timing

FOUR = ["baochinhphu_en", "laodong_en", "vietnam_vn", "mofa_en"]
EIGHT = [*FOUR, "vnexpress_en", "tuoitre_en", "vietnamnet_en", "nhandan_en"]


@contextmanager
def burners(count: int = 2) -> Iterator[None]:
    """``count`` processes spinning on a core each, for the block."""
    procs = [subprocess.Popen([sys.executable, "-c", f"# {MARK}\nwhile True:\n    pass\n"])
             for _ in range(count)]
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def test_stop_grace_adapts_to_the_work_in_hand() -> None:
    """The grace's rules, on a clock given to it: pages in hand lengthen it, progress
    renews it, a stall ends it, and nothing passes the bound."""
    idle = StopGrace(100.0)
    assert not idle.expired(100.0 + GRACE_SECONDS - 0.1)
    assert idle.expired(100.0 + GRACE_SECONDS + 0.1)
    busy = StopGrace(100.0, in_hand=20)
    assert not busy.expired(100.0 + GRACE_SECONDS + 19 * PAGE_GRACE_SECONDS)
    huge = StopGrace(100.0, in_hand=10_000)
    assert huge.deadline == 100.0 + MAX_GRACE_SECONDS
    stalled = StopGrace(100.0, in_hand=2)
    stalled.progress(5, 2, 101.0)
    stalled.progress(5, 2, 107.0)  # no page done, none fewer in hand: no more time
    assert stalled.expired(100.0 + GRACE_SECONDS + 2 * PAGE_GRACE_SECONDS + 0.1)
    moving = StopGrace(100.0, in_hand=1)
    for step in range(1, 200):  # a page done every second: renewed, up to the bound
        moving.progress(step, 1, 100.0 + step)
        if moving.expired(100.0 + step):
            break
    assert 100.0 + MAX_GRACE_SECONDS - 1 <= moving.deadline <= 100.0 + MAX_GRACE_SECONDS
    starting = StopGrace(100.0)
    starting.progress(0, 0, 104.0, starting=True)  # its extraction pool still warming up
    assert not starting.expired(104.0 + GRACE_SECONDS - 0.1)


def _config(path: Path) -> None:
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    data["sources"] = [{**s, "interval": "1h", "jitter": "0s", "crawl_timeout": "300s"}
                       for s in data["sources"] if s["name"] in EIGHT]
    data["max_parallel_crawls"] = len(EIGHT)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_daemon_stopped_under_load_stores_every_page_it_fetched(tmp_path: Path) -> None:
    """Four crawls running, two CPU burners beside them, SIGTERM 5 s after the daemon's
    start (later if no article was fetched by then): the daemon exits 0; every run closed
    in order with its ledger; no page fetched is left unfinished; what the ledgers count
    as stored is in the database; nothing from the interpreter on stderr."""
    db, config = tmp_path / "stop.db", tmp_path / "sources.yaml"
    _config(config)
    no_alerts = tmp_path / "alerts.yaml"
    no_alerts.write_text("channels: {}\nrules: []\n", encoding="utf-8")
    with Farm(sites=EIGHT) as farm, burners(2):
        started = time.monotonic()
        daemon = subprocess.Popen(
            [*CLI, "run", "--config", str(config), "--db", str(db), "--alerts-config",
             str(no_alerts)], cwd=REPO, env={**os.environ, **farm.variables},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            # the stop comes while pages are in hand: 5 s after start, and after the farm
            # has answered more than robots.txt and the feeds (the burners can slow the
            # start past 5 s)
            deadline = started + 240
            while time.monotonic() < deadline and (
                    time.monotonic() - started < 5 or farm.requests < 3 * len(EIGHT)):
                assert daemon.poll() is None, daemon.communicate()[1][-3000:]
                time.sleep(0.1)
            daemon.send_signal(signal.SIGTERM)
            asked = time.monotonic()
            _, err = daemon.communicate(timeout=MAX_GRACE_SECONDS + 60)
            print(f"stop asked {asked - started:.1f} s after start, took "
                  f"{time.monotonic() - asked:.1f} s")
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.communicate()
    assert daemon.returncode == 0, err[-3000:]
    assert not INTERPRETER_NOISE.search(err), err[-3000:]
    store = sqlite3.connect(db)
    try:
        runs = store.execute("select source, status, ledger from crawl_runs").fetchall()
        stored_rows = store.execute("select count(*) from articles").fetchone()[0]
    finally:
        store.close()
    assert runs, "no crawl had started"
    books = []
    for source, status, text in runs:
        assert text, f"{source}: run {status!r} closed without its ledger (killed?)"
        book = json.loads(text)
        assert not check(book, finished=status == "finished"), (source, book)
        books.append(book)
    fetched = sum(book.get("fetched", 0) for book in books)
    assert fetched > 0, books  # the stop came with pages in hand
    stored = sum(book["pages"].get(k, 0) for book in books for k in STORED)
    assert stored == stored_rows, (stored, stored_rows, books)
    # a fetched page is extracted and stored (or counted under its reason), not dropped
    assert sum(book["pages"].get("unfinished", 0) for book in books) <= sum(
        book["issued"] - book.get("fetched", 0) for book in books), books


def test_a_stop_that_only_waits_for_a_silent_server_ends_after_its_stall(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A stop whose only work in hand is a request to a server that does not answer (the
    crawl's processes sleep): no progress, so the grace ends ``GRACE_SECONDS`` (plus a
    second per page in hand) after the stop, not at the 60 s bound, and the kill is one
    WARNING naming the source and the pages in hand."""
    import threading

    from monitor.processes import Interrupt
    from monitor.run import crawl
    from monitor.sources import Settings

    from .politeness_server import Site

    with Site(["127.0.0.45"], pages=4, latency=lambda k: 120.0) as site:
        config = Settings.model_validate({"sources": [
            site.source("silent", concurrency=1, download_delay=0)]})
        stop = Interrupt()
        asked: list[float] = []

        def stop_when_an_article_is_asked() -> None:
            deadline = time.monotonic() + 120
            while not site.hits and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(1.0)  # the article request is on the wire, its server silent
            asked.append(time.monotonic())
            stop.request()

        threading.Thread(target=stop_when_an_article_is_asked, daemon=True).start()
        with caplog.at_level("WARNING", logger="monitor.run.crawl"):
            result = crawl(config, tmp_path / "s.db", alerts=None, stop=stop,
                           scrapy_settings={"NEWSWATCH_EXTRACT_WORKERS": -1,
                                            "DOWNLOAD_TIMEOUT": 300})
        took = time.monotonic() - asked[0]
    assert result.interrupted
    assert took < MAX_GRACE_SECONDS / 2, took
    said = [r.getMessage() for r in caplog.records if "ran out of time" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith("silent:") and "pages in hand" in said[0]


def test_a_stop_while_a_source_waits_for_its_sites_turn(tmp_path: Path) -> None:
    """Two sources on one site take turns; a stop while the first runs: the crawl ends
    interrupted, in order (the waiting source's crawler has no stats yet: reading them
    raised RuntimeError in the crawl process, which failed the crawl), and the second
    never starts."""
    import threading

    from monitor.processes import Interrupt
    from monitor.run import crawl
    from monitor.sources import Settings

    from .politeness_server import Site

    with Site(["127.0.0.46"], pages=60, latency=lambda k: 0.2) as one, \
            Site(["127.0.0.46"], pages=4) as two:
        config = Settings.model_validate({"sources": [
            one.source("first", concurrency=1, download_delay=0),
            two.source("second", concurrency=1, download_delay=0)]})
        stop = Interrupt()

        def stop_once_articles_come() -> None:
            deadline = time.monotonic() + 120
            while len(one.article_hits()) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            stop.request()

        threading.Thread(target=stop_once_articles_come, daemon=True).start()
        result = crawl(config, tmp_path / "turns.db", alerts=None, stop=stop,
                       scrapy_settings={"NEWSWATCH_EXTRACT_WORKERS": -1})
    assert result.interrupted
    assert [run["source"] for run in result.runs] == ["first"]
    assert two.hits == []
