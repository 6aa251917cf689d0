"""The fleet's leased job queue, workers and status (monitor.fleet; issue 32) against a
real redis-server (tests/redis_server.py): two takers never hold one job, a lease that
is not renewed is re-offered to another worker, a renewed one is not, a worker killed
with SIGKILL mid-job has its job taken by another, one job per site and per-round dedupe;
secrets never reach Redis and a Redis URL's password and TLS work."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis

from monitor.fleet import (
    ArticleStream,
    JobQueue,
    Keys,
    LeaseLost,
    RedisUnavailable,
    Registry,
    WireError,
    connect,
    offer_round,
    redacted,
    site_jobs,
    status,
    wire,
)
from monitor.sources import DEFAULT_CONFIG, load_settings, site_of

from .conftest import REPO
from .redis_server import (
    REDIS_SERVER,
    SKIP_REASON,
    RedisServer,
    die_with_parent,
    environment,
    wait_for,
)

KEYS = Keys("t")



def job(site: str, *sources: str, round_name: str = "r1") -> dict[str, Any]:
    return {"id": f"{round_name}/{site}", "round": round_name, "site": site,
            "sources": [{"name": s} for s in sources or (site.split(".")[0],)]}


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.fleet_procs", *args], cwd=REPO,
                            env=environment(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def server_ms(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def test_two_takers_never_hold_one_job(redis_server: RedisServer) -> None:
    """Three processes take from one queue of 30 jobs at once: every job is taken by
    exactly one of them (take is one Lua script)."""
    client = connect(redis_server.url)
    queue = JobQueue(client, KEYS)
    for n in range(30):
        assert queue.offer(job(f"site{n}.vn")).status == "queued"
    takers = [start("take-all", redis_server.url, f"w{n}") for n in range(3)]
    took = []
    for proc in takers:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err[-2000:]
        took.append(json.loads(out.splitlines()[-1])["took"])
    every = [job_id for ids in took for job_id in ids]
    assert sorted(every) == sorted(f"r1/site{n}.vn" for n in range(30))
    assert len(set(every)) == 30
    holders = queue.holders()
    assert {holders[j]["worker"] for j in took[0]} <= {"w0"}
    assert queue.counters()["taken"] == 30


def test_a_lease_renewed_is_kept_and_one_not_renewed_goes_to_another(
        redis_server: RedisServer) -> None:
    client = connect(redis_server.url)
    queue = JobQueue(client, KEYS, lease_seconds=2.0)  # renewed every 0.2 s
    queue.offer(job("laodong.vn", "laodong_en", "laodong_vi"))
    lease = queue.take("w1")
    assert lease is not None and lease.attempt == 1
    assert lease.job["sources"] == [{"name": "laodong_en"}, {"name": "laodong_vi"}]
    first_deadline = lease.deadline
    with lease.keep_alive(every=0.2):
        # past the first deadline by half a lease: still held by w1, never re-offered
        wait_for(lambda: server_ms(client) > first_deadline + 1000, what="1.5 leases' time")
        assert queue.take("w2") is None
        assert not lease.lost.is_set()
    assert lease.deadline > first_deadline
    assert queue.holders()[lease.job_id]["worker"] == "w1"
    # no more renewals: once the deadline passes, w2 gets it (take reaps first)
    second = wait_for(lambda: queue.take("w2"), what="the job re-offered")
    assert second.job_id == lease.job_id and second.attempt == 2
    with pytest.raises(LeaseLost):
        lease.renew()
    with pytest.raises(LeaseLost):
        queue.finish(lease)
    queue.finish(second)
    counters = queue.counters()
    assert counters["reoffered"] == 1 and counters["finished"] == 1
    assert counters["lost"] == 2 and counters["renewed"] >= 3
    # the site is free: its next round's job is queued
    assert queue.offer(job("laodong.vn", "laodong_en", round_name="r2")).status == "queued"


def test_a_worker_killed_mid_job_has_its_job_taken_by_another(
        redis_server: RedisServer) -> None:
    client = connect(redis_server.url)
    queue = JobQueue(client, KEYS, lease_seconds=1.0)
    queue.offer(job("vnexpress.net"))
    holder = start("hold", redis_server.url, "doomed", "1.0")
    try:
        line = holder.stdout.readline()  # type: ignore[union-attr]
        assert json.loads(line) == {"taken": "r1/vnexpress.net"}, holder.stderr.read()
        held = queue.holders()["r1/vnexpress.net"]
        assert held["worker"] == "doomed"
        assert queue.take("survivor") is None  # it renews while alive
        holder.send_signal(signal.SIGKILL)
        assert holder.wait(timeout=10) == -signal.SIGKILL
    finally:
        holder.kill()
        holder.communicate(timeout=10)
    lease = wait_for(lambda: queue.take("survivor"), what="the dead worker's job")
    assert lease.job_id == "r1/vnexpress.net" and lease.attempt == 2
    queue.finish(lease)
    assert queue.queued() == [] and queue.holders() == {}


def test_one_job_per_site_and_sources_once_per_round(redis_server: RedisServer) -> None:
    client = connect(redis_server.url)
    queue = JobQueue(client, KEYS)
    assert queue.offer(job("laodong.vn", "laodong_en", "laodong_vi")).status == "queued"
    # the site's job is queued: another (a later round's) is refused, the site is busy
    busy = queue.offer(job("laodong.vn", "laodong_en", round_name="r2"))
    assert (busy.status, busy.held_by) == ("busy", "r1/laodong.vn")
    lease = queue.take("w1")
    assert queue.offer(job("laodong.vn", "laodong_vi", round_name="r3")).status == "busy"
    queue.finish(lease)
    # the same round again: its sources were offered already (dropped, counted)
    again = queue.offer(job("laodong.vn", "laodong_en", "laodong_vi"))
    assert (again.status, set(again.dropped)) == ("duplicate", {"laodong_en", "laodong_vi"})
    partly = queue.offer({**job("laodong.vn", "laodong_vi", "laodong_new")})
    assert (partly.status, partly.dropped) == ("queued", ("laodong_vi",))
    taken = queue.take("w1")
    assert [s["name"] for s in taken.job["sources"]] == ["laodong_new"]
    assert queue.counters()["duplicate"] == 3
    # a round of the real sources: one job per site; laodong.vn's job is still held: busy
    sources = load_settings(DEFAULT_CONFIG).sources
    first = offer_round(queue, sources, "r9")
    assert first["busy"] == ["laodong.vn"] and first["dropped"] == []
    assert len(first["queued"]) == len({site_of(s) for s in sources}) - 1
    second = offer_round(queue, sources, "r10")
    assert second["queued"] == [] and len(second["busy"]) == len(first["queued"]) + 1
    with pytest.raises(ValueError, match="a job needs sources"):
        queue.offer({"id": "x", "round": "r1", "site": "x.vn", "sources": []})


def test_a_job_whose_leases_keep_expiring_is_given_up_with_its_reason(
        redis_server: RedisServer) -> None:
    client = connect(redis_server.url)
    queue = JobQueue(client, KEYS, lease_seconds=0.2, max_attempts=2)
    queue.offer(job("mofa.gov.vn"))
    first = queue.take("w1")
    second = wait_for(lambda: queue.take("w2"), what="re-offer")
    assert (first.attempt, second.attempt) == (1, 2)
    wait_for(lambda: server_ms(client) > second.deadline, what="the second lease's end")
    assert queue.reap() == ["r1/mofa.gov.vn"]
    failed = queue.failed()
    assert failed["r1/mofa.gov.vn"]["reason"] == "lease expired 2 times"
    assert failed["r1/mofa.gov.vn"]["job"]["site"] == "mofa.gov.vn"
    assert queue.queued() == [] and queue.take("w3") is None
    assert queue.counters()["failed"] == 1
    assert status(client, KEYS)["jobs"]["failed"].keys() == {"r1/mofa.gov.vn"}
    # the site is free again for its next round
    assert queue.offer(job("mofa.gov.vn", round_name="r2")).status == "queued"


def test_status_shows_workers_their_jobs_and_the_stream_backlog(
        redis_server: RedisServer) -> None:
    client = connect(redis_server.url)
    queue = JobQueue(client, KEYS)
    for site in ("a.vn", "b.vn", "c.vn"):
        queue.offer(job(site))
    lease = queue.take("w1")
    registry = Registry(client, KEYS, stale_seconds=0.5)
    registry.heartbeat("w1", job=lease.job_id, pages=12)
    registry.heartbeat("w2", job=None)
    stream = ArticleStream(client, KEYS, worker="w1")
    stream.send("a", [({"url": "https://a.vn/1", "text": "x"}, "https://a.vn/1")])
    stream.send("a", [({"url": "https://a.vn/2", "text": "y"}, "https://a.vn/2")])
    found = status(client, KEYS, stale_seconds=30)
    assert found["workers"]["w1"]["holds"] == ["r1/a.vn"]
    assert found["workers"]["w1"]["job"] == "r1/a.vn" and found["workers"]["w1"]["pages"] == 12
    assert found["workers"]["w1"]["state"] == "alive"
    assert found["workers"]["w2"]["holds"] == []
    assert found["jobs"]["queued"] == ["r1/b.vn", "r1/c.vn"]
    assert found["jobs"]["held"]["r1/a.vn"]["worker"] == "w1"
    assert found["stream"]["entries"] == 2 and found["stream"]["lag"] == 2
    assert found["stream"]["pending"] == 0
    json.dumps(found)  # what `newswatch status --json` could print as it is
    # a worker that stops beating is "silent" (its jobs go when its leases expire)
    registry.heartbeat("w1", job=lease.job_id)
    wait_for(lambda: status(client, KEYS, stale_seconds=0.3)["workers"]["w2"]["state"]
             == "silent", what="w2 silent")
    registry.leave("w2")
    assert set(status(client, KEYS)["workers"]) == {"w1"}


def _everything_in(client: redis.Redis) -> bytes:
    """Every key's name and serialized value (DUMP) in Redis, concatenated."""
    out = b""
    for key in client.scan_iter(count=1000):
        dumped = client.execute_command("DUMP", key, NEVER_DECODE=True)
        out += key.encode() + b"\0" + (dumped or b"") + b"\0"
        kind = client.type(key)
        if kind == "hash":
            out += json.dumps(client.hgetall(key)).encode()
        elif kind == "stream":
            out += json.dumps(client.xrange(key)).encode()
    return out


def test_secrets_and_the_password_never_go_into_redis(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs carry sources' settings, never an alert channel's secret; a job or a batch that
    would carry one is refused; the Redis password is never written either, and never
    printed (a wrong one is refused in one line that does not hold it)."""
    if REDIS_SERVER is None:
        pytest.skip(SKIP_REASON)
    from monitor.alerts import load_alert_config, withhold_secrets

    secret, password = "hook-secret-7f3a9c", "redis-pass-91be2d"
    alerts_file = tmp_path / "alerts.yaml"
    alerts_file.write_text("channels:\n  ops:\n    webhook: https://hooks.example/${HOOK_TOKEN}\n"
                           "    secret: ${HOOK_TOKEN}\n")
    monkeypatch.setenv("HOOK_TOKEN", secret)
    withheld = withhold_secrets(load_alert_config(alerts_file))
    assert withheld == {"HOOK_TOKEN": secret}
    (tmp_path / "redis").mkdir()
    server = RedisServer(tmp_path / "redis", password=password)
    server.start()
    try:
        with pytest.raises(RedisUnavailable) as refused:
            connect(server.url.replace(password, "wrong-password"))
        assert str(refused.value).count("\n") == 0
        assert "wrong-password" not in str(refused.value) and "***@" in str(refused.value)
        assert password not in redacted(server.url)
        client = connect(server.url)
        queue = JobQueue(client, KEYS, secrets=withheld.values())
        sources = load_settings(DEFAULT_CONFIG).sources
        jobs = site_jobs(sources, "r1", context={sources[0].name: {"fetches": []}})
        assert {queue.offer(j).status for j in jobs} == {"queued"}
        assert sum(len(j["sources"]) for j in jobs) == len(sources)
        lease = queue.take("w1")
        with pytest.raises(WireError, match="secret"):
            queue.offer({**job("evil.vn"), "context": {"token": f"x{secret}x"}})
        stream = ArticleStream(client, KEYS, worker="w1", secrets=withheld.values())
        stream.send("src", [({"url": "https://e.org/1", "text": "t"}, "https://e.org/1")])
        with pytest.raises(WireError, match="secret"):
            stream.send("src", [({"url": "https://e.org/2", "text": secret}, "u")])
        Registry(client, KEYS).heartbeat("w1", job=lease.job_id)
        everything = _everything_in(client)
        assert b"laodong_en" in everything  # the scan does see what was written
        assert secret.encode() not in everything
        assert password.encode() not in everything
    finally:
        server.stop(signal.SIGKILL)


def test_json_only_on_the_wire(redis_server: RedisServer) -> None:
    """Jobs and entries are JSON text, bytes as base64; what is not JSON is refused when
    written, never pickled; a pickle read back is refused, never loaded."""
    import datetime
    import pickle

    client = connect(redis_server.url)
    queue = JobQueue(client, KEYS)
    queue.offer(job("a.vn"))
    json.loads(client.hget(KEYS.jobs, "r1/a.vn"))
    stream = ArticleStream(client, KEYS, worker="w")
    stream.send("a", [({"url": "u", "signature": b"\x00\xffsig"}, "u")])
    (entry_id, fields), = client.xrange(KEYS.stream)
    assert set(fields) == {"kind", "message", "data"}
    data = json.loads(fields["data"])
    assert data["rows"][0][0]["signature"] == {"$bytes": "AP9zaWc="}
    assert wire.loads(fields["data"])["rows"][0][0]["signature"] == b"\x00\xffsig"
    for bad in ({1, 2}, datetime.datetime.now(), object(), float("nan")):
        with pytest.raises(WireError, match="not JSON"):
            wire.dumps({"x": bad})
    with pytest.raises(WireError, match="not JSON"):
        queue.offer({**job("b.vn"), "context": {"when": datetime.date.today()}})
    with pytest.raises(WireError, match="refused"):
        wire.loads(pickle.dumps({"rows": []}))


def _tls_files(directory: Path) -> tuple[Path, Path, Path] | None:
    """A private CA and a server certificate for 127.0.0.1 (openssl), or None."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    ca_key, ca, key, csr, cert = (directory / n for n in
                                  ("ca.key", "ca.pem", "server.key", "server.csr",
                                   "server.pem"))
    ext = directory / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    for args in (
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
             "-days", "2", "-subj", "/CN=newswatch test CA"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
             "-subj", "/CN=127.0.0.1"],
            ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
             "-out", cert, "-days", "2", "-extfile", ext]):
        done = subprocess.run([openssl, *map(str, args)], capture_output=True, timeout=60)
        if done.returncode != 0:
            return None
    return ca, cert, key


def test_a_tls_url_with_a_password_connects(tmp_path: Path) -> None:
    """``rediss://:PASSWORD@host:port/0?ssl_ca_certs=CA`` reaches a redis-server that
    speaks TLS only; the plain port is closed and a client that does not trust the CA is
    refused in one line."""
    if REDIS_SERVER is None:
        pytest.skip(SKIP_REASON)
    files = _tls_files(tmp_path)
    if files is None:
        pytest.skip("openssl could not make a test certificate")
    ca, cert, key = files
    (tmp_path / "redis").mkdir()
    server = RedisServer(tmp_path / "redis", password="tls-pass-1234")
    tls_port = server.port
    try:
        server.proc = subprocess.Popen(
            [REDIS_SERVER, "--bind", "127.0.0.1", "--dir", str(server.dir), "--port", "0",
             "--tls-port", str(tls_port), "--tls-cert-file", str(cert), "--tls-key-file",
             str(key), "--tls-ca-cert-file", str(ca), "--tls-auth-clients", "no",
             "--requirepass", "tls-pass-1234", "--logfile", str(server.dir / "redis.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent)
        url = f"rediss://:tls-pass-1234@127.0.0.1:{tls_port}/0?ssl_ca_certs={ca}"

        def attempt() -> redis.Redis | None:
            if server.proc.poll() is not None:  # type: ignore[union-attr]
                pytest.skip("this redis-server does not start with TLS: " + (
                    server.dir / "redis.log").read_text(errors="replace")[-300:])
            try:
                return connect(url, timeout=2)
            except RedisUnavailable:
                return None

        client = wait_for(attempt, what="redis-server with TLS")
        queue = JobQueue(client, KEYS)
        assert queue.offer(job("a.vn")).status == "queued"
        assert queue.take("w").job_id == "r1/a.vn"
        with pytest.raises(RedisUnavailable) as untrusted:
            connect(f"rediss://:tls-pass-1234@127.0.0.1:{tls_port}/0", timeout=5)
        assert "\n" not in str(untrusted.value) and "tls-pass-1234" not in str(untrusted.value)
    finally:
        server.stop(signal.SIGKILL)

