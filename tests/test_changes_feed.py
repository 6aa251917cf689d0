"""The feed of changes (issue 29): `/DB/changes.atom` lists the edits and removals of
relevant articles with their kinds, beside `/DB/feed.atom`; both are valid Atom 1.0
(feedparser reads them without a complaint, and every element RFC 4287 requires is
there), also when empty. Real crawls of the farm make an edit and a removal; the feeds
come from the real Datasette app with newswatch's plugins."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

import feedparser
from lxml import etree

from monitor.browse.serve import build_datasette, database_name
from monitor.farm import Farm
from monitor.run import crawl
from monitor.sources import DEMO_CONFIG
from monitor.store import Store

from .test_removals import SITE, _story

ATOM = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def get(db: Path, path: str) -> tuple[int, str, bytes]:
    """(status, content type, body) of a GET on the database's Datasette app."""
    datasette = build_datasette(db)

    async def fetch():
        return await datasette.client.get(f"/{database_name(db)}/{path}")

    response = asyncio.run(fetch())
    return response.status_code, response.headers.get("content-type", ""), response.content


def assert_valid_atom(body: bytes) -> feedparser.FeedParserDict:
    """The document is Atom 1.0 as RFC 4287 wants it: feedparser reads it as atom10 with
    no complaint (no bozo); the feed has exactly one id, title and updated (RFC 3339
    times), an author (or every entry has one), a self link; each entry has exactly one
    id, title and updated, a link with an href, and content or a summary. Returns the
    parsed feed."""
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10", parsed.version
    feed = etree.fromstring(body)
    assert feed.tag == f"{ATOM}feed"

    def one(parent, name: str) -> str:
        found = parent.findall(f"{ATOM}{name}")
        assert len(found) == 1, (name, etree.tostring(parent)[:500])
        return (found[0].text or "").strip()

    assert one(feed, "id") and one(feed, "title")
    assert RFC3339.match(one(feed, "updated")), one(feed, "updated")
    assert any(link.get("rel") == "self" and link.get("href")
               for link in feed.findall(f"{ATOM}link"))
    feed_author = feed.find(f"{ATOM}author/{ATOM}name")
    for entry in feed.findall(f"{ATOM}entry"):
        assert one(entry, "id") and one(entry, "title")
        assert RFC3339.match(one(entry, "updated")), one(entry, "updated")
        assert any(link.get("href") for link in entry.findall(f"{ATOM}link"))
        assert (entry.find(f"{ATOM}content") is not None
                or entry.find(f"{ATOM}summary") is not None)
        assert feed_author is not None or entry.find(f"{ATOM}author/{ATOM}name") is not None
    return parsed


def test_changes_feed_lists_an_edit_and_a_removal_with_their_kinds(
        fresh_farm: Farm, tmp_path: Path) -> None:
    """Two relevant articles crawled; one edited (a figure corrected), the other taken
    down (404); two more crawls (a removal is confirmed on the second). The changes feed
    has the edit (kind `numbers`, the changed sentences) and the removal (kind
    `removed`, its reason), newest first, and nothing for the untouched articles."""
    farm, db = fresh_farm, tmp_path / "changes.db"
    edited_url = farm.publish(_story("minerals-edited", 1))
    removed_url = farm.publish(_story("minerals-removed", 2))

    def run() -> None:
        assert crawl(DEMO_CONFIG, db, variables=farm.variables, sources=[SITE],
                     alerts=None).ok

    run()
    paragraph = _story("minerals-edited", 1)["paragraphs"][0]
    farm.edit(SITE, "minerals-edited", replace={0: paragraph.replace("memorandum 1",
                                                                     "memorandum 14")})
    farm.unpublish(SITE, "minerals-removed")
    run()
    run()
    conn = sqlite3.connect(db)
    try:
        ids = dict(conn.execute("select url, id from articles where url in (?, ?)",
                                [edited_url, removed_url]).fetchall())
        assert conn.execute("select removed_reason from articles where id = ?",
                            [ids[removed_url]]).fetchone() == ("HTTP 404",)
        edits = conn.execute("select count(*) from versions where version > 1").fetchone()[0]
    finally:
        conn.close()
    assert edits == 1

    status, content_type, body = get(db, "changes.atom")
    assert status == 200 and "xml" in content_type
    parsed = assert_valid_atom(body)
    assert parsed.feed.title == "Edits and removals of relevant articles (Atom feed)"
    entries = {entry.id: entry for entry in parsed.entries}
    assert len(entries) == 2, list(entries)
    edit = entries[f"newswatch:edit:{ids[edited_url]}:2"]
    assert edit.title.startswith("Edited (numbers") and edit.link == edited_url
    assert "numbers" in [tag.term for tag in edit.tags]
    assert "- The memorandum 1 was signed" in edit.summary
    assert "+ The memorandum 14 was signed" in edit.summary
    removal = next(e for e in parsed.entries if e.id.startswith("newswatch:removed:"))
    assert removal.id.startswith(f"newswatch:removed:{ids[removed_url]}:")
    assert removal.title.startswith("Removed (HTTP 404): Vietnam, US sign memorandum")
    assert [tag.term for tag in removal.tags] == ["removed"]
    assert removal.link == removed_url and "HTTP 404" in removal.summary
    assert parsed.entries[0].updated >= parsed.entries[1].updated  # newest first

    status, _, body = get(db, "feed.atom")  # the feed of new articles: still valid
    assert status == 200
    assert {entry.link for entry in assert_valid_atom(body).entries} >= {edited_url}


def test_both_feeds_are_valid_atom_when_empty(tmp_path: Path) -> None:
    """A database with nothing in it yet: both feeds are valid, empty Atom documents
    (datasette-atom alone answered them with an error 500)."""
    db = tmp_path / "empty.db"
    Store(db).close()
    for path, title in (("changes.atom", "Edits and removals of relevant articles "
                         "(Atom feed)"), ("feed.atom", "New relevant articles (Atom feed)")):
        status, content_type, body = get(db, path)
        assert status == 200 and "xml" in content_type, body[:500]
        parsed = assert_valid_atom(body)
        assert parsed.feed.title == title and parsed.entries == []
