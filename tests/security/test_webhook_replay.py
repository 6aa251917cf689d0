"""Webhook replay (issue 34): the signature covers a timestamp and the idempotency key
with the body. The verifier of docs/ALERTS.md (this test runs the very code block of the
page) takes a fresh message from a real send, refuses the same request again, a message
older than 5 minutes, and a body moved under another key; a retry by newswatch (a new
timestamp, the same key) verifies. `monitor.alerts.send.verify_signature` agrees."""

from __future__ import annotations

import re
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from monitor.alerts.rules import Channel
from monitor.alerts.send import MAX_AGE, send, sign, verify_signature

from ..conftest import REPO

SECRET = "whsec-replay-2b7e"


def _documented_verifier() -> Callable[..., bool]:
    text = (REPO / "docs" / "ALERTS.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "def verify(" in b]
    assert len(blocks) == 1, "docs/ALERTS.md must hold one verify() example"
    namespace: dict[str, Any] = {}
    exec(compile(blocks[0], "docs/ALERTS.md", "exec"), namespace)  # noqa: S102 - our docs
    assert namespace["MAX_AGE"] == MAX_AGE == 300
    return namespace["verify"]


class Receiver:
    """Records every request raw; answers 401 when the documented verifier refuses it."""

    def __init__(self) -> None:
        self.verify = _documented_verifier()
        self.seen: dict[str, float] = {}
        self.requests: list[tuple[dict[str, str], bytes, bool]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                ok = owner.verify(raw, self.headers, SECRET, owner.seen)
                owner.requests.append((dict(self.headers), raw, ok))
                self.send_response(204 if ok else 401)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def post(self, headers: dict[str, str], body: bytes) -> int:
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            k: v for k, v in headers.items() if k.lower() not in ("content-length", "host")})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.server.shutdown()
    running.server.server_close()


def _doc(key: str) -> dict[str, Any]:
    return {"schema": "newswatch.alert/1", "id": key, "kind": "new",
            "sent_at": "2026-12-07T00:00:00+00:00"}


def test_replayed_old_and_moved_messages_are_refused(receiver: Receiver) -> None:
    channel = Channel(name="hook", webhook=receiver.url, secret=SECRET)
    send(channel, [_doc("rule:hook:article:1:v1")], "rule:hook:article:1:v1", env={})
    [(headers, body, ok)] = receiver.requests
    assert ok and headers["X-Newswatch-Timestamp"].isdigit()
    assert abs(int(headers["X-Newswatch-Timestamp"]) - time.time()) < 60

    assert receiver.post(headers, body) == 401  # the captured request, again: a replay

    # another alert's key on this body (and signature): refused
    moved = {**headers, "Idempotency-Key": "rule:hook:article:2:v1"}
    assert receiver.post(moved, body) == 401

    # a message signed 6 minutes ago, never seen: too old
    old = str(int(time.time()) - MAX_AGE - 60)
    stale = {**headers, "X-Newswatch-Timestamp": old,
             "X-Newswatch-Signature": sign(body, SECRET, old, headers["Idempotency-Key"])}
    assert receiver.post(stale, body) == 401
    # the timestamp changed without re-signing: refused
    assert receiver.post({**headers, "X-Newswatch-Timestamp": str(int(time.time()) + 1)},
                         body) == 401

    # newswatch's retry of the same alert: a new timestamp, the same key: verifies
    time.sleep(1.1)
    send(channel, [_doc("rule:hook:article:1:v1")], "rule:hook:article:1:v1", env={})
    assert receiver.requests[-1][2]
    assert receiver.requests[-1][0]["Idempotency-Key"] == headers["Idempotency-Key"]
    assert [ok for _, _, ok in receiver.requests] == [True, False, False, False, False, True]


def test_the_library_verifier_agrees_with_the_documented_one() -> None:
    documented = _documented_verifier()
    body, key, now = b'{"id": "k"}', "k", time.time()
    for age in (0, 299, 301, -301):
        stamp = str(int(now - age))
        headers = {"X-Newswatch-Timestamp": stamp, "Idempotency-Key": key,
                   "X-Newswatch-Signature": sign(body, SECRET, stamp, key)}
        for tampered in (headers, {**headers, "Idempotency-Key": "other"},
                         {**headers, "X-Newswatch-Signature": ""}):
            assert documented(body, tampered, SECRET, {}, now) == \
                verify_signature(body, tampered, SECRET, {}, now) == \
                (abs(age) <= MAX_AGE and tampered is headers)
