"""Datasette over a newswatch database: read-only, with shipped metadata, canned queries,
a diff-rendering plugin and an Atom feed (datasette-atom).

``build_datasette(db)`` returns a configured ``datasette.app.Datasette`` instance;
``serve(db, host, port)`` runs it with uvicorn. ``newswatch serve`` is a thin shell over
``serve``.
"""

from __future__ import annotations

import copy
import html
import json
import re
import sqlite3
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import yaml
from markupsafe import Markup, escape

PACKAGE_DIR = Path(__file__).resolve().parent / "datasette"
METADATA_FILE = PACKAGE_DIR / "metadata.yaml"
TEMPLATES_DIR = PACKAGE_DIR / "templates"
PLUGINS_DIR = PACKAGE_DIR / "plugins"
STATIC_DIR = PACKAGE_DIR / "static"
STATIC_MOUNT = "newswatch-static"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8001
# the database block in metadata.yaml; renamed to the served file's Datasette name
METADATA_DB_KEY = "newswatch"

# Datasette settings: these keep the instance light and queries short. (Datasette opens
# the file read-only, ``?mode=ro``; writes are refused before they reach it, see read_only.)
# Each query is cut after sql_time_limit_ms (Datasette's progress handler: the CPU one GET
# can take); custom SQL (`?sql=`, `_where=`) is off unless `newswatch serve --allow-sql`.
# A table page shows the first truncate_cells_html characters of a long cell (an article's
# text, its signature) and "…": its rows stay a few lines tall (the row page and the JSON
# have it all; the queries' text columns are rendered whole by newswatch's plugin).
SETTINGS = {"sql_time_limit_ms": 3000, "default_page_size": 50, "allow_download": False,
            "facet_time_limit_ms": 500, "default_allow_sql": False,
            "truncate_cells_html": 300}

# SQLite limits on every served connection (issue 34): no string or blob over 8 MB is
# made or read (`select zeroblob(300000000)` fails at once instead of taking 300 MB), no
# statement over 100 kB, no ATTACH.
SQLITE_LIMITS = {sqlite3.SQLITE_LIMIT_LENGTH: 8_000_000,
                 sqlite3.SQLITE_LIMIT_SQL_LENGTH: 100_000,
                 sqlite3.SQLITE_LIMIT_ATTACHED: 0}
# functions no served query may call: fts3_tokenizer hands out a pointer (and, enabled,
# would run code at an address); load_extension loads code
DENIED_FUNCTIONS = frozenset({"fts3_tokenizer", "load_extension"})
# a search (`?_search=`, the search query's `q`) of more words or characters is refused
# with 400: every word is a term of the FTS query and an alternative of the highlighter
MAX_SEARCH_WORDS = 32
MAX_SEARCH_CHARS = 500
_SEARCH_KEYS = re.compile(r"_search(_.+)?|q")
_WORDS = re.compile(r"\w+")

_TAG = re.compile(r"<[^<>]*>")
_ALLOWED = {"<ins>": "ins", "</ins>": "/ins", "<del>": "del", "</del>": "/del",
            "<br>": "br", "<br/>": "br", "<br />": "br"}


class DatabaseNotFound(FileNotFoundError):
    """The database file to serve or export does not exist."""


@cache
def _shipped_metadata() -> dict[str, Any]:
    return yaml.safe_load(METADATA_FILE.read_text(encoding="utf-8"))


def database_name(db: str | Path) -> str:
    """The name Datasette gives a database file (its stem)."""
    return Path(db).stem


def metadata_for(db: str | Path) -> dict[str, Any]:
    """The shipped metadata with its database block under ``db``'s Datasette name."""
    metadata = copy.deepcopy(_shipped_metadata())
    databases = metadata.get("databases", {})
    block = databases.pop(METADATA_DB_KEY, {})
    databases[database_name(db)] = block
    metadata["databases"] = databases
    for query in (block.get("queries") or {}).values():
        query.setdefault("hide_sql", True)  # readers see results; "Show SQL" reveals it
    return metadata


def sanitise_diff(value: str | None) -> Markup:
    """A word diff (HTML with <ins>, <del> and <br>) as safe markup.

    Only those three tags survive; any other tag is escaped and shown as text. Text is
    unescaped then escaped again, so entities are kept but nothing else gets through.
    Unclosed <ins>/<del> are closed at the end.
    """
    if not value:
        return Markup("")
    parts: list[str] = []
    open_tags: list[str] = []
    position = 0
    for match in _TAG.finditer(value):
        parts.append(str(escape(html.unescape(value[position:match.start()]))))
        tag = _ALLOWED.get(match.group(0).lower())
        if tag in ("ins", "del"):
            open_tags.append(tag)
            parts.append(f"<{tag}>")
        elif tag in ("/ins", "/del") and tag[1:] in open_tags:
            open_tags.remove(tag[1:])
            parts.append(f"<{tag}>")
        elif tag == "br":
            parts.append("<br>")
        else:
            parts.append(str(escape(match.group(0))))
        position = match.end()
    parts.append(str(escape(html.unescape(value[position:]))))
    parts.extend(f"</{tag}>" for tag in reversed(open_tags))
    return Markup("".join(parts))


def paragraphs(value: str | None) -> Markup:
    """Clean text (one paragraph per line) as escaped paragraphs."""
    if not value:
        return Markup("")
    return Markup("").join(Markup("<p>{}</p>").format(line)
                           for line in value.splitlines() if line.strip())


def check_database(db: str | Path) -> Path:
    path = Path(db)
    if not path.is_file():
        raise DatabaseNotFound(f"database not found: {path}")
    return path


def datasette_args(db: str | Path, metadata_file: str | Path, host: str = DEFAULT_HOST,
                   port: int = DEFAULT_PORT) -> list[str]:
    """The equivalent ``datasette`` command line (``metadata_file`` holds
    ``metadata_for(db)`` as JSON or YAML)."""
    args = ["datasette", "serve", str(db), "--host", host, "--port", str(port),
            "--metadata", str(metadata_file), "--template-dir", str(TEMPLATES_DIR),
            "--plugins-dir", str(PLUGINS_DIR), "--static", f"{STATIC_MOUNT}:{STATIC_DIR}"]
    for name, value in SETTINGS.items():
        args += ["--setting", name, str(value).lower() if isinstance(value, bool) else str(value)]
    return args


def _authorize(action: int, arg1: str | None, arg2: str | None, *_: Any) -> int:
    """The served connections' SQLite authorizer: no call of :data:`DENIED_FUNCTIONS`,
    no ATTACH or DETACH; everything else as SQLite and Datasette decide."""
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def limit_connection(conn: sqlite3.Connection) -> None:
    """Bound what one query on a served connection can take (:data:`SQLITE_LIMITS`,
    :func:`_authorize`); the time limit is Datasette's (``sql_time_limit_ms``). Called
    by newswatch's Datasette plugin (``prepare_connection``)."""
    for limit, value in SQLITE_LIMITS.items():
        conn.setlimit(limit, value)
    conn.set_authorizer(_authorize)


def search_refusal(query_string: bytes, path: str = "") -> str | None:
    """Why a request's search is refused, or None. Only a search in FTS5 syntax
    (``?_searchmode=raw``, the ``search_fts`` canned query) of more than
    ``MAX_SEARCH_WORDS`` words or ``MAX_SEARCH_CHARS`` characters is refused: its cost
    grows with every term. Plain text is never refused (issue 27: any string an analyst
    types answers); its reading searches the first 64 terms, each once, in one pass
    (``monitor.store.search.plain_query``), so its cost is bounded by design."""
    if b"_search" not in query_string and b"q=" not in query_string:
        return None
    pairs = parse_qsl(query_string.decode("utf-8", "replace"), keep_blank_values=True)
    raw = (any(key == "_searchmode" and value == "raw" for key, value in pairs)
           or path.rstrip("/").removesuffix(".json").endswith("/search_fts"))
    if not raw:
        return None
    for key, value in pairs:
        if key == "_searchmode" or not _SEARCH_KEYS.fullmatch(key):
            continue
        words = len(_WORDS.findall(value))
        if words > MAX_SEARCH_WORDS or len(value) > MAX_SEARCH_CHARS:
            return (f"400: a search in FTS5 syntax takes at most {MAX_SEARCH_WORDS} words "
                    f"and {MAX_SEARCH_CHARS} characters; this one has {words} words and "
                    f"{len(value)} characters (plain text takes any length)\n")
    return None


def build_datasette(db: str | Path, allow_sql: bool = False) -> Any:
    """A Datasette instance serving ``db`` with newswatch's metadata, templates, plugins
    and static files.

    The file is served as a *live* database, not immutable: Datasette opens its read
    connections with ``?mode=ro`` (never a write connection: nothing here writes), so in
    WAL mode each query is a WAL reader and sees the last transaction the daemon or a
    crawl committed. Opened immutable (``-i``), SQLite would trust the file never to
    change: stale counts and "database disk image is malformed" once it does."""
    from datasette.app import Datasette

    path = check_database(db)
    return Datasette(files=[str(path)], metadata=metadata_for(path),
                     template_dir=str(TEMPLATES_DIR), plugins_dir=str(PLUGINS_DIR),
                     static_mounts=[(STATIC_MOUNT, str(STATIC_DIR))],
                     settings={**SETTINGS, "default_allow_sql": allow_sql})


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def allowed_hosts(host: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The names a request's ``Host`` header may give (ports aside): the loopback names,
    the address served on, and ``extra`` (``newswatch serve --allow-host``)."""
    names = {*LOCAL_HOSTS, host.strip("[]").lower(), *(h.strip("[]").lower() for h in extra)}
    names.discard("0.0.0.0")
    names.discard("::")
    return frozenset(names)


def host_name(header: str) -> str:
    """``example.org:8001`` → ``example.org``; ``[::1]:8001`` → ``::1``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


async def _refuse(send: Any, status: int, text: str, extra: list[Any] | None = None) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()), *(extra or [])]})
    await send({"type": "http.response.body", "body": body})


def _scrubbing(send: Any, paths: Iterable[str]) -> Any:
    """``send`` for a response under ``/-/``: its body is held, the served file's
    absolute path and folder are replaced by the file's name (``/-/databases.json`` would
    show where the analyst keeps it), and sent with its new length."""
    forms: list[tuple[bytes, bytes]] = []
    for path in paths:
        name = Path(path).name.encode()
        for text in (path, str(Path(path).parent)):
            forms += [(text.encode(), name), (json.dumps(text)[1:-1].encode(), name)]
    forms.sort(key=lambda form: len(form[0]), reverse=True)
    start: dict[str, Any] = {}
    body: list[bytes] = []

    async def scrub(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
            return
        if message["type"] != "http.response.body":
            await send(message)
            return
        body.append(message.get("body", b""))
        if message.get("more_body"):
            return
        data = b"".join(body)
        for old, new in forms:
            data = data.replace(old, new)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        await send({**start, "headers": [*headers, (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})

    return scrub


def read_only(app: Any, hosts: frozenset[str] | None = None,
              hide: Iterable[str] = ()) -> Any:
    """An ASGI app that answers every HTTP request other than GET, HEAD and OPTIONS with
    405 before Datasette sees it: no write API, form or canned query can be reached
    (Datasette itself would answer some of them with a 500). With ``hosts``, a request
    whose ``Host`` header names another host is answered 421: a web page that rebinds
    its own name to 127.0.0.1 (DNS rebinding) cannot read the database (issue 34). A
    search in FTS5 syntax of too many words is answered 400 (:func:`search_refusal`); the files in
    ``hide`` appear by name only in the ``/-/`` pages (``/-/databases.json``)."""
    hidden = [str(path) for path in hide]

    async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and hosts is not None:
            header = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
            if host_name(header) not in hosts:
                await _refuse(send, 421, "421: newswatch serve answers only for "
                              f"{', '.join(sorted(hosts))} (see --allow-host)\n")
                return
        if scope["type"] == "http" and scope.get("method", "GET").upper() not in READ_METHODS:
            await _refuse(send, 405, "405: newswatch serve is read-only\n",
                          [(b"allow", b"GET, HEAD, OPTIONS")])
            return
        if scope["type"] == "http":
            refusal = search_refusal(scope.get("query_string") or b"", scope.get("path", ""))
            if refusal:
                await _refuse(send, 400, refusal)
                return
            if hidden and scope.get("path", "").startswith("/-/"):
                send = _scrubbing(send, hidden)
        await app(scope, receive, send)

    return guarded


def serve(db: str | Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          allow_hosts: Iterable[str] = (), allow_sql: bool = False) -> None:
    """Serve ``db`` (read-only: ``mode=ro`` connections, GET/HEAD/OPTIONS only; live: every
    query sees the last committed state) on ``host`` (127.0.0.1 unless told otherwise)
    until interrupted. Requests must name ``host``, a loopback name or one of
    ``allow_hosts`` in their ``Host`` header (421 otherwise). Custom SQL (``?sql=``) only
    with ``allow_sql``; every query bounded (:data:`SQLITE_LIMITS`, the time limit, the
    words of a search)."""
    import asyncio

    import uvicorn
    from datasette.cli import check_databases

    ds = build_datasette(db, allow_sql=allow_sql)
    asyncio.run(check_databases(ds))
    hide = [str(Path(db).resolve()), str(Path(db).absolute())]
    uvicorn.run(read_only(ds.app(), allowed_hosts(host, allow_hosts), hide), host=host,
                port=port, log_level="warning", lifespan="on")
