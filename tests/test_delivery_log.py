"""Delivery failures reach the log: one line per channel and reason per delivery pass (with
the count and the attempt), an ERROR when alerts fail for good, one INFO line when a
channel works again. Real outbox (a crawl of the farm), real SMTP and webhook receiver,
a real daemon process."""

from __future__ import annotations

import logging
import os
import re
import signal
import sqlite3
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.farm import Farm
from monitor.run import crawl
from monitor.sources import DEMO_CONFIG

from .channels import Mailbox, Receiver
from .conftest import REPO
from .test_alerts import SOURCES, _alerts_file, _copy, _deliver, _env, _new_stories
from .test_daemon import CLI, _config, _wait

LOGGER = "newswatch.alerts"


@pytest.fixture(scope="module")
def outbox(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A database whose outbox a real crawl filled (copied by each test), and the number
    of new stories (alerts per channel)."""
    base = tmp_path_factory.mktemp("outbox")
    db = base / "template.db"
    with Farm() as farm:
        crawl(DEMO_CONFIG, db, variables=farm.variables, sources=SOURCES,
              alerts=_alerts_file(base / "alerts.yaml"))
    return db, _new_stories(db)


def _lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == LOGGER]
    caplog.clear()
    return lines


def test_missing_variable_is_one_line_per_pass_then_one_error(
        outbox: tuple[Path, int], smtp: Mailbox, receiver: Receiver, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    db, stories = _copy(outbox[0], tmp_path / "env.db"), outbox[1]
    assert stories >= 2  # else "one line, not one per alert" shows nothing
    config = _alerts_file(tmp_path / "alerts.yaml")
    env = _env(smtp, receiver)
    del env["NW_SMTP_PASSWORD"]
    caplog.set_level(logging.INFO, logger=LOGGER)
    t0 = datetime.now(UTC)
    reason = "environment variable NW_SMTP_PASSWORD is not set"
    for attempt, wait in ((1, r"3\ds"), (2, r"6\ds")):  # 30 s, 60 s, up to +10 %
        report = _deliver(db, config, env, now=t0 + timedelta(hours=2 * attempt),
                          max_attempts=3)
        assert report.retrying == stories
        lines = _lines(caplog)
        if attempt == 1:  # the webhook channel took its alerts: one line says so
            assert lines.pop(0) == ("INFO", f"sent {stories} alerts (hook {stories})")
        [(level, line)] = lines  # one line for all of the mail channel's alerts
        assert level == "WARNING"
        assert re.fullmatch(re.escape(f"delivery to mail failed for {stories} alerts: "
                                      f"{reason}; retrying (attempt {attempt} of 3, next in ")
                            + wait + r"\)", line), line
    assert len(receiver.bodies) == stories  # the webhook channel is unaffected
    report = _deliver(db, config, env, now=t0 + timedelta(hours=6), max_attempts=3)
    assert report.failed == stories
    [(level, line)] = _lines(caplog)
    assert level == "ERROR"
    assert line.startswith(f"delivery to mail failed for good for {stories} alerts after "
                           f"attempt 3 of 3: {reason}; kept as failed"), line
    assert _deliver(db, config, env, now=t0 + timedelta(hours=8)).sent == 0
    assert _lines(caplog) == []  # failed for good: no more lines until a retry


def test_webhook_fails_then_works_again(outbox: tuple[Path, int], smtp: Mailbox,
                                        receiver: Receiver, tmp_path: Path,
                                        caplog: pytest.LogCaptureFixture) -> None:
    db, stories = _copy(outbox[0], tmp_path / "hook.db"), outbox[1]
    config, env = _alerts_file(tmp_path / "alerts.yaml"), _env(smtp, receiver)
    caplog.set_level(logging.INFO, logger=LOGGER)
    receiver.fail = True
    t0 = datetime.now(UTC)
    _deliver(db, config, env, now=t0)
    sent, (level, line) = _lines(caplog)
    assert sent == ("INFO", f"sent {stories} alerts (mail {stories})")
    assert level == "WARNING" and line.startswith(
        f"delivery to hook failed for {stories} alerts: webhook hook: HTTP 500"), line
    assert "attempt 1 of 8" in line

    # the failed alerts come due in different passes (their backoff is jittered): the
    # first pass that sends one says the channel works again, the later ones say nothing
    conn = sqlite3.connect(db)
    with conn:
        late = conn.execute("select id from alerts where channel = 'hook' order by id "
                            "limit 1").fetchone()[0]
        conn.execute("update alerts set next_attempt = ? where id = ?",
                     [(t0 + timedelta(hours=3)).isoformat(timespec="seconds"), late])
    conn.close()
    receiver.fail = False
    report = _deliver(db, config, env, now=t0 + timedelta(hours=2))
    assert report.sent == stories - 1
    assert _lines(caplog) == [
        ("INFO", f"sent {stories - 1} alerts (hook {stories - 1})"),
        ("INFO", f"delivery to hook works again: {stories - 1} alerts sent after earlier "
                 "failures")]
    assert _deliver(db, config, env, now=t0 + timedelta(hours=4)).sent == 1
    assert _lines(caplog) == [("INFO", "sent 1 alerts (hook 1)")]  # one recovery, one line
    assert _deliver(db, config, env, now=t0 + timedelta(hours=6)).sent == 0
    assert _lines(caplog) == []  # nothing due: nothing to say



def test_cli_deliver_prints_the_same_lines(outbox: tuple[Path, int], smtp: Mailbox,
                                           receiver: Receiver, tmp_path: Path) -> None:
    db, stories = _copy(outbox[0], tmp_path / "cli.db"), outbox[1]
    config = _alerts_file(tmp_path / "alerts.yaml")
    env = {**os.environ, **_env(smtp, receiver)}
    del env["NW_SMTP_PASSWORD"]
    done = subprocess.run([*CLI, "alerts", "--db", str(db), "--alerts-config", str(config),
                           "deliver"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"sent {stories}, retrying {stories}," in done.stdout
    sent, line = [x for x in done.stderr.splitlines() if x.strip()]  # not one per alert
    assert sent == f"INFO newswatch.alerts: sent {stories} alerts (hook {stories})"
    assert re.fullmatch(re.escape(
        f"WARNING newswatch.alerts: delivery to mail failed for {stories} alerts: "
        "environment variable NW_SMTP_PASSWORD is not set; retrying (attempt 1 of 8, "
        "next in ") + r"3\ds\)", line), done.stderr


def test_daemon_logs_a_missing_variable_once_per_pass(outbox: tuple[Path, int],
                                                     smtp: Mailbox, receiver: Receiver,
                                                     tmp_path: Path) -> None:
    """`newswatch run` with a channel whose variable is not set, and the outbox already
    full: its first delivery pass logs one WARNING line for all that channel's alerts (and
    one INFO line for the webhook's, sent); the passes that follow (every second, nothing
    due until the backoff ends) log nothing."""
    db, stories = _copy(outbox[0], tmp_path / "daemon.db"), outbox[1]
    config = _alerts_file(tmp_path / "alerts.yaml")
    log_file = tmp_path / "daemon.log"
    with Farm() as farm, log_file.open("w") as log:
        env = {**os.environ, **farm.variables, **_env(smtp, receiver)}
        del env["NW_SMTP_PASSWORD"]
        daemon = subprocess.Popen(
            [*CLI, "run", "--config", str(_config(tmp_path, ["laodong_en"])), "--db",
             str(db), "--alerts-config", str(config), "--deliver-every", "1",
             "--log-level", "INFO"],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log, text=True)
        try:
            _wait(lambda: len(receiver.bodies) == stories, 60, "the webhook alerts")
            time.sleep(4)  # more passes: the mail alerts wait for their retry
        finally:
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(timeout=90)
    logged = log_file.read_text()
    assert code == 0, logged[-3000:]
    mine = [x for x in logged.splitlines() if " newswatch.alerts: " in x]
    assert len(mine) == 2, logged[-3000:]
    assert mine[0].endswith(f" INFO newswatch.alerts: sent {stories} alerts (hook {stories})")
    assert re.search(r" WARNING newswatch\.alerts: delivery to mail failed for "
                     f"{stories} alerts: environment variable NW_SMTP_PASSWORD is not set; "
                     r"retrying \(attempt 1 of 8, next in 3\ds\)$", mine[1]), mine[1]
    assert "Traceback" not in logged


def test_smtp_down_is_one_line_not_apprise_lines_per_alert(
        outbox: tuple[Path, int], smtp: Mailbox, receiver: Receiver, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """apprise logs "Notifying 1 service(s)" and its failure for every message: at INFO
    (the daemon's level) they stay out of the log, the pass's summary line says it."""
    db, stories = _copy(outbox[0], tmp_path / "smtp.db"), outbox[1]
    config, env = _alerts_file(tmp_path / "alerts.yaml"), _env(smtp, receiver)
    smtp.stop()
    caplog.set_level(logging.INFO)  # every logger, as `newswatch run` logs
    report = _deliver(db, config, env)
    assert (report.sent, report.retrying) == (stories, stories)
    lines = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0] == (LOGGER, "INFO", f"sent {stories} alerts (hook {stories})")
    name, level, line = lines[1]
    assert (name, level) == (LOGGER, "WARNING")
    assert line.startswith(f"delivery to mail failed for {stories} alerts: channel mail: "
                           "Connection error"), line
