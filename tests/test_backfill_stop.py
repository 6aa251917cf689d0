"""Stopping a backfill, with real processes and real signals: what the CLI prints and its
exit code agree with what was stored, whenever the Ctrl-C comes (just after the
session's end, before its first batch, behind a download delay, twice); an unreachable
site is one warning line per host and exit 1 (a refused port; a name that does not
resolve, with a resolver that asks no one)."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from monitor.farm import Farm
from monitor.processes.lifecycle import MAX_GRACE_SECONDS
from monitor.sources import DEMO_CONFIG

from .conftest import REPO

KILLED = "ran out of time"  # the warning of a stop killed when its grace ran out

pytestmark = pytest.mark.timing  # CI runs it with CPU burners beside it (tests/burners.py)

CLI = [sys.executable, "-m", "monitor.cli"]
SITE = "baochinhphu_en"


@pytest.fixture(scope="module")
def farm() -> Iterator[Farm]:
    with Farm(archive=2000, archive_site=SITE, sites=[SITE]) as running:
        yield running


def _config(tmp_path: Path, **changes: object) -> Path:
    """config/demo.yaml with only the farm's archive source, ``changes`` applied to it."""
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    data["sources"] = [{**s, **changes} for s in data["sources"] if s["name"] == SITE]
    path = tmp_path / "backfill-source.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _start(env: dict[str, str], config: Path, db: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*CLI, "backfill", SITE, "--config", str(config), "--db", str(db),
                             *extra], cwd=REPO, env={**os.environ, **env, "COLUMNS": "200"},
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def _query(db: Path, sql: str) -> list[tuple]:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:  # not created or not migrated yet
        return []


def _when(proc: subprocess.Popen[str], db: Path, sql: str, timeout: float = 60) -> bool:
    """Wait until ``sql`` (one count) is non-zero, or the process ended."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        rows = _query(db, sql)
        if rows and rows[0][0]:
            return True
        time.sleep(0.005)
    return False


def _interrupt(proc: subprocess.Popen[str], times: int = 1) -> tuple[str, str, float]:
    started = time.monotonic()
    try:
        for _ in range(times):
            proc.send_signal(signal.SIGINT)
            time.sleep(0.05)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return out, err, time.monotonic() - started


def _agrees(proc: subprocess.Popen[str], out: str, err: str, db: Path,
            before: int = 0) -> None:
    """The summary and the exit code say what the database says (``before``: articles
    stored by earlier sessions; the session's run is the last one)."""
    assert "Traceback" not in err, err[-3000:]
    printed = re.search(r"backfill \S+: (\w+)", out)
    session = re.search(r"this session: ([\d,]+) articles stored", out)
    assert printed and session, (out, err[-2000:])
    stored = _query(db, "select count(*) from articles")[0][0] - before
    runs = _query(db, "select status, new + duplicate + irrelevant + updated from crawl_runs "
                  "order by id")[-1:]
    state = _query(db, "select state from backfills")
    assert int(session.group(1).replace(",", "")) == stored, (out, stored)
    assert state == [(printed.group(1),)], (out, state)
    assert len(runs) == 1 and runs[0][1] == stored, (runs, stored)
    if printed.group(1) == "interrupted":
        assert proc.returncode == 130 and runs[0][0] == "interrupted", (proc.returncode, runs)
        assert "resume with: newswatch backfill" in out
    else:
        assert proc.returncode == 0 and runs[0][0] == "finished", (proc.returncode, runs, err)
        assert "interrupted" not in out + err


def test_ctrl_c_just_after_the_session_ended_is_no_interruption(farm: Farm,
                                                                tmp_path: Path) -> None:
    """SIGINT as soon as the backfill cursor says the session ended (the crawl process
    is tearing down), and a little later (the CLI printing its summary, exiting): before,
    the CLI said `interrupted` and exited 130 every time, or printed `stopped` and died
    of the SIGINT while exiting."""
    for attempt, later in enumerate([0, 0, 0.05, 0.1, 0.15]):
        db = tmp_path / f"ended-{attempt}.db"
        proc = _start(farm.config_variables(), DEMO_CONFIG, db, "--limit", "20")
        assert _when(proc, db, "select count(*) from backfills where state != 'running'"), \
            proc.communicate()
        time.sleep(later)
        out, err, _ = _interrupt(proc)
        assert re.search(r"backfill \S+: stopped", out), (out, err[-2000:])
        _agrees(proc, out, err, db)


@pytest.mark.parametrize("moment", [
    "select count(*) from crawl_runs",  # the run row exists: nothing stored yet
    "select count(*) from articles",  # the first batch
    "select count(*) >= 10 from articles",
])
def test_early_ctrl_c_counts_agree_with_the_database(farm: Farm, tmp_path: Path,
                                                     moment: str) -> None:
    for attempt in range(2):
        db = tmp_path / f"early-{attempt}.db"
        proc = _start(farm.config_variables(), DEMO_CONFIG, db, "--limit", "60")
        _when(proc, db, moment)
        out, err, took = _interrupt(proc)
        # ended in order (not killed when its grace ran out); the grace adapts to the
        # load (monitor.processes.StopGrace), so the time is bounded by its bound only
        assert took < MAX_GRACE_SECONDS and KILLED not in err, (took, err[-2000:])
        _agrees(proc, out, err, db)


def test_stop_behind_a_download_delay_ends_in_order(farm: Farm, tmp_path: Path) -> None:
    """One request at a time, 0.8 s apart: the backfill's window (16) waits in the site's
    download slot, 12 s of queue. An orderly stop waited for all of it, past the 6 s
    grace: the process group was killed, and the run and the summary said 0 stored while
    articles were in the database. Requests not sent yet are dropped now, and stay
    pending in the cursor (not failed)."""
    db = tmp_path / "delay.db"
    # a first session reads the small child sitemaps: the next one has hundreds listed
    first = _start(farm.config_variables(), DEMO_CONFIG, db, "--limit", "30")
    first.communicate(timeout=90)
    assert first.returncode == 0
    before = _query(db, "select count(*) from articles")[0][0]
    assert _query(db, "select count(*) >= 100 from backfill_urls where state = 'pending'") \
        == [(1,)]
    config = _config(tmp_path, download_delay=0.8, concurrency=1, target_concurrency=1)
    proc = _start(farm.config_variables(), config, db)
    assert _when(proc, db, f"select count(*) >= {before + 2} from articles", timeout=90), \
        proc.communicate()
    out, err, took = _interrupt(proc)
    # the 12 s of queue were not waited for, and the stop was not a kill
    assert took < 12 and KILLED not in err, (took, err[-2000:])
    _agrees(proc, out, err, db, before)
    assert "interrupted" in out
    assert _query(db, "select count(*) from backfill_urls where state = 'failed'") == [(0,)]


def test_second_ctrl_c_kills_and_counts_still_agree(farm: Farm, tmp_path: Path) -> None:
    """Ctrl-C twice: the crawl process group is killed at once, before its pipeline closed
    the run; the run gets its counts from the database (before: 0 stored, 0 requests)."""
    db = tmp_path / "twice.db"
    config = _config(tmp_path, download_delay=0.3, concurrency=1, target_concurrency=1)
    proc = _start(farm.config_variables(), config, db)
    assert _when(proc, db, "select count(*) >= 3 from articles", timeout=90), \
        proc.communicate()
    out, err, took = _interrupt(proc, times=2)
    assert took < 5, (took, err[-2000:])
    _agrees(proc, out, err, db)
    assert _query(db, "select requests > 0 from crawl_runs") == [(1,)]


def _refused_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_site_is_one_warning_and_exit_1(tmp_path: Path) -> None:
    port = _refused_port()
    env = {f"FARM_{SITE.upper()}": f"http://127.0.0.1:{port}",
           f"FARM_{SITE.upper()}_HOST": "127.0.0.1"}
    db = tmp_path / "refused.db"
    proc = _start(env, _config(tmp_path), db)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 1, (out, err)
    assert "Traceback" not in err, err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert warnings == [line for line in warnings if f"127.0.0.1:{port} ({SITE}) unreachable"
                        in line] and len(warnings) == 1, err
    assert "ERROR" not in err and len(err.splitlines()) <= 4, err
    # failed, and why; no resume line: nothing was read to resume from (it said `stopped`
    # and offered a resume command, as after --limit)
    assert re.search(r"backfill \S+: failed \(its sitemap index could not be read: the "
                     r"site was unreachable\)", out), out
    assert "resume with" not in out
    assert _query(db, "select state from backfills") == [("failed",)]


def test_host_that_does_not_resolve_is_unreachable(tmp_path: Path,
                                                    capfd: pytest.CaptureFixture[str]) -> None:
    """A DNS failure (``NEWSWATCH_DNS_HOSTS`` answers the name with no address, and no
    query leaves the machine: crawler.ssrf.PinnedResolver): Scrapy 2.19 reports it as
    CannotResolveHostError, which was not taken for a connection failure: an 82-line
    robots.txt traceback and exit 0."""
    from monitor.run import backfill

    variables = {f"FARM_{SITE.upper()}": "http://archive.nowhere.invalid:8800",
                 f"FARM_{SITE.upper()}_HOST": "archive.nowhere.invalid"}
    result = backfill(SITE, _config(tmp_path), tmp_path / "dns.db", variables=variables,
                      scrapy_settings={"NEWSWATCH_DNS_HOSTS": {"archive.nowhere.invalid": []}})
    err = capfd.readouterr().err
    assert "Traceback" not in err and "ERROR" not in err, err[-3000:]
    assert list(result.crawl.unreachable) == ["archive.nowhere.invalid:8800"]
    assert "CannotResolveHostError" in result.crawl.unreachable[
        "archive.nowhere.invalid:8800"]["reason"]
    assert not result.crawl.ok and result.state != "done"


def test_stop_while_a_retry_after_is_waited_ends_in_order(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A 503 with ``Retry-After: 30``: its retry's wait keeps the request in progress,
    and an orderly stop waited for it, past the grace period (the group killed). The wait
    now ends when the crawl is asked to stop; the retry is not sent."""
    import threading

    from monitor.processes import Interrupt
    from monitor.run import crawl
    from monitor.sources import Settings

    from .politeness_server import Site

    stop = Interrupt()
    asked: list[float] = []
    with Site(["127.0.0.46"], pages=6, latency=lambda k: 0.02,
              status=lambda k: 503 if k == 0 else 200,
              headers=lambda k: {"Retry-After": "30"} if k == 0 else {}) as site:

        def stop_after_the_503() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not any(
                    h.status == 503 for h in site.article_hits()):
                time.sleep(0.02)
            time.sleep(0.5)  # the retry is waiting
            asked.append(time.monotonic())
            stop.request()

        config = Settings.model_validate({"sources": [
            site.source("retry", concurrency=1, download_delay=0)]})
        watcher = threading.Thread(target=stop_after_the_503, daemon=True)
        watcher.start()
        result = crawl(config, tmp_path / "r.db", alerts=None, stop=stop,
                       scrapy_settings={"NEWSWATCH_EXTRACT_WORKERS": -1}, timeout=120)
        took = time.monotonic() - asked[0]
        watcher.join(5)
    assert result.interrupted and [r["status"] for r in result.runs] == ["interrupted"]
    assert sum(1 for h in site.article_hits() if h.status == 503) == 1  # no retry sent
    assert took < 30, took  # not the 30 s wait
    assert KILLED not in caplog.text  # nor the grace's kill
    stored = _query(tmp_path / "r.db", "select count(*) from articles")[0][0]
    assert result.runs[0]["new"] + result.runs[0]["irrelevant"] + \
        result.runs[0]["duplicate"] == stored
