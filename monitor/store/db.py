"""SQLite storage through sqlite-utils: sources, articles, crawl runs, full-text search.

WAL mode so readers (Datasette, ``newswatch status``) never block the crawler. The schema
evolves by numbered migrations tracked in ``PRAGMA user_version``, never by rebuilding.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlite_utils

from monitor.sources import Source
from monitor.store.dbfile import busy_timeout
from monitor.store.owners import is_alive, process_identity

DEFAULT_DB = Path("newswatch.db")

NEW, UPDATED, UNCHANGED = "new", "updated", "unchanged"
DUPLICATE, IRRELEVANT = "duplicate", "irrelevant"
COUNTS = ("found", "new", "updated", "duplicate", "irrelevant", "unchanged", "skipped",
          "errors", "requests")

# Testing/ops knob: cap the database at this many pages (PRAGMA max_page_count, set on
# every connection a Store opens, in this process and in crawl children). A write that
# would grow the file past it fails with SQLITE_FULL, exactly as on a full disk.
MAX_PAGES_ENV = "NEWSWATCH_SQLITE_MAX_PAGES"

# WAL checkpoint policy of every writing connection (see Store.__init__, BENCHMARKS.md
# "Serving while the daemon writes"): pages between automatic PASSIVE checkpoints, and the
# size in bytes the -wal file is truncated to when it restarts.
WAL_AUTOCHECKPOINT = 1000
WAL_SIZE_LIMIT = 8 * 1024 * 1024


def now() -> str:
    """Current UTC time, ISO 8601."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _m1_initial(db: sqlite_utils.Database) -> None:
    db["sources"].create({
        "name": str, "title": str, "language": str, "domains": str, "added": str,
    }, pk="name")
    db["articles"].create({
        "id": int, "url": str, "source": str, "title": str, "author": str,
        "published": str, "language": str, "lead": str, "text": str, "content_hash": str,
        "fetched_url": str, "first_seen": str, "last_seen": str, "updated": str,
    }, pk="id", foreign_keys=[("source", "sources", "name")])
    db["articles"].create_index(["url"], unique=True)
    db["articles"].create_index(["source", "published"])
    db["articles"].create_index(["content_hash"])
    db["articles"].enable_fts(["title", "text"], create_triggers=True, tokenize="unicode61")
    db["crawl_runs"].create({
        "id": int, "source": str, "started": str, "finished": str, "status": str,
        "found": int, "new": int, "updated": int, "unchanged": int, "errors": int,
        "requests": int, "error_detail": str,
    }, pk="id")
    db["crawl_runs"].create_index(["source", "started"])


def _m2_stories_versions(db: sqlite_utils.Database) -> None:
    articles = db["articles"]
    articles.add_column("published_utc", str)
    articles.add_column("version", int)
    articles.add_column("story_id", int)
    articles.add_column("link", str)  # how it joined its story: copy, near, translation
    articles.add_column("duplicate_of", int)
    articles.add_column("topic", str)
    articles.add_column("relevance", float)
    articles.add_column("relevant", int)
    articles.add_column("reasons", str)
    articles.add_column("entities", str)
    articles.add_column("signature", bytes)
    articles.create_index(["story_id"])
    articles.create_index(["language", "published_utc"])
    db["versions"].create({
        "id": int, "article_id": int, "version": int, "content_hash": str, "title": str,
        "text": str, "diff": str, "word_diff": str, "seen": str,
    }, pk="id", foreign_keys=[("article_id", "articles", "id")])
    db["versions"].create_index(["article_id", "version"], unique=True)
    db["stories"].create({
        "id": int, "title": str, "first_seen": str, "updated": str, "articles": int,
        "languages": str, "relevant": int, "relevance": float,
    }, pk="id")
    db["lsh_bands"].create({"key": int, "article_id": int})
    db["lsh_bands"].create_index(["key"])
    db["lsh_bands"].create_index(["article_id"])
    for column in ("duplicate", "irrelevant"):
        db["crawl_runs"].add_column(column, int)


def _m3_event_keys(db: sqlite_utils.Database) -> None:
    # names, dates and numbers of each article: finds other-language editions by index
    db["event_keys"].create({"key": str, "article_id": int, "language": str,
                             "published_utc": str})
    db["event_keys"].create_index(["key", "published_utc"])
    db["event_keys"].create_index(["article_id"])


def _m4_outbox_fetches_daemon(db: sqlite_utils.Database) -> None:
    # the alert outbox: one row per (article event, rule, channel), written with the article
    db["alerts"].create({
        "id": int, "key": str, "article_id": int, "story_id": int, "version": int,
        "kind": str, "rule": str, "channel": str, "status": str, "attempts": int,
        "next_attempt": str, "last_error": str, "created": str, "sent": str,
    }, pk="id")
    db["alerts"].create_index(["key"], unique=True)  # the idempotency key
    db["alerts"].create_index(["status", "next_attempt"])
    # what makes re-crawls cheap: validators and when each URL was last fetched
    db["fetches"].create({
        "url": str, "etag": str, "last_modified": str, "status": int, "fetched": str,
        "changed": str,
    }, pk="url")
    # the daemon's heartbeat and schedule, read by `newswatch status`
    db["daemon"].create({"name": str, "pid": int, "started": str, "beat": str,
                         "state": str}, pk="name")
    db["crawl_runs"].add_column("skipped", int)


def _m5_folded_search(db: sqlite_utils.Database) -> None:
    # search as analysts type it (đ = d, no diacritics, NFC/NFD alike): the articles_fts
    # index is rebuilt in place, folded (monitor.store.search); same name, same rowids
    from monitor.store.search import install

    install(db.conn)


def _m6_edit_kinds_removals(db: sqlite_utils.Database) -> None:
    # issue 13: each version's edit kinds and changed sentences (JSON); removed articles.
    # Additive and idempotent (safe in any order with other branches' migrations).
    def add(table: str, column: str, kind: type) -> None:
        if column not in db[table].columns_dict:
            db[table].add_column(column, kind)

    add("versions", "kinds", str)  # JSON list, e.g. ["numbers", "quote"]; [] for version 1
    add("versions", "changes", str)  # JSON [{"op": "-"|"+", "text": sentence}], in order
    add("articles", "removed", str)  # when the article was found gone (UTC), else null
    add("articles", "removed_reason", str)  # "HTTP 404", "removal notice", "redirected ..."
    add("articles", "gone_checks", int)  # consecutive re-checks that found it gone


def _m7_source_health(db: sqlite_utils.Database) -> None:
    # source health (monitor.sources.health): each run's signals and verdict, each source's state
    db["health_runs"].create({
        "run_id": int, "source": str, "at": str, "status": str, "state": str,
        "signals": str, "reasons": str,
    }, pk="run_id")
    db["health_runs"].create_index(["source", "run_id"])
    db["source_health"].create({
        "source": str, "state": str, "since": str, "reasons": str, "checks": str,
        "updated": str, "last_run": int,
    }, pk="source")
    # health alerts go through the same outbox: no article, a source and a message
    db["alerts"].add_column("source", str)
    db["alerts"].add_column("message", str)
    # one row per source for Datasette: state, reasons and the last run's key signals
    db.create_view("health", """
        select h.source, h.state, h.since, h.reasons, h.updated, h.last_run,
               json_extract(r.signals, '$.requests') as requests,
               json_extract(r.signals, '$.pages') as pages,
               json_extract(r.signals, '$.extracted') as extracted,
               json_extract(r.signals, '$.body_miss') as body_miss,
               json_extract(r.signals, '$.no_date') as no_date,
               json_extract(r.signals, '$.unmatched') as unmatched,
               json_extract(r.signals, '$.unreadable') as unreadable,
               json_extract(r.signals, '$.fail') as failed_by_kind
        from source_health h left join health_runs r on r.run_id = h.last_run
        order by h.state != 'ok' desc, h.source""")


def _m8_backfill(db: sqlite_utils.Database) -> None:
    # issue 17: a backfill's cursor (monitor.run.backfill), so that a stopped one resumes.
    # Additive and idempotent (safe in any order with other branches' migrations).
    script = """
        create table if not exists backfills (
            source text primary key, state text, since text, started text, updated text,
            finished text, sessions integer default 0);
        create table if not exists backfill_sitemaps (
            id integer primary key, source text not null, url text not null,
            sortkey text, state text not null default 'pending', entries integer,
            read text, error text);
        create unique index if not exists backfill_sitemaps_url
            on backfill_sitemaps (source, url);
        create table if not exists backfill_urls (
            id integer primary key, source text not null, url text not null,
            sitemap_id integer, published text, title text, language text,
            state text not null default 'pending', reason text);
        create unique index if not exists backfill_urls_url on backfill_urls (source, url);
        create index if not exists backfill_urls_order on backfill_urls (source, id)"""
    for statement in script.split(";"):  # one by one: executescript would commit first
        db.execute(statement)


def _m9_run_owners(db: sqlite_utils.Database) -> None:
    # who opened each crawl run (monitor.store.owners.process_identity): a run left "running"
    # by a process that is gone (kill -9) is closed by the next crawl or daemon start.
    # Additive and idempotent (safe in any order with other branches' migrations).
    for column, kind in (("owner_pid", int), ("owner_start", str)):
        if column not in db["crawl_runs"].columns_dict:
            db["crawl_runs"].add_column(column, kind)


def _m10_run_ledger(db: sqlite_utils.Database) -> None:
    # each crawl run's ledger (crawler.ledger): every discovered link and article request
    # under a named outcome, JSON. Additive and idempotent.
    if "ledger" not in db["crawl_runs"].columns_dict:
        db["crawl_runs"].add_column("ledger", str)


def _m11_recheck_schedule(db: sqlite_utils.Database) -> None:
    # issue 29: each article's re-check schedule (monitor.changes.recheck: its Clock), and
    # the index a crawl's "which articles are due" query reads. Additive and idempotent
    # (safe in any order with other branches' migrations).
    for column, kind in (("check_next", str), ("check_last", str), ("check_count", int),
                         ("check_changes", int), ("check_origin", str),
                         ("check_exposure", float), ("check_hint", str)):
        if column not in db["articles"].columns_dict:
            db["articles"].add_column(column, kind)
    db.execute("create index if not exists articles_check_next "
               "on articles (source, check_next)")
    # articles stored before: watched since they were last seen, their age counted from
    # their publication, due at once (a crawl takes the most valuable first, within the
    # source's budget: the backlog is worked off over the first hours)
    db.execute("update articles set check_last = coalesce(last_seen, first_seen), "
               "check_next = coalesce(last_seen, first_seen), check_count = 0, "
               "check_changes = 0, check_exposure = 0 where check_next is null")


def _m12_control_requests(db: sqlite_utils.Database) -> None:
    # issue 29: requests from commands to the running daemon (`newswatch check SOURCE`;
    # monitor.store.control). Additive and idempotent (safe in any order with other
    # branches' migrations: it may run again after an _m11 merged before it).
    db.execute("""create table if not exists control_requests (
        id integer primary key, kind text not null, source text not null,
        requested text not null, requester integer, state text not null default 'pending',
        taken text, daemon integer, note text, run_id integer, finished text)""")
    db.execute("create index if not exists control_requests_state "
               "on control_requests (state, id)")


def _m13_labels_pauses(db: sqlite_utils.Database) -> None:
    # issue 30: an analyst's label overrides the judge everywhere `relevant` is read
    # (exports, feeds, pages, alerts): articles.relevant is the verdict in force,
    # judged_relevant the judge's own; label, label_by and labelled the latest label.
    # Paused sources (`newswatch sources pause NAME`): the daemon does not crawl them.
    # Additive and idempotent (safe in any order with other branches' migrations).
    columns = db["articles"].columns_dict
    for column, kind in (("judged_relevant", int), ("label", str), ("label_by", str),
                         ("labelled", str)):
        if column not in columns:
            db["articles"].add_column(column, kind)
    db.execute("update articles set judged_relevant = relevant where judged_relevant is null")
    db.execute("""create table if not exists relevance_labels (
        id integer primary key, article_id integer, label text, relevant integer,
        labelled text, analyst text, note text, judged_relevant integer,
        judged_score float)""")
    db.execute("create index if not exists idx_relevance_labels_article "
               "on relevance_labels (article_id, id)")
    db.execute("""update articles set
        label = (select l.label from relevance_labels l where l.article_id = articles.id
                 order by l.id desc limit 1),
        label_by = (select l.analyst from relevance_labels l
                    where l.article_id = articles.id order by l.id desc limit 1),
        labelled = (select l.labelled from relevance_labels l
                    where l.article_id = articles.id order by l.id desc limit 1),
        relevant = (select l.relevant from relevance_labels l
                    where l.article_id = articles.id order by l.id desc limit 1)
        where id in (select article_id from relevance_labels)""")
    db.execute("""create table if not exists source_pauses (
        source text primary key, paused text not null, paused_by text, note text)""")


def _m14_findable_search(db: sqlite_utils.Database) -> None:
    # issue 30: `sqlite-utils search DB articles ...` said "not configured for full-text
    # search" since the index reads a view: the index is re-created with content="articles"
    # in its SQL (monitor.store.search.FINDABLE), once; idempotent
    from monitor.store.search import findable, install

    if not findable(db.conn):
        install(db.conn)


def _m15_fleet_inbox(db: sqlite_utils.Database) -> None:
    # issue 32: the article stream's entries this database has stored (monitor.fleet.intake):
    # one row per Redis Stream entry, written in the transaction that stores the entry's
    # articles or run, so an entry read again after a crash is recognised and skipped.
    # ``message`` is the sender's id for the entry (an XADD retried after a lost reply
    # makes a second entry with the same message). Additive and idempotent (safe in any
    # order with other branches' migrations).
    db.execute("""create table if not exists fleet_inbox (
        stream_id text primary key, message text not null, stream text not null,
        consumer text not null, received text not null, kind text, source text,
        worker text, job text, articles integer, outcome text not null)""")
    db.execute("create unique index if not exists fleet_inbox_message "
               "on fleet_inbox (message)")
    # what the writer knows of the Redis it reads: the fleet's epoch token (a Redis that
    # lost its data has another or none), the last entry id it reported lost
    db.execute("create table if not exists fleet_state (key text primary key, value text)")


# Append only: a released migration is never edited.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _m1_initial, _m2_stories_versions, _m3_event_keys, _m4_outbox_fetches_daemon,
    _m5_folded_search, _m6_edit_kinds_removals, _m7_source_health, _m8_backfill,
    _m9_run_owners, _m10_run_ledger, _m11_recheck_schedule,
    _m12_control_requests,  # issue 29: requests to the running daemon (newswatch check)
    _m13_labels_pauses,  # issue 30: labels in force, paused sources
    _m14_findable_search,  # issue 30: the folded index findable by sqlite-utils, Datasette
    _m15_fleet_inbox]  # issue 32: the Redis Stream entries stored (monitor.fleet.intake)


@contextmanager
def _setup_lock(path: Path) -> Iterator[None]:
    """Hold ``<db>.setup-lock`` (flock) while one process switches a database to WAL and
    migrates it: without it, processes opening a new database at once (the daemon, a crawl,
    ``status``) ran the same migration twice or got "database is locked"."""
    with open(path.with_name(path.name + ".setup-lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _statement_by_statement(conn: sqlite3.Connection) -> Any:
    """An ``executescript`` that runs a script's statements one by one in the open
    transaction (sqlite3's own commits any transaction first)."""

    def run(sql: str) -> sqlite3.Cursor:
        cursor = conn.cursor()
        statement = ""
        for line in sql.splitlines(keepends=True):
            statement += line
            if sqlite3.complete_statement(statement):
                cursor.execute(statement)
                statement = ""
        if statement.strip():
            cursor.execute(statement)
        return cursor

    return run


# the status of a run whose crawl process ended without closing it
ORPHANED = "aborted: its crawl process ended without closing the run (killed?)"


class Store:
    """The newswatch database."""

    def __init__(self, path: str | Path = DEFAULT_DB, max_pages: int | None = None) -> None:
        """Open (and migrate) the database. ``max_pages`` caps its size in pages (default:
        ``$NEWSWATCH_SQLITE_MAX_PAGES``, else no cap)."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite_utils.Database(self.path)
        self.db.execute(f"PRAGMA busy_timeout = {int(busy_timeout() * 1000)}")
        if not self._ready():  # a new or older database: one process sets it up
            with _setup_lock(self.path):
                self.db.enable_wal()
                self.migrate()
        self.db.execute("PRAGMA synchronous = NORMAL")
        # checkpoint policy (readers such as `newswatch serve` open all day): SQLite's
        # automatic PASSIVE checkpoint every WAL_AUTOCHECKPOINT pages never waits for a
        # reader; once a checkpoint is complete the next write restarts the WAL, and the
        # file is cut back to WAL_SIZE_LIMIT bytes then, so a burst does not leave it big
        self.db.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT}")
        self.db.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        if max_pages is None and os.environ.get(MAX_PAGES_ENV):
            max_pages = int(os.environ[MAX_PAGES_ENV])
        if max_pages:
            self.db.execute(f"PRAGMA max_page_count = {int(max_pages)}")

    def _ready(self) -> bool:
        """Whether the database is in WAL mode with every migration applied."""
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        mode = self.db.execute("PRAGMA journal_mode").fetchone()[0]
        return version == len(MIGRATIONS) and mode == "wal"

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def migrate(self) -> int:
        """Apply pending migrations; returns the schema version.

        Each migration and its ``user_version`` are one transaction (``BEGIN IMMEDIATE``
        .. ``COMMIT``; SQLite's DDL is transactional): a process killed in the middle of
        one (a crawl's time limit, under load, while it set up a new database) leaves the
        schema as it was, and the next opener runs the migration again from its start.
        Before, Python's sqlite3 committed each DDL statement on its own (and sqlite-utils'
        ``enable_fts`` runs ``executescript``, which commits first): the next opener found
        half a migration and failed with 'table "sources" already exists'."""
        conn = self.db.conn
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        isolation = conn.isolation_level
        conn.isolation_level = None  # no implicit BEGIN/COMMIT: the transaction is ours
        self.db.executescript = _statement_by_statement(conn)  # type: ignore[method-assign]
        try:
            for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
                conn.execute("BEGIN IMMEDIATE")
                try:
                    migration(self.db)
                    conn.execute(f"PRAGMA user_version = {number}")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        finally:
            del self.db.executescript
            conn.isolation_level = isolation
        return len(MIGRATIONS)

    # -- sources -------------------------------------------------------------------------
    def upsert_sources(self, sources: Iterable[Source]) -> None:
        """Record the configured sources (name, title, language, domains)."""
        with self.db.conn:
            for source in sources:
                existing = self._get("sources", "name", source.name)
                self.db["sources"].upsert({
                    "name": source.name, "title": source.title, "language": source.language,
                    "domains": json.dumps(source.domains),
                    "added": existing["added"] if existing else now(),
                }, pk="name")

    # -- articles ------------------------------------------------------------------------
    def article(self, url: str) -> dict[str, Any] | None:
        """The stored article at a canonical URL."""
        return self._get("articles", "url", url)

    def articles(self, source: str | None = None) -> list[dict[str, Any]]:
        """All stored articles, optionally of one source."""
        where = "source = ?" if source else None
        return list(self.db["articles"].rows_where(where, [source] if source else None,
                                                   order_by="id"))

    def search(self, query: str, limit: int = 20, fts: bool = False) -> list[dict[str, Any]]:
        """Full-text search over title and text, best match first, folded as analysts
        type (``monitor.store.search``: no diacritics needed, đ = d): article rows plus
        ``title_marked`` and ``snippet`` with the matches marked. ``query`` is plain text
        (any string: results or none); ``fts=True`` reads it as FTS5 syntax and raises
        ``monitor.store.search.QuerySyntaxError`` if FTS5 cannot parse it."""
        from monitor.store.search import search

        return search(self.db.conn, query, limit=limit, fts=fts)

    # -- crawl runs ----------------------------------------------------------------------
    def start_run(self, source: str) -> int:
        """Open a crawl-run record, owned by this process (``monitor.store.owners``)."""
        owner_pid, owner_start = process_identity()
        with self.db.conn:
            table = self.db["crawl_runs"].insert({
                "source": source, "started": now(), "status": "running",
                **dict.fromkeys(COUNTS, 0),
                "owner_pid": owner_pid, "owner_start": owner_start,
            })
        return int(table.last_pk)

    def reap_orphaned_runs(self, status: str = ORPHANED) -> list[int]:
        """Close the ``running`` crawl runs (of any source) whose owner process is gone:
        killed with ``kill -9``, by the OOM killer, a power cut. They end with ``status``
        (default ``ORPHANED``). A run whose owner still runs is never touched (another
        crawl or the daemon's crawl, now); a run with no owner recorded (opened before
        owners were recorded) counts as orphaned. Returns the ids closed."""
        rows = self.db.execute("select id, owner_pid, owner_start from crawl_runs "
                               "where status = 'running'").fetchall()
        gone = [run_id for run_id, pid, start in rows if not is_alive(pid, start)]
        if gone:
            stamp = now()
            with self.db.conn:
                self.db.conn.executemany(
                    "update crawl_runs set status = ?, finished = ? "
                    "where id = ? and status = 'running'",
                    [(status, stamp, run_id) for run_id in gone])
        return gone

    def finish_run(self, run_id: int, status: str, counts: dict[str, int],
                   error_detail: list[str] | None = None,
                   ledger: dict[str, Any] | None = None) -> None:
        """Close a crawl-run record with its counts, and its ledger (``crawler.ledger``:
        ``{"discovered", "issued", ..., "links": {outcome: n}, "pages": {outcome: n}}``,
        stored as JSON in ``crawl_runs.ledger``)."""
        fields = {k: int(counts.get(k, 0)) for k in COUNTS}
        extra = {"ledger": json.dumps(ledger, sort_keys=True)} if ledger is not None else {}
        with self.db.conn:
            self.db["crawl_runs"].update(run_id, {
                **fields, **extra, "status": status, "finished": now(),
                "error_detail": "\n".join(error_detail[:50]) if error_detail else None,
            })

    def abort_running(self, sources: Iterable[str], status: str,
                      error: str | None = None, owner: int | None = None) -> int:
        """Mark open ("running") crawl runs of ``sources`` as ended with ``status``; with
        ``error``, also count it and add it as an error line. With ``owner`` (a pid),
        only the runs that process opened: another crawl of the same source, still
        running, keeps its run."""
        names = list(sources)
        marks = ",".join("?" * len(names))
        extra, params = "", [status, now()]
        if error:
            extra = (", errors = coalesce(errors, 0) + 1, error_detail = "
                     "coalesce(error_detail || char(10), '') || ?")
            params.append(error)
        mine = "" if owner is None else " and owner_pid = ?"
        with self.db.conn:
            cursor = self.db.execute(
                f"update crawl_runs set status = ?, finished = ?{extra} "
                f"where status = 'running' and source in ({marks}){mine}",
                [*params, *names, *([] if owner is None else [owner])])
        return cursor.rowcount

    def runs(self, ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
        """Crawl runs, newest last (only ``ids`` when given)."""
        if ids is None:
            return list(self.db["crawl_runs"].rows_where(order_by="id"))
        wanted = list(ids)
        marks = ",".join("?" * len(wanted))
        return list(self.db["crawl_runs"].rows_where(f"id in ({marks})", wanted, order_by="id"))

    def _get(self, table: str, column: str, value: Any) -> dict[str, Any] | None:
        rows = list(self.db[table].rows_where(f"{column} = ?", [value], limit=1))
        return rows[0] if rows else None

    # -- incremental crawling ------------------------------------------------------------
    def fetches_for(self, domains: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The fetch log of URLs on ``domains`` (and their subdomains), by URL; one query."""
        hosts = [d.lower().strip(".") for d in domains if d]
        if not hosts:
            return {}
        like = " or ".join(["url like ? or url like ?"] * len(hosts))
        params = [p for h in hosts for p in (f"http%://{h}%", f"http%://%.{h}%")]
        rows = self.db.execute(
            "select url, etag, last_modified, status, fetched, changed from fetches "
            f"where {like}", params).fetchall()
        columns = ("url", "etag", "last_modified", "status", "fetched", "changed")
        out = {}
        for row in rows:  # LIKE also matches 127.0.0.110 for 127.0.0.11: check the host
            host = (urlsplit(row[0]).hostname or "").lower()
            if any(host == h or host.endswith("." + h) for h in hosts):
                out[row[0]] = dict(zip(columns, row, strict=True))
        return out

    def save_fetches(self, rows: Iterable[dict[str, Any]]) -> int:
        """Upsert fetch-log rows in one transaction; returns how many."""
        rows = list(rows)
        if rows:
            with self.db.conn:
                self.db.conn.executemany(
                    "insert or replace into fetches (url, etag, last_modified, status, "
                    "fetched, changed) values (:url, :etag, :last_modified, :status, "
                    ":fetched, :changed)", rows)
        return len(rows)
