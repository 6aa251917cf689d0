"""Per-stage CPU cost of a crawled page, measured stage by stage on the farm's pages.

    python bench/stage_profile.py [--extra 2000] [--json]

The farm runs in its own process; every article page it lists is fetched once, then
each stage newswatch runs on a page is timed in this process, one after the other, on
the same pages: plain ``trafilatura.extract`` (the crawl bench's baseline), newswatch's
extraction (``monitor.extract.article.extract``: decoding, profile or generic path, metadata),
relevance (``monitor.judge.relevance.judge``), shingling + MinHash
(``monitor.changes.dedupe.signature``),
entities (``monitor.changes.dedupe.entities``), the profile-rule health check the worker runs on
a sample of pages (``monitor.processes.workers.tree_rule_misses`` on the extractor's parsed tree,
timed here on every page), the bytes
and pickling of the page sent to a worker and of the article sent back (the process
boundary), and the writer's SQLite work (``monitor.changes.ingest.Ingestor.ingest``, batches of
50, into a fresh database).
Figures are CPU milliseconds per page (``time.thread_time``). The reactor's own share
(Scrapy's engine, middlewares, the spider's parse) is what ``bench/crawl_bench.py``
measures for the crawl process minus the writer and IPC figures here; a sampling
profiler (py-spy) splits it further (BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trafilatura

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from urllib.parse import urlsplit  # noqa: E402

from crawl_bench import farm_pages  # noqa: E402
from trafilatura.utils import load_html  # noqa: E402

from monitor.changes import (  # noqa: E402
    Ingestor,
    analyze,
    signature,  # noqa: E402
)
from monitor.changes.dedupe import entities  # noqa: E402
from monitor.extract import extract  # noqa: E402
from monitor.extract.charset import decode_html  # noqa: E402
from monitor.judge import judge  # noqa: E402
from monitor.processes.workers import tree_rule_misses  # noqa: E402
from monitor.sources import DEMO_CONFIG, load_settings  # noqa: E402
from monitor.store import Store  # noqa: E402


def _timed(totals: dict[str, float], stage: str, call: Callable[..., Any], *args: Any,
           **kwargs: Any) -> Any:
    started = time.thread_time()
    result = call(*args, **kwargs)
    totals[stage] = totals.get(stage, 0.0) + time.thread_time() - started
    return result


def _round_trip(value: Any) -> bytes:
    """Pickle ``value`` and unpickle it (what crossing to a worker and back costs); the
    pickled bytes."""
    wire = pickle.dumps(value, protocol=5)
    pickle.loads(wire)
    return wire


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--extra", type=int, default=2000, help="generated articles to add")
    parser.add_argument("--json", action="store_true", help="print figures as JSON")
    args = parser.parse_args()
    pages, variables = farm_pages(args.extra)
    settings = load_settings(DEMO_CONFIG, variables)

    def source_of(url: str) -> Any:
        host = urlsplit(url).hostname or ""
        return next(s for s in settings.sources if s.owns_host(host))

    trafilatura.extract(pages[0][1], url=pages[0][0])  # warm-up: lazy imports
    analyze({"title": "warm up", "text": "warm up", "lead": None})
    totals: dict[str, float] = {}
    ipc_bytes = [0, 0]
    articles: list[tuple[str, dict[str, Any]]] = []
    for url, body in pages:
        source = source_of(url)
        _timed(totals, "plain trafilatura", trafilatura.extract, body, url=url)
        sent = (body, url, source.profile, source.timezone, "text/html; charset=utf-8",
                tuple(source.domains))
        wire = _timed(totals, "IPC: page pickled + unpickled", _round_trip, sent)
        ipc_bytes[0] += len(wire)
        trees: list[Any] = []
        result = _timed(totals, "extraction (monitor.extract.article)", extract, body, url,
                        source.profile, source.timezone, charset_hint="text/html; charset=utf-8",
                        owned_domains=source.domains, on_tree=trees.append)
        # the worker tries the rules on the tree the extractor parsed (before extraction
        # changes it): XPath evaluations only, timed here on a fresh parse of the page
        fresh = load_html(decode_html(body, "text/html; charset=utf-8")) if trees else None
        _timed(totals, "profile rule check (on the extractor's tree)", tree_rule_misses,
               fresh, source.profile)
        if not result:
            continue
        article = result.as_dict()
        _timed(totals, "relevance (judge)", judge, article.get("title"), article["text"],
               article.get("lead"))
        _timed(totals, "shingling + MinHash (signature)", signature, article["text"])
        _timed(totals, "entities", entities, article.get("title"), article["text"])
        full = analyze(article)
        back = _timed(totals, "IPC: article pickled + unpickled", _round_trip, full)
        ipc_bytes[1] += len(back)
        articles.append((source.name, full))
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "stage.db")
        by_source: dict[str, list[tuple[dict[str, Any], str]]] = {}
        for name, article in articles:
            by_source.setdefault(name, []).append((article, article["url"]))
        for name, rows in by_source.items():
            store.upsert_sources([settings.source(name)])
            for start in range(0, len(rows), 50):
                _timed(totals, "writer: SQLite ingest (batches of 50)",
                       Ingestor(store).ingest, name, rows[start:start + 50])
        store.close()
    count = len(pages)
    figures = {"pages": count, "articles": len(articles),
               "ms_per_page": {k: round(1000 * v / count, 3) for k, v in totals.items()},
               "kb_per_page": {"page sent": round(ipc_bytes[0] / count / 1024, 1),
                               "article returned": round(ipc_bytes[1] / count / 1024, 1)},
               "raw_page_kb": {"median": round(statistics.median(len(b) for _, b in pages)
                                               / 1024, 1),
                               "mean": round(sum(len(b) for _, b in pages) / count / 1024, 1)}}
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"{count} pages, {len(articles)} articles; raw page KB {figures['raw_page_kb']}")
        for stage, ms in figures["ms_per_page"].items():
            print(f"  {stage:<42} {ms:7.3f} ms/page")
        print(f"  bytes across the process boundary: {figures['kb_per_page']} KB/page")
    return 0


if __name__ == "__main__":
    sys.exit(main())
