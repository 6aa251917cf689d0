"""`newswatch recheck URL|ID` (issue 29): one stored article fetched again now, whatever
its age, through the crawl's machinery, with one line saying what happened. Real crawls
of a farm of this test's own, the command in its own process."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from monitor.farm import Farm
from monitor.run import crawl, recheck
from monitor.sources import DEMO_CONFIG

from .conftest import REPO
from .pages import alerts_file

CLI = [sys.executable, "-m", "monitor.cli"]
SITE = "laodong_en"


def _recheck(farm: Farm, db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "recheck", *args, "--config", str(DEMO_CONFIG), "--db",
                           str(db)], cwd=REPO, env={**os.environ, **farm.variables},
                          capture_output=True, text=True, timeout=300)


def _one_line(proc: subprocess.CompletedProcess[str], code: int) -> str:
    """The command exited ``code`` and printed one line (stdout for 0, stderr else)."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr
    lines = (proc.stdout if code == 0 else proc.stderr).strip().splitlines()
    assert len(lines) == 1, (proc.stdout, proc.stderr)
    return lines[0]


def _article(db: Path, url: str) -> dict:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        row = dict(conn.execute("select * from articles where url = ?", [url]).fetchone())
        row["versions"] = [dict(v) for v in conn.execute(
            "select version, kinds from versions where article_id = ? order by version",
            [row["id"]])]
        row["alerts"] = [tuple(a) for a in conn.execute(
            "select kind, version from alerts where article_id = ? order by id", [row["id"]])]
        row["runs"] = conn.execute("select count(*) from crawl_runs").fetchone()[0]
        return row
    finally:
        conn.close()


def test_recheck_of_an_old_article_stores_its_edit_and_says_what_happened(
        fresh_farm: Farm, tmp_path: Path) -> None:
    """A 2024 article (long outside the 3-day re-check window) edited on the farm:
    `newswatch recheck URL` stores version 2 with its kinds and queues one `updated`
    alert, and says `updated`; then by id: `not modified` (a conditional GET answered
    304); a page whose counters alone changed: `unchanged`; a 503: `error`, exit 1;
    taken down: `gone` on the first check, removed on the second."""
    farm, db = fresh_farm, tmp_path / "recheck.db"
    alerts = alerts_file(tmp_path / "alerts.yaml")
    first = crawl(DEMO_CONFIG, db, variables=farm.variables, sources=[SITE], alerts=alerts)
    assert first.ok
    article = next(a for a in farm.all_articles() if a.site == SITE and a.topic == "vn-us")
    assert article.published.year == 2024  # settled: a crawl would not fetch it again
    url = farm.url_of(SITE, article.slug)
    before = _article(db, url)
    assert before["version"] == 1 and before["alerts"] == [("new", 1)]

    # a figure corrected in the first paragraph: an edit of kind "numbers"
    edited = re.sub(r"\d+", lambda m: str(int(m.group()) + 7), article.paragraphs[0], count=1)
    assert edited != article.paragraphs[0]
    farm.edit(SITE, article.slug, replace={0: edited})
    line = _one_line(_recheck(farm, db, url, "--alerts-config", str(alerts)), 0)
    after = _article(db, url)
    assert after["version"] == 2 and len(after["versions"]) == 2
    kinds = json.loads(after["versions"][1]["kinds"])
    assert kinds and "numbers" in kinds
    assert line.startswith(f"updated: article {before['id']} ({SITE}, {url}): v1 -> v2 (")
    assert "numbers" in line
    assert after["alerts"] == [("new", 1), ("updated", 2)]  # alerted as a crawl alerts
    assert after["runs"] == before["runs"] + 1  # one run: the one-URL crawl

    line = _one_line(_recheck(farm, db, str(before["id"]), "--no-alerts"), 0)
    assert line.startswith(f"not modified: article {before['id']} ") and "304" in line

    farm.count(SITE, article.slug, comments=17)  # the page changes, the article does not
    result = recheck(url, DEMO_CONFIG, db, alerts=None, variables=farm.variables)
    assert result.outcome == "unchanged", result.line
    assert result.line.startswith("unchanged: ") and "same text as v2" in result.line

    farm.fail(SITE, article.slug, 503, requests=3)  # the first try and both retries
    line = _one_line(_recheck(farm, db, url, "--no-alerts"), 1)
    assert line == f"error: article {before['id']} ({SITE}, {url}): HTTP 503"

    farm.unpublish(SITE, article.slug)
    line = _one_line(_recheck(farm, db, url, "--no-alerts"), 0)
    assert line.startswith("gone: ") and "HTTP 404 (found gone on 1 of 2 checks" in line
    assert _article(db, url)["removed"] is None  # not yet: two checks in a row
    result = recheck(before["id"], DEMO_CONFIG, db, alerts=alerts, variables=farm.variables)
    assert result.outcome == "gone" and result.removed, result.line
    assert "found gone on 2 of 2 checks; marked removed" in result.line
    gone = _article(db, url)
    assert gone["removed"] and gone["removed_reason"] == "HTTP 404"
    assert gone["alerts"][-1] == ("removed", 2)
    assert gone["version"] == 2  # its last text stays


def test_unknown_article_is_one_line_and_exit_2(fresh_farm: Farm, tmp_path: Path) -> None:
    """An id or URL the store does not have: one `error:` line, exit 2, no crawl."""
    db = tmp_path / "empty.db"
    from monitor.store import Store

    Store(db).close()
    line = _one_line(_recheck(fresh_farm, db, "4242"), 2)
    assert line == f"error: no stored article with id 4242 in {db}"
    url = fresh_farm.base_url(SITE) + "/politics/no-such-article-1.ldo?utm_source=x"
    line = _one_line(_recheck(fresh_farm, db, url), 2)
    assert line.startswith(f"error: no stored article at {url} (canonical: ")
    assert "give its id or the URL crawls stored" in line
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("select count(*) from crawl_runs").fetchone()[0] == 0
    finally:
        conn.close()
