"""Backfill benchmark: a 50,000-article archive on one farm site, backfilled by a real
``newswatch backfill`` process, stopped half-way with SIGINT, resumed.

    python bench/backfill_bench.py [--articles 50000] [--every 5000] [--stop-at 25000]
                                   [--signal INT|TERM|KILL] [--no-stop] [--compare-crawl]

The farm runs in this process (its archive is generated lazily, ``monitor.farm.archive``)
and logs every article page it serves. Every 0.5 s the benchmark reads how many articles
are stored (SQLite) and the resident memory (VmRSS, /proc) of the crawl process (the
``newswatch`` command's child that runs Scrapy) and of its extraction workers; it prints
them at every ``--every`` articles stored. At ``--stop-at`` it sends SIGINT (Ctrl-C) to
the command, then runs it again, and counts the article pages the farm served twice: a
refetch of an article stored before the stop is a failure of the resume.
With ``--no-stop`` the backfill runs once, uninterrupted; with ``--compare-crawl``, the
plain ``newswatch crawl`` of the same archive runs instead (what a backfill replaces).
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from monitor.farm import Farm  # noqa: E402

SITE = "baochinhphu_en"


def _status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return out


def _descendants(pid: int) -> list[int]:
    found, todo = [], _children(pid)
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(_children(current))
    return found


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def _stored(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("select count(*) from articles where source = ?",
                                [SITE]).fetchone()[0]
    except sqlite3.Error:
        return 0


def run(farm: Farm, db: Path, every: int, stop_at: int | None, marks: list[dict],
        command: tuple[str, ...] = ("backfill", SITE), stop_signal: str = "INT") -> dict:
    """One ``newswatch backfill`` process (or another ``command``); samples until it ends
    (or SIGINT at ``stop_at`` stored articles)."""
    env = {**os.environ, **farm.config_variables(), "PYTHONPATH": str(REPO)}
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "monitor.cli", *command,
                             "--config", "config/demo.yaml", "--db", str(db)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    crawl_pid = None
    peak = 0
    next_mark = (_stored(db) // every + 1) * every
    stopped = False
    while proc.poll() is None:
        time.sleep(0.5)
        if crawl_pid is None:  # the spawned crawl process (not the resource tracker)
            kids = [k for k in _children(proc.pid) if b"spawn_main" in _cmdline(k)]
            crawl_pid = kids[0] if kids else None
            continue
        rss = _status_kb(crawl_pid, "VmRSS")
        peak = max(peak, _status_kb(crawl_pid, "VmHWM"))
        workers = sum(_status_kb(p, "VmRSS") for p in _descendants(crawl_pid))
        stored = _stored(db)
        while stored >= next_mark and rss:
            marks.append({"stored": next_mark, "at": stored, "crawl_mb": rss / 1024,
                          "workers_mb": workers / 1024,
                          "seconds": time.monotonic() - started, "pid": crawl_pid})
            print(f"  {next_mark:>6} stored: crawl process {rss / 1024:6.1f} MB, workers "
                  f"{workers / 1024:6.1f} MB, {time.monotonic() - started:6.0f} s",
                  flush=True)
            next_mark += every
        if stop_at and not stopped and stored >= stop_at:
            proc.send_signal(getattr(signal, "SIG" + stop_signal))
            stopped = True
    out, err = proc.communicate()
    return {"rc": proc.returncode, "seconds": time.monotonic() - started, "out": out,
            "err": err, "peak_mb": peak / 1024, "stored": _stored(db)}


def compare(articles: int, every: int) -> None:
    """The plain crawl of the same archive: its memory at every ``every`` stored."""
    with tempfile.TemporaryDirectory() as tmp, \
            Farm(archive=articles, archive_site=SITE, sites=[SITE]) as farm:
        marks: list[dict] = []
        print(f"archive of {articles} articles on {SITE}; newswatch crawl --source {SITE}",
              flush=True)
        result = run(farm, Path(tmp) / "crawl.db", every, None, marks,
                     ("crawl", "--source", SITE))
        print(f"exit {result['rc']}, {result['stored']} stored in {result['seconds']:.0f} s, "
              f"crawl process peak (VmHWM) {result['peak_mb']:.1f} MB")
        if len(marks) >= 2:
            first, last = marks[0], marks[-1]
            grow = (last["crawl_mb"] - first["crawl_mb"]) * 1024 / (last["stored"]
                                                                   - first["stored"])
            print(f"growth from {first['stored']} to {last['stored']} stored: "
                  f"{grow:.1f} KB per article")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=50000)
    parser.add_argument("--every", type=int, default=5000)
    parser.add_argument("--stop-at", type=int, default=None, help="default: half-way")
    parser.add_argument("--no-stop", action="store_true")
    parser.add_argument("--signal", default="INT", choices=["INT", "TERM", "KILL"],
                        help="how to stop it (KILL: the crawl process dies with the command)")
    parser.add_argument("--compare-crawl", action="store_true",
                        help="run `newswatch crawl --source baochinhphu_en` on the archive "
                        "instead (what a backfill replaces), uninterrupted")
    args = parser.parse_args()
    if args.compare_crawl:
        compare(args.articles, args.every)
        return
    stop_at = None if args.no_stop else (args.stop_at or args.articles // 2)
    with tempfile.TemporaryDirectory() as tmp, \
            Farm(archive=args.articles, archive_site=SITE, sites=[SITE]) as farm:
        archive = farm.archive
        assert archive is not None
        db = Path(tmp) / "backfill.db"
        marks: list[dict] = []
        print(f"archive of {args.articles} articles on {SITE}; backfill"
              + (f", SIG{args.signal} at {stop_at} stored" if stop_at else ""), flush=True)
        first = run(farm, db, args.every, stop_at, marks, stop_signal=args.signal)
        served_first = archive.served.tolist()
        with sqlite3.connect(db) as conn:
            stored_urls = [row[0] for row in conn.execute("select url from articles")]
        stored_first = {i for i in (archive.index_of(urlsplit(u).path) for u in stored_urls)
                        if i is not None}
        print(f"run 1: exit {first['rc']}, {first['stored']} stored in {first['seconds']:.0f} s,"
              f" crawl process peak (VmHWM) {first['peak_mb']:.1f} MB", flush=True)
        second = None
        if stop_at:
            archive.reset_log()
            second = run(farm, db, args.every, None, marks)
            served_second = archive.served.tolist()
            refetched = sum(1 for i in stored_first if served_second[i])
            again = sum(1 for i in range(args.articles) if served_first[i] and served_second[i])
            print(f"run 2 (resumed): exit {second['rc']}, {second['stored']} stored in "
                  f"{second['seconds']:.0f} s, peak {second['peak_mb']:.1f} MB; article "
                  f"pages served in run 2: {sum(1 for s in served_second if s)}; stored in "
                  f"run 1 and requested again: {refetched}; served in both runs: {again}",
                  flush=True)
        served_twice = sum(1 for i in range(args.articles) if
                           served_first[i] + (served_second[i] if second else 0) > 1)
        with sqlite3.connect(db) as conn:
            urls = [row[0] for row in conn.execute("select url from articles")]
        archived = {i for i in (archive.index_of(urlsplit(u).path) for u in urls)
                    if i is not None}
        print(f"archive articles stored: {len(archived)} of {args.articles}; pages served "
              f"more than once over both runs: {served_twice}")
        base = next((m for m in marks if m["stored"] == args.every), None)
        if base:
            print("\n| stored | crawl process RSS (MB) | × at first mark | workers RSS (MB) "
                  "| elapsed (s) | process |")
            print("|---:|---:|---:|---:|---:|---|")
            pids: dict[int, int] = {}
            for mark in marks:
                which = pids.setdefault(mark["pid"], len(pids) + 1)
                print(f"| {mark['stored']:,} | {mark['crawl_mb']:.1f} | "
                      f"{mark['crawl_mb'] / base['crawl_mb']:.2f} | {mark['workers_mb']:.1f} | "
                      f"{mark['seconds']:.0f} | run {which} |")
        for result in (first, second):
            if result:
                print("\n" + result["out"].strip())


if __name__ == "__main__":
    main()
