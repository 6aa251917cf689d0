"""The floor under the crawl bench: what bare Scrapy costs to fetch the same pages.

    python bench/scrapy_floor.py [--extra 2000] [--runs 2]

The farm of ``bench/crawl_bench.py`` runs in its own process. A bare Scrapy spider (no
middlewares of newswatch's, no pipelines, a callback that does nothing; Scrapy's default
downloader middlewares, gzip decoding included) fetches every article page the farm
lists, in a process of its own; its CPU time per page, and the farm's, are printed
beside plain ``trafilatura.extract`` on the same pages and the CPU budget per page that
a crawl ``--ratio`` times as fast as plain trafilatura has on this machine's cores:

    budget = cores / (ratio x plain pages/s)          (CPU ms per page, all processes)

Whatever newswatch does on top of fetching (discovery, extraction, relevance, signature,
entities, storage) has to fit in ``budget - Scrapy floor - farm``, with every core busy
all the time: the crawl bench's start-up and its last pages are not counted here.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from crawl_bench import _cpu_seconds, fetch_all_articles, start_farm, time_plain  # noqa: E402

SPIDER = r'''
import json, sys, time
import scrapy
from scrapy.crawler import CrawlerProcess

urls = json.load(open(sys.argv[1]))


class Bare(scrapy.Spider):
    name = "bare"

    async def start(self):
        for url in urls:
            yield scrapy.Request(url, self.parse)

    def parse(self, response):
        self.crawler.stats.inc_value("pages")


process = CrawlerProcess({"LOG_LEVEL": "ERROR", "ROBOTSTXT_OBEY": False,
                          "CONCURRENT_REQUESTS": 64, "CONCURRENT_REQUESTS_PER_DOMAIN": 4,
                          "TELNETCONSOLE_ENABLED": False, "COOKIES_ENABLED": False})
crawler = process.create_crawler(Bare)
started, cpu = time.perf_counter(), time.process_time()
process.crawl(crawler)
process.start()
print(json.dumps({"pages": crawler.stats.get_value("pages"),
                  "seconds": time.perf_counter() - started,
                  "cpu": time.process_time() - cpu}))
'''


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--extra", type=int, default=2000, help="generated articles to add")
    parser.add_argument("--runs", type=int, default=2, help="bare crawls (the best counts)")
    parser.add_argument("--ratio", type=float, default=1.5, help="target crawl/plain ratio")
    args = parser.parse_args()
    farm, variables = start_farm(args.extra)
    try:
        pages = fetch_all_articles(variables)
        plain = time_plain(pages)
        runs = []
        with tempfile.TemporaryDirectory() as tmp:
            listing = Path(tmp) / "urls.json"
            listing.write_text(json.dumps([url for url, _ in pages]))
            script = Path(tmp) / "bare.py"
            script.write_text(SPIDER)
            for _ in range(args.runs):
                farm_before = _cpu_seconds(farm.pid)
                done = subprocess.run([sys.executable, str(script), str(listing)],
                                      capture_output=True, text=True, check=True)
                run = json.loads(done.stdout.strip().splitlines()[-1])
                run["farm_cpu"] = _cpu_seconds(farm.pid) - farm_before
                runs.append(run)
    finally:
        farm.terminate()
        farm.wait(timeout=10)
    best = min(runs, key=lambda run: run["cpu"] / max(run["pages"], 1))
    count = max(best["pages"], 1)
    cores = os.cpu_count() or 1
    budget = 1000 * cores / (args.ratio * plain)
    floor = 1000 * best["cpu"] / count
    farm_ms = 1000 * best["farm_cpu"] / count
    figures = {"pages": best["pages"], "plain_pages_per_s": round(plain, 1),
               "plain_cpu_ms_per_page": round(1000 / plain, 2), "cores": cores,
               "ratio": args.ratio, "budget_cpu_ms_per_page": round(budget, 2),
               "scrapy_floor_cpu_ms_per_page": round(floor, 2),
               "scrapy_floor_runs": [round(1000 * r["cpu"] / max(r["pages"], 1), 2)
                                     for r in runs],
               "farm_cpu_ms_per_page": round(farm_ms, 2),
               "left_for_newswatch_ms_per_page": round(budget - floor - farm_ms, 2)}
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
