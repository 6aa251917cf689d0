"""Secrets and exposure (issue 7, item 4): secrets only from the environment, never in logs,
the database or the CLI's output, even when a real delivery fails with them in its URL."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.alerts import ALERTS_FILE, deliver_pending, load_alert_config
from monitor.alerts import send as send_module
from monitor.alerts.rules import url_secrets
from monitor.alerts.send import redact, send
from monitor.sources import ConfigError
from monitor.store import Store

from .channels import SECRET, SMTP_PASSWORD, Mailbox, Receiver, _free_port
from .conftest import REPO
from .test_alerts import _alerts_file

CLI = [sys.executable, "-m", "monitor.cli"]
# the values a failing delivery resolves; none may ever be shown or stored
WRONG_PASSWORD = "smtp-wrong-9c1d-not-for-logs"  # refused by the SMTP server
PATH_TOKEN = "pathtok-31e8-not-for-logs"  # a webhook URL with its token in the path
QUERY_TOKEN = "querytok-a04f-not-for-logs"  # ... and in the query
JSON_PASSWORD = "jsonpw-66d2-not-for-logs"  # apprise json:// userinfo password
JSON_KEY = "jsonkey-0b7c-not-for-logs"  # apprise json:// header (+X-Api-Key)
SECRETS = (SECRET, WRONG_PASSWORD, PATH_TOKEN, QUERY_TOKEN, JSON_PASSWORD, JSON_KEY)


# -- only from the environment -------------------------------------------------------------
def _write(tmp_path: Path, channel: str) -> Path:
    path = tmp_path / "alerts.yaml"
    path.write_text(f"channels:\n  leaky:\n{channel}\nrules:\n"
                    "  - name: r\n    channels: [leaky]\n", encoding="utf-8")
    return path


REFUSED = {
    "literal webhook secret": ('    webhook: "https://hooks.example.org/x"\n'
                               '    secret: "s3cr3t-literal"', "'secret'"),
    "secret with a literal part": ('    webhook: "https://hooks.example.org/x"\n'
                                   '    secret: "s3cr3t-${SUFFIX}"', "'secret'"),
    "non-string secret": ('    webhook: "https://hooks.example.org/x"\n'
                          '    secret: 123456789', "'secret'"),
    "mailto password": ('    url: "mailto://desk:s3cr3t-literal@smtp.example.org"',
                        "the password in the URL"),
    "password next to a placeholder": ('    url: "mailtos://${U}:s3cr3t-literal@${HOST}"',
                                       "the password in the URL"),
    "webhook userinfo": ('    webhook: "https://bot:s3cr3t-literal@hooks.example.org/x"\n'
                         '    secret: "${S}"', "the password in the URL"),
    "?pass=": ('    url: "mailto://smtp.example.org?user=desk&pass=s3cr3t-literal"',
               "'pass'"),
    "?password=": ('    url: "mailtos://smtp.example.org?password=s3cr3t-literal"',
                   "'password'"),
    "?token=": ('    url: "gotify://gotify.example.org/?token=s3cr3t-literal"', "'token'"),
    "?secret=": ('    webhook: "https://hooks.example.org/x?secret=s3cr3t-literal"\n'
                 '    secret: "${S}"', "'secret'"),
    "?key=": ('    url: "json://api.example.org/?key=s3cr3t-literal"', "'key'"),
    "?apikey=": ('    url: "json://api.example.org/?apikey=s3cr3t-literal"', "'apikey'"),
    "?api_key=": ('    url: "json://api.example.org/?api_key=s3cr3t-literal"', "'api_key'"),
    "?access_token=": ('    url: "json://api.example.org/?access_token=s3cr3t-literal"',
                       "'access_token'"),
    "+Authorization header": ('    url: "json://api.example.org/?+Authorization=Bearer%20'
                              's3cr3t-literal"', "'Authorization'"),
    "slack tokens in the path": ('    url: "slack://T1JJ3T3L2/A1BRTD4JD/s3cr3tliteral/#desk"',
                                 "slack://"),
    "tgram bot token as host": ('    url: "tgram://123456789:s3cr3t-literal/-100123"',
                                "tgram://"),
    "discord webhook token": ('    url: "discord://4174216298/s3cr3t-literal"', "discord://"),
}


@pytest.mark.parametrize("channel,where", REFUSED.values(), ids=list(REFUSED))
def test_secrets_written_in_the_alerts_file_are_refused(tmp_path: Path, channel: str,
                                                         where: str) -> None:
    path = _write(tmp_path, channel)
    with pytest.raises(ConfigError) as refused:
        load_alert_config(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: invalid alerts config: channel 'leaky': "), message
    assert where in message and "environment" in message, message
    assert "s3cr3t" not in message and "\n" not in message  # plain, and never the value


ACCEPTED = {
    "webhook": '    webhook: "${HOOK_URL}"\n    secret: "${HOOK_SECRET}"',
    "two-part secret": '    webhook: "https://hooks.example.org/x"\n    secret: "${A}${B}"',
    "webhook without secret": '    webhook: "https://hooks.example.org/x?topic=vn-us"',
    "mailto": '    url: "mailtos://${U}:${P}@smtp.example.org:587?to=desk@example.org"',
    "mailto, user only": '    url: "mailto://desk@smtp.example.org?to=a@example.org"',
    "?pass= placeholder": '    url: "mailto://smtp.example.org?user=desk&pass=${P}"',
    "bearer header": '    url: "json://api.example.org/?+Authorization=Bearer%20${TOKEN}"',
    "api key header": '    url: "json://api.example.org/?+X-Api-Key=${KEY}&-topic=vn"',
    "slack": '    url: "slack://${SLACK_TOKENS}/#desk"',
    "tgram": '    url: "tgram://${TELEGRAM_BOT_TOKEN}/${TELEGRAM_CHAT}"',
}


@pytest.mark.parametrize("channel", ACCEPTED.values(), ids=list(ACCEPTED))
def test_secrets_from_the_environment_are_accepted(tmp_path: Path, channel: str) -> None:
    assert list(load_alert_config(_write(tmp_path, channel)).channels) == ["leaky"]


def test_shipped_and_test_alerts_files_still_load(tmp_path: Path) -> None:
    assert set(load_alert_config(ALERTS_FILE).channels) == {"analysts-email",
                                                            "analysts-webhook"}
    assert set(load_alert_config(_alerts_file(tmp_path / "a.yaml", 30)).channels) == \
        {"mail", "hook"}


def test_url_secrets_and_redact_forms() -> None:
    assert url_secrets("mailto://u:p%40ss@h:25?to=a@b&pass=x&-foo=y") == [
        ("the password in the URL", "p%40ss"), ("the URL parameter 'pass'", "x")]
    assert url_secrets("https://h/x?topic=vn") == []
    text = "p@ss/w rd in p%40ss%2Fw%20rd, p%40ss/w%20rd and p%40ss%2Fw+rd"
    assert redact(text, ["p@ss/w rd"]) == "*** in ***, *** and ***"


# -- never in logs, the database or the CLI --------------------------------------------------
def _leaky_config(path: Path, smtp: Mailbox, receiver: Receiver) -> tuple[Path, dict]:
    """Five channels that all fail, each with secrets in what it sends."""
    path.write_text("""
channels:
  mail-refused:   # the SMTP server refuses the password
    url: "mailto://newswatch:${NW_SMTP_PASSWORD}@127.0.0.1:${NW_SMTP_PORT}?mode=insecure&from=a@newswatch.test&to=b@newswatch.test"
  mail-down:      # nothing listens
    url: "mailto://newswatch:${NW_SMTP_PASSWORD}@127.0.0.1:${NW_DOWN_PORT}?mode=insecure&from=a@newswatch.test&to=b@newswatch.test"
  hook-500:       # the receiver answers 500; token in the path and the query
    webhook: "${NW_HOOK_URL}"
    secret: "${NW_HOOK_SECRET}"
  hook-refused:   # connection refused; token in the path
    webhook: "${NW_DOWN_URL}"
    secret: "${NW_HOOK_SECRET}"
  json-500:       # apprise json:// through requests/urllib3: password, header, path token
    url: "json://hookuser:${NW_JSON_PASSWORD}@127.0.0.1:${NW_HOOK_PORT}/json/${NW_PATH_TOKEN}?+X-Api-Key=${NW_JSON_KEY}"
rules:
  - name: all
    channels: [mail-refused, mail-down, hook-500, hook-refused, json-500]
""", encoding="utf-8")
    port = receiver.server.server_address[1]
    down = _free_port()
    env = {"NW_SMTP_PASSWORD": WRONG_PASSWORD, "NW_SMTP_PORT": str(smtp.port),
           "NW_DOWN_PORT": str(down), "NW_HOOK_SECRET": SECRET,
           "NW_HOOK_URL": f"http://127.0.0.1:{port}/hooks/{PATH_TOKEN}?token={QUERY_TOKEN}",
           "NW_DOWN_URL": f"http://127.0.0.1:{down}/hooks/{PATH_TOKEN}",
           "NW_JSON_PASSWORD": JSON_PASSWORD, "NW_HOOK_PORT": str(port),
           "NW_PATH_TOKEN": PATH_TOKEN, "NW_JSON_KEY": JSON_KEY}
    return path, env


def _outbox(db: Path, channels: list[str]) -> None:
    """An outbox with one pending alert per channel (the article need not exist)."""
    store = Store(db)
    try:
        with store.db.conn:
            for n, channel in enumerate(channels, 1):
                store.db.execute(
                    "insert into alerts (key, article_id, story_id, version, kind, rule, "
                    "channel, status, attempts, next_attempt, created) values "
                    "(?, ?, ?, 1, 'new', 'all', ?, 'pending', 0, ?, ?)",
                    [f"all:{channel}:story:{n}", n, n, channel, "2020-01-01T00:00:00+00:00",
                     "2020-01-01T00:00:00+00:00"])
    finally:
        store.close()


def _dump(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def _assert_clean(text: str, what: str) -> None:
    leaked = [s for s in SECRETS if s in text]
    assert not leaked, f"{what} shows {leaked}"


def test_failed_deliveries_leak_no_secret(smtp: Mailbox, receiver: Receiver, tmp_path: Path,
                                          caplog: pytest.LogCaptureFixture) -> None:
    config_path, env = _leaky_config(tmp_path / "alerts.yaml", smtp, receiver)
    config = load_alert_config(config_path)
    db = tmp_path / "leaky.db"
    _outbox(db, list(config.channels))
    receiver.fail = True
    caplog.set_level(logging.DEBUG)  # everything, from every logger
    for name in ("apprise", "urllib3", "requests"):
        caplog.set_level(logging.DEBUG, logger=name)
    store = Store(db)
    try:
        report = deliver_pending(store, config, env=env)
    finally:
        store.close()
    assert (report.sent, report.retrying) == (0, 5), report.errors
    assert set(smtp.logins) == {"newswatch"} and not smtp.messages  # auth was tried, and refused
    errors = dict(sqlite3.connect(db).execute("select channel, last_error from alerts"))
    assert "HTTP 500" in errors["hook-500"] and "unreachable" in errors["hook-refused"]
    assert all(errors.values()), errors
    # the libraries did log, at several levels, about these very requests
    names = {r.name.split(".")[0] for r in caplog.records}
    assert {"apprise", "urllib3"} <= names, names
    assert any(r.levelno >= logging.WARNING for r in caplog.records)
    for record in caplog.records:
        _assert_clean(record.getMessage(), f"log record {record.name}:{record.levelname}")
        _assert_clean(record.exc_text or "", f"exception text of {record.name}")
    # without the redaction these lines carried the path token and the X-Api-Key value
    assert any("/json/***" in r.getMessage() for r in caplog.records
               if r.name.startswith("urllib3")), "urllib3 logged no (redacted) request line"
    assert any("X-Api-Key=***" in r.getMessage() for r in caplog.records
               if r.name == "apprise"), "apprise logged no (redacted) URL"
    _assert_clean(caplog.text, "the formatted log")
    _assert_clean("\n".join(report.errors), "the delivery report")
    _assert_clean(_dump(db), "the database")

    # one channel directly, with a library logging an exception (traceback) mid-send
    def boom(*args: object, **kwargs: object) -> None:
        try:
            raise OSError(f"cannot reach {env['NW_HOOK_URL']}")
        except OSError:
            logging.getLogger("urllib3.connectionpool").exception("retrying %s",
                                                                   env["NW_HOOK_URL"])
            raise

    caplog.clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(send_module._NO_REDIRECTS, "open", boom)  # the webhook's opener
        with pytest.raises(Exception) as failed:
            send(config.channels["hook-500"], [{"sent_at": "x"}], "k", env)
    assert "unreachable" in str(failed.value) and "***" in str(failed.value)
    assert caplog.records and caplog.records[0].exc_text
    _assert_clean(caplog.text, "a logged traceback")
    _assert_clean(str(failed.value), "the error")


def test_cli_output_leaks_no_secret(smtp: Mailbox, receiver: Receiver, tmp_path: Path) -> None:
    """`newswatch alerts deliver|list|test` and `newswatch status` as subprocesses, with the
    secrets in their environment and failing channels."""
    config_path, secrets_env = _leaky_config(tmp_path / "alerts.yaml", smtp, receiver)
    db = tmp_path / "cli.db"
    _outbox(db, list(load_alert_config(config_path).channels))
    receiver.fail = True
    env = {**os.environ, **secrets_env}
    base = [*CLI, "alerts", "--db", str(db), "--alerts-config", str(config_path)]
    commands = [[*base, "deliver"], [*base, "list"], [*base, "list", "--status", "pending"],
                [*base, "test", "hook-500"], [*base, "test", "json-500"],
                [*CLI, "status", "--db", str(db)], [*CLI, "status", "--db", str(db), "--json"]]
    outputs = []
    for command in commands:
        done = subprocess.run(command, cwd=REPO, env={**env, "COLUMNS": "400"},
                              capture_output=True, text=True, timeout=120)
        outputs.append(done)
        _assert_clean(done.stdout + done.stderr, " ".join(command[3:]))
    deliver, listed, pending, test_hook, test_json, status, as_json = outputs
    assert deliver.returncode == 0 and "retrying 5" in deliver.stdout, deliver.stderr
    # one log line per failing channel (its reason, count and attempt), none per alert
    assert deliver.stderr.count("WARNING newswatch.alerts: delivery to ") == 5, deliver.stderr
    assert "alerts (5)" in listed.stdout and "alerts (5)" in pending.stdout
    assert test_hook.returncode == 1 and "HTTP 500" in test_hook.stdout + test_hook.stderr
    assert test_json.returncode == 1
    assert status.returncode == 0 and "pending 5" in status.stdout, status.stderr
    assert as_json.returncode == 0 and '"pending": 5' in as_json.stdout
    assert SMTP_PASSWORD not in _dump(db)
