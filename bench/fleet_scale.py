"""Crawl workers through Redis: pages per second with 1, 2 and 3 workers, each on a fixed
CPU quota (small machines emulated on one box), per-site politeness counted by the farm.

    python bench/fleet_scale.py --workers 1,2,3 --cpu 0.4 --extra 2000
    python bench/fleet_scale.py --workers 1,3 --cpu 0.4 --polite 3 --delay 0.5

Each worker is a ``newswatch worker --redis URL`` process with its own working directory
(no path to the database), in a cgroup v1 of its own (``/sys/fs/cgroup/cpu/...``,
``cpu.cfs_quota_us`` = ``--cpu`` × ``cpu.cfs_period_us``; root needed), which holds it and
every process under it (its warm crawl service, extraction workers, writer). The bench
is the database's side: it offers one round of jobs (``monitor.fleet.offer_round``: one
job per site) and runs the one SQLite writer (``monitor.fleet.Intake``) on a thread.

For each worker count, in turn in one run, on one farm and one Redis (a fleet name and a
database each): the workers start and register (their crawl services warm), then the
round is offered; the measure runs from the offer until the writer has stored every
source's run. Pages/s = requests the farm answered in that time / its seconds. The
farm counts, per site, the most requests in flight at once and the most started in
any one second (``Farm.load``): never above the source's ``concurrency`` (and, with a
delay, never two starts closer than half of it: Scrapy randomises the delay ±50 %).

``--polite N``: only the first N sites, each with ``download_delay`` ``--delay``: a crawl
bound by its sites' delays, not by CPU. Prints one JSON line per worker count and a
summary line (speed-up against one worker). BENCHMARKS.md has the figures.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from monitor.farm import Farm  # noqa: E402
from monitor.fleet import Intake, JobQueue, Keys, Registry, connect, offer_round  # noqa: E402
from monitor.sources import DEMO_CONFIG, load_settings  # noqa: E402
from monitor.store import Store  # noqa: E402


def _redis(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    """bench/fleet_bench.py's redis-server (AOF on, ``appendfsync everysec``)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("fleet_bench", REPO / "bench" / "fleet_bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._redis(directory)


CPU = Path("/sys/fs/cgroup/cpu")
CPUACCT = Path("/sys/fs/cgroup/cpuacct")
PERIOD_US = 100_000


def _group(root: Path, name: str) -> Path:
    group = root / name
    group.mkdir(exist_ok=True)
    return group


def _start_worker(url: str, fleet: str, workdir: Path, cpu: float, name: str,
                  log: Path) -> tuple[subprocess.Popen[bytes], list[Path]]:
    """A ``newswatch worker`` in cgroups of its own: a CPU quota of ``cpu`` cores, and
    its CPU time counted (cpuacct)."""
    workdir.mkdir(parents=True, exist_ok=True)
    groups = [_group(CPU, name), _group(CPUACCT, name)]
    (groups[0] / "cpu.cfs_period_us").write_text(str(PERIOD_US))
    (groups[0] / "cpu.cfs_quota_us").write_text(str(int(cpu * PERIOD_US)))
    procs = [str(g / "cgroup.procs") for g in groups]

    def enter() -> None:  # in the worker's process, before exec: it and its children
        for path in procs:
            with open(path, "w") as handle:
                handle.write(str(os.getpid()))
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # dies with us

    out = open(log, "wb")  # noqa: SIM115 - the worker's log, closed with it
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "worker", "--redis", url, "--fleet", fleet,
         "--workdir", str(workdir), "--log-level", "WARNING"],
        cwd=workdir, stdout=out, stderr=out, preexec_fn=enter,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    out.close()
    return proc, groups


def _stop(procs: list[subprocess.Popen[bytes]], groups: list[Path]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(90)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for group in groups:
        for pid in (group / "cgroup.procs").read_text().split():  # nothing should be left
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
    time.sleep(0.5)
    for group in groups:
        try:
            group.rmdir()
        except OSError:
            pass


def _usage(groups: list[Path]) -> float:
    return sum(int((g / "cpuacct.usage").read_text()) / 1e9
               for g in groups if (g / "cpuacct.usage").exists())


def one(count: int, args: argparse.Namespace, farm: Farm, url: str,
        work: Path) -> dict[str, Any]:
    """One measure with ``count`` workers."""
    fleet = f"scale-{count}-{uuid.uuid4().hex[:6]}"
    keys = Keys(fleet)
    client = connect(url)
    settings = load_settings(DEMO_CONFIG, farm.config_variables())
    sources = list(settings.sources)
    if args.polite:
        sources = [s.model_copy(update={"download_delay": args.delay})
                   for s in sources[:args.polite]]
    db = work / f"n{count}.db"
    procs, groups = [], []
    try:
        for i in range(count):
            proc, mine = _start_worker(url, fleet, work / f"n{count}-w{i}", args.cpu,
                                       f"newswatch-scale-{os.getpid()}-{count}-{i}",
                                       work / f"n{count}-w{i}.log")
            procs.append(proc)
            groups += mine
        registry = Registry(client, keys)
        deadline = time.monotonic() + 300
        while len(registry.workers()) < count:  # every worker up, its service warm
            if any(p.poll() is not None for p in procs):
                raise SystemExit(f"a worker exited; see {work}/n{count}-w*.log")
            if time.monotonic() > deadline:
                raise SystemExit(f"{count} workers did not register in 300 s")
            time.sleep(0.2)
        stop, ready = threading.Event(), threading.Event()
        intake_counts: dict[str, int] = {}
        holder: list[Intake] = []

        def write() -> None:  # the one SQLite writer, its Store opened on its thread
            store = Store(db)
            try:
                intake = Intake(connect(url), store, keys)
                intake.start()
                holder.append(intake)
                ready.set()
                intake.run(stop, block_ms=200)
                intake_counts.update(intake.counts)
            finally:
                ready.set()
                store.close()

        writer = threading.Thread(target=write, name="intake")
        writer.start()
        ready.wait(60)
        farm.load(reset=True)
        requests0, cpu0, t0 = farm.requests, _usage(groups), time.monotonic()
        offered = offer_round(JobQueue(client, keys), sources, "r1")
        deadline = t0 + args.limit
        while holder and holder[0].counts["runs"] < len(sources):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        t1, cpu1, requests1 = time.monotonic(), _usage(groups), farm.requests
        load = farm.load(reset=True)
        stop.set()
        writer.join(60)
        store = Store(db)
        try:
            articles = store.db.execute("select count(*) from articles").fetchone()[0]
        finally:
            store.close()
    finally:
        _stop(procs, groups)
    limits = {s.name: s.concurrency for s in sources}
    worst = max((v["most_in_flight"] for v in load.values()), default=0)
    seconds = t1 - t0
    return {"workers": count, "cpu_quota": args.cpu, "jobs": len(offered["queued"]),
            "sources": len(sources), "runs": intake_counts.get("runs", 0),
            "seconds": round(seconds, 2), "pages": requests1 - requests0,
            "pages_per_s": round((requests1 - requests0) / seconds, 1),
            "articles": articles, "cpu_s": round(cpu1 - cpu0, 1),
            "cpu_ms_per_page": round(1000 * (cpu1 - cpu0) / max(1, requests1 - requests0), 1),
            "most_in_flight_per_site": worst, "concurrency_allowed": max(limits.values()),
            "most_per_second_per_site": max((v["most_per_second"] for v in load.values()),
                                            default=0),
            "min_gap_s": min((v["min_gap"] for v in load.values()
                              if v["min_gap"] is not None), default=None)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2,3", help="worker counts, in turn")
    parser.add_argument("--cpu", type=float, default=0.4, help="CPU quota per worker, cores")
    parser.add_argument("--extra", type=int, default=2000, help="farm articles added")
    parser.add_argument("--polite", type=int, default=0,
                        help="only the first N sites, each with --delay between requests")
    parser.add_argument("--delay", type=float, default=0.5, help="download_delay, seconds")
    parser.add_argument("--limit", type=float, default=900, help="seconds per measure, at most")
    args = parser.parse_args()
    if os.geteuid() != 0 or not (CPU / "cgroup.procs").exists():
        raise SystemExit("needs root and cgroup v1 cpu, cpuacct (/sys/fs/cgroup/cpu)")
    counts = [int(n) for n in args.workers.split(",")]
    with tempfile.TemporaryDirectory(prefix="fleet-scale-") as tmp:
        work = Path(tmp)
        redis_proc, url = _redis(work)
        farm = Farm(extra=args.extra).start()
        farm.prerender()  # every page rendered before the first measure (none waits on it)
        try:
            results = []
            for count in counts:
                result = one(count, args, farm, url, work)
                print(json.dumps(result), flush=True)
                results.append(result)
        finally:
            farm.stop()
            redis_proc.terminate()
            redis_proc.wait(30)
    one_worker = next((r["pages_per_s"] for r in results if r["workers"] == 1), None)
    if one_worker:
        print(json.dumps({"speedup_vs_one": {r["workers"]: round(r["pages_per_s"] / one_worker, 2)
                                             for r in results}, "cpu_quota": args.cpu,
                          "polite": args.polite}))


if __name__ == "__main__":
    main()
