"""Labels act everywhere (issue 30): `newswatch label ID irrelevant` overrides the judge
in `export --relevant-only`, the Atom feed, the latest-relevant and home pages and the
alerts not yet sent (withdrawn with a reason, never deleted); `label ID relevant` queues
the alert the rules give a relevant article (once) and restores withdrawn ones; the
article page shows the label and who set it. A real SQLite file, the real CLI, the real
Datasette app and a real webhook receiver."""

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
IRRELEVANT_URL, NO_ALERTS_URL = "https://e.vn/b-1", "https://e.vn/b-2"
JUDGED_IRRELEVANT = {
    IRRELEVANT_URL: ("Giá lúa tại đồng bằng sông Cửu Long đi ngang",
                     "Giá lúa tại đồng bằng sông Cửu Long đi ngang trong tuần qua, "
                     "thương lái thu mua chậm."),
    NO_ALERTS_URL: ("Xuất khẩu gạo 10 tháng vượt 7,5 triệu tấn",
                    "Xuất khẩu gạo 10 tháng đạt hơn 7,5 triệu tấn, tăng so với cùng kỳ."),
}


def _article(url: str) -> dict:
    title, text = TEXTS.get(url) or JUDGED_IRRELEVANT[url]
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




def _signed_alerts(path: Path) -> Path:
    """Alert rules for every event, to a signed webhook (the test's receiver)."""
    path.write_text("""channels:
  hook:
    webhook: "${NW_HOOK_URL}"
    secret: "${NW_HOOK_SECRET}"
rules:
  - name: all
    kinds: [new, updated, removed]
    channels: [hook]
""", encoding="utf-8")
    return path


def test_label_relevant_queues_its_alert_once_and_restores_withdrawn_ones(
        tmp_path: Path, receiver) -> None:
    """An article the judge called irrelevant, labelled relevant, gets the alert the
    rules give a relevant one (once: labelled again, nothing more is queued); labelled
    irrelevant then relevant, the withdrawn alert comes back (not a second one); once
    sent, relabelling queues nothing and nothing is sent twice. With --no-alerts no alert
    is queued, and the command says why."""
    from click.testing import CliRunner

    from monitor.alerts import deliver_pending
    from monitor.cli import main

    from .channels import SECRET

    db = tmp_path / "news.db"
    config = _signed_alerts(tmp_path / "alerts.yaml")
    alerts = load_alert_config(config)
    store = Store(db)
    urls = ["https://e.vn/a-2", IRRELEVANT_URL, NO_ALERTS_URL]
    assert Ingestor(store, alerts).ingest("src", [(_article(u), u) for u in urls]) == [
        "new", "irrelevant", "irrelevant"]
    ids = {row["url"]: row["id"] for row in store.articles()}
    store.close()
    target = ids[IRRELEVANT_URL]

    def label(verdict: str, article: int = target, *extra: str) -> list[str]:
        result = CliRunner().invoke(main, ["label", str(article), verdict, "--db", str(db),
                                           "--by", "lan", "--alerts-config", str(config),
                                           *extra], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        return result.output.splitlines()

    def outbox(article: int = target) -> list[tuple]:
        with sqlite3.connect(db) as conn:
            return conn.execute("select kind, rule, status, last_error from alerts where "
                                "article_id = ? order by id", (article,)).fetchall()

    def deliver() -> None:
        store = Store(db)
        try:
            deliver_pending(store, alerts, env={"NW_HOOK_URL": receiver.url,
                                                "NW_HOOK_SECRET": SECRET})
        finally:
            store.close()

    assert outbox() == []  # the judge said irrelevant: nothing queued
    assert label("relevant") == [
        f"article {target} labelled relevant (the judge said irrelevant)",
        f"1 alert(s) queued by the rules of {config}"]
    assert outbox() == [("new", "all", "pending", None)]
    assert f"newswatch:article:{target}" in {
        e.id for e in feedparser.parse(get(db, "/DB/feed.atom")).entries}
    assert f"/articles/{target}\"" in get(db, "/")  # on the home page
    assert "labelled <b>relevant</b> by lan" in get(db, f"/DB/articles/{target}")

    # labelled relevant again: its story's alert is queued already, nothing more
    assert label("relevant")[1:] == [
        "no alert queued: its story's alert is in the outbox already (1: queued, sent or "
        "withdrawn before)"]
    assert len(outbox()) == 1

    # irrelevant, then relevant again: the withdrawn alert comes back, no second one
    assert label("irrelevant")[1:] == [
        "1 alert(s) not yet sent withdrawn (outbox status 'withdrawn')"]
    assert outbox()[0][2] == "withdrawn"
    assert label("relevant")[1:] == ["1 withdrawn alert(s) restored (outbox status 'pending')"]
    assert outbox() == [("new", "all", "pending", None)]

    deliver()  # a real delivery to the webhook receiver: both relevant articles' alerts
    sent = [body["article"]["url"] for body in receiver.bodies]
    assert sorted(sent) == sorted(["https://e.vn/a-2", IRRELEVANT_URL]), sent
    assert outbox()[0][2] == "sent"

    # sent: a label can neither withdraw it nor queue it again
    assert label("irrelevant")[1:] == []
    assert label("relevant")[1:] == [
        "no alert queued: its story's alert is in the outbox already (1: queued, sent or "
        "withdrawn before)"]
    assert [row[2] for row in outbox()] == ["sent"]
    deliver()
    assert len(receiver.bodies) == 2, "nothing sent twice"

    # --no-alerts: labelled relevant, no alert queued, and it says so
    other = ids[NO_ALERTS_URL]
    result = CliRunner().invoke(main, ["label", str(other), "relevant", "--db", str(db),
                                       "--no-alerts"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == ["no alert queued: --no-alerts"]
    assert outbox(other) == []
