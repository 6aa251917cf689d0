"""A real ``redis-server`` for the tests of monitor.fleet: Debian's package (installed by
``.ci/run`` like chromium), started on a free loopback port with its own temporary
directory, dying with the test process (``PR_SET_PDEATHSIG``), torn down after the test.

Where ``redis-server`` is not installed the tests that need it skip with a message. The
server runs with ``appendonly yes`` (``appendfsync`` as asked: ``always`` by default) so a
test can stop it and start it again on the same directory (``RedisServer.restart``)."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REDIS_SERVER = shutil.which("redis-server")
SKIP_REASON = ("redis-server is not installed (.ci/run installs Debian's redis-server "
               "with apt; here: apt-get install redis-server)")
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:  # in the child, before exec: SIGKILL when the test dies
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """One ``redis-server`` process on 127.0.0.1 with ``dir`` as its data directory."""

    def __init__(self, directory: Path, fsync: str = "always", password: str | None = None,
                 extra: list[str] | None = None) -> None:
        self.dir = directory
        self.fsync = fsync
        self.password = password
        self.extra = extra or []
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert REDIS_SERVER
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.dir), "--appendonly", "yes", "--appendfsync", self.fsync,
                "--save", "", "--maxmemory-policy", "noeviction", "--protected-mode", "no",
                "--logfile", str(self.dir / "redis.log"), *self.extra]
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=die_with_parent)
        self.wait_ready()

    def wait_ready(self, timeout: float = 15) -> None:
        """Wait until the server answers PING with its data loaded (AOF replayed)."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        auth = f"AUTH {self.password}\r\n".encode() if self.password else b""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = (self.dir / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server exited {self.proc.returncode}: {log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(auth + b"PING\r\n")
                    answer = b""
                    while answer.count(b"\r\n") < (2 if auth else 1):
                        chunk = sock.recv(256)
                        if not chunk:
                            break
                        answer += chunk
                    if answer.endswith(b"+PONG\r\n"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} not ready in {timeout} s")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Stop the server with ``sig`` and wait for it; its exit status."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=15)

    def restart(self, sig: int = signal.SIGTERM) -> None:
        """Stop it (``sig``) and start it again on the same port and directory."""
        self.stop(sig)
        self.start()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh ``redis-server`` (AOF on, ``appendfsync always``); skips without one."""
    if REDIS_SERVER is None:
        pytest.skip(SKIP_REASON)
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop(signal.SIGKILL)


def environment() -> dict[str, str]:
    """The environment for the test's child processes (the worktree on the path)."""
    from .conftest import REPO

    return {**os.environ, "PYTHONPATH": str(REPO)}


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    """``condition()``'s first true value; AssertionError after ``timeout`` x PATIENCE s."""
    from .conftest import PATIENCE

    deadline = time.monotonic() + timeout * PATIENCE
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or condition}")
