"""Alert delivery through real channels: an aiosmtpd SMTP server and a local HTTP webhook
receiver, fed by real crawls of the farm."""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from monitor.alerts import (
    DeliveryError,
    deliver_pending,
    list_alerts,
    load_alert_config,
    retry_failed,
    send_test,
)
from monitor.alerts.delivery import DeliveryReport, send
from monitor.alerts.rules import Channel
from monitor.alerts.send import redact, resolve, sign, verify_signature
from monitor.cli import main
from monitor.farm import Farm
from monitor.run import crawl
from monitor.sources import DEMO_CONFIG
from monitor.store import Store

from .channels import SECRET, SMTP_PASSWORD, Mailbox, Receiver, _free_port

SOURCES = ["laodong_en"]
VN = timezone(timedelta(hours=7))
STORY = {
    "slug": "vietnam-us-sign-rare-earths-memorandum", "lang": "en", "topic": "vn-us",
    "title": "Vietnam, US sign memorandum on rare earths and critical minerals",
    "author": "Thanh Ha",
    "lead": "Vietnam and the United States signed a memorandum of understanding on "
            "cooperation in rare earths and critical minerals in Hanoi on December 21.",
    "paragraphs": [
        "The memorandum was signed by Minister of Natural Resources and Environment Do Duc "
        "Duy and US Ambassador Marc Knapper in the presence of officials of both sides.",
        "Under the document, the US will support Vietnam in surveying reserves, training "
        "geologists and building processing capacity that meets environmental standards.",
        "Ambassador Knapper said the agreement reflects the Comprehensive Strategic "
        "Partnership and the two countries' shared interest in secure supply chains.",
    ],
}


# -- config, crawl and delivery helpers ----------------------------------------------------
def _alerts_file(path: Path, digest_minutes: int = 0, public_url: str | None = None) -> Path:
    """An alerts file: a mail and a webhook channel (from NW_* variables), one rule for
    new and updated stories; ``public_url`` adds a ``messages:`` section (links to serve)."""
    messages = (f'messages:\n  public_url: "{public_url}"\n  timezone: Asia/Ho_Chi_Minh\n'
                if public_url else "")
    path.write_text(messages + f"""
channels:
  mail:
    url: "mailto://newswatch:${{NW_SMTP_PASSWORD}}@127.0.0.1:${{NW_SMTP_PORT}}?mode=insecure&from=alerts@newswatch.test&to=analyst@newswatch.test"
    digest_minutes: {digest_minutes}
  hook:
    webhook: "${{NW_HOOK_URL}}"
    secret: "${{NW_HOOK_SECRET}}"
rules:
  - name: vn-us
    kinds: [new, updated]
    channels: [mail, hook]
""", encoding="utf-8")
    return path


def _env(smtp: Mailbox, receiver: Receiver) -> dict[str, str]:
    return {"NW_SMTP_PORT": str(smtp.port), "NW_SMTP_PASSWORD": SMTP_PASSWORD,
            "NW_HOOK_URL": receiver.url, "NW_HOOK_SECRET": SECRET}


def _deliver(db: Path, config_path: Path, env: dict[str, str], **kwargs: Any) -> DeliveryReport:
    store = Store(db)
    try:
        return deliver_pending(store, load_alert_config(config_path), env=env, **kwargs)
    finally:
        store.close()


def _alerts(db: Path, status: str | None = None) -> list[dict[str, Any]]:
    store = Store(db)
    try:
        return list_alerts(store, status)
    finally:
        store.close()


def _new_stories(db: Path) -> int:
    """Relevant articles that opened a story: each should alert once per channel."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute("select count(*) from articles where relevant = 1 "
                            "and link is null").fetchone()[0]
    finally:
        conn.close()


@pytest.fixture(scope="module")
def outbox(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A database with its outbox filled by a real crawl (copied by each test)."""
    base = tmp_path_factory.mktemp("outbox")
    config = _alerts_file(base / "alerts.yaml")
    db = base / "template.db"
    with Farm() as farm:
        crawl(DEMO_CONFIG, db, variables=farm.variables, sources=SOURCES, alerts=config)
    return db, _new_stories(db)


def _copy(template: Path, target: Path) -> Path:
    source, copy = sqlite3.connect(template), sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()
    return target


# -- tests ---------------------------------------------------------------------------------
def test_new_and_updated_alerts_arrive_once(fresh_farm: Farm, smtp: Mailbox,
                                            receiver: Receiver, tmp_path: Path) -> None:
    db, config = tmp_path / "a.db", _alerts_file(tmp_path / "alerts.yaml")
    env = _env(smtp, receiver)
    crawl(DEMO_CONFIG, db, variables=fresh_farm.variables, sources=SOURCES, alerts=config)
    stories = _new_stories(db)
    assert stories >= 3

    report = _deliver(db, config, env)
    assert (report.sent, report.retrying, report.failed) == (2 * stories, 0, 0), report.errors
    assert len(smtp.messages) == stories and len(receiver.bodies) == stories
    assert receiver.bad_signatures == 0
    assert len(set(receiver.keys)) == stories and len(set(smtp.keys())) == stories
    for body, key in zip(receiver.bodies, receiver.keys, strict=True):
        assert body["schema"] == "newswatch.alert/1" and body["id"] == key
        assert body["kind"] == "new" and body["rule"] == "vn-us" and body["diff"] is None
        assert body["article"]["url"].startswith("http") and body["article"]["reasons"]
        assert body["story"]["id"] and body["article"]["relevance"] > 0
    assert {m["To"] for m in smtp.messages} == {"analyst@newswatch.test"}
    assert set(smtp.logins) == {"newswatch"}
    titles = {body["article"]["title"] for body in receiver.bodies}
    assert {m["Subject"].removeprefix("New: ") for m in smtp.messages} == titles

    again = _deliver(db, config, env)
    assert again.sent == 0 and len(smtp.messages) == stories and len(receiver.bodies) == stories

    # published an hour ago: inside the crawler's re-check window, so the edit is seen
    published = (datetime.now(UTC) - timedelta(hours=1)).astimezone(VN).isoformat()
    url = fresh_farm.publish({"site": "laodong_en", **STORY, "published": published})
    crawl(DEMO_CONFIG, db, variables=fresh_farm.variables, sources=SOURCES, alerts=config)
    assert _deliver(db, config, env).sent == 2
    assert len(smtp.messages) == stories + 1 and len(receiver.bodies) == stories + 1
    assert receiver.bodies[-1]["article"]["url"] == url
    assert smtp.messages[-1]["Subject"] == f"New: {STORY['title']}"

    edited = ("Under the document, the US will support Vietnam in surveying reserves and "
              "training 200 geologists by 2027.")
    fresh_farm.edit("laodong_en", STORY["slug"], replace={1: edited})
    crawl(DEMO_CONFIG, db, variables=fresh_farm.variables, sources=SOURCES, alerts=config)
    assert _deliver(db, config, env).sent == 2
    assert len(smtp.messages) == stories + 2 and len(receiver.bodies) == stories + 2
    update = receiver.bodies[-1]
    assert update["kind"] == "updated" and update["article"]["url"] == url
    assert update["article"]["version"] == 2
    assert f"+{edited}" in update["diff"].splitlines()
    assert f"-{STORY['paragraphs'][1]}" in update["diff"].splitlines()
    assert smtp.messages[-1]["Subject"].startswith("Edited (")
    # issue 13: the kinds and the changed sentences, in order, lead the alert
    assert "numbers" in update["edits"] and "cosmetic" not in update["edits"]
    assert update["changes"] == [{"op": "-", "text": STORY["paragraphs"][1]},
                                 {"op": "+", "text": edited}]
    part = next(p for p in smtp.messages[-1].walk() if p.get_content_type() == "text/plain")
    mail = " ".join(part.get_payload(decode=True).decode("utf-8").split())
    assert mail.index("What changed") < mail.index(f"- {STORY['paragraphs'][1]}") < \
        mail.index(f"+ {edited}") < mail.index(url), mail
    assert len(set(receiver.keys)) == len(receiver.keys)
    assert len(set(smtp.keys())) == len(smtp.messages)
    assert _deliver(db, config, env).sent == 0
    assert {row["status"] for row in _alerts(db)} == {"sent"}


def test_channels_down_then_back(outbox: tuple[Path, int], smtp: Mailbox,
                                 receiver: Receiver, tmp_path: Path) -> None:
    db, stories = _copy(outbox[0], tmp_path / "down.db"), outbox[1]
    config, env = _alerts_file(tmp_path / "alerts.yaml"), _env(smtp, receiver)
    smtp.stop()
    receiver.fail = True
    t0 = datetime.now(UTC)
    report = _deliver(db, config, env, now=t0)
    assert (report.sent, report.retrying, report.failed) == (0, 2 * stories, 0)
    rows = _alerts(db)
    assert all(r["status"] == "pending" and r["attempts"] == 1 and r["last_error"]
               for r in rows)
    assert all(datetime.fromisoformat(r["next_attempt"]) > t0 for r in rows)
    assert any("HTTP 500" in r["last_error"] for r in rows if r["channel"] == "hook")
    assert _deliver(db, config, env, now=t0).sent == 0  # backing off: nothing due yet
    assert _alerts(db, "pending")[0]["attempts"] == 1

    smtp.start()
    receiver.fail = False
    report = _deliver(db, config, env, now=t0 + timedelta(hours=2))
    assert (report.sent, report.retrying) == (2 * stories, 0), report.errors
    assert len(smtp.messages) == stories and len(set(smtp.keys())) == stories
    assert len(receiver.bodies) == stories and len(set(receiver.keys)) == stories
    assert _deliver(db, config, env, now=t0 + timedelta(hours=4)).sent == 0
    assert len(smtp.messages) == stories and len(receiver.bodies) == stories


def test_failed_after_max_attempts_then_retry(outbox: tuple[Path, int], smtp: Mailbox,
                                              receiver: Receiver, tmp_path: Path) -> None:
    db, stories = _copy(outbox[0], tmp_path / "failed.db"), outbox[1]
    config, env = _alerts_file(tmp_path / "alerts.yaml"), _env(smtp, receiver)
    receiver.fail = True
    t0 = datetime.now(UTC)
    first = _deliver(db, config, env, now=t0, max_attempts=2)
    assert (first.sent, first.retrying) == (stories, stories)  # email fine, webhook 500
    second = _deliver(db, config, env, now=t0 + timedelta(hours=2), max_attempts=2)
    assert (second.sent, second.failed) == (0, stories)
    failed = _alerts(db, "failed")
    assert len(failed) == stories and {r["channel"] for r in failed} == {"hook"}
    assert all(r["attempts"] == 2 for r in failed)
    receiver.fail = False
    assert _deliver(db, config, env, now=t0 + timedelta(hours=4)).sent == 0  # never dropped,
    assert len(_alerts(db, "failed")) == stories  # but not retried on its own either

    store = Store(db)
    try:
        assert retry_failed(store, [failed[0]["id"]]) == 1
        assert retry_failed(store) == stories - 1
    finally:
        store.close()
    report = _deliver(db, config, env)
    assert report.sent == stories
    assert len(receiver.bodies) == stories and len(set(receiver.keys)) == stories
    assert len(smtp.messages) == stories  # the emails were not sent again


def test_missing_secret_fails_that_alert_only(outbox: tuple[Path, int], smtp: Mailbox,
                                              receiver: Receiver, tmp_path: Path) -> None:
    db, stories = _copy(outbox[0], tmp_path / "env.db"), outbox[1]
    config = _alerts_file(tmp_path / "alerts.yaml")
    env = _env(smtp, receiver)
    del env["NW_HOOK_SECRET"]
    report = _deliver(db, config, env)
    assert (report.sent, report.retrying) == (stories, stories)
    assert len(smtp.messages) == stories and not receiver.bodies
    hooks = [r for r in _alerts(db) if r["channel"] == "hook"]
    assert {r["last_error"] for r in hooks} == {"environment variable NW_HOOK_SECRET is not set"}
    assert all(r["status"] == "pending" for r in hooks)


def test_secrets_never_reach_the_database(outbox: tuple[Path, int], smtp: Mailbox,
                                          receiver: Receiver, tmp_path: Path) -> None:
    db = _copy(outbox[0], tmp_path / "secrets.db")
    config, env = _alerts_file(tmp_path / "alerts.yaml"), _env(smtp, receiver)
    smtp.stop()
    env["NW_HOOK_URL"] = f"http://127.0.0.1:{_free_port()}/hooks/{SECRET}"  # refused
    report = _deliver(db, config, env)
    assert report.sent == 0 and report.retrying > 0
    errors = {r["last_error"] for r in _alerts(db)}
    assert any("unreachable" in e for e in errors), errors
    assert all(e.startswith(("channel mail:", "webhook hook:")) for e in errors), errors
    conn = sqlite3.connect(db)
    try:
        dump = "\n".join(conn.iterdump())
    finally:
        conn.close()
    assert SECRET not in dump and SMTP_PASSWORD not in dump


def test_digest_holds_then_sends_one_message(outbox: tuple[Path, int], smtp: Mailbox,
                                             receiver: Receiver, tmp_path: Path) -> None:
    db, stories = _copy(outbox[0], tmp_path / "digest.db"), outbox[1]
    config = _alerts_file(tmp_path / "alerts.yaml", digest_minutes=30)
    env = _env(smtp, receiver)
    now = datetime.now(UTC)
    report = _deliver(db, config, env, now=now)
    assert (report.sent, report.held) == (stories, stories)  # webhook: no digest
    assert not smtp.messages
    report = _deliver(db, config, env, now=now + timedelta(minutes=31))
    assert report.sent == stories and len(smtp.messages) == 1
    digest = smtp.messages[0]
    assert digest["Subject"] == f"newswatch digest: {stories} new ({stories} stories)"
    assert digest["X-Newswatch-Key"].startswith("digest:")
    assert _deliver(db, config, env, now=now + timedelta(hours=2)).sent == 0


def test_abandoned_claim_is_sent_once_after_timeout(outbox: tuple[Path, int], smtp: Mailbox,
                                                    receiver: Receiver, tmp_path: Path) -> None:
    db, stories = _copy(outbox[0], tmp_path / "crash.db"), outbox[1]
    config, env = _alerts_file(tmp_path / "alerts.yaml"), _env(smtp, receiver)
    now = datetime.now(UTC)
    conn = sqlite3.connect(db)
    with conn:  # a deliverer claimed one alert and died before marking it
        conn.execute("update alerts set status = 'sending', next_attempt = ? where id = "
                     "(select min(id) from alerts)",
                     [(now + timedelta(minutes=5)).isoformat(timespec="seconds")])
    conn.close()
    report = _deliver(db, config, env, now=now)
    assert report.sent == 2 * stories - 1 and report.recovered == 0
    report = _deliver(db, config, env, now=now + timedelta(minutes=6))
    assert (report.sent, report.recovered) == (1, 1)
    assert len(smtp.messages) + len(receiver.bodies) == 2 * stories
    assert len(set(smtp.keys())) == stories and len(set(receiver.keys)) == stories


def test_resolve_and_redact() -> None:
    found: list[str] = []
    url = resolve("https://x.test/${TOKEN}?k=${KEY}", {"TOKEN": "t0k", "KEY": "a b"}, found)
    assert url == "https://x.test/t0k?k=a b" and found == ["t0k", "a b"]
    assert redact("GET https://x.test/t0k?k=a%20b failed", found) == \
        "GET https://x.test/***?k=*** failed"
    with pytest.raises(DeliveryError, match="environment variable KEY is not set"):
        resolve("${KEY}", {})


def test_signature_helpers() -> None:
    body = b'{"schema": "newswatch.alert/1"}'
    stamp = str(int(time.time()))
    header = sign(body, "k", stamp, "key-1")
    signed = {"X-Newswatch-Signature": header, "X-Newswatch-Timestamp": stamp,
              "Idempotency-Key": "key-1"}
    assert header.startswith("sha256=") and verify_signature(body, signed, "k")
    assert not verify_signature(body + b" ", signed, "k")
    assert not verify_signature(body, signed, "other")
    assert not verify_signature(body, {**signed, "X-Newswatch-Signature": ""}, "k")
    assert not verify_signature(body, {**signed, "Idempotency-Key": "key-2"}, "k")


def test_receiver_rejects_wrong_secret_tampered_body_and_no_signature(
        receiver: Receiver, tmp_path: Path) -> None:
    """The receiver checks every delivery with verify_signature: a message signed with the
    right secret is taken; a wrong secret, a body changed after signing, and an unsigned
    message are refused (401) and recorded as failures."""
    config = load_alert_config(_alerts_file(tmp_path / "alerts.yaml"))
    env = {"NW_HOOK_URL": receiver.url, "NW_HOOK_SECRET": SECRET}
    send_test(config, "hook", env)
    assert len(receiver.bodies) == 1 and receiver.bad_signatures == 0

    with pytest.raises(DeliveryError, match="HTTP 401"):
        send_test(config, "hook", {**env, "NW_HOOK_SECRET": "not-the-receivers-secret"})
    assert receiver.bad_signatures == 1
    with pytest.raises(DeliveryError, match="HTTP 401"):
        send(Channel(name="unsigned", webhook=receiver.url), [{"sent_at": "x"}], "k", env)
    assert receiver.bad_signatures == 2

    body = json.dumps({"schema": "newswatch.alert/1", "id": "k", "kind": "new"}).encode()
    stamp = str(int(time.time()))
    signature = sign(body, SECRET, stamp, "k")
    for sent_body, header in [(body.replace(b'"new"', b'"updated"'), signature),  # tampered
                              (body, signature.upper()), (body, "sha256=")]:
        request = urllib.request.Request(receiver.url, data=sent_body, method="POST", headers={
            "Content-Type": "application/json", "Idempotency-Key": "k",
            "X-Newswatch-Timestamp": stamp, "X-Newswatch-Signature": header})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 401
    assert receiver.bad_signatures == 5 and len(receiver.bodies) == 1
    request = urllib.request.Request(receiver.url, data=body, method="POST", headers={
        "Content-Type": "application/json", "Idempotency-Key": "k",
        "X-Newswatch-Timestamp": stamp, "X-Newswatch-Signature": signature})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 204
    assert len(receiver.bodies) == 2 and receiver.bodies[-1]["kind"] == "new"


def test_cli(outbox: tuple[Path, int], smtp: Mailbox, receiver: Receiver, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> None:
    db, stories = _copy(outbox[0], tmp_path / "cli.db"), outbox[1]
    config = _alerts_file(tmp_path / "alerts.yaml")
    for name, value in _env(smtp, receiver).items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    base = ["alerts", "--db", str(db), "--alerts-config", str(config)]

    listed = runner.invoke(main, [*base, "list", "--status", "pending"])
    assert listed.exit_code == 0, listed.output
    assert f"alerts ({2 * stories})" in listed.output

    result = runner.invoke(main, [*base, "test", "mail"])
    assert result.exit_code == 0, result.output
    assert smtp.messages[-1]["Subject"] == "Test: newswatch test message"
    result = runner.invoke(main, [*base, "test", "hook"])
    assert result.exit_code == 0 and receiver.bodies[-1]["kind"] == "test"

    receiver.fail = True
    result = runner.invoke(main, [*base, "test", "hook"])
    assert result.exit_code == 1
    assert runner.invoke(main, [*base, "test", "nope"]).exit_code == 2

    result = runner.invoke(main, [*base, "deliver", "--max-attempts", "1"])
    assert result.exit_code == 0, result.output
    assert f"sent {stories}, retrying 0, failed {stories}" in result.output
    receiver.fail = False
    result = runner.invoke(main, [*base, "retry"])
    assert result.exit_code == 0 and f"{stories} failed alerts queued again" in result.output
    result = runner.invoke(main, [*base, "deliver"])
    assert f"sent {stories}," in result.output
    listed = runner.invoke(main, [*base, "list", "--status", "sent"])
    assert f"alerts ({2 * stories})" in listed.output
    assert SECRET not in listed.output
