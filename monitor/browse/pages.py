"""What the Datasette browse pages show, as plain data: sentence-level diffs between
versions, readable times, an article's page and a story's timeline.

The newswatch Datasette plugin (``monitor/browse/datasette/plugins/newswatch_pages.py``) calls
:func:`article_page` and :func:`story_page` with a database connection and renders them
with ``monitor/browse/datasette/templates/row.html`` on Datasette's own row pages
(``/<db>/articles/<id>``, ``/<db>/stories/<id>``). Columns other branches may add (a
version's ``edit_kinds``, an article's ``removed`` time) are shown when present.
"""

from __future__ import annotations

import difflib
import json
import re
import sqlite3
from typing import Any
from zoneinfo import ZoneInfo

from monitor.alerts import DEFAULT_TIMEZONE, local_time, words

# a sentence ends at . ! ? … (and closing quotes) before a space and a capital or digit
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”’)]?\s+(?=[\"“‘(]?[A-ZÀ-Ỹ0-9])")
CONTEXT = 1  # unchanged sentences shown around each change


def sentences(text: str | None) -> list[str]:
    """A text (one paragraph per line) as its sentences, in order."""
    found = []
    for paragraph in (text or "").splitlines():
        found += [s.strip() for s in _SENTENCE_END.split(paragraph.strip()) if s.strip()]
    return found


def sentence_diff(old: str | None, new: str | None,
                  context: int = CONTEXT) -> list[dict[str, str]]:
    """The changed sentences from ``old`` to ``new``, in order, as ``{"op", "text"}`` with
    op ``removed``, ``added``, ``same`` (``context`` sentences around a change) or ``gap``
    (unchanged sentences left out). Empty when nothing changed."""
    before, after = sentences(old), sentences(new)
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    out: list[dict[str, str]] = []
    for group in matcher.get_grouped_opcodes(context):
        if out:
            out.append({"op": "gap", "text": "…"})
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [{"op": "same", "text": s} for s in before[i1:i2]]
                continue
            out += [{"op": "removed", "text": s} for s in before[i1:i2]]
            out += [{"op": "added", "text": s} for s in after[j1:j2]]
    return out


def sentence_diff_json(old: str | None, new: str | None) -> str:
    """:func:`sentence_diff` as a JSON list (the ``nw_sentence_diff(old, new)`` SQL
    function of ``newswatch serve``: the change pages show a version as the article page
    does)."""
    return json.dumps(sentence_diff(old, new), ensure_ascii=False)


def when(stamp: str | None, timezone: str = DEFAULT_TIMEZONE) -> str | None:
    """An ISO time as ``22 Dec 2024, 09:00 (UTC+07:00)`` in ``timezone``."""
    return local_time(stamp, ZoneInfo(timezone))


def kind_words(value: Any) -> list[str]:
    """A version's edit kinds (a JSON list, a list, or words separated by commas or
    spaces) as words for a reader (``config/words.yaml`` ``edit_kinds``: ``numbers``,
    ``paragraph added``, ...)."""
    if not value:
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = value.replace(",", " ").split()
    if not isinstance(value, list):
        value = [value]
    names = words()["edit_kinds"]
    return [names.get(str(k), str(k).replace("_", " ")) for k in value]


def _rows(conn: sqlite3.Connection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, params)
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"pragma table_info({table})")}


def article_page(conn: sqlite3.Connection, article_id: Any,
                 timezone: str = DEFAULT_TIMEZONE) -> dict[str, Any] | None:
    """Everything the article page shows: ``article`` (the row, times readable),
    ``paragraphs``, ``versions`` newest first (each with ``changes`` from the previous
    version and ``kinds``), ``story`` and its other ``editions``, and ``original`` (id,
    title, source: what a copy or edition copies, else the story's first report; None for
    a first report). An analyst's label is in the row (``label``, ``label_by``,
    ``labelled_local``). None: no such article."""
    found = _rows(conn, "select * from articles where id = ?", [article_id])
    if not found:
        return None
    article = found[0]
    languages = words()["languages"]
    article["language_name"] = languages.get(article.get("language"), article.get("language"))
    for key in ("published", "first_seen", "last_seen", "updated", "removed", "labelled"):
        article[f"{key}_local"] = when(article.get(key), timezone)
    original = None
    if article.get("link"):  # a copy or edition: the story's first report, or what it copies
        original_id = article.get("duplicate_of")
        found_original = _rows(
            conn, "select id, title, source from articles where id = ? or (? is null and "
                  "story_id = ? and link is null) order by id limit 1",
            [original_id, original_id, article.get("story_id")])
        original = found_original[0] if found_original else None
    version_columns = _columns(conn, "versions")
    kinds_column = next((c for c in ("edit_kinds", "kinds") if c in version_columns), None)
    versions = _rows(conn, "select * from versions where article_id = ? order by version",
                     [article_id])
    previous = None
    for version in versions:
        version["seen_local"] = when(version.get("seen"), timezone)
        version["kinds"] = kind_words(version.get(kinds_column)) if kinds_column else []
        version["changes"] = (sentence_diff(previous["text"], version["text"])
                              if previous else [])
        if previous and (previous.get("title") or "") != (version.get("title") or ""):
            version["title_change"] = (previous.get("title"), version.get("title"))
        previous = version
    story = None
    editions: list[dict[str, Any]] = []
    if article.get("story_id") is not None:
        stories = _rows(conn, "select * from stories where id = ?", [article["story_id"]])
        story = stories[0] if stories else None
        editions = _rows(conn, "select id, title, source, language, url, link, published "
                               "from articles where story_id = ? and id != ? "
                               "order by language, published_utc", [article["story_id"],
                                                                    article_id])
        for edition in editions:
            edition["language_name"] = languages.get(edition["language"], edition["language"])
            edition["published_local"] = when(edition.get("published"), timezone)
    return {"article": article, "paragraphs": [p for p in (article.get("text") or "")
                                               .splitlines() if p.strip()],
            "versions": list(reversed(versions)), "story": story, "editions": editions,
            "original": original}


def story_page(conn: sqlite3.Connection, story_id: Any,
               timezone: str = DEFAULT_TIMEZONE) -> dict[str, Any] | None:
    """Everything the story page shows: ``story``, ``by_language`` (language name ->
    its articles, each with outlet, times, link kind and version count) and ``timeline``
    (events oldest first: first seen, edits with their kinds, removals). None: no story."""
    found = _rows(conn, "select * from stories where id = ?", [story_id])
    if not found:
        return None
    story = found[0]
    story["first_seen_local"] = when(story.get("first_seen"), timezone)
    story["updated_local"] = when(story.get("updated"), timezone)
    languages = words()["languages"]
    articles = _rows(conn, "select * from articles where story_id = ? "
                           "order by published_utc, id", [story_id])
    version_columns = _columns(conn, "versions")
    kinds_column = next((c for c in ("edit_kinds", "kinds") if c in version_columns), None)
    by_language: dict[str, list[dict[str, Any]]] = {}
    timeline: list[dict[str, Any]] = []
    for article in articles:
        article["language_name"] = languages.get(article["language"], article["language"])
        article["published_local"] = when(article.get("published"), timezone)
        article["first_seen_local"] = when(article.get("first_seen"), timezone)
        by_language.setdefault(article["language_name"], []).append(article)
        what = {"copy": "copy", "near": "near copy", "translation": "other-language edition"
                }.get(article.get("link") or "", "first report")
        timeline.append({"at": article.get("first_seen"), "event": f"seen ({what})",
                         "article": article, "kinds": []})
        for version in _rows(conn, "select * from versions where article_id = ? and "
                                   "version > 1 order by version", [article["id"]]):
            timeline.append({"at": version.get("seen"), "event": f"edited (v{version['version']})",
                             "article": article,
                             "kinds": (kind_words(version.get(kinds_column))
                                       if kinds_column else [])})
        if article.get("removed"):
            timeline.append({"at": article["removed"], "event": "removed", "article": article,
                             "kinds": []})
    timeline.sort(key=lambda e: (e["at"] or "", e["article"]["id"]))
    for event in timeline:
        event["at_local"] = when(event["at"], timezone)
    order = words()["language_order"]
    ordered = dict(sorted(by_language.items(),
                          key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))
    return {"story": story, "by_language": ordered, "timeline": timeline,
            "articles": articles}
