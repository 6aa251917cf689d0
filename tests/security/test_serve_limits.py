"""`newswatch serve` against one-GET attacks (issue 34): a 300 MB `zeroblob`, a search of
thousands of terms, custom SQL, `fts3_tokenizer`, `ATTACH`, and the absolute path in
`/-/databases.json`. The real `newswatch serve` process on loopback, real HTTP; its
memory (RSS of its process tree) is sampled during each attack, and another request must
be answered within a second meanwhile."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.changes import Ingestor
from monitor.extract import content_hash
from monitor.processes.lifecycle import descendants, rss_bytes
from monitor.store import Store

MB = 1024 * 1024
BUDGET = 300 * MB


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database(path: Path) -> Path:
    store = Store(path)
    ingest = Ingestor(store).ingest
    for i in range(30):
        text = (f"Vietnam and the United States sign trade pact number {i} in Hanoi. "
                "Đối tác chiến lược toàn diện. " * 20)
        ingest("vnexpress_en", [({"url": f"https://e.org/a-{i}", "title": f"Pact {i}",
                                  "author": None, "published": "2024-09-26T07:15:00+07:00",
                                  "language": "en", "lead": None, "text": text,
                                  "content_hash": content_hash(text)}, "u")])
    store.close()
    return path


class Served:
    def __init__(self, db: Path, *flags: str) -> None:
        self.port = _free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "serve", "--db", str(db), "--port",
             str(self.port), *flags], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True)
        deadline = time.monotonic() + 90
        while True:
            try:
                if self.get("/-/versions.json")[0] == 200:
                    break
            except OSError:
                pass
            assert self.proc.poll() is None, self.proc.stderr.read() if self.proc.stderr else ""
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)

    def get(self, path: str, timeout: float = 60) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def rss(self) -> int:
        return rss_bytes([self.proc.pid, *descendants(self.proc.pid)])

    def attack(self, path: str) -> tuple[int, bytes, int, float]:
        """GET ``path``; meanwhile sample the memory and time another request. Returns
        (status, body, peak RSS, seconds the other request took)."""
        peak, done, got = self.rss(), threading.Event(), {}

        def run() -> None:
            try:
                got["answer"] = self.get(path, timeout=120)
            finally:
                done.set()

        thread = threading.Thread(target=run)
        thread.start()
        time.sleep(0.1)
        started = time.monotonic()
        status, _ = self.get("/-/versions.json", timeout=30)
        other = time.monotonic() - started
        assert status == 200
        while not done.wait(0.05):
            peak = max(peak, self.rss())
        thread.join()
        peak = max(peak, self.rss())
        return (*got["answer"], peak, other)

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _database(tmp_path_factory.mktemp("limits") / "news.db")


@pytest.fixture(scope="module")
def served(database: Path) -> Iterator[Served]:
    server = Served(database)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def served_sql(database: Path) -> Iterator[Served]:
    server = Served(database, "--allow-sql")
    yield server
    server.stop()


def _sql(query: str) -> str:
    return "/news.json?" + urllib.parse.urlencode({"sql": query})


def test_custom_sql_is_off_by_default(served: Served) -> None:
    status, body = served.get(_sql("select count(*) from articles"))
    assert status == 403, body[:300]
    status, body = served.get("/news/articles.json?_where=" + urllib.parse.quote("1=1"))
    assert status == 403, body[:300]
    status, body = served.get("/news/search.json?q=vietnam&_shape=array")  # canned: on
    assert status == 200 and len(json.loads(body)) == 30


def test_a_huge_blob_is_refused_and_serve_stays_small(served_sql: Served) -> None:
    status, body = served_sql.get(_sql("select count(*) as n from articles") + "&_shape=array")
    assert status == 200 and json.loads(body) == [{"n": 30}]  # --allow-sql: on
    status, body, peak, other = served_sql.attack(_sql("select zeroblob(300000000)"))
    assert status == 400 and b"too big" in body, body[:300]
    assert peak < BUDGET, f"{peak / MB:.0f} MB"
    assert other < 1.0, f"another request took {other:.2f} s"
    print(f"zeroblob: peak RSS {peak / MB:.0f} MB, other request {other:.3f} s")


def test_a_search_of_thousands_of_terms_is_bounded(served: Served) -> None:
    """Plain text of any length answers (issue 27; its first 64 terms are searched), an
    FTS5-syntax search of thousands of terms is refused; serve stays small and answers
    others meanwhile."""
    terms = " ".join(f"w{i}" for i in range(3000))  # as many as one request line holds
    for path in ("/news/articles.json?" + urllib.parse.urlencode({"_search": terms}),
                 "/news/search.json?" + urllib.parse.urlencode({"q": terms})):
        status, body, peak, other = served.attack(path)
        assert status == 200, (status, body[:300])
        assert peak < BUDGET and other < 1.0, (peak / MB, other)
    for path in ("/news/articles.json?" + urllib.parse.urlencode(
            {"_search": terms, "_searchmode": "raw"}),
                 "/news/search_fts.json?" + urllib.parse.urlencode({"q": terms})):
        status, body, peak, other = served.attack(path)
        assert status == 400 and b"at most 32 words" in body, (status, body[:300])
        assert peak < BUDGET and other < 1.0, (peak / MB, other)
    status, body = served.get("/news/articles.json?_shape=array&"
                              + urllib.parse.urlencode({"_search": "doi tac chien luoc"}))
    assert status == 200 and len(json.loads(body)) == 30  # a normal search still works


@pytest.mark.parametrize("query", ["select fts3_tokenizer('simple')",
                                   "select * from pragma_database_list, "
                                   "(select fts3_tokenizer('porter'))",
                                   "attach database '/tmp/x.db' as x"])
def test_fts3_tokenizer_and_attach_are_unreachable(served_sql: Served, query: str) -> None:
    status, body = served_sql.get(_sql(query))
    assert status in (400, 403), (status, body[:300])
    assert b"not authorized" in body or b"Statement must be a SELECT" in body, body[:300]


def test_databases_json_hides_the_path(served: Served, database: Path) -> None:
    for path in ("/-/databases.json", "/-/databases"):
        status, body = served.get(path)
        assert status == 200
        assert str(database.parent).encode() not in body, body[:500]
    entries = json.loads(served.get("/-/databases.json")[1])
    assert [entry["path"] for entry in entries] == ["news.db"]
