"""Bad input, one kind per test: exit 2, one `error: ...` line, no traceback, and nothing
created or written that should not be."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.sources import DEMO_CONFIG
from monitor.store import Store

from .conftest import REPO

CLI = [sys.executable, "-m", "monitor.cli"]


def _run(*args: str, cwd: Path = REPO, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FARM_")}
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**environ, **(env or {})})


def _one_error(proc: subprocess.CompletedProcess, *expected: str) -> str:
    """The process failed with rc 2 and said one line, `error: ...`, holding ``expected``."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr  # one line: never wrapped, never a traceback
    assert lines[0].startswith("error: "), lines[0]
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def empty_db(tmp_path: Path) -> Path:
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    return path


@pytest.fixture
def text_db(tmp_path: Path) -> Path:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n", encoding="utf-8")
    return path


@pytest.fixture
def good_db(tmp_path: Path) -> Path:
    path = tmp_path / "good.db"
    Store(path).close()
    return path


def test_config_not_utf8(tmp_path: Path) -> None:
    config = tmp_path / "latin1.yaml"
    config.write_bytes("sources:\n  - name: café\n".encode("latin-1"))
    _one_error(_run("crawl", "--config", str(config), "--db", str(tmp_path / "x.db")),
               f"{config}:2: not UTF-8")
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize("command", ["crawl", "run"])
def test_unknown_log_level(tmp_path: Path, command: str) -> None:
    line = _one_error(_run(command, "--log-level", "verbose", "--db", str(tmp_path / "x.db")),
                      "--log-level", "verbose")
    assert f"newswatch {command} --help" in line
    assert not (tmp_path / "x.db").exists()


def test_export_into_a_missing_directory(good_db: Path, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "dir" / "out.jsonl"
    _one_error(_run("export", "--db", str(good_db), "--output", str(target)),
               "no such directory")
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("command", [["status"], ["export"], ["export", "--format", "csv"],
                                     ["serve"], ["alerts", "list"], ["alerts", "retry"],
                                     ["alerts", "deliver"], ["check", "laodong_en"],
                                     ["recheck", "42"]])
@pytest.mark.parametrize("kind", ["empty", "text"])
def test_read_only_commands_refuse_an_empty_or_non_sqlite_file(
        command: list[str], kind: str, empty_db: Path, text_db: Path) -> None:
    db = empty_db if kind == "empty" else text_db
    before = db.read_bytes()
    if command[0] == "alerts":
        args = ["alerts", "--db", str(db), *command[1:]]
    else:
        args = [*command, "--db", str(db)]
    proc = _run(*args)
    _one_error(proc, str(db), "empty file" if kind == "empty" else "not a SQLite database")
    assert proc.stdout == ""  # no CSV header, no "serving on", nothing before the error
    assert db.read_bytes() == before  # no schema written into it
    assert sorted(p.name for p in db.parent.iterdir()) == sorted(["empty.db", "notes.db"])


@pytest.mark.parametrize("command", [["status"], ["export"], ["serve"], ["alerts", "list"],
                                     ["check", "laodong_en"], ["recheck", "42"],
                                     ["recheck", "https://laodong.vn/a-1.ldo"]])
def test_read_only_commands_never_create_a_database(command: list[str],
                                                    tmp_path: Path) -> None:
    db = tmp_path / "typo" / "typo.db"
    args = (["alerts", "--db", str(db), *command[1:]] if command[0] == "alerts"
            else [*command, "--db", str(db)])
    _one_error(_run(*args), str(db), "database not found")
    assert not (tmp_path / "typo").exists()


def test_sqlite_file_that_is_not_newswatchs(tmp_path: Path) -> None:
    import sqlite3

    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("create table t (x)").connection.close()
    _one_error(_run("status", "--db", str(other)), "not newswatch's")


def test_serve_says_the_port_is_taken_before_serving(good_db: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _run("serve", "--db", str(good_db), "--port", str(port))
    _one_error(proc, f"127.0.0.1:{port}", "in use")
    assert "serving" not in proc.stdout + proc.stderr


def test_mistyped_source_gets_did_you_mean(tmp_path: Path) -> None:
    _one_error(_run("crawl", "--source", "laodong_em", "--db", str(tmp_path / "x.db")),
               "unknown source 'laodong_em'", "did you mean 'laodong_en'?")


def test_farm_variable_not_set_hints_at_newswatch_farm(tmp_path: Path) -> None:
    _one_error(_run("crawl", "--config", str(DEMO_CONFIG), "--db", str(tmp_path / "x.db")),
               "${FARM_", "is not set", "newswatch farm")


def test_errors_are_not_wrapped_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    deep = tmp_path / ("a-rather-long-directory-name-" * 4) / "and-a-long-database-name.db"
    line = _one_error(_run("status", "--db", str(deep), env={"COLUMNS": "80"}), str(deep))
    assert len(line) > 120


def test_status_on_a_fresh_database(good_db: Path) -> None:
    proc = _run("status", "--db", str(good_db))
    assert proc.returncode == 0, proc.stderr
    assert "pid None" not in proc.stdout and "never started" in proc.stdout


@pytest.mark.parametrize("command", ["crawl", "run", "demo"])
def test_commands_that_create_a_database_refuse_a_bad_place(command: str, text_db: Path,
                                                            tmp_path: Path) -> None:
    before = text_db.read_bytes()
    _one_error(_run(command, "--db", str(text_db)), "not a SQLite database")
    assert text_db.read_bytes() == before
    _one_error(_run(command, "--db", str(text_db / "x.db")), f"{text_db} is not a folder")


@pytest.mark.parametrize("value, said", [(0, "greater than or equal to 1"),
                                         ("lots", "valid integer")])
def test_a_bad_crawl_cap_is_one_line(tmp_path: Path, value: object, said: str) -> None:
    """``max_parallel_crawls`` (docs/DAEMON.md) below 1 or not a number: the daemon does
    not start; one line naming the file, its line and the key."""
    import yaml

    data = yaml.safe_load((REPO / "config" / "sources.yaml").read_text(encoding="utf-8"))
    config = tmp_path / "sources.yaml"
    config.write_text(yaml.safe_dump({"max_parallel_crawls": value, **data}),
                      encoding="utf-8")
    _one_error(_run("run", "--config", str(config), "--db", str(tmp_path / "x.db")),
               f"{config}:1: max_parallel_crawls", said)


def test_what_the_user_typed_is_printed_as_typed_never_as_markup(good_db: Path,
                                                                 tmp_path: Path) -> None:
    """Brackets and colons in a query, a source name or a path are text: rich would read
    "[/b]" as a closing tag (a traceback) and ":-1:" as an emoji."""
    _one_error(_run("search", "--db", str(good_db), "--fts", "[/b]"),
               "bad search query '[/b]'", 'fts5: syntax error near "["')
    _one_error(_run("crawl", "--source", "[/x]", "--db", str(tmp_path / "x.db")),
               "unknown source '[/x]'")
    odd = tmp_path / "[b]notes:-1:[/b].db"
    _one_error(_run("status", "--db", str(odd)), f"{odd}: database not found")


@pytest.mark.parametrize("value, said", [
    ("1d", "'1d' is not a duration: a whole number and s, m or h (90s, 30m, 2h)"),
    ("0s", "'0s': must be at least 1s"),
    ("30", "'30' is not a duration")])
def test_a_bad_interval_is_one_line_with_the_units(tmp_path: Path, value: str,
                                                   said: str) -> None:
    import yaml

    data = yaml.safe_load((REPO / "config" / "sources.yaml").read_text(encoding="utf-8"))
    data["sources"][0]["interval"] = value
    config = tmp_path / "sources.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    line = _one_error(_run("run", "--config", str(config), "--db", str(tmp_path / "x.db")),
                      "sources[0].interval: " + said)
    assert "Value error" not in line


@pytest.mark.parametrize("command", [["farm", "--port", "70000"], ["demo", "--port", "0"],
                                     ["serve", "--port", "-1"]])
def test_a_port_out_of_range_is_a_usage_error(command: list[str], good_db: Path) -> None:
    _one_error(_run(*command), "Invalid value for '--port'", "is not in the range")


def test_farm_on_a_busy_port_refuses_instead_of_moving(tmp_path: Path) -> None:
    """A second `newswatch farm` on a taken port: one line, exit 2 (it used to serve on
    other ports than the exports already in the user's shell)."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.11", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _run("farm", "--port", str(port))
    _one_error(proc, f"port {port} is in use on 127.0.0.11", "--port 0")
    assert "export" not in proc.stdout


def test_export_into_a_pipe_closed_early_exits_quietly(good_db: Path) -> None:
    """`newswatch export | head -1`: the reader leaves; no `error:` line (it used to say
    "None: cannot write: Broken pipe", exit 2), no count of articles it did not write:
    exit 1 and nothing on stderr, as every other command (click's rule)."""
    store = Store(good_db)
    try:
        store.db["articles"].insert_all(
            {"url": f"https://example.org/a/{n}", "source": "laodong_en",
             "title": f"Article {n}", "language": "en", "text": "words " * 2000}
            for n in range(200))  # about 2.4 MB of JSON lines: well over a pipe's buffer
    finally:
        store.close()
    export = subprocess.Popen([*CLI, "export", "--db", str(good_db)], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert export.stdout is not None and export.stderr is not None
    assert export.stdout.readline().startswith(b"{")
    export.stdout.close()  # what `head -1` does
    errors = export.stderr.read().decode()
    assert export.wait(timeout=60) == 1
    assert errors == ""


def test_alerts_retry_of_an_unknown_id_is_one_line(good_db: Path) -> None:
    """`newswatch alerts retry 99999`: no such alert, nothing changed, exit 2 (it said
    "0 failed alerts queued again" and exit 0)."""
    _one_error(_run("alerts", "retry", "99999", "--db", str(good_db)), "no alert 99999")
