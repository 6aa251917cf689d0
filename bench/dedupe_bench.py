"""Near-duplicate lookup with 100k and 1M stored articles.

    python bench/dedupe_bench.py [--sizes 100000,1000000] [--queries 2000]

Fills a real newswatch SQLite database (articles with MinHash signatures, LSH band
keys) with synthetic signatures, then times ``Ingestor._nearest`` - the lookup every new
article goes through - for queries that are near-duplicates of a stored article (20 %
of the signature changed) and for novel ones. Prints p50/p99 lookup time, how many
near-duplicates were found, the database size and this process's peak RSS. Signature
computation for a real article is timed separately (it runs in the extraction workers).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.changes import (
    Ingestor,  # noqa: E402
    dedupe,  # noqa: E402
)
from monitor.farm.content import load_corpus  # noqa: E402
from monitor.store import Store  # noqa: E402

CHUNK = 20_000


def fill(store: Store, count: int, rng: np.random.Generator) -> np.ndarray:
    """Insert ``count`` synthetic articles; returns their signatures."""
    signatures = rng.integers(0, 2**63, size=(count, dedupe.NUM_PERM), dtype=np.uint64)
    conn = store.db.conn
    for start in range(0, count, CHUNK):
        rows, bands = [], []
        for i in range(start, min(start + CHUNK, count)):
            sig = signatures[i].tobytes()
            rows.append((i + 1, f"https://example.org/a/{i}", i + 1, sig, f"h{i}"))
            bands.extend((key, i + 1) for key in dedupe.band_keys(sig))
        with conn:
            conn.executemany("insert into articles (id, url, story_id, signature, content_hash,"
                             " text) values (?, ?, ?, ?, ?, '')", rows)
            conn.executemany("insert into lsh_bands (key, article_id) values (?, ?)", bands)
    return signatures


def percentile(values: list[float], q: float) -> float:
    """The q-quantile of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(size: int, queries: int, tmp: Path) -> dict[str, float]:
    """Figures for one database size."""
    rng = np.random.default_rng(size)
    store = Store(tmp / f"dedupe-{size}.db")
    started = time.perf_counter()
    signatures = fill(store, size, rng)
    fill_seconds = time.perf_counter() - started
    ingestor = Ingestor(store)
    times, found = [], 0
    for q in range(queries):
        if q % 2 == 0:  # a near duplicate of a stored article
            target = int(rng.integers(size))
            sig = signatures[target].copy()
            changed = rng.choice(dedupe.NUM_PERM, size=dedupe.NUM_PERM // 5, replace=False)
            sig[changed] = rng.integers(0, 2**63, size=len(changed), dtype=np.uint64)
        else:  # a new story
            target = -1
            sig = rng.integers(0, 2**63, size=dedupe.NUM_PERM, dtype=np.uint64)
        t0 = time.perf_counter()
        match = ingestor._nearest(sig.tobytes())  # noqa: SLF001 (the lookup under test)
        times.append((time.perf_counter() - t0) * 1000)
        if target >= 0 and match and match["id"] == target + 1:
            found += 1
    store.close()
    return {
        "size": size, "fill_s": round(fill_seconds, 1), "p50_ms": round(percentile(times, .5), 3),
        "p99_ms": round(percentile(times, .99), 3), "near_found": found / (queries // 2),
        "db_mb": round((tmp / f"dedupe-{size}.db").stat().st_size / 2**20, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def signature_cost(repeat: int = 3) -> float:
    """Mean milliseconds to compute a real article's signature."""
    texts = ["\n".join(a.paragraphs) for a in load_corpus()]
    started = time.perf_counter()
    for _ in range(repeat):
        for text in texts:
            dedupe.signature(text)
    return (time.perf_counter() - started) * 1000 / (repeat * len(texts))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    print(f"LSH: {dedupe.NUM_PERM} permutations, {dedupe.BANDS} bands x {dedupe.ROWS} rows, "
          f"near-duplicate threshold {dedupe.NEAR_THRESHOLD}")
    print(f"signature of a real article: {signature_cost():.2f} ms (in the extraction workers)")
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            r = run(size, args.queries, Path(tmp))
            print(f"{r['size']:>9,} stored: lookup p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms; "
                  f"near duplicates found {r['near_found']:.1%}; db {r['db_mb']} MB; "
                  f"peak RSS {r['peak_rss_mb']} MB; filled in {r['fill_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
