"""The processes of the fleet tests (tests/test_fleet_*.py), run as
``python -m tests.fleet_procs MODE ...``: each dies with the test that started it
(``PR_SET_PDEATHSIG``) and prints one JSON line per event on stdout.

- ``hold URL WORKER LEASE``: take one job, print ``{"taken": id}``, renew it while alive.
- ``take-all URL WORKER``: take jobs until none is queued, print ``{"took": [ids]}``.
- ``writer URL DB [--drain]``: the database's writer (``Intake``); ``--drain``: stop once
  no entry is waiting or pending, print its counts; otherwise run until SIGTERM.
- ``worker URL NAME LEASE HANG_AFTER``: a ``Worker`` whose crawl sends 4 batches of 3
  articles per source of its job, then the source's run, printing ``{"sent": job, "source":
  name, "batch": n}`` after each batch; after HANG_AFTER batches in all it hangs (-1:
  never); it stops once nothing is queued or held, printing its counts.
- ``serve URL FLEET NAME [HANG_AFTER [LEASE]]``: a worker of fleet FLEET standing in for
  ``newswatch worker`` beside a real daemon (``newswatch run --redis``): ``Worker.serve``
  until SIGTERM, whose crawl sends, per source of each job, 4 batches of 3 articles
  (``article(n, "<source>.example")``: the same articles at every crawl) and the source's
  run (with health signals), printing ``{"took": job, "context": [sources with
  context]}`` and ``{"sent": job, "source": name, "batch": n}``; after HANG_AFTER
  batches in all it prints ``{"hanging": job}`` and waits for a line on stdin (once).
- ``sender URL COUNT SIZE [PAUSE_AT]``: send COUNT batches of SIZE analysed articles (and
  a run), then print ``{"sent": [entry ids]}``; with PAUSE_AT, after that many batches
  print ``{"paused": n}`` and wait for a line on stdin.
"""

from __future__ import annotations

import ctypes
import json
import signal
import sys
import threading
import time
from typing import Any

from monitor.fleet import (
    ArticleStream,
    Intake,
    JobOutput,
    JobQueue,
    Keys,
    Worker,
    connect,
)


def _die_with_parent() -> None:
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def _say(**event: Any) -> None:
    print(json.dumps(event), flush=True)


def _send_batches(job: dict[str, Any], name: str, out: JobOutput, sent: int,
                  hang_after: int) -> int:
    """Send 4 batches of 3 articles of source ``name`` for ``job``, printing each; after
    ``hang_after`` batches in all, hang until a line comes on stdin. The batches sent so
    far, in all."""
    for b in range(4):
        if sent == hang_after:
            _say(hanging=job["id"])
            sys.stdin.readline()
        out.send(name, [article(b * 3 + i, f"{name}.example") for i in range(3)])
        sent += 1
        _say(sent=job["id"], source=name, batch=b)
    return sent


def article(n: int, host: str = "e.org") -> tuple[dict[str, Any], str]:
    """Analysed article number ``n`` of ``host`` (distinct text)."""
    from monitor.changes import analyze  # (imported when needed: a taker starts faster)
    from monitor.extract import content_hash

    text = (f"Report {n} of {host}: Vietnam and the United States held talks in Hanoi on "
            f"trade item {n * 7919 % 104729} and port number {n}. " * 12)
    url = f"https://{host}/news/{n}"
    return analyze({"url": url, "title": f"Talks number {n}", "author": None,
                    "published": "2026-12-01T07:15:00+07:00", "language": "en",
                    "lead": None, "text": text, "content_hash": content_hash(text)}), url


def batches(count: int, size: int) -> list[list[tuple[dict[str, Any], str]]]:
    return [[article(b * size + i) for i in range(size)] for b in range(count)]


def main(argv: list[str]) -> None:
    _die_with_parent()
    mode, url = argv[0], argv[1]
    client = connect(url)
    if mode == "hold":
        queue = JobQueue(client, Keys("t"), lease_seconds=float(argv[3]))
        while (lease := queue.take(argv[2])) is None:
            time.sleep(0.05)
        with lease.keep_alive(every=0.1):
            _say(taken=lease.job_id)
            while not lease.lost.is_set():
                time.sleep(0.1)
        _say(lost=lease.job_id)
    elif mode == "take-all":
        queue = JobQueue(client, Keys("t"), lease_seconds=30)
        took = []
        while (lease := queue.take(argv[2])) is not None:
            took.append(lease.job_id)
        _say(took=took)
    elif mode == "writer":
        from monitor.store import Store

        store = Store(argv[2])
        intake = Intake(client, store, Keys("t"))
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        if "--drain" in argv:
            intake.start()
            while intake.poll(block_ms=200) or client.xpending(
                    Keys("t").stream, Keys("t").group)["pending"]:
                pass
        else:
            intake.run(stop, block_ms=200)
        _say(counts=dict(intake.counts), warnings=intake.warnings)
    elif mode == "worker":
        worker = Worker(client, Keys("t"), name=argv[2], lease_seconds=float(argv[3]),
                        beat_every=0.2)
        hang_after, sent = int(argv[4]), 0

        def crawl(job: dict[str, Any], out: JobOutput) -> None:
            nonlocal sent
            for source in job["sources"]:
                name = source["name"]
                sent = _send_batches(job, name, out, sent, hang_after)
                out.send_run(name, "finished", {"found": 12}, ledger={"pages": {"stored": 12}})

        while True:
            if worker.run_one(crawl) is None:
                if not worker.queue.queued() and not worker.queue.holders():
                    break
                time.sleep(0.05)
        worker.registry.leave(worker.name)
        _say(counts=dict(worker.counts))
    elif mode == "serve":
        worker = Worker(client, Keys(argv[2]), name=argv[3],
                        lease_seconds=float(argv[5]) if len(argv) > 5 else 10.0,
                        beat_every=0.2)
        hang_after, sent = (int(argv[4]) if len(argv) > 4 else -1), 0
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())

        def serve_crawl(job: dict[str, Any], out: JobOutput) -> None:
            nonlocal sent
            _say(took=job["id"], context=sorted(job.get("context") or {}))
            for source in job["sources"]:
                name = source["name"]
                sent = _send_batches(job, name, out, sent, hang_after)
                from monitor.sources import health

                stats = {"requests": 13, "found": 12, "pages": 12, "extracted": 12,
                         "text_chars": 12 * 900, "discovery_ok": 1}
                out.send_run(name, "finished", {"found": 12}, ledger={"pages": {"stored": 12}},
                             health=health.collect(stats.get, {"found": 12, "new": 12}))

        worker.serve(serve_crawl, stop, idle=0.1)
        _say(counts=dict(worker.counts))
    elif mode == "sender":
        stream = ArticleStream(client, Keys("t"), worker="sender", retry_seconds=60)
        sent = []
        pause_at = int(argv[4]) if len(argv) > 4 else -1
        for n, batch in enumerate(batches(int(argv[2]), int(argv[3]))):
            if n == pause_at:
                _say(paused=n)
                sys.stdin.readline()
            sent.append(stream.send("src", batch, job="r1/e.org"))
        sent.append(stream.send_run("src", "finished", {"found": len(sent), "new": 0},
                                    ledger={"pages": {"stored": len(sent)}}, job="r1/e.org"))
        _say(sent=sent)
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
