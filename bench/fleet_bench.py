"""The fleet's costs on Redis and its one writer's speed (monitor.fleet; issue 32).

    python bench/fleet_bench.py [--articles 2000] [--batch 50]

Starts its own redis-server (Debian's package; AOF on, ``appendfsync everysec``) on a
free loopback port with a temporary directory, builds ``--articles`` analysed articles
from the farm's corpus (synthetic recombinations, as the crawl bench's farm serves them:
real lengths, English and Vietnamese), and measures:

- the worker's side: ``ArticleStream.send`` of batches of ``--batch``: Redis commands
  and bytes in and out per article (INFO commandstats, total_net_*_bytes), Redis memory
  per article waiting in the stream (used_memory while the whole backlog waits);
- the writer: ``Intake`` storing the stream into a fresh SQLite database (ingest, inbox
  row in the same transaction, XACK + XDEL after the commit): articles per second (wall
  clock and per CPU second of the writer), its Redis commands and bytes per article, and
  the same batches stored by ``Ingestor`` alone (no Redis) for comparison;
- the job queue: offer, take, renew, finish of 1,000 one-source jobs: Lua calls per second.

Prints one JSON object (BENCHMARKS.md, "Fleet").
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.changes import analyze  # noqa: E402
from monitor.extract import content_hash  # noqa: E402
from monitor.farm.content import load_corpus, synthetic_articles  # noqa: E402
from monitor.fleet import ArticleStream, Intake, JobQueue, Keys, connect  # noqa: E402
from monitor.store import Store  # noqa: E402


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _redis(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    server = shutil.which("redis-server")
    if server is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    port = _free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--dir",
                             str(directory), "--appendonly", "yes", "--appendfsync",
                             "everysec", "--save", "", "--maxmemory-policy", "noeviction",
                             "--logfile", str(directory / "redis.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 15
    while True:
        try:
            connect(url, timeout=1)
            return proc, url
        except Exception:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)


def _articles(count: int) -> list[tuple[dict[str, Any], str]]:
    sites = ["baochinhphu_en", "laodong_en", "laodong_vi", "vietnam_vn", "mofa_en"]
    out = []
    for n, item in enumerate(synthetic_articles(load_corpus(), count, sites)):
        text = "\n\n".join(item.paragraphs)
        url = f"https://{item.site}.example/{n}/{item.slug}"
        out.append((analyze({"url": url, "title": item.title, "author": item.author,
                             "published": item.published.isoformat(), "language": item.lang,
                             "lead": item.lead, "text": text,
                             "content_hash": content_hash(text)}), url))
    return out


def _stats(client: Any) -> dict[str, float]:
    info = client.info("all")
    calls = sum(v["calls"] for k, v in info.items() if k.startswith("cmdstat_")
                and not k.startswith(("cmdstat_info", "cmdstat_ping")))
    return {"calls": calls, "in": info["total_net_input_bytes"],
            "out": info["total_net_output_bytes"], "memory": info["used_memory"]}


def _delta(before: dict[str, float], after: dict[str, float], n: int) -> dict[str, float]:
    return {"commands_per_article": round((after["calls"] - before["calls"]) / n, 3),
            "bytes_in_per_article": round((after["in"] - before["in"]) / n),
            "bytes_out_per_article": round((after["out"] - before["out"]) / n)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        proc, url = _redis(work)
        try:
            client = connect(url)
            keys = Keys("bench")
            started = time.perf_counter()
            rows = _articles(args.articles)
            analysed = time.perf_counter() - started
            text_bytes = sum(len(a["text"].encode()) for a, _ in rows) / len(rows)
            # the worker's side
            stream = ArticleStream(client, keys, worker="bench")
            stream.send("warmup", rows[:1])  # the group and stream exist before counting
            client.xtrim(keys.stream, maxlen=0)
            client.config_resetstat()
            before = _stats(client)
            started = time.perf_counter()
            for i in range(0, len(rows), args.batch):
                stream.send("src", rows[i:i + args.batch], job="r1/bench")
            sent_s = time.perf_counter() - started
            after = _stats(client)
            send = _delta(before, after, len(rows))
            send["articles_per_second"] = round(len(rows) / sent_s)
            send["redis_memory_per_waiting_article"] = round(
                (after["memory"] - before["memory"]) / len(rows))
            # the writer
            store = Store(work / "bench.db")
            intake = Intake(client, store, keys)
            client.config_resetstat()
            before = _stats(client)
            started, cpu = time.perf_counter(), time.process_time()
            intake.start()
            while intake.poll(block_ms=50):
                pass
            write_s = time.perf_counter() - started
            write_cpu = time.process_time() - cpu
            after = _stats(client)
            write = _delta(before, after, len(rows))
            write["articles_per_second"] = round(intake.counts["articles"] / write_s)
            write["articles_per_cpu_second"] = round(intake.counts["articles"] / write_cpu)
            write["entries"] = intake.counts["entries"]
            write["statuses"] = {k: intake.counts[k] for k in
                                 ("new", "irrelevant", "duplicate", "unchanged", "updated")
                                 if intake.counts[k]}
            store.close()
            # the same batches stored by the Ingestor alone (the one-machine writer's work)
            from monitor.changes import Ingestor

            alone = Store(work / "alone.db")
            ingestor = Ingestor(alone)
            started, cpu = time.perf_counter(), time.process_time()
            for i in range(0, len(rows), args.batch):
                ingestor.ingest("src", rows[i:i + args.batch])
            alone_s, alone_cpu = time.perf_counter() - started, time.process_time() - cpu
            alone.close()
            write["ingestor_alone_articles_per_second"] = round(len(rows) / alone_s)
            write["ingestor_alone_articles_per_cpu_second"] = round(len(rows) / alone_cpu)
            # the job queue
            queue = JobQueue(client, keys, lease_seconds=60)
            jobs = 1000
            started = time.perf_counter()
            for n in range(jobs):
                queue.offer({"id": f"r1/s{n}", "round": "r1", "site": f"s{n}.vn",
                             "sources": [{"name": f"s{n}"}]})
            leases = [queue.take("bench") for _ in range(jobs)]
            for lease in leases:
                assert lease is not None
                lease.renew()
                queue.finish(lease)
            queue_s = time.perf_counter() - started
            result = {
                "articles": len(rows), "batch": args.batch,
                "text_bytes_per_article": round(text_bytes),
                "analyse_seconds_per_article": round(analysed / len(rows), 4),
                "send": send, "writer": write,
                "job_queue_calls_per_second": round(4 * jobs / queue_s),
                "redis": str(client.info("server")["redis_version"]),
            "load_average": [round(x, 1) for x in __import__("os").getloadavg()],
            }
            print(json.dumps(result, indent=2))
        finally:
            proc.terminate()
            proc.wait(timeout=15)


if __name__ == "__main__":
    main()
