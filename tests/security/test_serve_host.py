"""DNS rebinding against `newswatch serve` (issue 34, item 4): a web page the analyst
visits rebinds its own name to 127.0.0.1 and reads the database through `?sql=`. The
server answers only for the names it serves on (loopback, `--host`, `--allow-host`):
anything else gets 421 before Datasette sees the request."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from monitor.browse.serve import allowed_hosts, host_name
from monitor.store import Store


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    db = tmp_path_factory.mktemp("serve") / "news.db"
    Store(db).close()
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "monitor.cli", "serve", "--db", str(db),
                             "--port", str(port), "--allow-host", "news.example.org"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.2)
    yield port
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


def _get(port: int, host: str, path: str = "/news.json?sql=select+1") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers={"Host": host})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


@pytest.mark.parametrize("host", ["attacker.example:{port}", "attacker.example",
                                  "127.0.0.1.attacker.example:{port}", "localhost.evil:{port}",
                                  ""])
def test_foreign_host_header_is_refused(served: int, host: str) -> None:
    status, body = _get(served, host.format(port=served))
    assert status == 421, body[:200]
    assert b"--allow-host" in body


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST",
                                  "news.example.org"])
def test_served_names_are_answered(served: int, host: str) -> None:
    status, _ = _get(served, host.format(port=served), "/")
    assert status == 200


def test_host_names_parse() -> None:
    assert host_name("[::1]:8001") == "::1"
    assert host_name("Example.ORG:80") == "example.org"
    assert "0.0.0.0" not in allowed_hosts("0.0.0.0")
    assert allowed_hosts("192.0.2.7") >= {"127.0.0.1", "localhost", "::1", "192.0.2.7"}
