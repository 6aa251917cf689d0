"""The SQLite store: schema by migrations, WAL, one row per URL, FTS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from monitor.changes import Ingestor
from monitor.store import NEW, UNCHANGED, UPDATED, Store
from monitor.store.db import MIGRATIONS


def _article(text: str, url: str = "https://e.org/a-1") -> dict:
    from monitor.extract import content_hash

    return {"url": url, "title": "Vietnam and US hold talks on trade", "author": None,
            "published": "2024-09-26T07:15:00+07:00", "language": "en", "lead": None,
            "text": text, "content_hash": content_hash(text)}


def test_schema_wal_and_migrations_are_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = Store(path)
    assert store.db.journal_mode == "wal"
    assert {"sources", "articles", "crawl_runs", "articles_fts", "versions", "stories",
            "lsh_bands"} <= set(store.db.table_names())
    store.close()
    again = Store(path)  # reopening applies nothing twice
    assert again.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    again.close()


def test_save_new_unchanged_updated(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    ingest = Ingestor(store).ingest
    assert ingest("src", [(_article("Blinken met Son in Hanoi."), "u")]) == [NEW]
    assert ingest("src", [(_article("Blinken  met Son in Hanoi."), "u")]) == [UNCHANGED]
    assert ingest("src", [(_article("Blinken met Son in Da Nang."), "u")]) == [UPDATED]
    assert store.db["articles"].count == 1
    assert store.article("https://e.org/a-1")["text"] == "Blinken met Son in Da Nang."
    assert [r["url"] for r in store.search("Nang")] == ["https://e.org/a-1"]
    assert store.search("Hanoi") == []  # FTS follows updates
    store.close()


def test_crawl_run_record(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    run = store.start_run("src")
    store.finish_run(run, "finished", {"found": 3, "new": 2, "errors": 1}, ["u: 500"])
    (row,) = store.runs([run])
    assert (row["found"], row["new"], row["errors"], row["status"]) == (3, 2, 1, "finished")
    assert row["error_detail"] == "u: 500" and row["finished"] >= row["started"]
    store.close()


def _open_store(path: str, results: Any) -> None:
    try:
        Store(path).close()
        results.put("ok")
    except Exception as exc:  # noqa: BLE001 - reported to the test
        results.put(f"{type(exc).__name__}: {exc}")


def test_processes_opening_a_new_database_at_once_all_succeed(tmp_path: Path) -> None:
    """The daemon, its crawls and `newswatch status` may open a new database together:
    one of them sets it up (WAL, migrations), the others wait. Without the setup lock, 8
    of 10 such races failed ("table already exists", "duplicate column", "locked")."""
    import multiprocessing

    from monitor.store.db import MIGRATIONS

    context = multiprocessing.get_context("fork")
    for trial in range(5):
        path = tmp_path / f"race-{trial}.db"
        results = context.Queue()
        processes = [context.Process(target=_open_store, args=(str(path), results))
                     for _ in range(6)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(60)
        assert [results.get(timeout=5) for _ in processes] == ["ok"] * 6
        store = Store(path)
        try:
            assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
            assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            store.close()
