"""Soak: the writer's WAL size and commit latency with `newswatch serve` reading the whole
run, against the same run with no reader.

Each run opens a fresh database with ``Store`` (WAL, newswatch's checkpoint policy),
then commits for ``--seconds``, one transaction every ``--interval`` seconds: one article
(about 6 KB of text, full-text indexed) and one version row, as the ingest does. In the
"reader" run a real ``python -m monitor.cli serve`` child serves the same file and a
client thread asks it continuously for the articles count, a table search, a table page
and the search canned query. After each commit the ``-wal`` file's size is read.

    python bench/serve_soak.py --seconds 60

Prints one table: commits, commit latency p50/p95/max (ms), WAL size max/final (KiB),
reader requests and errors (any status other than 200).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from monitor.store import Store  # noqa: E402

WORDS = ("Việt Nam Hoa Kỳ đối tác chiến lược toàn diện Bộ trưởng Ngoại giao Blinken Hà Nội "
         "thương mại đầu tư bán dẫn hợp tác giáo dục trade investment semiconductor talks "
         "delegation cooperation agreement").split()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _text(rng: random.Random, words: int = 900) -> str:
    return "\n".join(" ".join(rng.choice(WORDS) for _ in range(90)) for _ in range(words // 90))


class Reader:
    """`newswatch serve` on ``db`` and one client thread asking it in a loop."""

    def __init__(self, db: Path) -> None:
        self.port = _free_port()
        self.child = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "serve", "--db", str(db), "--port",
             str(self.port)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}/{db.stem}"
        self.requests = self.errors = 0
        self.stop = threading.Event()
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.base}.json", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        paths = ["/articles.json?_size=0&_extra=count", "/articles.json?_search=doi+tac",
                 "/articles?_size=50", "/search.json?q=Blinken"]
        while not self.stop.is_set():
            for path in paths:
                try:
                    with urllib.request.urlopen(self.base + path, timeout=30) as response:
                        response.read()
                        ok = response.status == 200
                except (urllib.error.URLError, OSError):
                    ok = False
                self.requests += 1
                self.errors += not ok

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=60)
        self.child.terminate()
        self.child.wait(timeout=10)


def run(seconds: float, with_reader: bool, interval: float = 0.05, seed: int = 7,
        size_limit: bool = True) -> dict:
    """One soak run on a fresh database; returns its figures. ``size_limit=False`` turns
    the writer's journal_size_limit off (SQLite's default), to show what it is for."""
    rng = random.Random(seed)
    folder = Path(tempfile.mkdtemp(prefix="serve-soak-"))
    db = folder / "soak.db"
    store = Store(db)
    store.db["sources"].insert({"name": "soak", "title": "soak", "language": "vi"})
    if not size_limit:
        store.db.execute("PRAGMA journal_size_limit = -1")
    wal = Path(str(db) + "-wal")
    reader = Reader(db) if with_reader else None
    latencies: list[float] = []
    sizes: list[int] = []
    end = time.monotonic() + seconds
    n = 0
    try:
        while time.monotonic() < end:
            n += 1
            text = _text(rng)
            started = time.perf_counter()
            with store.db.conn:
                cursor = store.db.conn.execute(
                    "insert into articles (url, source, title, language, text, first_seen, "
                    "last_seen, version) values (?, 'soak', ?, 'vi', ?, '', '', 1)",
                    [f"https://soak.example/{n}", f"Đối thoại {n}", text])
                store.db.conn.execute(
                    "insert into versions (article_id, version, title, text, seen) "
                    "values (?, 1, ?, ?, '')", [cursor.lastrowid, f"Đối thoại {n}", text])
            latencies.append((time.perf_counter() - started) * 1000)
            sizes.append(wal.stat().st_size if wal.exists() else 0)
            time.sleep(interval)
    finally:
        if reader:
            reader.close()
        store.close()
    latencies.sort()
    db_kib = db.stat().st_size // 1024
    shutil.rmtree(folder)
    return {
        "reader": ("serve open" if with_reader else "none")
        + ("" if size_limit else ", no journal_size_limit"),
        "commits": n,
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 2),
        "max_ms": round(latencies[-1], 1),
        "wal_max_kib": max(sizes) // 1024,
        "wal_final_kib": sizes[-1] // 1024,
        "db_kib": db_kib,
        "requests": reader.requests if reader else 0,
        "errors": reader.errors if reader else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each run")
    parser.add_argument("--interval", type=float, default=0.05,
                        help="pause between commits, seconds (the writer's pace)")
    parser.add_argument("--without-limit", action="store_true",
                        help="a third run: reader open, writer without journal_size_limit")
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONPATH", str(REPO))
    rows = [run(args.seconds, False, args.interval), run(args.seconds, True, args.interval)]
    if args.without_limit:
        rows.append(run(args.seconds, True, args.interval, size_limit=False))
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")


if __name__ == "__main__":
    main()
