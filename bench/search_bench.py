"""Search speed at 100k articles: today's index (sqlite-utils ``enable_fts``, unicode61)
against the folded one (``monitor.store.search``), in one run.

    python bench/search_bench.py [--articles 100000] [--rounds 5]

Fills a database with ``--articles`` synthetic articles (paragraphs drawn from the farm's
EN and VI corpus, about 1.8 KB of text each) under today's schema (migration 1's
``enable_fts``), then copies it and migrates the copy in place (``monitor.store.search.install``:
the index rebuilt, timed). Both then answer the same queries, the way Datasette asks
them:

- *canned*: the ``search`` canned query (best 100 with a snippet; today: FTS5
  ``snippet()``, folded: ``snippet()`` of the indexed text restored on the original,
  and the title highlighted in Python, as the shipped canned query does),
- *table*: the articles table search (count, then the first page of 50 newest).

The two are asked in turn, query by query; each query's time is its best of ``--rounds``
and the figure is the sum over queries.
Also timed: adding 1,000 more articles through the triggers (the writer's cost), in ten
transactions taken in turn.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlite_utils  # noqa: E402

from monitor.farm.content import load_corpus  # noqa: E402
from monitor.store.search import fold_query, install, register_functions  # noqa: E402

QUERIES = ["Blinken", "đối tác", "Đối thoại", "Hoa Kỳ", "Bùi Thanh Sơn", "trade",
           "semiconductor", "hợp tác", "Việt Nam", '"đối tác chiến lược"', "thương mại",
           "Knapper OR Blinken", "bán dẫn", "investment", "Trường", "quốc phòng",
           '"Hoa Kỳ"', "giáo dục", "semicon*", "kinh tế"]

OLD_CANNED = """select a.id, a.published, a.source, a.language, a.title,
       snippet(articles_fts, 1, '[', ']', '…', 16) as snippet, a.relevant, a.story_id, a.url
from articles_fts join articles a on a.id = articles_fts.rowid
where articles_fts match :q order by rank limit 100"""
NEW_CANNED = """select a.id, a.published, a.source, a.language,
       nw_highlight(a.title, :q) as title,
       nw_restore_snippet(snippet(articles_fts, 1, char(57344), char(57345), char(57346),
                                  20), a.text) as snippet,
       a.relevant, a.story_id, a.url
from articles_fts join articles a on a.id = articles_fts.rowid
where articles_fts match nw_fold(:q) order by rank limit 100"""
TABLE_COUNT = ("select count(*) from articles where id in (select rowid from articles_fts "
               "where articles_fts match :q)")
TABLE_PAGE = ("select * from articles where id in (select rowid from articles_fts where "
              "articles_fts match :q) order by published_utc desc limit 51")


def _rows(count: int, rng: random.Random, start: int = 1) -> list[tuple]:
    paragraphs = [p for article in load_corpus() for p in article.paragraphs if len(p) > 40]
    titles = [article.title for article in load_corpus()]
    rows = []
    for n in range(start, start + count):
        text = "\n".join(rng.choice(paragraphs) for _ in range(6))
        rows.append((n, f"https://bench.example/{n}", rng.choice(titles), text,
                     f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}T00:00:00+00:00", n % 2))
    return rows


INSERT = ("insert into articles (id, url, title, text, published_utc, relevant) "
          "values (?, ?, ?, ?, ?, ?)")


def build_today(path: Path, rows: list[tuple]) -> float:
    """Today's schema (articles + enable_fts as migration 1 does); returns fill time."""
    db = sqlite_utils.Database(path)
    db.execute("PRAGMA journal_mode = WAL")
    db["articles"].create({"id": int, "url": str, "source": str, "title": str,
                           "published": str, "published_utc": str, "language": str,
                           "text": str, "relevant": int, "story_id": int}, pk="id")
    db["articles"].enable_fts(["title", "text"], create_triggers=True, tokenize="unicode61")
    started = time.perf_counter()
    with db.conn:
        db.conn.executemany(INSERT, rows)
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed


def time_queries(today: Path, folded: Path, rounds: int) -> dict[str, dict[str, float]]:
    """Both databases, interleaved query by query (the machine is shared and noisy): each
    query's best of ``rounds`` times, summed over the queries."""
    conns = {"today": sqlite3.connect(today), "folded": sqlite3.connect(folded)}
    for conn in conns.values():
        register_functions(conn)
    best = {name: {"canned": [], "table": []} for name in conns}
    for query in QUERIES:
        times = {name: {"canned": [], "table": []} for name in conns}
        for _ in range(rounds):
            for name, conn in conns.items():
                is_folded = name == "folded"
                q = fold_query(query) if is_folded else query
                started = time.perf_counter()
                conn.execute(NEW_CANNED if is_folded else OLD_CANNED, {"q": query}).fetchall()
                times[name]["canned"].append(time.perf_counter() - started)
                started = time.perf_counter()
                conn.execute(TABLE_COUNT, {"q": q}).fetchall()
                conn.execute(TABLE_PAGE, {"q": q}).fetchall()
                times[name]["table"].append(time.perf_counter() - started)
        for name in conns:
            for kind in ("canned", "table"):
                best[name][kind].append(min(times[name][kind]))
    out = {}
    for name, conn in conns.items():
        q = (lambda x: fold_query(x)) if name == "folded" else (lambda x: x)
        hits = sum(conn.execute(TABLE_COUNT, {"q": q(x)}).fetchone()[0] for x in QUERIES)
        conn.close()
        out[name] = {"canned_ms": sum(best[name]["canned"]) * 1000,
                     "table_ms": sum(best[name]["table"]) * 1000, "hits": hits}
    return out


def add_more(paths: dict[str, Path], rows: list[tuple], chunks: int = 10) -> dict[str, float]:
    """Insert ``rows`` into each database through its triggers, in ``chunks``
    transactions taken in turn (noise hits both alike); total seconds per database."""
    conns = {name: sqlite3.connect(path) for name, path in paths.items()}
    spent = dict.fromkeys(conns, 0.0)
    size = -(-len(rows) // chunks)
    for start in range(0, len(rows), size):
        for name, conn in conns.items():
            started = time.perf_counter()
            with conn:
                conn.executemany(INSERT, rows[start:start + size])
            spent[name] += time.perf_counter() - started
    for conn in conns.values():
        conn.close()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(19)
    folder = Path(tempfile.mkdtemp(prefix="search-bench-"))
    today, folded = folder / "today.db", folder / "folded.db"
    fill = build_today(today, _rows(args.articles, rng))
    shutil.copy(today, folded)
    conn = sqlite3.connect(folded)
    started = time.perf_counter()
    with conn:
        install(conn)
    migrate = time.perf_counter() - started
    conn.close()
    more = _rows(1000, rng, start=args.articles + 1)
    results = time_queries(today, folded, args.rounds)
    added = add_more({"today": today, "folded": folded}, more)
    for name, path in (("today", today), ("folded", folded)):
        results[name]["add_1000_ms"] = added[name] * 1000
        results[name]["db_mib"] = path.stat().st_size / 2**20
    print(f"{args.articles} articles, {len(QUERIES)} queries, best of {args.rounds} rounds; "
          f"fill {fill:.1f} s, in-place migration (index rebuilt) {migrate:.1f} s")
    print("| index | canned query, sum (ms) | table search, sum (ms) | rows matched "
          "| add 1,000 articles (ms) | db (MiB) |")
    print("|---|---|---|---|---|---|")
    for name, row in results.items():
        print(f"| {name} | {row['canned_ms']:.0f} | {row['table_ms']:.0f} | {row['hits']} "
              f"| {row['add_1000_ms']:.0f} | {row['db_mib']:.0f} |")
    old, new = results["today"], results["folded"]
    print(f"ratio folded/today: canned {new['canned_ms'] / old['canned_ms']:.2f}, "
          f"table {new['table_ms'] / old['table_ms']:.2f}, "
          f"add {new['add_1000_ms'] / old['add_1000_ms']:.2f}")
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()
