"""A webhook receiver that answers with a redirect (issue 34, item 7): urllib would
follow a 301/302/303 with a body-less GET, the alert would be lost and counted as
delivered. The send fails instead, naming the redirect, and nothing reaches the target
as a GET."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from monitor.alerts import DeliveryError
from monitor.alerts.rules import Channel
from monitor.alerts.send import send


class Redirecting:
    """Answers POST /hook with ``status`` and Location: /landing; records every request."""

    def __init__(self, status: int) -> None:
        self.requests: list[tuple[str, str, int]] = []  # method, path, body length
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                owner.requests.append((self.command, self.path, length))
                if self.path == "/hook":
                    self.send_response(status)
                    self.send_header("Location", "/landing")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _record  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(params=[301, 302, 303, 307, 308])
def redirecting(request: pytest.FixtureRequest) -> Iterator[Redirecting]:
    server = Redirecting(request.param)
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_a_redirect_is_a_failed_delivery(redirecting: Redirecting) -> None:
    doc = {"schema": "newswatch.alert/1", "id": "k", "sent_at": "2026-12-07T00:00:00+00:00"}
    with pytest.raises(DeliveryError) as caught:
        send(Channel(name="hook", webhook=redirecting.url), [doc], "k", env={})
    assert "redirect to /landing refused" in str(caught.value)
    assert [(method, path) for method, path, _ in redirecting.requests] == [("POST", "/hook")]
