"""Re-crawl benchmark: what a second crawl of unchanged sites costs, in requests.

    python bench/recrawl_bench.py [--extra 600]

Starts the farm (its corpus plus ``--extra`` generated articles), crawls every source
into a fresh database, crawls again with nothing changed, and prints both crawls'
requests (robots.txt included), their ratio and wall times. The goal is ≤ 5 %.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from monitor.farm import Farm  # noqa: E402
from monitor.run import crawl  # noqa: E402
from monitor.sources import DEMO_CONFIG  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", type=int, default=600, help="generated articles")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Farm(extra=args.extra) as farm:
        db = Path(tmp) / "bench.db"
        timings, results = [], []
        for _ in range(2):
            start = time.perf_counter()
            results.append(crawl(DEMO_CONFIG, db, variables=farm.variables, alerts=None))
            timings.append(time.perf_counter() - start)
        first, second = (r.totals for r in results)
        print(f"articles on the farm: {len(farm.all_articles())} ({len(farm.sites)} sources)")
        print(f"first crawl: {first['requests']} requests, {timings[0]:.1f} s, "
              f"{first['new'] + first['irrelevant'] + first['duplicate']} stored")
        print(f"re-crawl:    {second['requests']} requests, {timings[1]:.1f} s, "
              f"new {second['new']}, updated {second['updated']}, skipped {second['skipped']}")
        ratio = second["requests"] / max(first["requests"], 1)
        print(f"ratio: {ratio:.1%} (goal ≤ 5 %)")
        return 0 if ratio <= 0.05 else 1


if __name__ == "__main__":
    raise SystemExit(main())
