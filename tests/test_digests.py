"""Scheduled digests over a farm day: one message per channel and period, stories grouped
with their EN and VI editions side by side, nothing formed twice, and a deliverer killed
(-9) mid-send leaving one digest per channel (same key on the resend)."""

from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.alerts import deliver_pending, load_alert_config
from monitor.alerts.schedule import DigestSchedule
from monitor.farm import Farm
from monitor.run import crawl
from monitor.sources import DEMO_CONFIG, ConfigError
from monitor.store import Store

from .channels import SECRET, SMTP_PASSWORD, Mailbox, Receiver

REPO = Path(__file__).resolve().parents[1]
SOURCES = ["laodong_en", "laodong_vi"]
EDITS = 3


def _config(path: Path) -> Path:
    path.write_text("""
messages:
  public_url: "http://127.0.0.1:8001"
channels:
  mail:
    url: "mailto://newswatch:${NW_SMTP_PASSWORD}@127.0.0.1:${NW_SMTP_PORT}?mode=insecure&from=alerts@newswatch.test&to=analyst@newswatch.test"
    digest: {every_hours: 24, at: "07:00", quiet: "22:00-06:00"}
  hook:
    webhook: "${NW_HOOK_URL}"
    secret: "${NW_HOOK_SECRET}"
    digest: {every_hours: 24, at: "07:00"}
rules:
  - name: vn-us
    kinds: [new, updated]
    channels: [mail, hook]
""", encoding="utf-8")
    return path


def test_schedule_boundaries_and_quiet_hours(tmp_path: Path) -> None:
    daily = DigestSchedule(every_hours=24, at="07:00", quiet="22:00-06:00")
    at = datetime(2026, 11, 30, 1, 30, tzinfo=UTC)  # 08:30 in Hanoi
    assert daily.boundary(at) == datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    assert daily.boundary(at - timedelta(hours=2)) == datetime(2026, 11, 29, 0, 0, tzinfo=UTC)
    six = DigestSchedule(every_hours=6, at="07:00")
    assert six.boundary(datetime(2026, 11, 30, 5, 59, tzinfo=UTC)) == \
        datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    assert six.boundary(datetime(2026, 11, 30, 6, 0, tzinfo=UTC)) == \
        datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    assert six.boundary(datetime(2026, 11, 29, 23, 0, tzinfo=UTC)) == \
        datetime(2026, 11, 29, 18, 0, tzinfo=UTC)  # 06:00 local: the 01:00 period
    hanoi = timedelta(hours=7)
    assert daily.quiet_now(datetime(2026, 11, 30, 23, 0, tzinfo=UTC) - hanoi)
    assert daily.quiet_now(datetime(2026, 11, 30, 5, 59, tzinfo=UTC) - hanoi)
    assert not daily.quiet_now(datetime(2026, 11, 30, 6, 0, tzinfo=UTC) - hanoi)
    path = tmp_path / "alerts.yaml"
    for block in ("{at: '25:00'}", "{every_hours: 0}", "{colour: red}", "daily"):
        path.write_text("channels:\n  c:\n    webhook: \"${U}\"\n    digest: " + block + "\n",
                        encoding="utf-8")
        with pytest.raises(ConfigError, match="channel 'c'"):
            load_alert_config(path)


def _deliver(db: Path, config: Path, env: dict[str, str], now: datetime):
    store = Store(db)
    try:
        return deliver_pending(store, load_alert_config(config), env=env, now=now)
    finally:
        store.close()


def test_farm_day_digest_once_per_channel_after_kill(
        fresh_farm: Farm, smtp: Mailbox, receiver: Receiver, tmp_path: Path) -> None:
    db, config = tmp_path / "news.db", _config(tmp_path / "alerts.yaml")
    env = {"NW_SMTP_PORT": str(smtp.port), "NW_SMTP_PASSWORD": SMTP_PASSWORD,
           "NW_HOOK_URL": receiver.url, "NW_HOOK_SECRET": SECRET}
    crawl(DEMO_CONFIG, db, variables=fresh_farm.variables, sources=SOURCES, alerts=config)
    edited = [a for a in fresh_farm.all_articles()
              if a.site == "laodong_en" and a.topic == "vn-us"][:EDITS]
    for article in edited:
        fresh_farm.edit("laodong_en", article.slug,
                        replace={0: f"Updated: officials of Vietnam and the US met again "
                                    f"on {article.slug[:20]}, adding 5 new projects."})
    crawl(DEMO_CONFIG, db, variables=fresh_farm.variables, sources=["laodong_en"],
          alerts=config, scrapy_settings={"NEWSWATCH_RECHECK_DAYS": 36500})
    conn = sqlite3.connect(db)
    kinds = dict(conn.execute("select kind, count(*) from alerts where channel = 'mail' "
                              "group by kind").fetchall())
    conn.close()
    assert kinds.get("new", 0) >= 10 and kinds.get("updated") == EDITS, kinds

    now = datetime.now(UTC)
    report = _deliver(db, config, env, now)  # the period is still open: held
    assert report.sent == 0 and report.held == 2 * sum(kinds.values())
    assert not smtp.messages and not receiver.bodies

    # the next period boundary has passed (and it is not quiet): one digest per channel;
    # the deliverer is killed while the webhook receiver holds the request
    later = DigestSchedule().boundary(now) + timedelta(days=1, hours=2)
    receiver.delay = 3.0
    script = ("import sys; from datetime import datetime; from monitor.store.db import Store; "
              "from monitor.alerts.rules import load_alert_config as l; "
              "from monitor.alerts.delivery import deliver_pending as d; "
              "d(Store(sys.argv[1]), l(sys.argv[2]), now=datetime.fromisoformat(sys.argv[3]))")
    child = subprocess.Popen([sys.executable, "-c", script, str(db), str(config),
                              later.isoformat()], cwd=REPO, env={**os.environ, **env})
    assert receiver.started.wait(60), "the deliverer never reached the webhook"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    receiver.delay = 0.0
    assert len(smtp.messages) == 1  # the mail digest went first and was marked sent

    report = _deliver(db, config, env, later + timedelta(minutes=6))  # claim expired
    assert report.recovered == 1 and report.sent == sum(kinds.values())
    assert _deliver(db, config, env, later + timedelta(hours=1)).sent == 0
    assert len(smtp.messages) == 1
    assert len(set(receiver.keys)) == 1 and receiver.keys[0].startswith("digest:hook:")
    conn = sqlite3.connect(db)
    assert conn.execute("select channel, status from digests order by channel").fetchall() \
        == [("hook", "sent"), ("mail", "sent")]
    assert {s for (s,) in conn.execute("select status from alerts")} == {"sent"}
    conn.close()

    mail = email.message_from_string(smtp.messages[0].as_string(),
                                     policy=email.policy.default)
    assert mail["X-Newswatch-Key"].startswith("digest:mail:")
    assert mail["Subject"] == (f"newswatch digest: {kinds['new']} new, {EDITS} edited "
                               f"({kinds['new']} stories)")
    parts = {p.get_content_type(): p.get_content() for p in mail.walk()
             if p.get_content_type().startswith("text/")}
    assert set(parts) == {"text/plain", "text/html"}
    html, text = parts["text/html"], parts["text/plain"]
    assert "{'" not in html and "{'" not in text
    # one group per story ("== title ==" lines; the body no longer opens on the subject)
    assert sum(line.startswith("== ") for line in text.splitlines()) == kinds["new"]
    # a story with both editions: EN and VI side by side in one group
    assert "Vietnamese edition" in html and html.count('class="edition"') > kinds["new"]
    body = receiver.bodies[-1]
    assert body["schema"] == "newswatch.digest/1" and len(body["alerts"]) == \
        sum(kinds.values()) and body["summary"].startswith("newswatch digest: ")
    print(json.dumps({"new": kinds["new"], "updated": EDITS}))
