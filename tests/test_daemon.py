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

from monitor.config import DEMO_CONFIG
from monitor.farm import Farm
from monitor.store import Store

from .conftest import REPO

CLI = [sys.executable, "-m", "monitor.cli"]
VN = timezone(timedelta(hours=7))


def _config(tmp_path: Path, sources: list[str]) -> Path:
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    data["sources"] = [{**s, "interval": "2s", "jitter": "0s", "crawl_timeout": "60s"}
                       for s in data["sources"] if s["name"] in sources]
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _alerts(tmp_path: Path) -> Path:
    path = tmp_path / "alerts.yaml"
    path.write_text("channels:\n  hook:\n    webhook: http://127.0.0.1:9/never\n"
                    "rules:\n  - name: vn-us\n    channels: [hook]\n", encoding="utf-8")
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
    deadline = time.time() + seconds
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


def test_daemon_crawls_on_schedule_and_queues_each_alert_once(tmp_path: Path) -> None:
    db = tmp_path / "daemon.db"
    with Farm() as farm:
        env = {**os.environ, **farm.variables}
        daemon = subprocess.Popen(
            [*CLI, "run", "--config", str(_config(tmp_path, ["laodong_en"])), "--db", str(db),
             "--alerts-config", str(_alerts(tmp_path)), "--log-level", "WARNING"],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            _wait(lambda: db.exists() and any(r["status"] == "finished"
                                              for r in _status(db)["last_runs"]),
                  60, "a first crawl")
            baseline = len(_outbox(db))
            assert _status(db)["daemon"]["alive"]
            one = farm.publish(_article("rare-earths-deal", "Vietnam and US sign rare earths "
                                        "deal", 5))
            farm.publish(_article("digital-trade-talks", "Vietnam and US open digital trade "
                                  "talks", 3))
            _wait(lambda: len(_outbox(db)) >= baseline + 2, 60, "two new alerts")
            farm.edit("laodong_en", "rare-earths-deal",
                      replace={1: "The two sides agreed to set up a joint working group on "
                                  "critical minerals before the end of the year."})
            _wait(lambda: len(_outbox(db)) >= baseline + 3, 60, "an updated alert")
            time.sleep(5)  # more scheduled crawls: nothing may be queued twice
            outbox = _outbox(db)[baseline:]
            kinds = sorted(kind for kind, _ in outbox)
            assert kinds == ["new", "new", "updated"], outbox
            store = Store(db)
            try:
                edited = store.article(one)
            finally:
                store.close()
            assert ("updated", edited["id"]) in outbox
        finally:
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(timeout=90)
        assert code == 0, daemon.stderr.read()[-2000:]
    report = _status(db)
    assert not report["daemon"]["alive"]
    assert all(r["status"] != "running" for r in report["last_runs"])
