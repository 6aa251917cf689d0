"""Real alert channels for tests: an aiosmtpd SMTP server with AUTH, and a local HTTP
webhook receiver that verifies signatures (fixtures ``smtp`` and ``receiver`` in
conftest.py)."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from monitor.alerts.send import verify_signature

SECRET = "whsec-7f3a9c-not-for-logs"
SMTP_PASSWORD = "smtp-pw-5b2e-not-for-logs"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the SMTP server -----------------------------------------------------------------------
class Mailbox:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that can be stopped and started again."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.messages: list[email.message.Message] = []
        self.controller: Controller | None = None
        self.logins: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        # parsed as a mail client reads it: folded headers unfolded, encoded words decoded
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                     auth_data: Any) -> AuthResult:
        self.logins.append(auth_data.login.decode())
        # handled=False: aiosmtpd answers "535 ... credentials invalid" itself (the default,
        # handled=True, sends no answer and the client waits for its timeout)
        return AuthResult(success=auth_data.password.decode() == SMTP_PASSWORD, handled=False)

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port,
                                     authenticator=self.authenticate, auth_require_tls=False)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def keys(self) -> list[str]:
        return [m["X-Newswatch-Key"] for m in self.messages]


@pytest.fixture
def smtp() -> Iterator[Mailbox]:
    box = Mailbox()
    box.start()
    yield box
    box.stop()


# -- the webhook receiver ------------------------------------------------------------------
class Receiver:
    """A local HTTP server that checks the signature and records each body."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.keys: list[str] = []
        self.bad_signatures = 0
        self.fail = False  # answer 500 while set
        self.delay = 0.0  # seconds to hold each request before answering
        self.started = threading.Event()  # set when a request has begun
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.started.set()
                if receiver.delay:
                    time.sleep(receiver.delay)
                if receiver.fail:
                    self.send_response(500)
                elif not verify_signature(raw, self.headers, SECRET):
                    receiver.bad_signatures += 1
                    self.send_response(401)
                else:
                    assert self.headers["Content-Type"] == "application/json"
                    receiver.bodies.append(json.loads(raw))
                    receiver.keys.append(self.headers["Idempotency-Key"])
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/newswatch"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


