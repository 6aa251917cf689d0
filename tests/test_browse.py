# ruff: noqa: F811  (pytest fixtures imported from test_serve, used as arguments)
"""The browse pages a reader opens from an alert: the article page (metadata, clean text,
versions with a sentence-level diff, its story), the story page (editions by language,
timeline) and the list views (linked titles, readable dates, SQL hidden), in headless
Chromium over `newswatch serve` on a real crawl of the farm."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from monitor.browse.pages import sentence_diff, sentences, when
from monitor.browse.serve import metadata_for

from .test_serve import (  # noqa: F401  (fixtures: a crawled, edited db and its server)
    EDITED,
    database,
    dump_dom,
    needs_chromium,
    screenshot,
    server,
)


def _one(db: Path, sql: str, params: tuple = ()) -> tuple:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchone()
    finally:
        conn.close()


def test_sentence_diff_marks_whole_sentences() -> None:
    old = "Exports rose 10 percent. Officials met in Hanoi.\nThe deal covers chips. More later."
    new = "Exports rose 12 percent. Officials met in Hanoi.\nThe deal covers chips. More later."
    changes = sentence_diff(old, new)
    assert changes[:3] == [{"op": "removed", "text": "Exports rose 10 percent."},
                           {"op": "added", "text": "Exports rose 12 percent."},
                           {"op": "same", "text": "Officials met in Hanoi."}]
    assert {c["op"] for c in changes} == {"removed", "added", "same"}  # far context left out
    assert sentence_diff(old, old) == []
    assert sentences("Ông Biden nói. Việt Nam đồng ý.") == ["Ông Biden nói.", "Việt Nam đồng ý."]
    assert when("2024-12-22T02:00:00+00:00") == "22 Dec 2024, 09:00 (UTC+07:00)"


def test_canned_queries_hide_their_sql() -> None:
    queries = metadata_for("news.db")["databases"]["news"]["queries"]
    assert queries and all(q["hide_sql"] is True for q in queries.values())


@needs_chromium
def test_article_page_shows_versions_and_story(server: str, database: dict,
                                               tmp_path: Path) -> None:
    article_id, title, source = _one(database["db"], "select id, title, source from articles "
                                     "where url = ?", (database["edited_url"],))
    url = f"{server}/articles/{article_id}"
    dom = dump_dom(tmp_path, url)
    assert f"<h1>{title}</h1>" in dom.replace("&amp;", "&") or title.split()[0] in dom
    assert f'<span class="nw-source">{source}</span>' in dom
    assert re.search(r"\d{1,2} \w{3} \d{4}, \d\d:\d\d \(UTC\+07:00\)", dom)  # readable date
    assert "Version 2" in dom and "Version 1" in dom
    # the sentence-level diff: the edited sentence inserted whole, the old one deleted
    assert f"<ins>{EDITED}</ins>" in dom
    assert re.search(r'<li class="nw-removed"><del>[^<]+</del></li>', dom)
    assert "&lt;ins&gt;" not in dom and "{'" not in dom
    assert 'class="nw-story-link"' in dom  # the story it belongs to
    screenshot(tmp_path, url, "article-page")


@needs_chromium
def test_story_page_lists_editions_by_language(server: str, database: dict,
                                               tmp_path: Path) -> None:
    row = _one(database["db"], "select story_id from articles group by story_id "
               "having count(distinct language) = 2 order by count(*) desc limit 1")
    assert row, "the farm has stories with EN and VI editions"
    story_id = row[0]
    conn = sqlite3.connect(database["db"])
    members = conn.execute("select id, title, language from articles where story_id = ?",
                           (story_id,)).fetchall()
    conn.close()
    url = f"{server}/stories/{story_id}"
    dom = dump_dom(tmp_path, url)
    assert "<h2>English</h2>" in dom and "<h2>Vietnamese</h2>" in dom
    base = server.removeprefix("http://127.0.0.1:").split("/", 1)[1]  # "news"
    for article_id, _title, _language in members:
        assert f'class="nw-edition" href="/{base}/articles/{article_id}"' in dom
    assert "<h2>Timeline</h2>" in dom and dom.count("first report") >= 1
    screenshot(tmp_path, url, "story-page")

    # an edition's article page links the other-language edition
    article_id = members[0][0]
    page = dump_dom(tmp_path, f"{server}/articles/{article_id}")
    others = [m for m in members if m[0] != article_id]
    assert all(f'href="/{base}/articles/{m[0]}"' in page for m in others)


@needs_chromium
def test_lists_link_titles_and_show_readable_dates(server: str, tmp_path: Path) -> None:
    dom = dump_dom(tmp_path, f"{server}/latest_relevant")
    assert re.search(r'<a class="nw-title" href="/news/articles/\d+">', dom)
    assert re.search(r'<a href="/news/stories/\d+">story \d+</a>', dom)
    assert re.search(r"<time datetime=\"[^\"]+\" title=\"[^\"]+\">\d{1,2} \w{3} \d{4}", dom)
    body = dom.split("<body", 1)[1]
    assert "from articles" not in body  # the SQL is hidden ...
    assert "_show_sql=1\">show</a>" in body  # ... one click away
    table = dump_dom(tmp_path, f"{server}/articles")
    assert re.search(r'<a class="nw-title" href="/news/articles/\d+">', table)
    assert 'data-facet="source"' in table or "facet-source" in table or "source (" in table
    screenshot(tmp_path, f"{server}/latest_relevant", "latest-relevant")
