"""The daemon with a fleet (`newswatch run --redis URL`, issue 32), run as a user runs it:
its own process on the farm's config, a real `redis-server` (tests/redis_server.py), and
a worker process standing in for `newswatch worker` (`tests.fleet_procs serve`: it takes
the daemon's jobs and sends, per source, 4 batches of 3 articles and the source's run).
The daemon offers each site's job, stores what the worker sends once, queues each alert
once and delivers it (a real webhook receiver), and `newswatch status` shows the worker
and the backlog; killed between a commit and its acknowledgement, or with Redis
restarted under it, or with a worker killed mid-job, it still stores everything once,
and says what Redis lost."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from monitor.fleet import KILL_AFTER_COMMIT_ENV, site_jobs
from monitor.sources import DEMO_CONFIG, load_settings
from monitor.store import Store, control

from .channels import SECRET, Receiver
from .conftest import REPO
from .redis_server import RedisServer, environment, free_port, wait_for

CLI = [sys.executable, "-m", "monitor.cli"]
FLEET = "t"
SOURCES = ["laodong_en", "laodong_vi", "vietnam_vn"]
ARTICLES = 12 * len(SOURCES)  # the stand-in sends 12 articles per source at each crawl

# (not marked timing: they wait on conditions and passed beside two CPU burners; the
# fleet beside burners is tests/test_fleet_farm.py, which keeps CI within its time)


def _farm_variables() -> dict[str, str]:
    """The farm config's variables; laodong_en and laodong_vi on one host (one site: one
    job with both sources). Nothing is fetched: the worker is a stand-in."""
    port = free_port()
    hosts = {"LAODONG_EN": "127.0.0.12", "LAODONG_VI": "127.0.0.12",
             "VIETNAM_VN": "127.0.0.14"}
    found = {}
    for name, host in hosts.items():
        found[f"FARM_{name}"] = f"http://{host}:{port}" + ("/vi" if name == "LAODONG_VI"
                                                           else "")
        found[f"FARM_{name}_HOST"] = host
    return found


def _config(tmp_path: Path) -> Path:
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    data["sources"] = [{**s, "interval": "1h", "jitter": "0s"}
                       for s in data["sources"] if s["name"] in SOURCES]
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _alerts(tmp_path: Path) -> Path:
    path = tmp_path / "alerts.yaml"
    path.write_text("""
channels:
  hook:
    webhook: "${NW_HOOK_URL}"
    secret: "${NW_HOOK_SECRET}"
rules:
  - name: all-new
    kinds: [new]
    channels: [hook]
""", encoding="utf-8")
    return path


class Setup:
    """A database, a config, an alerts file, the environment of the processes."""

    def __init__(self, tmp_path: Path, redis: RedisServer, receiver: Receiver) -> None:
        self.tmp = tmp_path
        self.redis = redis
        self.db = tmp_path / "fleet.db"
        self.config = _config(tmp_path)
        self.alerts = _alerts(tmp_path)
        self.log = tmp_path / "daemon.log"
        self.env = {**environment(), **_farm_variables(), "NW_HOOK_URL": receiver.url,
                    "NW_HOOK_SECRET": SECRET}
        self.procs: list[subprocess.Popen[str]] = []

    def daemon(self, **env: str) -> subprocess.Popen[str]:
        """`newswatch run --redis`; an alert a killed daemon left `sending` is sent
        again after 3 s (--claim-timeout; delivery is at least once, queueing once)."""
        with self.log.open("a") as err:
            proc = subprocess.Popen(
                [*CLI, "run", "--config", str(self.config), "--db", str(self.db),
                 "--alerts-config", str(self.alerts), "--deliver-every", "1",
                 "--claim-timeout", "3", "--redis", self.redis.url, "--fleet", FLEET],
                cwd=REPO, env={**self.env, **env}, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=err, text=True)
        self.procs.append(proc)
        return proc

    def worker(self, name: str, hang_after: int = -1,
               lease: float = 10.0) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fleet_procs", "serve", self.redis.url, FLEET, name,
             str(hang_after), str(lease)], cwd=REPO, env=self.env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(proc)
        return proc

    def jobs(self) -> list[dict[str, Any]]:
        """The jobs one round of the config makes (one per site)."""
        return site_jobs(load_settings(self.config, self.env).sources, "r")

    def stored(self) -> dict[str, Any]:
        """Articles per URL, runs per source, the outbox's (kind, article id) rows and
        their states, and the inbox's outcomes."""
        if not self.db.exists():
            return {"urls": {}, "runs": {}, "alerts": [], "sent": 0, "inbox": {}}
        store = Store(self.db)
        try:
            db = store.db
            urls = dict(db.execute("select url, count(*) from articles group by url"))
            runs = dict(db.execute("select source, count(*) from crawl_runs group by source"))
            alerts = [tuple(r) for r in db.execute(
                "select kind, article_id from alerts order by id")]
            sent = db.execute("select count(*) from alerts where status = 'sent'").fetchone()
            inbox = dict(db.execute("select outcome, count(*) from fleet_inbox group by "
                                    "outcome")) if "fleet_inbox" in db.table_names() else {}
        finally:
            store.close()
        return {"urls": urls, "runs": runs, "alerts": alerts, "sent": sent[0], "inbox": inbox}

    def status(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, "status", "--db", str(self.db), *extra], cwd=REPO,
                              env=self.env, capture_output=True, text=True, timeout=60)

    def check(self, source: str) -> subprocess.CompletedProcess[str]:
        """`newswatch check SOURCE`, which must be taken (exit 0)."""
        proc = subprocess.run([*CLI, "check", source, "--db", str(self.db)], cwd=REPO,
                              env=self.env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return proc

    def health(self) -> dict[str, str]:
        store = Store(self.db)
        try:
            return dict(store.db.execute("select source, state from source_health"))
        finally:
            store.close()

    def request(self, request_id: int) -> dict[str, Any]:
        store = Store(self.db)
        try:
            return control.get(store, request_id) or {}
        finally:
            store.close()

    def fleet(self) -> dict[str, Any]:
        """The fleet in the daemon's last heartbeat, as `newswatch status --json` shows
        it (read in this process for polling loops)."""
        from monitor.run import status

        if not self.db.exists():
            return {}
        return status(self.db).get("fleet") or {}

    def stop(self, proc: subprocess.Popen[str]) -> int:
        proc.send_signal(signal.SIGTERM)
        return proc.wait(timeout=60)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=10)


@contextmanager
def setup(tmp_path: Path, redis: RedisServer, receiver: Receiver) -> Iterator[Setup]:
    running = Setup(tmp_path, redis, receiver)
    try:
        yield running
    finally:
        running.close()


def _log(s: Setup) -> str:
    return s.log.read_text(encoding="utf-8", errors="replace") if s.log.exists() else ""


def _all_once(s: Setup) -> dict[str, Any]:
    """Every article stored, each once; a run of every source; alerts delivered."""
    def done() -> dict[str, Any] | None:
        found = s.stored()
        ready = (len(found["urls"]) == ARTICLES and set(found["runs"]) == set(SOURCES)
                 and found["alerts"] and found["sent"] == len(found["alerts"]))
        return found if ready else None

    found = wait_for(done, timeout=45, what=f"{ARTICLES} articles, runs and alerts sent")
    assert set(found["urls"].values()) == {1}, found["urls"]  # each article once
    assert len(found["alerts"]) == len(set(found["alerts"])), found["alerts"]  # alerts once
    return found


def test_the_daemon_offers_jobs_and_stores_what_a_worker_sends_once(
        redis_server: RedisServer, receiver: Receiver, tmp_path: Path) -> None:
    """`newswatch run --redis` offers one job per site of its config (laodong_en and
    laodong_vi share one); `newswatch check laodong_en` while that job is queued waits for
    its site (busy: counted, in status); a worker takes the jobs and sends batches and
    runs; the daemon stores every article once, queues each alert once and delivers it;
    the waiting check is offered once its site is free and ends `done`; `newswatch
    status` (text and --json) shows the fleet: the worker, jobs, stream backlog."""
    with setup(tmp_path, redis_server, receiver) as s:
        daemon = s.daemon()
        assert len(s.jobs()) == 2
        wait_for(lambda: s.fleet().get("jobs", {}).get("queued") == 2, timeout=30,
                 what="both jobs queued, no worker yet")
        asked = s.check("laodong_en")
        assert "its site" in asked.stdout and "has a job queued or held" in asked.stdout, asked
        fleet = wait_for(lambda: (f := s.fleet()) and "laodong_en" in f["busy"] and f,
                         what="laodong_en waiting for its site")
        assert fleet["counts"]["busy"] >= 1
        text = s.status()
        assert "waiting for their site's job to end: laodong_en (" in text.stdout, text.stdout
        assert "workers: none" in text.stdout, text.stdout

        worker = s.worker("w1")
        found = _all_once(s)
        wait_for(lambda: s.stored()["runs"] == {"laodong_en": 2, "laodong_vi": 1,
                                                "vietnam_vn": 1},
                 what="laodong_en crawled again for the check, once its site was free")
        wait_for(lambda: s.request(1)["state"] == "done", what="the check request done")
        assert len(s.stored()["alerts"]) == len(found["alerts"])  # (unchanged: no alert)
        wait_for(lambda: len(receiver.bodies) == len(found["alerts"]), what="webhooks")
        assert len(set(receiver.keys)) == len(receiver.keys)  # each alert delivered once

        fleet = wait_for(lambda: (f := s.fleet()) and f["workers"].get("w1", {}).get(
            "state") == "alive" and f["jobs"]["queued"] == 0 and f["jobs"]["held"] == 0
            and f["stream"]["pending"] == 0 and f["stream"]["lag"] == 0 and f,
            what="status: worker w1, jobs done, backlog drained")
        assert fleet["counts"]["jobs"] == 3 and fleet["counts"]["sources"] == 4
        assert fleet["intake"]["articles"] == ARTICLES + 12 and fleet["intake"]["runs"] == 4
        assert fleet["intake"]["unchanged"] == 12 and fleet["busy"] == {}
        # each run's health judged by the daemon, from the signals the worker sent
        assert fleet["counts"]["health_judged"] == 4
        assert s.health() == {name: "ok" for name in SOURCES}
        assert fleet["redis"] == redis_server.url and fleet["warnings"] == []
        shown = s.status("--json")
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["fleet"]["workers"]["w1"]["state"] == "alive"
        text = s.status()
        assert text.returncode == 0, text.stderr
        assert f"fleet {FLEET} on Redis {redis_server.url}" in text.stdout, text.stdout
        assert "stream backlog: pending 0, lag 0" in text.stdout, text.stdout
        assert "w1" in text.stdout and "alive" in text.stdout, text.stdout

        # a check of a source whose site is free: offered at once
        asked = s.check("vietnam_vn")
        assert "offered to the fleet as job" in asked.stdout, asked
        wait_for(lambda: s.request(2)["state"] == "done", what="the second check done")
        assert s.stored()["runs"]["vietnam_vn"] == 2
        assert s.stop(worker) == 0
        assert s.stop(daemon) == 0
    log = _log(s)
    assert "Traceback" not in log, log[-3000:]
    assert "offered 2 job(s) (3 source(s))" in log, log[-3000:]
    assert "laodong_en due, but its site" in log, log[-3000:]


def test_the_daemon_killed_between_commit_and_acknowledge_stores_everything_once(
        redis_server: RedisServer, receiver: Receiver, tmp_path: Path) -> None:
    """The daemon kills itself (SIGKILL) right after its 3rd commit of a stream entry,
    before acknowledging it (NEWSWATCH_FLEET_KILL_AFTER_COMMIT); started again, it finds
    that entry in its inbox (`already_stored`), stores the rest, offers a new round (the
    worker crawls again: unchanged articles) and queues each alert once."""
    with setup(tmp_path, redis_server, receiver) as s:
        doomed = s.daemon(**{KILL_AFTER_COMMIT_ENV: "3"})
        worker = s.worker("w1")
        assert doomed.wait(timeout=60) == -signal.SIGKILL
        first = s.stored()
        assert sum(first["inbox"].values()) == 3, first  # 3 entries committed, not acked
        daemon = s.daemon()
        found = _all_once(s)
        fleet = wait_for(lambda: (f := s.fleet()) and f.get("intake", {}).get(
            "already_stored") and f, what="the restarted writer's counts")
        assert fleet["intake"]["already_stored"] == 1  # the one committed, not acked
        # the new round's crawl sends the same articles again: unchanged, no new alert
        wait_for(lambda: sum(s.stored()["runs"].values()) == 6, what="second round's runs")
        again = _all_once(s)
        assert again["alerts"] == found["alerts"]
        assert s.stop(worker) == 0
        assert s.stop(daemon) == 0
    assert "Traceback" not in _log(s), _log(s)[-3000:]


def test_a_worker_killed_mid_job_has_its_job_reoffered_by_the_daemon(
        redis_server: RedisServer, receiver: Receiver, tmp_path: Path) -> None:
    """A worker killed with SIGKILL mid-job (5 batches sent, its lease 3 s): the
    daemon's tick reaps the expired lease and re-offers the job (logged), another worker
    crawls the site again; every article is stored once, each alert queued once, and
    the fleet's status counts the re-offer, the dead worker holding nothing."""
    with setup(tmp_path, redis_server, receiver) as s:
        daemon = s.daemon()
        doomed = s.worker("doomed", hang_after=5, lease=3)
        assert doomed.stdout is not None
        events = []
        while '"hanging"' not in (line := doomed.stdout.readline()):
            assert line, doomed.stderr.read() if doomed.stderr else ""
            events.append(json.loads(line))
        hung = json.loads(line)["hanging"]
        again = 3 * sum(1 for e in events if e.get("sent") == hung)  # to be sent again
        wait_for(lambda: len(s.stored()["urls"]) == 15, what="the first 5 batches stored")
        doomed.kill()
        doomed.wait(timeout=10)
        wait_for(lambda: "re-offered" in _log(s), what="the daemon re-offering the job")
        survivor = s.worker("survivor")
        _all_once(s)
        # a source of the dead job whose run it had sent is crawled again whole: 2 runs
        done = {e["source"] for e in events if e.get("sent") == hung and e["batch"] == 3}
        wait_for(lambda: s.stored()["runs"] == {name: 2 if name in done else 1
                                                for name in SOURCES}, what="every run")
        fleet = wait_for(lambda: (f := s.fleet()) and f["jobs"]["queued"] == 0
                         and f["jobs"]["held"] == 0 and f, what="jobs done")
        assert fleet["counts"]["reoffered"] == 1
        assert fleet["counters"]["reoffered"] == 1
        assert fleet["intake"]["unchanged"] == again  # the dead job's batches, sent again
        assert fleet["workers"]["doomed"]["holds"] == []  # (it holds nothing any more)
        assert s.stop(survivor) == 0
        assert s.stop(daemon) == 0
    assert "Traceback" not in _log(s), _log(s)[-3000:]


def test_redis_restarted_mid_round_loses_nothing_and_redis_without_its_data_is_said(
        redis_server: RedisServer, receiver: Receiver, tmp_path: Path) -> None:
    """Redis (AOF on, `appendfsync always`) is stopped and started again while the worker
    is mid-job: every article is stored once, each alert queued once, and the daemon says
    it lost Redis and that Redis answers again. Then Redis starts WITHOUT its data (the
    append-only file removed): the daemon says what it lost, in its log (one line) and in
    `newswatch status`."""
    with setup(tmp_path, redis_server, receiver) as s:
        daemon = s.daemon()
        worker = s.worker("w1", hang_after=5)  # mid-job: a batch of its second source
        assert worker.stdout is not None and worker.stdin is not None
        while '"hanging"' not in (line := worker.stdout.readline()):
            assert line, worker.stderr.read() if worker.stderr else ""
        wait_for(lambda: len(s.stored()["urls"]) == 15, what="the first 5 batches stored")
        redis_server.stop(signal.SIGTERM)  # (its AOF written: appendfsync always)
        wait_for(lambda: "unreachable" in _log(s), what="the daemon saying Redis is away")
        redis_server.start()
        worker.stdin.write("go on\n")
        worker.stdin.flush()
        found = _all_once(s)
        assert found["runs"] == {name: 1 for name in SOURCES}
        wait_for(lambda: "answers again" in _log(s), what="the daemon saw Redis come back")
        assert _log(s).count("unreachable") == 1, _log(s)[-3000:]  # said once

        # Redis comes back empty: no append-only file (a misconfigured restart)
        redis_server.stop(signal.SIGKILL)
        for path in redis_server.dir.iterdir():
            if path.name.startswith("appendonly"):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        redis_server.start()
        fleet = wait_for(lambda: (f := s.fleet()) and f.get("warnings") and f,
                         what="the daemon saying Redis lost its data")
        assert "Redis lost its data" in fleet["warnings"][0]
        wait_for(lambda: "fleet intake: Redis lost its data" in _log(s), what="log line")
        lines = [line for line in _log(s).splitlines() if "Redis lost its data" in line]
        assert len(lines) == 1, lines
        text = s.status()
        assert "lost: Redis lost its data" in text.stdout, text.stdout
        assert s.stop(worker) == 0
        assert s.stop(daemon) == 0
    assert "Traceback" not in _log(s), _log(s)[-3000:]


def test_redis_unreachable_at_start_is_one_line_and_exit_3(tmp_path: Path) -> None:
    """No Redis at the URL: one `error:` line, exit 3, the password never shown; a URL
    that is not Redis's: exit 2."""
    config = _config(tmp_path)
    env = {**environment(), **_farm_variables()}
    url = f"redis://:s3cret-pw@127.0.0.1:{free_port()}/0"
    proc = subprocess.run([*CLI, "run", "--config", str(config), "--db",
                           str(tmp_path / "x.db"), "--no-alerts"], cwd=REPO,
                          env={**env, "NEWSWATCH_REDIS": url}, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Redis unreachable: redis://***@"), lines
    assert "s3cret-pw" not in proc.stderr
    bad = subprocess.run([*CLI, "run", "--config", str(config), "--db", str(tmp_path / "x.db"),
                          "--no-alerts", "--redis", "http://127.0.0.1:1/"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
