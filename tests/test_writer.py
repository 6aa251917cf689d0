"""The crawl's writer process (monitor.processes.writer): batches stored in order by one process
forked from the forkserver, statuses back, SQLITE_FULL crossing the process boundary as
DatabaseFull with its count, batches grouped in one transaction (submit_many), and nothing
left running after shutdown.

Each case runs in a Python process of its own, as a crawl process does: the forkserver
the writer is forked from belongs to that process, not to the test session."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from monitor.store import Store
from monitor.store.db import MAX_PAGES_ENV

from .conftest import REPO

SCRIPT = r"""
import json, os, sys
from monitor.processes import writer
from monitor.extract.article import content_hash
from monitor.changes.ingest import analyze

def article(text, url):
    return analyze({"url": url, "title": "Vietnam and US hold talks on trade",
                    "author": None, "published": "2024-09-26T07:15:00+07:00",
                    "language": "en", "lead": None, "text": text,
                    "content_hash": content_hash(text)})

db = sys.argv[1]
texts = [f"Report {n}: Blinken met Son in Hanoi to talk about trade number {n}. " * 40
         for n in range(int(sys.argv[2]))]
first = [(article(t, f"https://e.org/a-{n}"), f"https://e.org/a-{n}")
         for n, t in enumerate(texts)]
again = [(article(texts[0] + " Edited.", "https://e.org/a-0"), "https://e.org/a-0"),
         first[1]]
out = {"me": os.getpid()}
if os.environ.get("WRITER_GROUP"):  # both batches in one transaction (submit_many)
    futures = writer.submit_many(db, [("src", first), ("src", again)], None)
else:
    futures = [writer.submit(db, "src", first, None), writer.submit(db, "src", again, None)]
for key, future in zip(("first", "again"), futures):
    try:
        out[key] = future.result(timeout=60)
    except writer.DatabaseFull as exc:
        out[key] = ["DatabaseFull", exc.count]
pool = writer.shared_writer(db)
(pid,) = list(pool._processes)
out["writer"] = pid
with open(f"/proc/{pid}/stat") as stat:
    out["writer_parent"] = int(stat.read().rsplit(")", 1)[1].split()[1])
writer.shutdown_writers()
out["alive_after_shutdown"] = os.path.exists(f"/proc/{pid}")
print(json.dumps(out))
"""


def _run(db: Path, articles: int, env: dict[str, str] | None = None) -> dict:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(db), str(articles)], cwd=REPO,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.splitlines()[-1])


def test_batches_are_stored_in_order_by_a_writer_forked_from_the_forkserver(
        tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    out = _run(db, 3)
    assert out["first"] == ["new", "new", "new"]
    # the second batch sees the first: an edit of a-0 is a new version, a-1 unchanged
    assert out["again"] == ["updated", "unchanged"]
    # a process of its own, whose parent is the forkserver (which dies with the crawl
    # process), not the crawl process itself
    assert out["writer"] != out["me"] and out["writer_parent"] not in (out["me"], 1)
    assert out["alive_after_shutdown"] is False
    store = Store(db)
    try:
        assert store.db["articles"].count == 3 and store.db["versions"].count >= 1
    finally:
        store.close()


def test_a_full_database_is_database_full_with_its_count_for_every_later_batch(
        tmp_path: Path) -> None:
    db = tmp_path / "full.db"
    Store(db).close()
    conn = sqlite3.connect(db)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    out = _run(db, 40, {MAX_PAGES_ENV: str(pages + 5)})  # 40 long articles do not fit
    assert out["first"] == ["DatabaseFull", 40]
    assert out["again"] == ["DatabaseFull", 2]  # not tried: the database is full
    store = Store(db)
    try:
        assert store.db["articles"].count == 0  # the batch rolled back whole
    finally:
        store.close()


def test_the_crawl_process_runtime_settings_apply_and_freeze_keeps_startup_objects_out() -> None:
    """monitor.processes.runtime in a process of its own: the thresholds and switch interval are
    set, and after freeze() the objects alive at start-up are in the permanent
    generation (collections no longer walk them)."""
    script = ("import gc, json, sys\n"
              "from monitor.processes import runtime\n"
              "runtime.tune_crawl_process()\n"
              "runtime.freeze()\n"
              "print(json.dumps([gc.get_threshold(), sys.getswitchinterval(),"
              " gc.get_freeze_count()]))\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                          text=True, timeout=60, check=True)
    thresholds, interval, frozen = json.loads(proc.stdout)
    from monitor.processes.runtime import GC_THRESHOLDS, SWITCH_INTERVAL

    assert tuple(thresholds) == GC_THRESHOLDS and interval == SWITCH_INTERVAL
    assert frozen > 5_000  # every object of the modules imported so far


def test_batches_grouped_in_one_transaction_give_each_its_statuses(tmp_path: Path) -> None:
    """submit_many (the crawl's sources flushed together): one transaction, a future per
    batch with the statuses it would have had alone, the later batch seeing the earlier."""
    db = tmp_path / "g.db"
    out = _run(db, 3, {"WRITER_GROUP": "1"})
    assert out["first"] == ["new", "new", "new"]
    assert out["again"] == ["updated", "unchanged"]
    store = Store(db)
    try:
        assert store.db["articles"].count == 3
    finally:
        store.close()


def test_a_full_database_fails_every_grouped_batch_with_its_own_count(tmp_path: Path) -> None:
    db = tmp_path / "gfull.db"
    Store(db).close()
    conn = sqlite3.connect(db)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    out = _run(db, 40, {MAX_PAGES_ENV: str(pages + 5), "WRITER_GROUP": "1"})
    assert out["first"] == ["DatabaseFull", 40] and out["again"] == ["DatabaseFull", 2]
    store = Store(db)
    try:
        assert store.db["articles"].count == 0  # the transaction rolled back whole
    finally:
        store.close()
