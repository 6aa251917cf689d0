"""The daemon, run as a user runs it: `newswatch run` in its own process against the farm."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

from monitor.farm import Farm
from monitor.sources import DEMO_CONFIG
from monitor.store import Store

from .channels import Mailbox, Receiver
from .conftest import PATIENCE, REPO
from .test_alerts import _alerts_file, _env

CLI = [sys.executable, "-m", "monitor.cli"]
VN = timezone(timedelta(hours=7))


def _config(tmp_path: Path, sources: list[str]) -> Path:
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    data["sources"] = [{**s, "interval": "2s", "jitter": "0s", "crawl_timeout": "60s"}
                       for s in data["sources"] if s["name"] in sources]
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


STORIES = {
    "rare-earths-deal": [
        "Deputy Prime Minister Bui Thanh Son and US Ambassador Marc Knapper signed a "
        "memorandum on rare earths and critical minerals in Hanoi, a first for the "
        "Vietnam-US Comprehensive Strategic Partnership.",
        "Under the memorandum the US Geological Survey will help map deposits in Lao Cai and "
        "Yen Bai and train 120 Vietnamese geologists over three years.",
        "Knapper said Washington wants supply chains that are secure and clean, and that "
        "American firms are studying processing plants in northern Vietnam.",
    ],
    "digital-trade-talks": [
        "Vietnam and the United States opened their first round of digital trade talks in "
        "Washington, led by Minister of Industry and Trade Nguyen Hong Dien and US Trade "
        "Representative officials.",
        "The delegations discussed cross-border data flows, electronic signatures and "
        "customs procedures for e-commerce parcels, which tripled in 2024.",
        "Both sides agreed to meet again in Ho Chi Minh City in the spring and to consult "
        "businesses from both countries before the next round.",
    ],
}


def _article(slug: str, title: str, minutes_ago: int) -> dict:
    when = (datetime.now(VN) - timedelta(minutes=minutes_ago)).replace(microsecond=0)
    return {"site": "laodong_en", "slug": slug, "title": title, "lang": "en", "topic": "vn-us",
            "published": when.isoformat(), "author": "Thanh Ha", "paragraphs": STORIES[slug]}


def _wait(predicate, seconds: float, what: str) -> None:
    deadline = time.time() + seconds * PATIENCE
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _outbox(db: Path) -> list[tuple[str, int]]:
    if not db.exists():
        return []
    store = Store(db)
    try:
        return [(a["kind"], a["article_id"]) for a in store.db["alerts"].rows_where(
            order_by="id")]
    finally:
        store.close()


def _status(db: Path) -> dict:
    proc = subprocess.run([*CLI, "status", "--db", str(db), "--json"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _state(db: Path) -> dict:
    """What ``newswatch status --json`` prints of the daemon, its runs and its outbox, read
    in this process (``monitor.run.daemon.status``, which the command prints): for polling
    loops, which otherwise started a Python process twice a second beside the daemon, on
    the cores its crawls need. ``_status`` runs the command itself."""
    from monitor.run import status

    return status(db)


def _start(tmp_path: Path, db: Path, env: dict[str, str], deliver_every: float = 1.0,
           alerts: Path | None = None, claim_timeout: float = 300):
    return subprocess.Popen(
        [*CLI, "run", "--config", str(_config(tmp_path, ["laodong_en"])), "--db", str(db),
         "--alerts-config", str(alerts or _alerts_file(tmp_path / "alerts.yaml")),
         "--deliver-every", str(deliver_every), "--claim-timeout", str(claim_timeout),
         "--log-level", "WARNING"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _first_crawl_done(db: Path) -> bool:
    return db.exists() and any(r["status"] == "finished" for r in _state(db)["last_runs"])


def _pending(db: Path) -> int:
    status = _state(db)["alerts"]
    return status.get("pending", 0) + status.get("sending", 0)


def test_daemon_two_new_and_one_updated_alert_arrive_once(tmp_path: Path, smtp: Mailbox,
                                                          receiver: Receiver) -> None:
    db = tmp_path / "daemon.db"
    with Farm() as farm:
        env = {**os.environ, **farm.variables, **_env(smtp, receiver)}
        daemon = _start(tmp_path, db, env)
        try:
            _wait(lambda: _first_crawl_done(db) and _pending(db) == 0, 90, "a first crawl")
            assert _status(db)["daemon"]["alive"]
            hooks, mails = len(receiver.bodies), len(smtp.messages)
            assert hooks == mails > 0  # the farm's relevant stories, once each
            one = farm.publish(_article("rare-earths-deal", "Vietnam and US sign rare earths "
                                        "deal", 5))
            farm.publish(_article("digital-trade-talks", "Vietnam and US open digital trade "
                                  "talks", 3))
            _wait(lambda: len(receiver.bodies) >= hooks + 2, 60, "two new alerts")
            farm.edit("laodong_en", "rare-earths-deal",
                      replace={1: "The two sides agreed to set up a joint working group on "
                                  "critical minerals before the end of the year."})
            _wait(lambda: len(receiver.bodies) >= hooks + 3, 60, "an updated alert")
            time.sleep(6)  # more crawls and delivery passes: nothing may arrive twice
            arrived = receiver.bodies[hooks:]
            assert sorted(b["kind"] for b in arrived) == ["new", "new", "updated"]
            assert len(smtp.messages) == mails + 3
            assert len(set(receiver.keys)) == len(receiver.keys)  # never twice
            updated = next(b for b in arrived if b["kind"] == "updated")
            assert updated["article"]["url"] == one and "joint working group" in updated["diff"]
        finally:
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(timeout=90)
        assert code == 0, daemon.stderr.read()[-2000:]
    report = _status(db)
    assert not report["daemon"]["alive"]
    assert all(r["status"] != "running" for r in report["last_runs"])


def test_kill_9_after_store_before_delivery_loses_nothing(tmp_path: Path, smtp: Mailbox,
                                                         receiver: Receiver) -> None:
    """kill -9 once articles and their alerts are stored but before any delivery, then
    restart: every alert arrives, exactly once."""
    db = tmp_path / "crash.db"
    with Farm() as farm:
        env = {**os.environ, **farm.variables, **_env(smtp, receiver)}
        daemon = _start(tmp_path, db, env, deliver_every=3600)  # no delivery yet
        _wait(lambda: _first_crawl_done(db), 90, "a first crawl")
        daemon.kill()  # SIGKILL: no clean-up at all
        daemon.wait(timeout=30)
        pending = _pending(db)
        assert pending > 0 and receiver.bodies == []
        daemon = _start(tmp_path, db, env)
        try:
            _wait(lambda: _pending(db) == 0, 90, "the outbox to drain")
            time.sleep(3)
        finally:
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=90) == 0
    assert len(receiver.bodies) + len(smtp.messages) == pending
    assert len(set(receiver.keys)) == len(receiver.keys)
    assert all(r["status"] != "running" for r in _status(db)["last_runs"])


def test_kill_9_during_delivery_then_restart(tmp_path: Path, smtp: Mailbox,
                                            receiver: Receiver) -> None:
    """kill -9 while a webhook call is in flight, then restart: the alert whose fate was
    unknown is sent again once its claim expires, all the others exactly once; the
    Idempotency-Key lets the receiver drop the one repeat."""
    db = tmp_path / "crash2.db"
    hook_only = tmp_path / "hook.yaml"
    hook_only.write_text("channels:\n  hook:\n    webhook: \"${NW_HOOK_URL}\"\n"
                         "    secret: \"${NW_HOOK_SECRET}\"\n"
                         "rules:\n  - name: vn-us\n    channels: [hook]\n", encoding="utf-8")
    with Farm() as farm:
        env = {**os.environ, **farm.variables, **_env(smtp, receiver)}
        receiver.delay = 3.0
        daemon = _start(tmp_path, db, env, alerts=hook_only, claim_timeout=2)
        assert receiver.started.wait(90), "no delivery started"
        daemon.kill()  # mid-request
        daemon.wait(timeout=30)
        receiver.delay = 0.0
        store = Store(db)
        try:
            expected = {a["key"] for a in store.db["alerts"].rows}
            in_flight = store.db["alerts"].count_where("status = 'sending'")
        finally:
            store.close()
        assert in_flight >= 1
        daemon = _start(tmp_path, db, env, alerts=hook_only, claim_timeout=2)
        try:
            _wait(lambda: _pending(db) == 0, 90, "the outbox to drain")
            time.sleep(2)
        finally:
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=90) == 0
    assert set(receiver.keys) == expected  # every alert arrived
    repeats = len(receiver.keys) - len(set(receiver.keys))
    assert repeats <= in_flight  # only a call in flight at the kill can repeat
    store = Store(db)
    try:
        assert store.db["alerts"].count_where("status = 'sent'") == len(expected)
    finally:
        store.close()


def test_crawl_past_its_time_limit_is_killed_and_recorded(tmp_path: Path) -> None:
    from monitor.run import CrawlError, crawl

    db = tmp_path / "slow.db"
    # 1,500 articles on each of the two sites: more pages than 3 seconds allow (600
    # were not enough once the crawl got faster, issue 17)
    with Farm(extra=3000, sites=["laodong_en", "mofa_en"]) as farm:
        started = time.monotonic()
        try:
            crawl(DEMO_CONFIG, db, variables=farm.config_variables(), sources=["laodong_en"],
                  timeout=3)
        except CrawlError as exc:
            assert "killed after 3 s" in str(exc)
        else:
            raise AssertionError("the crawl was not stopped")
        assert time.monotonic() - started < 20
        store = Store(db)
        try:
            statuses = [r["status"] for r in store.runs()]
        finally:
            store.close()
        assert "running" not in statuses
        # SIGTERM lets Scrapy close the run itself ("stopped: shutdown"); after SIGKILL
        # the runner marks it "aborted"; never "running", never "finished"
        assert statuses == [] or statuses[-1].startswith(("stopped", "aborted"))
        result = crawl(DEMO_CONFIG, db, variables=farm.config_variables(),
                       sources=["mofa_en"])
        assert result.ok  # the next run completes
        # and the next crawl of the stopped source finds every article the stopped one
        # had not reached: its feeds and sitemaps must not be answered 304
        again = crawl(DEMO_CONFIG, db, variables=farm.config_variables(),
                      sources=["laodong_en"])
        assert again.ok and again.totals["errors"] == 0
        store = Store(db)
        try:
            stored = {row["url"] for row in store.db.query(
                "select url from articles where source = 'laodong_en'")}
        finally:
            store.close()
        expected = {farm.url_of("laodong_en", a.slug) for a in farm.sites["laodong_en"].articles}
        assert stored == expected
