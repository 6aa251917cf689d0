"""Three small holes of issue 34: the daemon's lock file is opened without following a
link (a planted symlink would have the daemon truncate its target); a long email subject
is folded (RFC 5322: a line of more than 998 characters is refused by SMTP servers) and an
SMTP server's refusal is reported in words; YAML config files are parsed with a bound (an
alias bomb of a few hundred bytes is refused at once, with one line)."""

from __future__ import annotations

import email
import email.policy
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from monitor.alerts import DeliveryError, load_alert_config
from monitor.alerts.rules import Channel
from monitor.alerts.send import send
from monitor.sources import ConfigError, load_settings
from monitor.store import DaemonLock, DatabaseFileError

from ..channels import _free_port

CLI = [sys.executable, "-m", "monitor.cli"]


# -- the daemon's lock file ------------------------------------------------------------------
def test_a_planted_lock_symlink_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    db.with_name("news.db.daemon-lock").symlink_to(victim)
    with pytest.raises(DatabaseFileError, match="symbolic link"):
        DaemonLock(db).acquire()
    assert victim.read_text() == "keep me\n"
    # the daemon itself: one line, exit 2, the target untouched
    config = tmp_path / "sources.yaml"
    config.write_text('sources:\n  - {name: nowhere, title: Nowhere, language: en,\n'
                      '     domains: ["127.0.0.1"], feeds: ["http://127.0.0.1:9/feed.xml"],\n'
                      '     article_pattern: "/a-", interval: 1h}\n')
    proc = subprocess.Popen([*CLI, "run", "--config", str(config), "--db", str(db),
                             "--no-alerts", "--log-level", "WARNING"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "symbolic link" in lines[0]
    assert victim.read_text() == "keep me\n"


def test_the_lock_file_is_private(tmp_path: Path) -> None:
    with DaemonLock(tmp_path / "news.db") as lock:
        assert lock.path.stat().st_mode & 0o077 == 0


# -- email -------------------------------------------------------------------------------
class Mailbox:
    """aiosmtpd on loopback keeping the raw bytes; ``refuse``: its DATA answer."""

    def __init__(self, refuse: str | None = None) -> None:
        self.raw: list[bytes] = []
        self.refuse = refuse
        self.port = _free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.refuse:
            return self.refuse
        self.raw.append(envelope.content)
        return "250 OK"

    def channel(self) -> Channel:
        return Channel(name="mail", url=f"mailto://127.0.0.1:{self.port}?mode=insecure"
                                        "&from=alerts@newswatch.test&to=desk@newswatch.test")


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.controller.start()
    yield box
    box.controller.stop()


def _doc(title: str) -> dict[str, Any]:
    return {"schema": "newswatch.alert/1", "id": "k1", "kind": "new", "rule": "all",
            "article": {"title": title, "url": "https://e.org/a-1", "source": "vnexpress_en"},
            "story": {}, "sent_at": "2026-12-07T00:00:00+00:00"}


@pytest.mark.parametrize("words", ["Việt Nam và Hoa Kỳ ", "Vietnam and the United States ",
                                   "VietnamUnitedStatesTradePact"])
def test_a_long_headline_is_sent_with_a_folded_subject(mailbox: Mailbox, words: str) -> None:
    title = (words * 100)[:1206].strip()
    assert len(title) > 1200
    send(mailbox.channel(), [_doc(title)], "k1", env={})
    [raw] = mailbox.raw
    assert max(len(line) for line in raw.splitlines()) <= 998
    head = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
    assert max(len(line) for line in head.splitlines()) <= 78
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(message["Subject"]).endswith(title)  # exactly the headline, spaces kept


def test_an_smtp_refusal_is_said_in_words() -> None:
    box = Mailbox(refuse="554 5.7.1 Message refused by policy: too many links")
    box.controller.start()
    try:
        with pytest.raises(DeliveryError) as failed:
            send(box.channel(), [_doc("Vietnam and the US sign a pact")], "k1", env={})
    finally:
        box.controller.stop()
    assert "554" in str(failed.value) and "refused by policy: too many links" in str(failed.value)


# -- YAML ---------------------------------------------------------------------------------
LEVELS = "abcdefghi"
BOMB = "".join(f"{x}: &{x} [" + ",".join([f"*{LEVELS[i - 1]}"] * 9 if i else ['"lol"'] * 9)
               + "]\n" for i, x in enumerate(LEVELS))


def _bomb(tail: str) -> str:
    text = BOMB + tail
    assert len(text.encode()) <= 484
    return text + "#" * (484 - len(text.encode()) - 1) + "\n"


@pytest.mark.parametrize("which", ["sources", "alerts"])
def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path: Path, which: str) -> None:
    path = tmp_path / f"{which}.yaml"
    if which == "sources":
        path.write_text(_bomb("sources:\n  - name: x\n    domains: *i\n"))
        command = ["sources", "--config", str(path)]
    else:
        path.write_text(_bomb('channels: {hook: {webhook: "http://127.0.0.1:9/h"}}\n'
                              "rules:\n  - {name: r, channels: [hook], sources: *i}\n"))
        command = ["alerts", "--alerts-config", str(path), "test", "hook"]
    assert path.stat().st_size == 484
    done = subprocess.run([*CLI, *command], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "alias" in lines[0], lines
    started = time.monotonic()
    with pytest.raises(ConfigError, match="alias bomb"):
        load_settings(path) if which == "sources" else load_alert_config(path)
    assert time.monotonic() - started < 2


def test_small_aliases_still_load(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n"
                    '  - &d {name: one, title: One, language: en, domains: ["127.0.0.1"],\n'
                    '        feeds: ["http://127.0.0.1:9/a.xml"], article_pattern: "/a-"}\n'
                    '  - {<<: *d, name: two, title: Two}\n')
    settings = load_settings(path)
    assert [s.name for s in settings.sources] == ["one", "two"]
