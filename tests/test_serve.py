"""Datasette over a crawled database: `newswatch serve` in a subprocess, driven by headless
Chromium; the Atom feed through feedparser; writes refused; `newswatch export`."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner

from monitor.browse import export
from monitor.browse.export import FIELDS
from monitor.browse.serve import DEFAULT_HOST, datasette_args, metadata_for, sanitise_diff
from monitor.cli import main
from monitor.farm import Farm
from monitor.run import crawl
from monitor.sources import DEMO_CONFIG

REPO = Path(__file__).resolve().parents[1]
SEED_004 = ("U.S. considers Viet Nam as one of its priority partners in Indo-Pacific: "
            "Secretary of State Blinken")
EDIT_SITE = "laodong_en"
EDITED = "Corrected first paragraph: the two sides agreed to widen semiconductor training."
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary")


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A farm of this module's own, crawled, then one article edited and re-crawled, so
    a version 2 with a word diff exists."""
    db = tmp_path_factory.mktemp("serve") / "news.db"
    with Farm() as farm:
        crawl(DEMO_CONFIG, db, variables=farm.variables)
        article = next(a for a in farm.all_articles()
                       if a.site == EDIT_SITE and a.topic == "vn-us")
        farm.edit(EDIT_SITE, article.slug, replace={0: EDITED})
        result = crawl(DEMO_CONFIG, db, variables=farm.variables, sources=[EDIT_SITE],
                       scrapy_settings={"NEWSWATCH_RECHECK_DAYS": 36500})  # 2024 articles
        assert result.totals["updated"] == 1
        yield {"db": db, "edited_url": farm.url_of(EDIT_SITE, article.slug), "sha": _sha(db)}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(database: dict) -> Iterator[str]:
    """`python -m monitor.cli serve` on the database, until the module ends."""
    port = _free_port()
    child = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "serve", "--db", str(database["db"]),
         "--port", str(port), "--allow-sql"], cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/-/versions.json", timeout=2):
                    break
            except OSError:
                if child.poll() is not None or time.monotonic() > deadline:
                    output = child.stdout.read().decode() if child.stdout else ""
                    pytest.fail(f"newswatch serve did not start: {output}")
                time.sleep(0.2)
        yield f"{base}/news"
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _chromium(tmp_path: Path, url: str, *args: str) -> str:
    profile = tmp_path / "chromium-profile"
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--hide-scrollbars",
               f"--user-data-dir={profile}", *args, url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def dump_dom(tmp_path: Path, url: str) -> str:
    return _chromium(tmp_path, url, "--dump-dom")


def screenshot(tmp_path: Path, url: str, name: str) -> Path:
    """Save a screenshot: under docs/screenshots/ when NEWSWATCH_SCREENSHOTS=1 (to refresh
    the docs), else under tmp_path."""
    folder = REPO / "docs" / "screenshots" if os.environ.get("NEWSWATCH_SCREENSHOTS") \
        else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.png"
    _chromium(tmp_path, url, f"--screenshot={target}", "--window-size=1280,1600")
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return target


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- library pieces -----------------------------------------------------------------


def test_sanitise_diff_keeps_only_ins_del_br() -> None:
    html = ("Vietnam&#x27;s <del>old</del><ins>new</ins><br><script>alert(1)</script>"
            "<b onclick=x>bold</b> a < b & c <ins>open")
    clean = str(sanitise_diff(html))
    assert "<del>old</del><ins>new</ins><br>" in clean
    assert "<script>" not in clean and "&lt;script&gt;alert(1)&lt;/script&gt;" in clean
    assert "&lt;b onclick=x&gt;bold&lt;/b&gt;" in clean
    assert "Vietnam&#39;s" in clean and "a &lt; b &amp; c" in clean
    assert clean.endswith("<ins>open</ins>")


def test_metadata_follows_the_database_name() -> None:
    metadata = metadata_for("/somewhere/other.db")
    tables = metadata["databases"]["other"]["tables"]
    assert tables["articles"]["fts_table"] == "articles_fts"
    assert tables["articles"]["facets"] == ["source", "language", "relevant", "story_id"]
    assert all(tables[name]["hidden"] for name in ("lsh_bands", "event_keys", "articles_fts"))
    assert {"latest_relevant", "updated_articles", "story", "search", "article",
            "feed"} <= set(metadata["databases"]["other"]["queries"])


def test_serve_and_export_refuse_a_missing_database(tmp_path: Path) -> None:
    runner = CliRunner()
    for args in (["serve", "--db", str(tmp_path / "none.db")],
                 ["export", "--db", str(tmp_path / "none.db")]):
        result = runner.invoke(main, args)
        assert result.exit_code == 2, result.output
        assert "database not found" in result.output


# --- export ----------------------------------------------------------------------------


def test_export_jsonl_and_csv(database: dict, tmp_path: Path) -> None:
    out = io.StringIO()
    count = export(database["db"], out, "jsonl")
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert count == len(rows) > 60 and set(rows[0]) == set(FIELDS)
    assert any(row["title"] == SEED_004 for row in rows)

    target = tmp_path / "relevant.csv"
    result = CliRunner().invoke(main, ["export", "--db", str(database["db"]), "--format", "csv",
                                       "--output", str(target), "--relevant-only"])
    assert result.exit_code == 0, result.output
    with target.open(encoding="utf-8", newline="") as handle:
        relevant = list(csv.DictReader(handle))
    assert relevant and all(row["relevant"] == "1" for row in relevant)
    assert len(relevant) == sum(row["relevant"] for row in rows)
    assert "\n" in next(row["text"] for row in relevant if row["title"] == SEED_004)


# --- the served instance ----------------------------------------------------------------


def test_atom_feed_has_the_relevant_articles(server: str, database: dict) -> None:
    with urllib.request.urlopen(f"{server}/feed.atom", timeout=10) as response:
        assert "xml" in response.headers["content-type"]
        feed = feedparser.parse(response.read())
    assert not feed.bozo, feed.bozo_exception
    conn = sqlite3.connect(database["db"])
    relevant = {f"newswatch:article:{id_}": (title, url) for id_, title, url in
                conn.execute("select id, title, url from articles where relevant = 1")}
    irrelevant = {title for (title,) in
                  conn.execute("select title from articles where relevant = 0")}
    conn.close()
    assert feed.feed.title == "New relevant articles (Atom feed)"
    entries = {entry.id: (entry.title, entry.link) for entry in feed.entries}
    assert entries == relevant
    assert not irrelevant & {title for title, _ in entries.values()}
    assert all(entry.updated_parsed and entry.summary for entry in feed.entries)


def test_writes_are_refused(server: str, database: dict) -> None:
    before = _sha(database["db"])
    insert = "insert into sources (name, title) values ('evil', 'evil')"
    attempts = [
        urllib.request.Request(f"{server}?sql={urllib.parse.quote(insert)}"),
        urllib.request.Request(f"{server}?sql={urllib.parse.quote('delete from articles')}"),
        urllib.request.Request(server, data=urllib.parse.urlencode({"sql": insert}).encode(),
                               method="POST"),
        urllib.request.Request(f"{server}/sources/-/insert", method="POST",
                               data=json.dumps({"row": {"name": "evil"}}).encode(),
                               headers={"content-type": "application/json"}),
        urllib.request.Request(f"{server}/articles/1/-/delete", method="POST", data=b"{}",
                               headers={"content-type": "application/json"}),
    ]
    # the API's create/upsert/drop, and a POST to a canned query (none is writable)
    attempts += [
        urllib.request.Request(f"{server}/-/create", method="POST",
                               data=json.dumps({"table": "evil", "row": {"id": 1}}).encode(),
                               headers={"content-type": "application/json"}),
        urllib.request.Request(f"{server}/sources/-/upsert", method="POST",
                               data=json.dumps({"rows": [{"name": "evil"}]}).encode(),
                               headers={"content-type": "application/json"}),
        urllib.request.Request(f"{server}/sources/-/drop", method="POST", data=b"{}",
                               headers={"content-type": "application/json"}),
        urllib.request.Request(f"{server}/latest_relevant", method="POST", data=b"x=1",
                               headers={"content-type": "application/x-www-form-urlencoded"}),
    ]
    queries = metadata_for(database["db"])["databases"]["news"]["queries"]
    assert not [name for name, query in queries.items() if query.get("write")]
    for request in attempts:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert 400 <= refused.value.code < 500, (request.full_url, refused.value.code)
    assert _sha(database["db"]) == before
    conn = sqlite3.connect(database["db"])
    assert conn.execute("select count(*) from sources where name = 'evil'").fetchone()[0] == 0
    conn.close()


def test_bound_to_loopback_only_and_live(server: str, database: dict) -> None:
    """`newswatch serve` without --host listens on 127.0.0.1 only: another loopback
    address of this machine (127.0.0.2) gets connection refused. The file is served live
    (mutable, read through ``mode=ro`` connections), not immutable."""
    assert DEFAULT_HOST == "127.0.0.1"
    args = datasette_args(database["db"], "metadata.json")
    assert args[args.index("--host") + 1] == "127.0.0.1" and "-i" not in args
    port = urllib.parse.urlsplit(server).port
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    with pytest.raises(ConnectionRefusedError), \
            socket.create_connection(("127.0.0.2", port), timeout=5):
        pass
    home = server.rsplit("/", 1)[0]
    with urllib.request.urlopen(f"{home}/-/databases.json", timeout=10) as response:
        databases = json.loads(response.read())
    assert [(d["name"], d["is_mutable"]) for d in databases] == [("news", True)]


@needs_chromium
def test_catalogue_lists_tables_with_descriptions(server: str, tmp_path: Path) -> None:
    """The catalogue, one click from the home page (issue 30: `/` is the analyst's home,
    tests/test_home.py)."""
    home = server.rsplit("/", 1)[0] + "/-/catalogue"
    assert 'href="/-/catalogue"' in dump_dom(tmp_path, server.rsplit("/", 1)[0] + "/")
    dom = dump_dom(tmp_path, home)
    for title, description in [
        ("Articles", "One row per canonical article URL"),
        ("Versions", "Every text an article has had"),
        ("Stories", "Groups of articles reporting one event"),
        ("Sources", "Configured news sources"),
        ("Crawl runs", "One row per crawl of one source"),
    ]:
        assert f">{title}</a>" in dom and description in dom, title
    for hidden in ("lsh_bands", "event_keys", "articles_fts_data"):
        assert hidden not in dom
    assert "Articles updated in the last 7 days" in dom
    screenshot(tmp_path, home, "home")


@needs_chromium
def test_search_for_blinken_finds_seed_004(server: str, tmp_path: Path) -> None:
    url = f"{server}/search?q=Blinken"
    dom = dump_dom(tmp_path, url)
    marked = SEED_004.replace("Blinken", "<mark>Blinken</mark>")  # title and snippet marked
    assert marked in dom
    table_search = dump_dom(tmp_path, f"{server}/articles?_search=Blinken")
    assert marked in table_search
    screenshot(tmp_path, url, "search")


@needs_chromium
def test_updated_articles_show_the_diff(server: str, database: dict, tmp_path: Path) -> None:
    dom = dump_dom(tmp_path, f"{server}/updated_articles")
    assert "<ins>Corrected" in dom or "<ins>Corrected first paragraph" in dom
    assert "<del>" in dom and "</del>" in dom
    assert "&lt;ins&gt;" not in dom and "&lt;del&gt;" not in dom

    conn = sqlite3.connect(database["db"])
    (article_id,) = conn.execute("select id from articles where url = ?",
                                 (database["edited_url"],)).fetchone()
    conn.close()
    article = f"{server}/article?id={article_id}"
    dom = dump_dom(tmp_path, article)
    assert "<ins>" in dom and "<del>" in dom and "&lt;ins&gt;" not in dom
    assert "<p>" + EDITED in dom  # clean text shown as paragraphs
    screenshot(tmp_path, article, "article-diff")


def test_database_unchanged_after_the_session(server: str, database: dict) -> None:
    """Last in the module: after every request above (reads, writes refused, browser
    sessions) the file is byte for byte what the crawl left."""
    assert _sha(database["db"]) == database["sha"]


def test_canned_query_pages_are_titled_by_their_title_not_their_sql(server: str) -> None:
    """The browser tab of a shipped query says what it is; an ad-hoc query's page keeps
    Datasette's own title (its SQL)."""
    import re

    def title(path: str) -> str:
        with urllib.request.urlopen(f"{server}{path}", timeout=10) as response:
            page = response.read().decode()
        found = re.search(r"<title>(.*?)</title>", page, re.S)
        assert found, page[:500]
        return found.group(1).strip()

    named = title("/latest_relevant")
    assert named.startswith("Latest relevant articles · ") and "select" not in named
    adhoc = title("?sql=select+count(*)+from+articles")
    assert "select count(*) from articles" in adhoc


def test_changes_feed_lists_the_edit_served(server: str, database: dict) -> None:
    """`newswatch serve` serves the feed of changes beside the feed of new articles: the
    module's one edit, as valid Atom (tests/test_changes_feed.py has the removals)."""
    from .test_changes_feed import assert_valid_atom

    with urllib.request.urlopen(f"{server}/changes.atom", timeout=10) as response:
        assert "xml" in response.headers["content-type"]
        parsed = assert_valid_atom(response.read())
    assert [entry.link for entry in parsed.entries] == [database["edited_url"]]
    assert parsed.entries[0].title.startswith("Edited (")
    assert parsed.entries[0].tags  # its edit kinds
