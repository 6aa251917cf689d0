"""Output an operator reads: tables within 80 columns with no value cut, progress that
says what is being fetched, a daemon log without scheduler heartbeats, a demo that
never moves to a random port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from monitor.cli import summary_table
from monitor.farm import Farm
from monitor.run import CrawlResult, crawl
from monitor.sources import DEMO_CONFIG
from monitor.store import COUNTS, Store

from .conftest import REPO

CLI = [sys.executable, "-m", "monitor.cli"]
STATUSES = ["finished", "interrupted", "aborted: no end after 1800 s", "failed"]


def _runs_in(db: Path) -> list[dict]:
    """Crawl runs with wide values (5-digit counts, every status), in a real database."""
    store = Store(db)
    try:
        for i, source in enumerate(["baochinhphu_en", "laodong_en", "laodong_vi", "mofa_en"]):
            run = store.start_run(source)
            store.finish_run(run, STATUSES[i], {k: 10000 + i for k in COUNTS})
        return store.runs()
    finally:
        store.close()


def _no_cut(text: str, width: int = 80) -> None:
    for line in text.splitlines():
        assert len(line) <= width, line
    assert "…" not in text, text


def test_crawl_summary_fits_80_columns_without_cutting_values(tmp_path: Path) -> None:
    runs = _runs_in(tmp_path / "wide.db")
    console = Console(width=80, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(summary_table(CrawlResult(db_path=tmp_path / "wide.db", runs=runs)))
    text = console.export_text()
    _no_cut(text)
    for run in runs:
        assert run["source"] in text
    assert "40006" in text  # a total, whole
    for status in STATUSES:  # wrapped at spaces, never cut
        assert all(word in text for word in status.split())
    assert "irrel irrelevant" in text  # the abbreviated headers are explained


def test_status_fits_80_columns_without_cutting_values(tmp_path: Path) -> None:
    db = tmp_path / "status.db"
    _runs_in(db)
    proc = subprocess.run([*CLI, "status", "--db", str(db)], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    _no_cut(proc.stdout)
    started = Store(db).runs()[0]["started"]
    assert started[:16].replace("T", " ") in proc.stdout  # the time, whole (to the minute)


def test_progress_says_robots_txt_while_a_site_never_answers(farm: Farm,
                                                             tmp_path: Path) -> None:
    """A host that accepts connections and never answers: the progress reports move
    (requests, the step being fetched) instead of sitting at 0/?, and the host ends
    reported unreachable."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.81", 0))
        silent.listen(64)  # connections complete in the kernel; nothing is ever answered
        url = f"http://127.0.0.81:{silent.getsockname()[1]}"
        snapshots: list[dict] = []
        result = crawl(DEMO_CONFIG, tmp_path / "silent.db", sources=["mofa_en"],
                       variables={**farm.variables, "FARM_MOFA_EN": url,
                                  "FARM_MOFA_EN_HOST": "127.0.0.81"},
                       scrapy_settings={"DOWNLOAD_TIMEOUT": 3, "RETRY_TIMES": 0},
                       progress=lambda snap: snapshots.append(dict(snap.get("mofa_en", {}))))
    steps = [s.get("step") for s in snapshots if s]
    assert any(step and step.startswith("robots.txt") for step in steps), steps
    assert any(s.get("requests", 0) >= 1 and s.get("found") == 0 for s in snapshots)
    assert not result.ok and list(result.unreachable) == [url.split("//")[1]]


def test_daemon_log_at_info_has_crawls_not_heartbeats(farm: Farm, tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    demo = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    config.write_text(yaml.safe_dump({**demo, "sources": [
        s for s in demo["sources"] if s["name"] == "mofa_en"]}), encoding="utf-8")
    log = tmp_path / "daemon.log"
    no_alerts = tmp_path / "alerts.yaml"
    no_alerts.write_text("channels: {}\nrules: []\n", encoding="utf-8")
    with log.open("w") as handle:
        proc = subprocess.Popen([*CLI, "run", "--config", str(config), "--db",
                                 str(tmp_path / "d.db"), "--alerts-config", str(no_alerts)],
                                cwd=REPO, env={**os.environ, **farm.variables},
                                stdout=subprocess.DEVNULL, stderr=handle)
        try:
            deadline = time.monotonic() + 60
            while "mofa_en: {" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.5)
            time.sleep(6)  # more than one heartbeat and config check
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    text = log.read_text()
    assert "mofa_en: {" in text and "daemon started" in text, text[-2000:]
    assert "apscheduler" not in text and "executed successfully" not in text, text[-2000:]


def test_demo_refuses_a_busy_port_instead_of_moving(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.12", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run([*CLI, "demo", "--port", str(port), "--db",
                               str(tmp_path / "demo.db")], cwd=REPO, capture_output=True,
                              text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: port {port} is in use on "
                                                   "127.0.0.12"), lines
    assert not (tmp_path / "demo.db").exists()


@pytest.mark.parametrize("width", [80])
def test_crawl_output_fits_80_columns(farm: Farm, tmp_path: Path, width: int) -> None:
    proc = subprocess.run([*CLI, "crawl", "--config", str(DEMO_CONFIG), "--db",
                           str(tmp_path / "c.db"), "--source", "mofa_en"], cwd=REPO,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **farm.variables, "COLUMNS": str(width)})
    assert proc.returncode == 0, proc.stderr
    _no_cut(proc.stdout, width)


def test_status_health_table_fits_80_columns_with_names_and_times_whole(
        tmp_path: Path) -> None:
    """The source health table of `newswatch status` at 80 columns: every source name and
    time whole on its line (they were folded mid-word: "baochinhp" / "hu_en"), the
    reasons wrapped."""
    import json

    db = tmp_path / "health.db"
    _runs_in(db)
    store = Store(db)
    names = ["baochinhphu_en", "vietnamplus_en", "vietnamnews_en", "usembassy_vi"]
    try:
        for run_id, name in enumerate(names, 1):
            store.db["health_runs"].insert(
                {"run_id": run_id, "signals": json.dumps(
                    {"pages": 12345, "extracted": 12000, "fail": {"http": 3},
                     "unmatched": 7})}, alter=True)
            store.db["source_health"].insert(
                {"source": name, "state": "degraded", "since": "2026-11-30T15:41:07+00:00",
                 "reasons": json.dumps(["fewer than half of the pages gave text where the "
                                        "baseline gave at least nine in ten"]),
                 "updated": "2026-11-30T15:41:07+00:00", "last_run": run_id}, alter=True)
    finally:
        store.close()
    proc = subprocess.run([*CLI, "status", "--db", str(db)], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    _no_cut(proc.stdout)
    health = proc.stdout[proc.stdout.index("source health"):]
    for name in names:
        assert f"{name} degraded 2026-11-30 15:41" in " ".join(health.split()), health
    assert "12345" in health and "baseline" in health


def test_alerts_list_fits_80_columns_one_alert_in_few_lines(tmp_path: Path) -> None:
    """`newswatch alerts list` at 80 columns (cron mail, the journal, a pipe): the short
    fields whole on the alert's first line, the title, rule and last error wrapped under
    "about" (it took 15 lines per alert, "channe" / "l"). ``--db`` after the subcommand,
    as every other command takes it."""
    db = tmp_path / "alerts.db"
    store = Store(db)
    try:
        store.db["alerts"].insert_all([
            {"id": n, "kind": "new", "rule": "vietnam-us", "channel": "analysts-webhook",
             "status": "pending", "attempts": 3, "next_attempt": "2026-11-30T15:41:07+00:00",
             "message": f"Deputy PM meets US Secretary of State in New York, part {n}",
             "last_error": "environment variable NEWSWATCH_WEBHOOK_URL is not set"}
            for n in range(1, 4)], alter=True)
    finally:
        store.close()
    proc = subprocess.run([*CLI, "alerts", "list", "--db", str(db)], cwd=REPO,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    _no_cut(proc.stdout)
    flat = " ".join(proc.stdout.split())
    for n in range(1, 4):
        assert f"{n} new analysts-webhook pending 3 2026-11-30 15:41 Deputy PM" in flat, flat
    assert "NEWSWATCH_WEBHOOK_URL is not set" in flat and "vietnam-us" in flat
    assert len(proc.stdout.strip().splitlines()) <= 4 + 3 * 8, proc.stdout  # was 15 each
