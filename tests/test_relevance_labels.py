"""`newswatch judge --explain`, and analysts' labels: `newswatch label` / `newswatch labels`
on a real SQLite database, read back by `python -m monitor.judge.eval`."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from monitor.changes import Ingestor
from monitor.extract import content_hash
from monitor.store import Store

from .conftest import REPO


def _run(*args: str, columns: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns)} if columns else None
    return subprocess.run([sys.executable, "-m", "monitor.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60, env=env)


def _article(url: str, title: str, text: str) -> dict:
    return {"url": url, "title": title, "author": None, "lead": None, "language": "vi",
            "published": "2025-03-20T07:15:00+07:00", "text": text,
            "content_hash": content_hash(text)}


def test_judge_explain_prints_a_table_of_reasons(tmp_path: Path) -> None:
    lines = tmp_path / "in.jsonl"
    lines.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in [
        {"id": "deputy-pm", "title": "Deputy PM meets US Trade Representative on tariffs",
         "text": "The Deputy Prime Minister and the U.S. Trade Representative discussed "
                 "reciprocal tariffs."},
        {"id": "volleyball", "title": "Đội tuyển Việt Nam thắng Mỹ ở giải bóng chuyền nữ",
         "text": "Tuyển Việt Nam thắng Mỹ 3-1."},
    ]) + "\n", encoding="utf-8")
    # wide enough that no reason is wrapped inside its cell (at 80 columns they wrap)
    proc = _run("judge", "--explain", str(lines), columns=200)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert "deputy-pm: relevant" in text and "volleyball: not relevant" in text
    assert "implied" in text and "deputy pm" in text and "met by" in text
    assert "negative context (sports): points x0.35" in text
    assert "threshold" in text
    plain = _run("judge", str(lines))  # without --explain: JSON lines as before
    assert [json.loads(line)["relevant"] for line in plain.stdout.splitlines()] == [True, False]
    # a line may say its source's country: offices imply Vietnam only on a Vietnamese one
    lines.write_text(json.dumps({"id": "us-outlet", "country": "us", "title":
                                 "Deputy PM meets US Trade Representative on tariffs",
                                 "text": "The Deputy Prime Minister discussed tariffs."}) + "\n",
                     encoding="utf-8")
    out = json.loads(_run("judge", str(lines)).stdout)
    assert out["relevant"] is False
    assert any("counts only on sources from vn, not us" in r.get("note", "")
               for r in out["reasons"])


def test_label_store_export_and_evaluate(tmp_path: Path) -> None:
    db = tmp_path / "n.db"
    store = Store(db)
    Ingestor(store).ingest("src", [
        (_article("https://e.vn/a-1", "Phó Thủ tướng hội đàm với Đại diện Thương mại Mỹ",
                  "Hai bên bàn về thuế đối ứng giữa Việt Nam và Hoa Kỳ."), "u1"),
        (_article("https://e.vn/a-2", "Đội tuyển Việt Nam thắng Mỹ ở giải bóng chuyền nữ",
                  "Tuyển bóng chuyền nữ Việt Nam thắng Mỹ 3-1."), "u2")])
    ids = {row["url"]: row["id"] for row in store.articles()}
    store.close()
    first, second = ids["https://e.vn/a-1"], ids["https://e.vn/a-2"]

    proc = _run("label", str(second), "relevant", "--db", str(db), "--by", "lan")
    assert proc.returncode == 0, proc.stderr
    assert "labelled relevant (the judge said irrelevant)" in proc.stdout
    # the analyst changes their mind: the latest label wins, the history stays
    assert _run("label", str(second), "irrelevant", "--db", str(db)).returncode == 0
    assert _run("label", str(first), "relevant", "--db", str(db)).returncode == 0
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select article_id, label, analyst from relevance_labels "
                            "order by id").fetchall()
    assert rows == [(second, "relevant", "lan"), (second, "irrelevant", None),
                    (first, "relevant", None)]

    out = tmp_path / "labels.jsonl"
    proc = _run("labels", "--db", str(db), "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    exported = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["relevant"]) for r in exported] == [
        (f"article-{second}", False), (f"article-{first}", True)]
    assert all(r["title"] and r["text"] and r["lang"] == "vi" for r in exported)
    proc = subprocess.run([sys.executable, "-m", "monitor.judge.eval", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "items    2  precision 1.000  recall 1.000" in proc.stdout


def test_label_user_errors_are_one_line(tmp_path: Path) -> None:
    db = tmp_path / "n.db"
    Store(db).close()

    def error(proc: subprocess.CompletedProcess[str]) -> str:
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert proc.stderr.count("error:") == 1  # one message (rich may wrap it)
        return " ".join(proc.stderr.split())

    assert "no article with id 999" in error(_run("label", "999", "relevant", "--db", str(db)))
    missing = _run("label", "1", "relevant", "--db", str(tmp_path / "missing.db"))
    assert "database not found" in error(missing)  # as every other command
    proc = _run("label", "1", "maybe", "--db", str(db))  # click's usage error
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
