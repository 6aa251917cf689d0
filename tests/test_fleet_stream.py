"""The fleet's article stream (monitor.fleet.transport, monitor.fleet.intake; issue 32)
against a real redis-server and real SQLite files, in real processes: the writer killed
with SIGKILL between its commit and its XACK stores every article exactly once after its
restart; Redis stopped and started again on its append-only file mid-stream loses
nothing; an XADD sent twice is stored once; what is not JSON is refused, counted and
never run; Redis that lost its data is reported."""

from __future__ import annotations

import json
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from monitor.fleet import KILL_AFTER_COMMIT_ENV, ArticleStream, Intake, JobQueue, Keys, connect
from monitor.store import Store

from .conftest import REPO
from .fleet_procs import article, batches
from .redis_server import RedisServer, environment, wait_for

KEYS = Keys("t")



def start(*args: str, env: dict[str, str] | None = None,
          stdin: int | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.fleet_procs", *args], cwd=REPO,
                            env={**environment(), **(env or {})}, stdin=stdin,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> dict[str, Any]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.splitlines()[-1])


def server_ms(client: Any) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def stored(db: Path) -> dict[str, int]:
    """URL -> how many article rows it has; and the inbox's and runs' row counts."""
    store = Store(db)
    try:
        rows = store.db.execute("select url, count(*) from articles group by url").fetchall()
        out = dict(rows)
        out["(inbox)"] = store.db.execute("select count(*) from fleet_inbox").fetchone()[0]
        out["(runs)"] = store.db.execute("select count(*) from crawl_runs").fetchone()[0]
        return out
    finally:
        store.close()


def test_writer_killed_between_commit_and_ack_stores_every_article_once(
        redis_server: RedisServer, tmp_path: Path) -> None:
    client = connect(redis_server.url)
    stream = ArticleStream(client, KEYS, worker="w1")
    sent = [stream.send("src", batch, job="r1/e.org") for batch in batches(10, 5)]
    sent.append(stream.send_run("src", "finished", {"found": 50, "new": 50},
                                ledger={"pages": {"stored": 50}}, job="r1/e.org",
                                fetches=[{"url": "https://e.org/feed", "etag": '"x"',
                                          "status": 200, "fetched": "2026-12-07"}]))
    db = tmp_path / "fleet.db"
    writer = start("writer", redis_server.url, str(db), "--drain",
                   env={KILL_AFTER_COMMIT_ENV: "4"})
    writer.communicate(timeout=60)
    assert writer.returncode == -signal.SIGKILL
    # killed after its 4th commit, before that entry's XACK: it is stored AND pending
    before = stored(db)
    assert before["(inbox)"] == 4 and sum(v for k, v in before.items() if "(" not in k) == 20
    pending = client.xpending_range(KEYS.stream, KEYS.group, "-", "+", 100)
    assert sent[3] in {p["message_id"] for p in pending}
    # the writer starts again: the entry is recognised in the inbox, acknowledged, skipped
    counts = finish(start("writer", redis_server.url, str(db), "--drain"))["counts"]
    assert counts["already_stored"] == 1
    assert counts["stored"] == 7 and counts["runs"] == 1 and counts["articles"] == 30
    after = stored(db)
    articles = {k: v for k, v in after.items() if "(" not in k}
    assert len(articles) == 50 and set(articles.values()) == {1}  # each stored once
    assert after["(inbox)"] == 11 and after["(runs)"] == 1
    assert client.xlen(KEYS.stream) == 0  # acknowledged and deleted
    assert client.xpending(KEYS.stream, KEYS.group)["pending"] == 0
    store = Store(db)
    run = store.runs()[0]
    assert (run["source"], run["status"], run["found"]) == ("src", "finished", 50)
    assert json.loads(run["ledger"]) == {"pages": {"stored": 50}}
    assert store.db.execute("select etag from fetches").fetchone()[0] == '"x"'
    outbox = store.db.execute("select count(*) from alert_outbox").fetchone()[0] \
        if "alert_outbox" in store.db.table_names() else None
    store.close()
    if outbox is not None:
        assert outbox <= 50


@pytest.mark.parametrize(("fsync", "how"), [("always", signal.SIGTERM),
                                            ("everysec", signal.SIGKILL)])
def test_redis_restarted_mid_stream_loses_nothing(
        tmp_path: Path, fsync: str, how: int) -> None:
    """Redis stops (SIGTERM: a clean shutdown; SIGKILL with ``appendfsync everysec``: the
    process dies, its writes are in the kernel's page cache) and starts again on its
    append-only file while a sender sends and the writer stores: every article is stored
    once, the queue's jobs and leases are still there."""
    from .redis_server import REDIS_SERVER, SKIP_REASON

    if REDIS_SERVER is None:
        pytest.skip(SKIP_REASON)
    (tmp_path / "redis").mkdir()
    server = RedisServer(tmp_path / "redis", fsync=fsync)
    server.start()
    db = tmp_path / "fleet.db"
    sender = writer = None
    try:
        client = connect(server.url)
        queue = JobQueue(client, KEYS, lease_seconds=300)
        queue.offer({"id": "r1/a.vn", "round": "r1", "site": "a.vn",
                     "sources": [{"name": "a"}]})
        queue.offer({"id": "r1/b.vn", "round": "r1", "site": "b.vn",
                     "sources": [{"name": "b"}]})
        lease = queue.take("w1")
        writer = start("writer", server.url, str(db))
        sender = start("sender", server.url, "30", "3", "15", stdin=subprocess.PIPE)
        # mid-stream: 15 entries sent, the writer has stored some of them, not all
        assert json.loads(sender.stdout.readline()) == {"paused": 15}  # type: ignore[union-attr]
        wait_for(lambda: db.exists() and stored(db)["(inbox)"] >= 3, what="3 entries stored")
        stopped = server_ms(client)
        server.stop(how)
        # the sender sends its other 15 while Redis is down: it retries until Redis is back
        sender.stdin.write("go\n")  # type: ignore[union-attr]
        sender.stdin.flush()  # type: ignore[union-attr]
        time.sleep(0.5)  # (a down time, not a wait for a condition)
        server.start()
        done = finish(sender)
        assert len(done["sent"]) == 31
        # the second half went to the restarted Redis (entry ids are its clock, in ms)
        assert all(int(i.split("-")[0]) > stopped for i in done["sent"][15:])
        assert all(int(i.split("-")[0]) <= stopped for i in done["sent"][:15])
        wait_for(lambda: stored(db)["(inbox)"] >= 31, what="all 31 entries stored")
        writer.send_signal(signal.SIGTERM)
        said = finish(writer)
        counts = said["counts"]
        assert said["warnings"] == []  # AOF kept the stream: no loss reported
        after = stored(db)
        articles = {k: v for k, v in after.items() if "(" not in k}
        assert len(articles) == 90 and set(articles.values()) == {1}
        assert after["(inbox)"] == 31 and after["(runs)"] == 1
        assert counts.get("refused", 0) == 0
        client = connect(server.url)
        assert client.xpending(KEYS.stream, KEYS.group)["pending"] == 0
        assert queue.queued() == ["r1/b.vn"]
        assert queue.holders()["r1/a.vn"]["token"] == lease.token
        queue.finish(lease)
    finally:
        for proc in (sender, writer):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=10)
        server.stop(signal.SIGKILL)


def test_an_entry_sent_twice_is_stored_once_and_garbage_is_refused(
        redis_server: RedisServer, tmp_path: Path) -> None:
    """An XADD retried after a lost reply (the same message id in two entries) is stored
    once; an entry that is not JSON (a pickle that would write a file if loaded), of an
    unknown kind or without its fields is refused with an inbox row, acknowledged, and
    never run; a batch the store cannot take is rolled back whole and refused, and the
    entries behind it are stored."""
    client = connect(redis_server.url)
    stream = ArticleStream(client, KEYS, worker="w1")
    first = stream.send("src", [article(1)])
    fields = client.xrange(KEYS.stream)[0][1]
    client.xadd(KEYS.stream, fields)  # the same message again

    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self) -> tuple[Any, ...]:
            return (Path.touch, (marker,))

    client.xadd(KEYS.stream, {"kind": "batch", "message": "m-pickle",
                              "data": pickle.dumps(Exploit()).decode("latin-1")})
    client.xadd(KEYS.stream, {"kind": "script", "message": "m-kind", "data": "{}"})
    client.xadd(KEYS.stream, {"kind": "batch", "message": "m-fields", "data": '{"x": 1}'})
    broken, url = article(2)
    del broken["text"]  # read, but the store cannot take it: refused, not retried forever
    stream.send("src", [article(3), (broken, url)])
    last = stream.send("src", [article(4)])
    store = Store(tmp_path / "fleet.db")
    intake = Intake(client, store, KEYS)
    intake.start()
    while intake.poll(block_ms=100):
        pass
    assert not marker.exists()
    assert intake.counts["stored"] == 2 and intake.counts["already_stored"] == 1
    assert intake.counts["refused"] == 4 and intake.counts["articles"] == 2
    assert intake.counts["refused_articles"] == 2  # the broken one and article 3 with it
    outcomes = dict(store.db.execute("select message, outcome from fleet_inbox").fetchall())
    assert outcomes[fields["message"]] == "stored"
    assert outcomes["m-pickle"].startswith("refused: not JSON")
    assert outcomes["m-kind"] == "refused: unknown kind 'script'"
    assert outcomes["m-fields"].startswith("refused:")
    refused = [o for o in outcomes.values() if "not storable" in o]
    assert refused == ["refused: not storable: KeyError: 'text'"]
    assert {a["url"] for a in store.articles()} == {article(1)[1], article(4)[1]}  # not 3
    assert first and last
    assert client.xlen(KEYS.stream) == 0
    store.close()


def test_redis_that_lost_its_data_is_reported(redis_server: RedisServer,
                                              tmp_path: Path) -> None:
    """Entries stored, then Redis loses everything (as after a restart without its
    append-only file): the writer's next start says so, once; a writer running when it
    happens starts over, says so, and stores what comes next. The end of the stream
    lost (the last entries the writer stored gone): said too."""
    client = connect(redis_server.url)
    ArticleStream(client, KEYS, worker="w1").send("src", [article(1)])
    store = Store(tmp_path / "fleet.db")
    intake = Intake(client, store, KEYS)
    intake.start()
    intake.poll(block_ms=100)
    assert intake.counts["stored"] == 1 and intake.warnings == []
    client.flushall()
    again = Intake(client, store, KEYS)
    again.start()
    assert again.counts["redis_lost"] == 1
    assert again.warnings[0].startswith("Redis lost its data")
    third = Intake(client, store, KEYS)
    third.start()
    assert third.warnings == []  # reported once
    # a writer running when Redis loses everything starts over, says so, and goes on
    import threading

    stop = threading.Event()
    made: list[Intake] = []

    def writer() -> None:  # (the Store is used on the thread that opened it: sqlite3's rule)
        made.append(Intake(client, Store(tmp_path / "fleet.db"), KEYS))
        made[0].run(stop, block_ms=100)

    thread = threading.Thread(target=writer)
    thread.start()
    running = wait_for(lambda: made and made[0], what="the writer thread")
    try:
        wait_for(lambda: running.counts["starts"] == 1, what="the first start")
        client.flushall()  # the group is gone: its next read fails with NOGROUP
        ArticleStream(client, KEYS, worker="w1").send("src", [article(2)])
        wait_for(lambda: running.counts["stored"] == 1, what="the entry after the loss")
    finally:
        stop.set()
        thread.join(timeout=10)
    assert running.counts["starts"] == 2 and running.counts["redis_lost"] == 1
    assert {a["url"] for a in store.articles()} == {article(1)[1], article(2)[1]}
    # the stream's end lost, the rest kept (the epoch key survives): said once too
    client.delete(KEYS.stream)
    fourth = Intake(client, store, KEYS)
    fourth.start()
    assert fourth.warnings[0].startswith("Redis lost stream entries: this database stored")
    fifth = Intake(client, store, KEYS)
    fifth.start()
    assert fifth.warnings == []
    store.close()
