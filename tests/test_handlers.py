"""The HTTP/1.1 handler's close fires once (crawler/handlers.py), with real sockets and a
real reactor: the idle keep-alive connection goes away while the reactor is held past the
close's 1 s timeout, so both are handled in the same loop iteration. Scrapy's own handler
then logs ``AlreadyCalledError`` (the traceback seen in the daemon's log in CI); ours
logs nothing, and neither waits past the timeout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO

SCRIPT = r'''
import asyncio
import gc
import socket
import sys
import threading
import time

from scrapy.utils.reactor import install_reactor
install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
from twisted.internet import reactor
from twisted.python import log as twisted_log
from scrapy import Request
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.misc import load_object
from scrapy.utils.test import get_crawler

handler_path = sys.argv[1]
errors = []
twisted_log.addObserver(
    lambda ev: ev.get("isError") and errors.append(twisted_log.textFromEventDict(ev)))

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
server.bind(("127.0.0.1", 0))
server.listen(1)
port = server.getsockname()[1]
go, gone = threading.Event(), threading.Event()


def serve():
    conn, _ = server.accept()
    conn.recv(65536)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok")
    go.wait()
    conn.close()  # unread data: a reset; the client's connection is lost
    gone.set()


threading.Thread(target=serve, daemon=True).start()

def busy_reactor(seconds):
    """The reactor thread is held (a loaded machine) while the peer goes away, until
    after the close's timeout is due: both are handled in the same loop iteration."""
    go.set()
    gone.wait(5)
    time.sleep(seconds)

async def main():
    crawler = get_crawler(settings_dict={})
    handler = load_object(handler_path)(crawler)
    response = await handler.download_request(Request(f"http://127.0.0.1:{port}/"))
    assert response.body == b"ok", response.body
    (protocols,) = handler._pool._connections.values()
    for protocol in protocols:  # the idle connection cannot close until the peer goes
        protocol.transport.write(b"x" * (8 << 20))
    reactor.callLater(0, busy_reactor, 1.3)
    started = time.monotonic()
    await handler.close()
    print(f"closed in {time.monotonic() - started:.1f} s", flush=True)
    await asyncio.sleep(0.5)
    gc.collect()

def run():
    d = deferred_from_coro(main())
    d.addErrback(lambda f: errors.append(f.getTraceback()))
    d.addBoth(lambda _: reactor.stop())
reactor.callWhenRunning(run)
reactor.run()
print("errors:", len(errors))
for e in errors: print(e)
'''


def _close(handler: str, tmp_path: Path) -> str:
    script = tmp_path / "close.py"
    script.write_text(SCRIPT, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script), handler], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.parametrize("handler, errors", [
    ("crawler.handlers.OnceClosingHTTP11DownloadHandler", 0),
    # upstream's race, shown so the workaround goes when Scrapy fixes it (this line fails)
    ("scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler", 1),
])
def test_close_while_the_reactor_is_held_past_the_timeout(handler: str, errors: int,
                                                          tmp_path: Path) -> None:
    out = _close(handler, tmp_path)
    assert f"errors: {errors}" in out, out
    assert ("AlreadyCalledError" in out) == bool(errors), out
    seconds = float(out.split("closed in ")[1].split()[0])
    assert seconds < 2.5, out  # the timeout (1 s) plus the held reactor (1.3 s)


def test_crawls_use_the_once_closing_handler() -> None:
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings")
    handlers = settings.getdict("DOWNLOAD_HANDLERS")
    assert handlers["http"] == handlers["https"] == (
        "crawler.handlers.OnceClosingHTTP11DownloadHandler")
