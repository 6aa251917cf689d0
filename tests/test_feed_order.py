"""Feeds by publication time (issue 30): after a backfill of 200 archive articles (stored
after the day's crawl, so first seen later), the feed of new relevant articles still
opens on the articles published today. A real farm with an archive, a real crawl and a
real `newswatch backfill`, the feed from the real Datasette app."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser

from monitor.farm import Farm
from monitor.run import crawl
from monitor.sources import DEMO_CONFIG

from .conftest import REPO
from .test_changes_feed import assert_valid_atom, get

SITE = "baochinhphu_en"
ARCHIVE = 200


def _today(slug: str, n: int) -> dict:
    return {
        "site": SITE, "slug": slug, "lang": "en", "topic": "vn-us", "author": "Thanh Ha",
        "title": f"Vietnam, US open talks on semiconductor supply chains ({n})",
        "published": datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).isoformat(timespec="seconds"),
        "lead": f"Vietnam and the United States opened round {n} of talks on semiconductor "
                "supply chains in Hanoi.",
        "paragraphs": [
            f"Round {n} of the talks was opened by Deputy Minister Nguyen Minh Hang and US "
            "Ambassador Marc Knapper in Hanoi.",
            "The two sides discussed chip packaging, testing and training engineers under "
            "the Comprehensive Strategic Partnership between Vietnam and the United States.",
        ],
    }


def test_backfill_never_crowds_out_the_present(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    with Farm(archive=ARCHIVE, archive_site=SITE, sites=[SITE]) as farm:
        urls = {farm.publish(_today(f"chips-talks-{n}", n)) for n in (1, 2)}
        assert crawl(DEMO_CONFIG, db, variables=farm.config_variables(), sources=[SITE],
                     alerts=None).ok
        env = {**os.environ, **farm.config_variables(), "COLUMNS": "200"}
        done = subprocess.run([sys.executable, "-m", "monitor.cli", "backfill", SITE,
                               "--config", "config/demo.yaml", "--db", str(db)],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    with sqlite3.connect(db) as conn:
        today = {row[0] for row in conn.execute(
            "select 'newswatch:article:' || id from articles where url in (?, ?) "
            "and relevant = 1", sorted(urls))}
        archive = conn.execute("select count(*), max(first_seen) from articles "
                               "where relevant = 1 and url not in (?, ?)",
                               sorted(urls)).fetchone()
        first_seen_today = conn.execute("select max(first_seen) from articles where url in "
                                        "(?, ?)", sorted(urls)).fetchone()[0]
    assert len(today) == 2, "the day's two articles are stored and relevant"
    assert archive[0] >= 100, f"the backfill stored {archive[0]} relevant archive articles"
    assert archive[1] > first_seen_today  # the archive was first seen after the day's
    status, _type, body = get(db, "feed.atom")
    assert status == 200
    parsed = assert_valid_atom(body)
    entries = [entry.id for entry in feedparser.parse(body).entries]
    assert len(parsed.entries) == len(entries) == 100
    assert set(entries[:2]) == today, entries[:5]
