"""The analyst's pages, as plain data: the home page (what is new today and this week)
and the watch list (one row per source).

``newswatch serve`` opens on the home page (``/``; the Datasette catalogue is
``/-/catalogue``, one click away) and shows the watch list at ``/-/watch``; the plugin
``monitor/browse/datasette/plugins/newswatch_home.py`` calls :func:`home_page` and
:func:`watch_list` with a read-only connection and renders ``templates/home.html`` and
``templates/watch.html``. ``newswatch sources --status`` prints :func:`watch_list`.

"New" is by publication time (first seen only when the page gives none), so a backfill
of archive articles never fills the page; "relevant" is the verdict in force (an
analyst's label overrides the judge, ``monitor.store.labels``).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from monitor.alerts import DEFAULT_TIMEZONE, local_time, words

WEEK_DAYS = 7
MAX_STORIES = 100  # stories listed per section; the rest are counted, never dropped unsaid
MAX_CHANGES = 100


def _rows(conn: sqlite3.Connection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, params)
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute(
        "select name from sqlite_master where type in ('table', 'view')")}


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"pragma table_info({table})")}


def _kinds(value: Any) -> list[str]:
    try:
        names = json.loads(value) if isinstance(value, str) else (value or [])
    except ValueError:
        names = []
    wording = words()["edit_kinds"]
    return [wording.get(str(k), str(k).replace("_", " ")) for k in names or []]


def _reasons(value: Any) -> list[str]:
    try:
        found = json.loads(value) if isinstance(value, str) else (value or [])
    except ValueError:
        return [str(value)]
    return [str(r) for r in found] if isinstance(found, list) else [str(found)]


def day_starts(now: datetime, timezone: str = DEFAULT_TIMEZONE) -> tuple[str, str]:
    """(start of today, start of the day ``WEEK_DAYS - 1`` days before) in ``timezone``,
    as UTC ISO strings comparable with the stored times."""
    local = now.astimezone(ZoneInfo(timezone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    week = midnight - timedelta(days=WEEK_DAYS - 1)
    return (midnight.astimezone(UTC).isoformat(timespec="seconds"),
            week.astimezone(UTC).isoformat(timespec="seconds"))


def home_page(conn: sqlite3.Connection, timezone: str = DEFAULT_TIMEZONE,
              now: datetime | None = None) -> dict[str, Any]:
    """What the home page shows: ``today`` and ``week`` (earlier this week), each a list
    of new relevant stories (``{"story_id", "title", "published_local", "editions":
    [{"id", "title", "source", "language_name", "link"}]}``, newest first, EN and VI
    editions together), ``changes`` (edits and removals of relevant articles this week,
    newest first: ``{"event": "edited"|"removed", "article_id", "title", "source",
    "at_local", "kinds": [words], "version"}``), ``attention`` (sources not ok:
    ``{"source", "state", "since_local", "reasons"}``), ``more`` (stories and changes
    beyond the lists' limits, counted) and ``counts``."""
    now = now or datetime.now(UTC)
    today, week = day_starts(now, timezone)
    zone = ZoneInfo(timezone)
    languages = words()["languages"]
    tables = _tables(conn)
    published = "coalesce(a.published_utc, a.first_seen)"
    articles = _rows(conn, f"""
        select a.id, a.title, a.source, a.language, a.link, a.story_id, a.url,
               {published} as at, s.title as story_title
        from articles a left join stories s on s.id = a.story_id
        where a.relevant = 1 and {published} >= ?
        order by {published} desc, a.id desc""", [week])
    stories: dict[Any, dict[str, Any]] = {}
    for article in articles:
        key = article["story_id"] if article["story_id"] is not None else f"a{article['id']}"
        story = stories.setdefault(key, {
            "story_id": article["story_id"], "title": article["story_title"]
            or article["title"], "at": article["at"], "editions": []})
        story["at"] = max(story["at"], article["at"])
        article["language_name"] = languages.get(article["language"], article["language"])
        story["editions"].append(article)
    ordered = sorted(stories.values(), key=lambda s: s["at"], reverse=True)
    for story in ordered:
        story["published_local"] = local_time(story["at"], zone)
        story["editions"].sort(key=lambda e: (e["link"] is not None, e["language"] or "",
                                              e["id"]))
    today_stories = [s for s in ordered if s["at"] >= today]
    week_stories = [s for s in ordered if s["at"] < today]
    changes: list[dict[str, Any]] = []
    if "versions" in tables:
        kinds_column = "v.kinds" if "kinds" in _columns(conn, "versions") else "null"
        for row in _rows(conn, f"""
                select a.id as article_id, coalesce(v.title, a.title) as title, a.source,
                       v.seen as at, {kinds_column} as kinds, v.version
                from versions v join articles a on a.id = v.article_id
                where v.version > 1 and a.relevant = 1 and v.seen >= ?
                order by v.seen desc""", [week]):
            changes.append({**row, "event": "edited", "kinds": _kinds(row["kinds"])})
    if "removed" in _columns(conn, "articles"):
        for row in _rows(conn, """
                select id as article_id, title, source, removed as at, removed_reason,
                       version from articles
                where relevant = 1 and removed is not null and removed >= ?""", [week]):
            changes.append({**row, "event": "removed",
                            "kinds": [row["removed_reason"] or "gone"]})
    changes.sort(key=lambda c: c["at"] or "", reverse=True)
    for change in changes:
        change["at_local"] = local_time(change["at"], zone)
    attention: list[dict[str, Any]] = []
    if "source_health" in tables:
        for row in _rows(conn, "select source, state, since, reasons from source_health "
                               "where state != 'ok' order by state = 'failing' desc, source",
                         []):
            attention.append({**row, "since_local": local_time(row["since"], zone),
                              "reasons": _reasons(row["reasons"])})
    return {"today": today_stories[:MAX_STORIES], "week": week_stories[:MAX_STORIES],
            "changes": changes[:MAX_CHANGES], "attention": attention,
            "more": {"today": max(0, len(today_stories) - MAX_STORIES),
                     "week": max(0, len(week_stories) - MAX_STORIES),
                     "changes": max(0, len(changes) - MAX_CHANGES)},
            "counts": {"today": len(today_stories), "week": len(week_stories),
                       "changes": len(changes), "attention": len(attention)},
            "today_local": now.astimezone(zone).strftime("%d %b %Y")}


def watch_list(conn: sqlite3.Connection, timezone: str = DEFAULT_TIMEZONE,
               sources: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per source (``sources``, else every source the database knows: the
    ``sources`` table, crawl runs and health), by name: ``{"source", "last_check",
    "last_check_status", "last_change", "articles", "relevant", "last_new",
    "last_updated", "health", "health_reasons", "next_check", "paused", "paused_by",
    "skipped", "last_skipped"}``, each time also as ``*_local``. ``next_check`` is the
    running daemon's schedule (its heartbeat), None without a daemon; ``skipped``: the
    crawls the daemon skipped since a paused source was paused (its heartbeat), 0 when
    not paused."""
    tables = _tables(conn)
    zone = ZoneInfo(timezone)
    names: set[str] = set(sources or ())
    if sources is None:
        for table in ("sources", "crawl_runs", "source_health"):
            if table in tables:
                column = "name" if table == "sources" else "source"
                names.update(r[0] for r in conn.execute(f"select {column} from {table}"))
    runs = {r["source"]: r for r in _rows(conn, """
        select source, coalesce(finished, started) as at, status, new, updated
        from crawl_runs where id in (select max(id) from crawl_runs group by source)""", [])
    } if "crawl_runs" in tables else {}
    counts = {r["source"]: r for r in _rows(conn, """
        select source, count(*) as articles, coalesce(sum(relevant = 1), 0) as relevant,
               max(first_seen) as last_new from articles group by source""", [])}
    edits = {r[0]: r[1] for r in conn.execute(
        "select a.source, max(v.seen) from versions v join articles a on a.id = v.article_id "
        "where v.version > 1 group by a.source")} if "versions" in tables else {}
    health = {r["source"]: r for r in _rows(
        conn, "select source, state, reasons from source_health", [])
    } if "source_health" in tables else {}
    paused = {r["source"]: r for r in _rows(
        conn, "select source, paused, paused_by from source_pauses", [])
    } if "source_pauses" in tables else {}
    next_runs: dict[str, Any] = {}
    skipped: dict[str, Any] = {}
    if "daemon" in tables:
        beat = conn.execute("select state from daemon limit 1").fetchone()
        try:
            state = json.loads(beat[0]) if beat and beat[0] else {}
        except ValueError:
            state = {}
        if state.get("status") == "running":
            next_runs = {k.removeprefix("crawl:"): v
                         for k, v in (state.get("next_runs") or {}).items()
                         if k.startswith("crawl:")}
        skipped = state.get("skipped") or {}  # the last daemon's, running or stopped
    out = []
    for name in sorted(names):
        run, count = runs.get(name, {}), counts.get(name, {})
        last_change = max((t for t in (count.get("last_new"), edits.get(name)) if t),
                          default=None)
        row = {"source": name, "last_check": run.get("at"),
               "last_check_status": run.get("status"), "last_change": last_change,
               "articles": count.get("articles", 0), "relevant": count.get("relevant", 0),
               "last_new": run.get("new"), "last_updated": run.get("updated"),
               "health": health.get(name, {}).get("state") or "unknown",
               "health_reasons": _reasons(health.get(name, {}).get("reasons")),
               "next_check": None if name in paused else next_runs.get(name),
               "paused": paused.get(name, {}).get("paused"),
               "paused_by": paused.get(name, {}).get("paused_by"),
               "skipped": 0, "last_skipped": None}
        if name in paused and isinstance(skipped.get(name), dict) and skipped[name].get(
                "since") == paused[name]["paused"]:  # skipped during this pause
            row["skipped"] = int(skipped[name].get("paused") or 0)
            row["last_skipped"] = skipped[name].get("last")
        for key in ("last_check", "last_change", "next_check", "paused", "last_skipped"):
            row[f"{key}_local"] = local_time(row[key], zone) if row[key] else None
        out.append(row)
    return out
