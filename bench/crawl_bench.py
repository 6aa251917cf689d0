"""End-to-end crawl benchmark: the farm grown to thousands of pages, crawled by newswatch,
beside plain ``trafilatura.extract`` over the same pages in the same run.

    python bench/crawl_bench.py [--extra 2000] [--workers 0]

Prints pages/s of the full crawl (discovery, download, extraction in the process pool,
SQLite storage), pages/s of plain single-process trafilatura over the same article
pages, their ratio, and the peak memory of the crawl (crawl process, forkserver,
extraction workers and writer, sampled from /proc every 0.1 s: the sum of their RSS as
in earlier rows of BENCHMARKS.md, and the sum of their PSS, which counts the pages the
workers share with their forkserver once) and its growth over the run. The farm runs in
its own process.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import trafilatura

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from monitor.farm.sites import SITES  # noqa: E402
from monitor.run import crawl  # noqa: E402
from monitor.sources import DEMO_CONFIG  # noqa: E402
from monitor.store import Store  # noqa: E402


def _proc_kb(path: str, key: str) -> int:
    """The ``key:`` line's value (kB) of a /proc file; 0 when it is gone or lacks it."""
    try:
        with open(path, encoding="ascii") as lines:
            for line in lines:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _rss_kb(pid: int) -> int:
    return _proc_kb(f"/proc/{pid}/status", "VmRSS:")


def _pss_kb(pid: int) -> int:
    """Proportional set size of ``pid`` (pages shared with other processes, such as the
    modules workers inherit from their forkserver, counted once across them), from
    /proc/PID/smaps_rollup; its RSS where that file is missing."""
    return _proc_kb(f"/proc/{pid}/smaps_rollup", "Pss:") or _rss_kb(pid)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far, in seconds (0.0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, stack = [], list(children.get(root, []))
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack.extend(children.get(pid, []))
    return out


class MemorySampler(threading.Thread):
    """Sum of RSS over this process's descendants except the farm, every 0.1 s."""

    def __init__(self, exclude: set[int]) -> None:
        super().__init__(daemon=True)
        self.exclude = exclude
        self.samples: list[int] = []
        self.pss_samples: list[int] = []
        self.peak_by_pid: dict[int, int] = {}
        self.cpu_by_pid: dict[int, float] = {}
        self.role_by_pid: dict[int, str] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.1):
            pids = [p for p in _descendants(os.getpid()) if p not in self.exclude]
            sizes = {p: _rss_kb(p) for p in pids}
            for pid, size in sizes.items():
                self.peak_by_pid[pid] = max(size, self.peak_by_pid.get(pid, 0))
                self.cpu_by_pid[pid] = max(_cpu_seconds(pid), self.cpu_by_pid.get(pid, 0.0))
                if pid not in self.role_by_pid:
                    command = _cmdline(pid)
                    self.role_by_pid[pid] = ("forkserver" if "forkserver" in command
                                             else "spawned" if "spawn" in command else "other")
            total = sum(sizes.values())
            if total:
                self.samples.append(total)
                self.pss_samples.append(sum(_pss_kb(p) for p in pids))

    def peaks_mb(self) -> list[float]:
        """Peak RSS of each process that grew past 20 MB, largest first."""
        return sorted((round(kb / 1024, 1) for kb in self.peak_by_pid.values() if kb > 20480),
                      reverse=True)


def start_farm(extra: int) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """``newswatch farm`` in its own process; returns it and its FARM_* variables."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "farm", "--port", "0", "--extra", str(extra),
         "--prerender"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    variables: dict[str, str] = {}
    assert proc.stdout is not None
    while len(variables) < 2 * len(SITES):  # FARM_<SITE> and FARM_<SITE>_HOST each
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("farm did not start")
        match = re.match(r"export (\w+)=(\S+)", line)
        if match:
            variables[match.group(1)] = match.group(2)
    return proc, variables


def _read(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def article_urls(variables: dict[str, str]) -> list[str]:
    """Every article URL the farm lists in its sitemaps (sitemap indexes followed), site
    by site in the order of ``variables``."""
    from scrapy.utils.sitemap import Sitemap

    urls: list[str] = []
    for name, base in variables.items():
        if name.endswith("_HOST"):
            continue
        todo = [base + "/sitemap.xml"]
        while todo:
            sitemap = Sitemap(_read(todo.pop()))
            locs = [entry["loc"] for entry in sitemap]
            (todo if sitemap.type == "sitemapindex" else urls).extend(locs)
    return urls


def fetch_all_articles(variables: dict[str, str]) -> list[tuple[str, bytes]]:
    """Every article page the farm lists in its sitemaps, fetched once."""
    return [(url, _read(url)) for url in article_urls(variables)]


def farm_pages(extra: int) -> tuple[list[tuple[str, bytes]], dict[str, str]]:
    """Every article page of a farm grown by ``extra`` articles, and its FARM_* variables;
    the farm is stopped before this returns."""
    farm, variables = start_farm(extra)
    try:
        return fetch_all_articles(variables), variables
    finally:
        farm.terminate()
        farm.wait(timeout=10)


def time_plain(pages: list[tuple[str, bytes]]) -> float:
    """Pages/s of plain ``trafilatura.extract`` over ``pages`` in this process."""
    trafilatura.extract(pages[0][1], url=pages[0][0])  # warm-up: lazy imports
    started = time.perf_counter()
    for url, body in pages:
        trafilatura.extract(body, url=url)
    return len(pages) / (time.perf_counter() - started)


def _cpu_per_page(sampler: MemorySampler, farm_cpu: float, pages: int) -> dict[str, float]:
    """CPU milliseconds per stored page: the crawl process, the processes forked from its
    forkserver (the forkserver's start-up, the extraction workers and the writer), the
    farm."""
    by_role: dict[str, float] = {"crawl process": 0.0, "workers + writer": 0.0}
    for pid, seconds in sampler.cpu_by_pid.items():
        role = ("workers + writer" if sampler.role_by_pid.get(pid) == "forkserver"
                else "crawl process")
        by_role[role] += seconds
    by_role["farm (not newswatch)"] = farm_cpu
    return {role: round(1000 * seconds / max(pages, 1), 2) for role, seconds in by_role.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--extra", type=int, default=2000, help="generated articles to add")
    parser.add_argument("--workers", type=int, default=0, help="extraction processes (0=cores)")
    parser.add_argument("--json", action="store_true", help="print figures as JSON")
    args = parser.parse_args()

    farm, variables = start_farm(args.extra)
    try:
        pages = fetch_all_articles(variables)  # outside every timed section
        plain_before = time_plain(pages)
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "bench.db"
            sampler = MemorySampler(exclude={farm.pid})
            sampler.start()
            farm_cpu_before = _cpu_seconds(farm.pid)
            started = time.perf_counter()
            result = crawl(DEMO_CONFIG, db, variables=variables,
                           scrapy_settings={"NEWSWATCH_EXTRACT_WORKERS": args.workers,
                                            "LOG_LEVEL": "ERROR"})
            crawl_seconds = time.perf_counter() - started
            farm_cpu = _cpu_seconds(farm.pid) - farm_cpu_before
            sampler.stop.set()
            sampler.join()
            store = Store(db)
            urls = [row["url"] for row in store.articles()]
            store.close()
        plain_after = time_plain(pages)
    finally:
        farm.terminate()
        farm.wait(timeout=10)

    plain_rate = max(plain_before, plain_after)  # the faster baseline: a conservative ratio
    crawl_rate = len(urls) / crawl_seconds
    samples = sampler.samples or [0]
    tenth = max(1, len(samples) // 10)
    figures = {
        "articles": len(urls), "articles_listed_by_farm": len(pages),
        "requests": result.totals["requests"],
        "errors": result.totals["errors"], "crawl_seconds": round(crawl_seconds, 2),
        "crawl_pages_per_s": round(crawl_rate, 1),
        "plain_trafilatura_pages_per_s": round(plain_rate, 1),
        "plain_before_after": [round(plain_before, 1), round(plain_after, 1)],
        "ratio_crawl_vs_plain": round(crawl_rate / plain_rate, 2),
        "peak_rss_mb": round(max(samples) / 1024, 1),
        "peak_pss_mb": round(max(sampler.pss_samples or [0]) / 1024, 1),
        "rss_first_tenth_mb": round(max(samples[:tenth]) / 1024, 1),
        "rss_last_tenth_mb": round(max(samples[-tenth:]) / 1024, 1),
        "peak_rss_by_process_mb": sampler.peaks_mb(),
        "cores": os.cpu_count(),
        "cpu_ms_per_page": _cpu_per_page(sampler, farm_cpu, len(urls)),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"articles crawled end to end : {figures['articles']} "
              f"({figures['requests']} requests, {figures['errors']} errors)")
        print(f"newswatch crawl             : {figures['crawl_pages_per_s']} pages/s "
              f"({figures['crawl_seconds']} s)")
        print(f"plain trafilatura.extract   : {figures['plain_trafilatura_pages_per_s']} pages/s "
              "(one process, same pages; faster of the runs before and after the crawl: "
              f"{figures['plain_before_after']})")
        print(f"ratio crawl / plain         : {figures['ratio_crawl_vs_plain']}x")
        print(f"peak memory (crawl+workers) : {figures['peak_rss_mb']} MB "
              f"(first tenth {figures['rss_first_tenth_mb']} MB, "
              f"last tenth {figures['rss_last_tenth_mb']} MB)")
        print(f"peak per process            : {figures['peak_rss_by_process_mb']} MB "
              "(RSS: the crawl process first, then the forkserver, workers and writer)")
        print(f"peak memory, shared once    : {figures['peak_pss_mb']} MB (sum of PSS: "
              "pages the workers share with their forkserver counted once)")
        print(f"CPU ms per page             : {figures['cpu_ms_per_page']} "
              "(user+system, by process kind)")
    complete = len(urls) == len(pages)
    return 0 if result.ok and result.totals["errors"] == 0 and complete else 1


if __name__ == "__main__":
    sys.exit(main())
