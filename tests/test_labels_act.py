"""Labels act everywhere (issue 30): `newswatch label ID irrelevant` overrides the judge
in `export --relevant-only`, the Atom feed, the latest-relevant and home pages and the
alerts not yet sent (withdrawn with a reason, never deleted); the article page shows the
label and who set it. A real SQLite file, the real CLI and the real Datasette app."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import feedparser

from monitor.alerts import load_alert_config
from monitor.browse.serve import build_datasette, database_name
from monitor.changes import Ingestor
from monitor.extract import content_hash
from monitor.store import Store

from .conftest import REPO
from .pages import alerts_file

TEXTS = {
    "https://e.vn/a-1": ("Phó Thủ tướng hội đàm với Đại diện Thương mại Mỹ",
                         "Hai bên bàn về thuế đối ứng giữa Việt Nam và Hoa Kỳ."),
    "https://e.vn/a-2": ("Việt Nam và Hoa Kỳ ký thỏa thuận hợp tác bán dẫn",
                         "Bộ trưởng Ngoại giao Việt Nam và Ngoại trưởng Mỹ ký thỏa thuận "
                         "hợp tác về chip bán dẫn giữa Việt Nam và Hoa Kỳ."),
}


def _article(url: str) -> dict:
    title, text = TEXTS[url]
    return {"url": url, "title": title, "author": None, "lead": None, "language": "vi",
            "published": datetime.now(UTC).isoformat(timespec="seconds"), "text": text,
            "content_hash": content_hash(text)}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "200"})


def get(db: Path, path: str) -> str:
    datasette = build_datasette(db)

    async def fetch():
        return await datasette.client.get(path.replace("DB", database_name(db)))

    response = asyncio.run(fetch())
    assert response.status_code == 200, (path, response.status_code)
    return response.text


def test_label_irrelevant_acts_everywhere(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    store = Store(db)
    alerts = load_alert_config(alerts_file(tmp_path / "alerts.yaml"))
    Ingestor(store, alerts).ingest("src", [(_article(url), url) for url in TEXTS])
    ids = {row["url"]: row["id"] for row in store.articles()}
    store.close()
    target, other = ids["https://e.vn/a-1"], ids["https://e.vn/a-2"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from articles where relevant = 1"
                            ).fetchone() == (2,), "both judged relevant"
        assert conn.execute("select count(*) from alerts where article_id = ? and "
                            "status = 'pending'", (target,)).fetchone() == (1,)

    def exported() -> set[int]:
        proc = _cli("export", "--db", str(db), "--relevant-only")
        assert proc.returncode == 0, proc.stderr
        return {json.loads(line)["id"] for line in proc.stdout.splitlines()}

    def fed() -> set[str]:
        return {e.id for e in feedparser.parse(get(db, "/DB/feed.atom")).entries}

    assert exported() == {target, other}
    assert f"newswatch:article:{target}" in fed()
    assert f"/articles/{target}" in get(db, "/")  # on the home page before the label

    proc = _cli("label", str(target), "irrelevant", "--db", str(db), "--by", "lan")
    assert proc.returncode == 0, proc.stderr
    assert "labelled irrelevant (the judge said relevant)" in proc.stdout
    assert "1 alert(s) not yet sent withdrawn" in proc.stdout

    assert exported() == {other}
    assert fed() == {f"newswatch:article:{other}"}
    latest = get(db, "/DB/latest_relevant")
    assert f"/articles/{target}\"" not in latest and f"/articles/{other}\"" in latest
    home = get(db, "/")
    assert f"/articles/{target}\"" not in home and f"/articles/{other}\"" in home
    with sqlite3.connect(db) as conn:  # withdrawn, with its reason, never deleted
        rows = conn.execute("select status, last_error from alerts where article_id = ?",
                            (target,)).fetchall()
        assert rows and all(status == "withdrawn" and "labelled irrelevant by lan" in error
                            for status, error in rows)
        assert conn.execute("select status from alerts where article_id = ?",
                            (other,)).fetchall() == [("pending",)]
    page = get(db, f"/DB/articles/{target}")
    assert "labelled <b>irrelevant</b> by lan" in page
    assert "the judge said yes" in page

    # a later edit of the labelled article keeps the label in force (and queues no alert)
    store = Store(db)
    edited = {**_article("https://e.vn/a-1"), "text": TEXTS["https://e.vn/a-1"][1]
              + " Hai bên hẹn gặp lại vào tháng sau tại Washington."}
    edited["content_hash"] = content_hash(edited["text"])
    assert Ingestor(store, alerts).ingest("src", [(edited, "u")]) == ["updated"]
    row = store.db.execute("select relevant, judged_relevant, label from articles "
                           "where id = ?", [target]).fetchone()
    store.close()
    assert row == (0, 1, "irrelevant")
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from alerts where article_id = ? and "
                            "status = 'pending'", (target,)).fetchone() == (0,)
