"""Extraction speed on replica pages: newswatch's ``extract`` (with site profiles, and
again without any profile: the generic path) beside plain ``trafilatura.extract``, over
the same pages in one process and one run.

    python bench/extract_bench.py [--extra 400]
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.request
from pathlib import Path

import trafilatura

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.extract import extract  # noqa: E402
from monitor.farm import Farm  # noqa: E402
from monitor.sources import DEMO_CONFIG, load_settings  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--extra", type=int, default=400, help="generated articles to add")
    args = parser.parse_args()
    with Farm(extra=args.extra) as farm:
        settings = load_settings(DEMO_CONFIG, farm.variables)
        pages = []
        for article in farm.all_articles():
            url = farm.url_of(article.site, article.slug)
            with urllib.request.urlopen(url, timeout=30) as response:
                pages.append((settings.source(article.site), url, response.read().decode()))
    extract(pages[0][2], pages[0][1], pages[0][0].profile)  # warm-up: lazy imports
    trafilatura.extract(pages[0][2], url=pages[0][1])
    started = time.perf_counter()
    for source, url, html in pages:
        extract(html, url, source.profile, source.timezone)
    ours = len(pages) / (time.perf_counter() - started)
    started = time.perf_counter()
    for source, url, html in pages:
        extract(html, url, None, source.timezone)
    generic = len(pages) / (time.perf_counter() - started)
    started = time.perf_counter()
    for _, url, html in pages:
        trafilatura.extract(html, url=url)
    plain = len(pages) / (time.perf_counter() - started)
    print(f"pages                     : {len(pages)}")
    print(f"newswatch extract         : {ours:.1f} pages/s")
    print(f"plain trafilatura.extract : {plain:.1f} pages/s")
    print(f"newswatch, no profile     : {generic:.1f} pages/s")
    print(f"ratio                     : {ours / plain:.2f}x")
    print(f"ratio without profile     : {generic / plain:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
