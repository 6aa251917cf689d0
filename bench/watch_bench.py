"""The daemon watching many sources: CPU per poll, polls/s, memory, publication to alert.

N synthetic farm sites (``Farm.many``: clones of one replica site, each on its own
loopback address) are polled by `newswatch run` at an interval; after every source's
first crawl, articles are published at random times on random sites for the measured
window, and a webhook receiver on loopback notes when each one's alert arrives. The
daemon runs in a cpuacct cgroup (cgroup v1, /sys/fs/cgroup/cpuacct; root needed), so
the CPU counted is the daemon's and every process under it (crawl processes, the warm
service, forkservers, extraction workers, writers). Each mode in ``--modes`` runs in
turn in the same run: ``warm`` (the crawl service, the default) and ``process`` (a
crawl process tree per poll, as before issue 33).

    python bench/watch_bench.py --sources 100 --interval 60 --minutes 3

prints, per mode: polls in the window, CPU-seconds per poll (cgroup), polls/s, the
cores used on average, RSS of the cgroup's processes (at the window's start, end and
peak), and publication-to-alert delay (median, p95, alerts missing). BENCHMARKS.md has
the figures.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from monitor.farm import Farm, load_corpus  # noqa: E402
from monitor.sources import DEMO_CONFIG  # noqa: E402
from monitor.store import Store  # noqa: E402

CGROUP = Path("/sys/fs/cgroup/cpuacct")
BASE = "laodong_en"


class Receiver:
    """A webhook receiver on loopback: when each article URL's alert arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stamp = time.time()
                try:
                    doc = json.loads(body)
                except ValueError:
                    doc = {}
                for url in _urls(doc):
                    receiver.arrived.setdefault(url, stamp)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _urls(doc: Any) -> list[str]:
    """Every article URL in a webhook's JSON (one alert or a batch)."""
    found: list[str] = []
    if isinstance(doc, dict):
        article = doc.get("article")
        if isinstance(article, dict) and article.get("url"):
            found.append(article["url"])
        for value in doc.values():
            if isinstance(value, (list, dict)):
                found += _urls(value)
    elif isinstance(doc, list):
        for value in doc:
            found += _urls(value)
    return found


def _config(farm: Farm, path: Path, interval: int, jitter: int, mode: str,
            parallel: int) -> Path:
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    template = next(s for s in data["sources"] if s["name"] == BASE)
    template = {**template, "interval": f"{interval}s", "jitter": f"{jitter}s",
                "crawl_timeout": "120s"}
    data = {"sources": farm.source_entries(template), "max_parallel_crawls": parallel,
            "crawl_service": mode}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _alerts(path: Path, url: str) -> Path:
    path.write_text(f"channels:\n  hook:\n    webhook: \"{url}\"\nrules:\n  - name: all\n"
                    "    kinds: [new]\n    channels: [hook]\n", encoding="utf-8")
    return path


def _cgroup(name: str) -> Path:
    group = CGROUP / name
    group.mkdir(exist_ok=True)
    return group


def _usage(group: Path) -> float:
    return int((group / "cpuacct.usage").read_text()) / 1e9


def _rss(group: Path) -> int:
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in (group / "cgroup.procs").read_text().split():
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
        except (OSError, IndexError, ValueError):
            pass
    return total


def _role(pid: str, daemon_pid: int) -> str:
    """What a process of the cgroup is: daemon, service (the warm crawl service),
    forkserver, worker (extraction), writer, or other (its command line's last word)."""
    if pid == str(daemon_pid):
        return "daemon"
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "gone"
    ppid = next((line.split()[1] for line in status.splitlines()
                 if line.startswith("PPid:")), "")
    if "forkserver" in cmd:
        return "forkserver"
    if ppid == str(daemon_pid):
        return "service"
    return "worker/writer" if "multiprocessing" in cmd else "other"


def _memory(group: Path, daemon_pid: int) -> dict[str, Any]:
    """Memory of the cgroup's processes: RSS and PSS (proportional set size: shared pages
    split among the processes sharing them, /proc/PID/smaps_rollup), both in MB, summed
    and by role (``_role``); the daemon's thread count."""
    out: dict[str, Any] = {"rss": 0.0, "pss": 0.0, "roles": {}, "daemon_threads": None}
    for pid in (group / "cgroup.procs").read_text().split():
        try:
            fields = dict(line.split(":", 1) for line in
                          Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:])
            rss = int(fields["Rss"].split()[0]) / 1024
            pss = int(fields["Pss"].split()[0]) / 1024
            if pid == str(daemon_pid):
                out["daemon_threads"] = len(os.listdir(f"/proc/{pid}/task"))
        except (OSError, KeyError, ValueError):
            continue
        role = _role(pid, daemon_pid)
        out["rss"] += rss
        out["pss"] += pss
        mine = out["roles"].setdefault(role, {"n": 0, "rss": 0.0, "pss": 0.0})
        mine["n"] += 1
        mine["rss"] += rss
        mine["pss"] += pss
    return out


def _roles(sample: dict[str, Any]) -> dict[str, str]:
    return {role: f"{v['n']} proc, RSS {v['rss']:.0f}, PSS {v['pss']:.0f}"
            for role, v in sorted(sample["roles"].items())}


def _polls(db: Path) -> tuple[int, int]:
    """(runs ended, sources with a run ended)."""
    if not db.exists():
        return 0, 0
    store = Store(db)
    try:
        return store.db.execute("select count(*), count(distinct source) from crawl_runs "
                                "where status != 'running'").fetchone()
    except Exception:  # noqa: BLE001 - not set up yet
        return 0, 0
    finally:
        store.close()


def _stored_as(db: Path, urls: list[str]) -> list[dict[str, Any]]:
    """How the articles whose alert never came were stored (not at all, irrelevant, a
    duplicate of another)."""
    store = Store(db)
    try:
        out = []
        for url in urls:
            row = store.db.execute("select relevant, link from articles where url = ?",
                                   [url]).fetchone()
            out.append({"url": url, "stored": row is not None,
                        "relevant": row[0] if row else None,
                        "duplicate": bool(row[1]) if row else None})
        return out
    finally:
        store.close()


def run_mode(mode: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    rng = random.Random(args.seed)
    stories = [a for a in load_corpus() if a.topic == "vn-us" and a.site != BASE]
    rng.shuffle(stories)
    farm = Farm.many(args.sources, base=BASE, articles=args.articles).start()
    receiver = Receiver()
    db = work / f"{mode}.db"
    jitter = args.jitter if args.jitter is not None else max(1, args.interval // 10)
    config = _config(farm, work / f"{mode}.yaml", args.interval, jitter, mode, args.parallel)
    alerts = _alerts(work / f"{mode}-alerts.yaml", receiver.url)
    group = _cgroup(f"newswatch-watch-bench-{os.getpid()}-{mode}")
    procs = str(group / "cgroup.procs")

    def enter() -> None:  # in the daemon's process, before exec: it and its children
        with open(procs, "w") as handle:
            handle.write(str(os.getpid()))
        # and it dies with the bench (SIGTERM: its orderly stop), even a bench killed
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)

    log = open(work / f"{mode}.log", "w")  # noqa: SIM115
    daemon = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "run", "--config", str(config), "--db", str(db),
         "--alerts-config", str(alerts), "--log-level", "WARNING"],
        cwd=REPO, stdout=log, stderr=log, preexec_fn=enter)
    out: dict[str, Any] = {"mode": mode, "sources": args.sources, "interval": args.interval}
    try:
        started = time.monotonic()
        while _polls(db)[1] < args.sources:  # every source's first (full) crawl
            if daemon.poll() is not None:
                raise SystemExit(f"{mode}: the daemon exited ({daemon.returncode}); see "
                                 f"{work / (mode + '.log')}")
            if time.monotonic() - started > args.warmup:
                break
            time.sleep(1)
        out["first_round_s"] = round(time.monotonic() - started, 1)
        out["first_round_sources"] = _polls(db)[1]
        cpu0, (polls0, _), t0 = _usage(group), _polls(db), time.monotonic()
        rss = [_rss(group)]
        mem = [_memory(group, daemon.pid)]
        published: dict[str, float] = {}
        end = t0 + args.minutes * 60
        next_pub = t0 + rng.uniform(0, 2 * args.publish_every)
        next_rss = t0 + 10
        while time.monotonic() < end:
            now = time.monotonic()
            if now >= next_pub and stories:
                story = stories.pop()
                site = f"w{rng.randrange(args.sources):04d}"
                slug = f"bench-{len(published)}-{story.slug}"[:80]
                url = farm.publish({"site": site, "slug": slug, "title": story.title,
                                    "lang": story.lang, "topic": story.topic,
                                    "published": datetime.now(UTC).isoformat(),
                                    "paragraphs": story.paragraphs})
                published[url] = time.time()
                next_pub = now + rng.uniform(0, 2 * args.publish_every)
            if now >= next_rss:
                rss.append(_rss(group))
                mem.append(_memory(group, daemon.pid))
                next_rss = now + 10
            time.sleep(0.2)
        cpu1, (polls1, _), t1 = _usage(group), _polls(db), time.monotonic()
        rss.append(_rss(group))
        mem.append(_memory(group, daemon.pid))
        deadline = time.monotonic() + args.interval + 60  # the last ones' alerts
        while time.monotonic() < deadline and not all(u in receiver.arrived for u in published):
            time.sleep(1)
        polls = polls1 - polls0
        missing = [u for u in published if u not in receiver.arrived]
        out["missing"] = _stored_as(db, missing)
        delays = sorted(receiver.arrived[u] - t for u, t in published.items()
                        if u in receiver.arrived)
        out.update({
            "window_s": round(t1 - t0, 1), "polls": polls,
            "cpu_s": round(cpu1 - cpu0, 1),
            "cpu_per_poll": round((cpu1 - cpu0) / polls, 3) if polls else None,
            "polls_per_s": round(polls / (t1 - t0), 2),
            "cores": round((cpu1 - cpu0) / (t1 - t0), 2),
            "rss_mb": {"start": rss[0] // 2**20, "end": rss[-1] // 2**20,
                       "peak": max(rss) // 2**20,
                       "per_minute": [r // 2**20 for r in rss[::6]]},
            "pss_mb": {"start": round(mem[0]["pss"]), "end": round(mem[-1]["pss"]),
                       "peak": round(max(m["pss"] for m in mem)),
                       "per_minute": [round(m["pss"]) for m in mem[::6]]},
            "by_role_mb": {"start": _roles(mem[0]), "end": _roles(mem[-1])},
            "daemon_threads": {"start": mem[0]["daemon_threads"],
                               "end": mem[-1]["daemon_threads"],
                               "peak": max(m["daemon_threads"] or 0 for m in mem)},
            "published": len(published), "alerted": len(delays),
            "delay_median_s": round(statistics.median(delays), 1) if delays else None,
            "delay_p95_s": (round(delays[max(0, int(0.95 * len(delays) + 0.5) - 1)], 1)
                            if delays else None),
        })
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(120)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        log.close()
        receiver.close()
        farm.stop()
        for pid in (group / "cgroup.procs").read_text().split():  # nothing should be left
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.5)
        try:
            group.rmdir()
        except OSError:
            pass
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=100)
    parser.add_argument("--interval", type=int, default=60, help="poll interval, seconds")
    parser.add_argument("--jitter", type=int, default=None,
                        help="poll jitter, seconds (default: a tenth of the interval)")
    parser.add_argument("--minutes", type=float, default=3.0, help="the measured window")
    parser.add_argument("--modes", default="warm,process")
    parser.add_argument("--parallel", type=int, default=8, help="max_parallel_crawls")
    parser.add_argument("--articles", type=int, default=3, help="articles per site at start")
    parser.add_argument("--publish-every", type=float, default=10.0,
                        help="mean seconds between two publications")
    parser.add_argument("--warmup", type=float, default=900.0,
                        help="longest wait for every source's first crawl, seconds")
    parser.add_argument("--seed", type=int, default=33)
    args = parser.parse_args()
    if not (CGROUP / "cpuacct.usage").exists():
        raise SystemExit(f"no cpuacct cgroup at {CGROUP} (cgroup v1, as root)")
    with tempfile.TemporaryDirectory(prefix="watch-bench-") as tmp:
        for mode in args.modes.split(","):
            result = run_mode(mode, args, Path(tmp))
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
