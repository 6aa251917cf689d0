"""Secrets of the environment against the crawl (issue 34): a sources file's `${VAR}`
takes only `NEWSWATCH_*` and the names its `variables:` lists, so an alert channel's
token cannot be pulled into a crawled URL; and the crawl processes (the crawl child, its
forkserver and extraction workers) start with no alert channel's variable in their
environment. Real `newswatch` processes, a slow feed on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from monitor.processes.lifecycle import descendants
from monitor.sources import ConfigError, load_settings

CLI = [sys.executable, "-m", "monitor.cli"]
SECRET = "whsec-9d41-never-in-a-crawl"
SOURCE = ('  - {{name: slow, title: Slow, language: en, domains: ["127.0.0.1"],\n'
          '     feeds: ["{feed}"], article_pattern: "/a-"}}\n')


def _sources(path: Path, feed: str, head: str = "") -> Path:
    path.write_text(head + "sources:\n" + SOURCE.format(feed=feed))
    return path


@pytest.mark.parametrize("head, name, allowed", [
    ("", "NW_HOOK_SECRET", False),
    ('variables: ["NW_PROXY"]\n', "NW_HOOK_SECRET", False),
    ('variables: ["NW_HOOK_SECRET"]\n', "NW_HOOK_SECRET", True),
    ('variables: ["NW_HOOK_*"]\n', "NW_HOOK_SECRET", True),
    ("", "NEWSWATCH_FEED_HOST", True),
])
def test_placeholders_only_from_the_allow_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               head: str, name: str, allowed: bool) -> None:
    monkeypatch.setenv(name, SECRET)
    path = _sources(tmp_path / "sources.yaml", f"http://127.0.0.1:9/feed?t=${{{name}}}", head)
    if allowed:
        assert SECRET in load_settings(path).sources[0].feeds[0]
        return
    with pytest.raises(ConfigError) as refused:
        load_settings(path)
    text = str(refused.value)
    assert f"${{{name}}} is not allowed" in text and ": sources[0].feeds[0]" in text
    assert SECRET not in text
    done = subprocess.run([*CLI, "sources", "--config", str(path)], capture_output=True,
                          text=True, timeout=60, env={**os.environ, name: SECRET})
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert SECRET not in done.stderr + done.stdout


class SlowFeed:
    """A feed on loopback that holds its answer until released (the crawl stays alive)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.asked = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path.startswith("/feed"):
                    owner.asked.set()
                    owner.release.wait(60)
                    body = b'<?xml version="1.0"?><rss version="2.0"><channel></channel></rss>'
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                else:
                    body = b""
                    self.send_response(404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/feed.xml"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def slow_feed() -> Iterator[SlowFeed]:
    feed = SlowFeed()
    yield feed
    feed.release.set()
    feed.server.shutdown()
    feed.server.server_close()


def test_crawl_processes_hold_no_alert_secret(tmp_path: Path, slow_feed: SlowFeed) -> None:
    sources = _sources(tmp_path / "sources.yaml", slow_feed.url)
    alerts = tmp_path / "alerts.yaml"
    alerts.write_text('channels:\n  hook:\n    webhook: "${NW_HOOK_URL}"\n'
                      '    secret: "${NW_HOOK_SECRET}"\n'
                      "rules:\n  - {name: all, channels: [hook]}\n")
    env = {**os.environ, "NW_HOOK_SECRET": SECRET, "NW_HOOK_URL": "http://127.0.0.1:9/h",
           "NEWSWATCH_EXTRACT_WORKERS": "1"}
    proc = subprocess.Popen([*CLI, "crawl", "--config", str(sources), "--db",
                             str(tmp_path / "news.db"), "--alerts-config", str(alerts)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen: dict[int, bytes] = {}
    try:
        assert slow_feed.asked.wait(90), "the crawl never asked for the feed"
        deadline = time.monotonic() + 3  # the forkserver and its worker start meanwhile
        while time.monotonic() < deadline:
            for pid in descendants(proc.pid):
                try:
                    seen[pid] = Path(f"/proc/{pid}/environ").read_bytes()
                except OSError:
                    continue
            time.sleep(0.2)
    finally:
        slow_feed.release.set()
        try:
            _, err = proc.communicate(timeout=90)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode in (0, 1), err
    assert len(seen) >= 2, seen.keys()  # the crawl child, its forkserver (and worker)
    for pid, environ in seen.items():
        assert SECRET.encode() not in environ, pid
        assert b"NW_HOOK_URL=" not in environ, pid
        assert b"NEWSWATCH_EXTRACT_WORKERS=1" in environ  # the rest of the environment stays
