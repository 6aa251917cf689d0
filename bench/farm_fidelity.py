"""How heavy the farm's article pages are beside the real outlet pages.

    python bench/farm_fidelity.py [--extra 2000] [--realpages ../shared/realpages]

For the farm's article pages (the 24 outlet replicas of ``sites.MARKUP`` and the five
original replicas apart) and for the real pages in ``realpages/html`` and
``realpages/unlabelled`` (skipped when absent): raw size in KB, elements, links and
plain ``trafilatura.extract`` milliseconds per page (min / median / max). The outlet
replicas' chrome (``monitor.farm.chrome.WEIGHT``) is calibrated on these figures.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import lxml.html
import trafilatura

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from crawl_bench import farm_pages  # noqa: E402

from monitor.farm.sites import MARKUP, SITES  # noqa: E402


def _measure(body: bytes, url: str | None) -> tuple[float, float, int, int]:
    started = time.perf_counter()
    trafilatura.extract(body, url=url)
    ms = 1000 * (time.perf_counter() - started)
    tree = lxml.html.fromstring(body)
    return len(body) / 1024, ms, sum(1 for _ in tree.iter()), len(tree.findall(".//a"))


def _summary(name: str, rows: list[tuple[float, float, int, int]]) -> str:
    def span(values: list[float], digits: int) -> str:
        return (f"{round(min(values), digits):g} / {round(statistics.median(values), digits):g}"
                f" / {round(max(values), digits):g}")

    columns = list(zip(*rows, strict=True))
    return (f"{name:<28} {len(rows):5d} pages | KB {span(list(columns[0]), 1):<20} | "
            f"trafilatura ms {span(list(columns[1]), 1):<18} | elements "
            f"{span(list(columns[2]), 0):<16} | links {span(list(columns[3]), 0)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--extra", type=int, default=2000, help="generated articles to add")
    parser.add_argument("--realpages", type=Path, default=REPO.parent / "shared" / "realpages")
    args = parser.parse_args()
    pages, variables = farm_pages(args.extra)
    ports = {urlsplit(value).netloc: name.removeprefix("FARM_").lower()
             for name, value in variables.items() if not name.endswith("_HOST")}
    trafilatura.extract(pages[0][1], url=pages[0][0])  # warm-up: lazy imports
    groups: dict[str, list[tuple[float, float, int, int]]] = {}
    for url, body in pages:
        site = SITES.get(ports.get(urlsplit(url).netloc, ""))
        kind = "farm: outlet replicas" if site and site.theme in MARKUP else "farm: original five"
        groups.setdefault(kind, []).append(_measure(body, url))
    for folder in ("html", "unlabelled"):
        for path in sorted((args.realpages / folder).glob("*.html.gz")):
            body = gzip.open(path).read()
            _measure(body, None)  # warm: the figure is the second run
            groups.setdefault(f"real: {folder}", []).append(_measure(body, None))
    print("min / median / max")
    for name, rows in groups.items():
        print(_summary(name, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
