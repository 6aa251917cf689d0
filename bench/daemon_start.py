"""The daemon's first round: every source of config/demo.yaml is due at once.

    python bench/daemon_start.py [--caps 4,29] [--extra 0]

For each cap, starts the farm (every site) and ``newswatch run`` with the demo sources
(interval 1 h, so each is crawled once) and ``max_parallel_crawls`` set to the cap, and
measures, sampling /proc every 0.2 s:

- seconds until every source has a finished run;
- the peak summed RSS and PSS (shared pages counted once, sampled every second) of the
  daemon and every process it started (crawl processes, their forkservers, extraction
  workers and writers), and the most processes at once;
- articles stored.

A cap at least the number of sources is the daemon before ``max_parallel_crawls`` (every
crawl process tree at once). Prints one line per cap, then the ratios against the last.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.crawl_bench import _pss_kb  # noqa: E402
from bench.soak import tree_sample  # noqa: E402
from monitor.farm import Farm  # noqa: E402
from monitor.processes.lifecycle import descendants  # noqa: E402
from monitor.sources import DEMO_CONFIG  # noqa: E402
from monitor.store import Store  # noqa: E402

CLI = [sys.executable, "-m", "monitor.cli"]


def _finished(db: Path) -> tuple[int, int]:
    """(sources with a finished run, articles stored)."""
    if not db.exists():
        return 0, 0
    store = Store(db)
    try:
        done = store.db.execute("select count(distinct source) from crawl_runs where "
                                "status = 'finished'").fetchone()[0]
        return done, store.db["articles"].count
    finally:
        store.close()


def first_round(farm: Farm, cap: int, workdir: Path) -> dict[str, float]:
    """One daemon, one first round with ``max_parallel_crawls = cap``."""
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    data["max_parallel_crawls"] = cap
    data["sources"] = [{**s, "interval": "1h", "jitter": "0s"} for s in data["sources"]]
    config = workdir / f"sources-{cap}.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    no_alerts = workdir / "alerts.yaml"
    no_alerts.write_text("channels: {}\nrules: []\n", encoding="utf-8")
    db = workdir / f"start-{cap}.db"
    sources = len(data["sources"])
    started = time.monotonic()
    daemon = subprocess.Popen(
        [*CLI, "run", "--config", str(config), "--db", str(db), "--alerts-config",
         str(no_alerts)], cwd=ROOT, env={**os.environ, **farm.config_variables()},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    peak_kb = peak_pss_kb = most = 0
    try:
        last_check = 0.0
        while True:
            kb, count = tree_sample(daemon.pid)
            peak_kb, most = max(peak_kb, kb), max(most, count)
            if time.monotonic() - last_check > 1:
                last_check = time.monotonic()
                pss = sum(_pss_kb(pid) for pid in [daemon.pid, *descendants(daemon.pid)])
                peak_pss_kb = max(peak_pss_kb, pss)
                done, articles = _finished(db)
                if done == sources:
                    break
            if time.monotonic() - started > 900 or daemon.poll() is not None:
                raise SystemExit(f"cap {cap}: {done} of {sources} sources after "
                                 f"{time.monotonic() - started:.0f} s")
            time.sleep(0.2)
        seconds = time.monotonic() - started
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
    return {"cap": cap, "seconds": seconds, "peak_mb": peak_kb / 1024,
            "peak_pss_mb": peak_pss_kb / 1024, "most": most, "articles": articles}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--caps", default="4,29", help="comma-separated max_parallel_crawls")
    parser.add_argument("--extra", type=int, default=0, help="generated articles per farm")
    args = parser.parse_args()
    caps = [int(c) for c in args.caps.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp, Farm(extra=args.extra) as farm:
        for cap in caps:
            row = first_round(farm, cap, Path(tmp))
            rows.append(row)
            print(f"max_parallel_crawls {cap:>2}: every source crawled in {row['seconds']:.1f} s"
                  f", {row['articles']} articles; peak {row['peak_mb']:.0f} MB summed RSS, "
                  f"{row['peak_pss_mb']:.0f} MB PSS, at most {row['most']} processes",
                  flush=True)
    base = rows[-1]
    for row in rows[:-1]:
        print(f"cap {row['cap']} vs {base['cap']}: time {row['seconds'] / base['seconds']:.2f}×,"
              f" peak RSS {row['peak_mb'] / base['peak_mb']:.2f}×, peak PSS "
              f"{row['peak_pss_mb'] / base['peak_pss_mb']:.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
