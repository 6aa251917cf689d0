"""Search accepts any string an analyst types (field case17 and its kind): ``U.S.``,
``Vietnam-US``, ``Vietnam's``, ``Việt - Mỹ``, a lone dash, an unclosed quote, and every
other string, are words and phrases, never FTS5 syntax: results or none, never an error,
in the three places a person types search text: ``newswatch search`` (through the
command's own ``main``), the ``search`` canned query and Datasette's table search
(``?_search=``, with Datasette's in-process client), over one database made by the
project's Store. FTS5 syntax only when asked (``--fts``, ``?_searchmode=raw``, the
``search_fts`` query), and then a syntax error is one line (exit 2; HTTP 400).

More reported kinds of the search stage, each a test below (kind | report | test):

- empty or blank search text (``fts5: syntax error near ""``): dogsheep/dogsheep-beta#33,
  simonw/datasette.io#89 | ``test_empty_and_blank_search_text``
- symbols outside FTS5's barewords (``@nasa``, ``a=b``, ``grammar::fa``,
  ``Downloads/transcripts``, ``50%``): calebevans/mulder#152, dbohdan/tinyfts#2,
  stephencelis/SQLite.swift#855, spences10/ccrecall#23 | ``test_symbols_outside_barewords``
- a leading hyphen read as FTS5's (non-existent) NOT shorthand, ``-band`` → "no such
  column" (and, on a command line, as an option): higebu/3gpp-mcp#47 |
  ``test_leading_hyphen``
- operator words: lowercase ``and`` with an apostrophe finding nothing
  (emdash-cms/emdash#3193), a bare ``AND*`` (BYK/loreai#810), capital ``NOT`` with
  punctuation (chandra447/pi-hermes-memory#122) | ``test_operator_words``
- typographic quotes from a phone's keyboard, “phrase” and ’ (MLTSHP/mltshp#551,
  DestinyItemManager/DIM#3909, bluesky-social/social-app#8865,
  spacepandas/cineaste-ios#102) | ``test_typographic_quotes``
- numbers with dots and commas, ``20.04``, ``38.101`` (mitre/cis-bench#12,
  higebu/3gpp-mcp#43) and hyphenated words silently finding nothing
  (pvliesdonk/markdown-vault-mcp#866) | ``test_numbers_and_hyphenated_words``
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from monitor.browse.serve import build_datasette
from monitor.changes import Ingestor
from monitor.cli import main
from monitor.extract import extract
from monitor.store import Store
from monitor.store.search import (
    _SEPARATOR,
    TOKENIZE,
    QuerySyntaxError,
    fts_query,
    plain_query,
)

REPO = Path(__file__).resolve().parents[1]
CASE = REPO / "tests" / "data" / "fieldcases" / "case17_fts-query-punctuation"
NAME = "anything"  # the database file's stem: Datasette's name for it

# more articles, for the inputs of the same kind written here
EXTRA = {
    "x": ("Hanoi's clean-energy push: questions for the ministry", "en", "\n".join([
        "The clean-energy projects will be reviewed at the 2024 Vietnam–US forum in Hanoi.",
        "Readers tagging @nasa and #VietnamUS asked whether the 50% tariff cut was real.",
        "The report is filed under Downloads/transcripts and C:\\reports on its server.",
        "Version 20.04 of the guidelines, citing spec 38.101, sets a=b pricing for "
        "grammar::fa contracts.",
        "Vietnam's and America's negotiators met the Minister of Industry and Trade.",
    ])),
}


def case_queries() -> list[tuple[str, str, str]]:
    """queries.tsv: (query as typed, the article it must find, what is in it)."""
    lines = (CASE / "queries.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# query")
    return [tuple(line.split("\t")) for line in lines[1:] if line.strip()]  # type: ignore


# --- one database, one Datasette, one event loop for the whole file ---------------------


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, str]]:
    """case17's two pages extracted and stored as a crawl stores them (extract, then the
    Ingestor), the articles of EXTRA beside them; {id: "en" | "vi" | key}."""
    path = tmp_path_factory.mktemp("anything") / f"{NAME}.db"
    store = Store(path)
    try:
        batch = []
        for language in ("en", "vi"):
            html = (CASE / f"article_{language}.html").read_text(encoding="utf-8").replace(
                "{{PUBLISHED}}", "2024-03-25T09:00:00+07:00")
            page = extract(html, f"https://case17.example/{language}/a-1.html")
            assert page is not None
            batch.append((page.as_dict(), page.url))
        Ingestor(store).ingest("case17", batch)
        with store.db.conn:
            for n, (key, (title, language, text)) in enumerate(EXTRA.items(), 100):
                store.db["articles"].insert({
                    "id": n, "url": f"https://kinds.example/{key}", "source": "kinds",
                    "title": title, "language": language, "text": text,
                    "published_utc": "2024-03-26T00:00:00+00:00"})
        keys = {row["id"]: row["language"] if row["source"] == "case17" else
                row["url"].rsplit("/", 1)[1] for row in store.articles()}
    finally:
        store.close()
    assert sorted(keys.values()) == ["en", "vi", "x"]
    return path, keys


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    running = asyncio.new_event_loop()
    yield running
    running.close()


@pytest.fixture(scope="module")
def ds(db: tuple[Path, dict[int, str]]):  # noqa: ANN201 - datasette.app.Datasette
    return build_datasette(db[0])


class Paths:
    """The three places a person types search text, over one database."""

    def __init__(self, db: tuple[Path, dict[int, str]], ds, loop) -> None:  # noqa: ANN001
        self.path, self.keys = db
        self.ds, self.loop = ds, loop
        self.runner = CliRunner()

    def _get(self, url: str, params: dict[str, str]):  # noqa: ANN202
        return self.loop.run_until_complete(self.ds.client.get(url, params=params))

    def cli(self, *args: str) -> tuple[int, str, str]:
        """``newswatch search --db DB ARGS`` through ``main``, as the console script."""
        result = self.runner.invoke(main, ["search", "--db", str(self.path), *args])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    def cli_found(self, query: str, *flags: str) -> set[str]:
        code, out, err = self.cli("--json", *flags, "--", query)
        assert code == 0, (query, code, err)
        assert "Traceback" not in err and "error" not in err, (query, err)
        return {self.keys[json.loads(line)["id"]] for line in out.splitlines()}

    def canned(self, query: str, name: str = "search") -> tuple[int, set[str] | str]:
        response = self._get(f"/{NAME}/{name}.json", {"q": query, "_shape": "array"})
        if response.status_code != 200:
            return response.status_code, response.json().get("error", "")
        return 200, {self.keys[row["id"]] for row in response.json()}

    def table(self, query: str, **params: str) -> tuple[int, set[str] | str]:
        response = self._get(f"/{NAME}/articles.json",
                             {"_search": query, "_shape": "array", **params})
        if response.status_code != 200:
            return response.status_code, response.json().get("error", "")
        return 200, {self.keys[row["id"]] for row in response.json()}

    def library(self, query: str, fts: bool = False) -> set[str]:
        store = Store(self.path)
        try:
            return {self.keys[row["id"]] for row in store.search(query, limit=100, fts=fts)}
        finally:
            store.close()

    def everywhere(self, query: str) -> set[str]:
        """What ``query`` finds, the same in the library, the command, the canned query
        and the table search (each answering without an error)."""
        found = self.library(query)
        assert self.cli_found(query) == found, query
        assert self.canned(query) == (200, found), query
        assert self.table(query) == (200, found), query
        return found


@pytest.fixture(scope="module")
def paths(db, ds, loop) -> Paths:  # noqa: ANN001
    return Paths(db, ds, loop)


# --- case17 --------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "article", "what"), case_queries(),
                         ids=[row[0] for row in case_queries()])
def test_case17_every_query_finds_its_article(paths: Paths, query: str, article: str,
                                              what: str) -> None:
    # found, and not the other page of the case (EXTRA may share the words)
    assert paths.everywhere(query) & {"en", "vi"} == {article}, what


def test_case17_the_table_page_as_a_browser_asks_for_it(paths: Paths) -> None:
    """The HTML page of the table search (facets, counts, the box): 200, the box shows
    what was typed, the match marked in the original text, the next searches keep it."""
    for query, article, _ in case_queries():
        response = paths._get(f"/{NAME}/articles", {"_search": query})
        assert response.status_code == 200, (query, response.text[:300])
        page = response.text
        assert "<mark>" in page, query
        assert f'value="{escape(query)}"' in page, query  # the box: as typed
        assert f"case17.example/{article}/" in page
    page = paths._get(f"/{NAME}/articles", {"_search": "Việt - Mỹ"}).text
    assert "<mark>Việt - Mỹ</mark>" in page  # the pair, as the headline prints it
    page = paths._get(f"/{NAME}/search", {"q": "U.S."}).text
    assert "<mark>U.S</mark>" in page


def test_case17_through_the_console_script(db: tuple[Path, dict[int, str]]) -> None:
    """The real entry (``python -m monitor.cli`` runs the console script's ``main``).
    (The one-line error of ``--fts`` from the real entry: tests/test_cli_errors.py.)"""
    path, keys = db
    done = subprocess.run([sys.executable, "-m", "monitor.cli", "search", "--db", str(path),
                           "--json", "Việt - Mỹ"], capture_output=True, text=True, cwd=REPO,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert [keys[json.loads(line)["id"]] for line in done.stdout.splitlines()] == ["vi"]


def test_the_promised_syntax_keeps_working(paths: Paths) -> None:
    """What the docs promise (``"phrase"``, ``OR``, ``NOT``, ``prefix*``, ``NEAR``) in the
    plain reading, everywhere."""
    assert paths.everywhere('dialogue OR "Bùi Thanh Sơn"') == {"en", "vi"}
    assert paths.everywhere('"Bui Thanh Son"') == {"vi"}
    assert paths.everywhere('"Son Thanh Bui"') == set()  # a phrase stays a phrase
    assert paths.everywhere("Son Thanh Bui") == {"vi"}  # words, any order
    assert paths.everywhere("semicon*") == {"en"}
    assert paths.everywhere("Hanoi NOT Washington") == {"x"}
    assert paths.everywhere("NEAR(Bùi Sơn, 3)") == {"vi"}
    assert paths.everywhere("NEAR(Bùi hải quan, 3)") == set()
    assert paths.everywhere("dialogue AND Hanoi") == {"en"}
    assert paths.everywhere("đối thoại") == {"vi"}  # folding as before: đ = d, no marks
    assert paths.everywhere("doi thoai") == {"vi"}
    assert paths.everywhere(unicodedata.normalize("NFD", "Đối thoại")) == {"vi"}


# --- inputs of the kind --------------------------------------------------------------------

ANY = None  # answers without an error; which articles does not matter here
KINDS: list[tuple[str, set[str] | None]] = [
    # abbreviations with dots
    ("U.S.", {"en"}), ("u.s.", {"en"}), ("U.S", {"en"}), ("US", {"en", "x"}),
    ("U.S.-Vietnam", {"en"}), ("(U.S.)", {"en"}), ("U.S.\x00", {"en"}), ("e.g.", set()),
    # hyphenated pairs and dashes
    ("Vietnam-US", {"en", "x"}), ("Vietnam–US", {"en", "x"}), ("Việt-Mỹ", {"vi"}),
    ("Việt–Mỹ", {"vi"}), ("Việt — Mỹ", {"vi"}), ('"Việt - Mỹ"', {"vi"}), ("-", set()),
    ("--", set()), ("—", set()), ("Việt -", {"vi"}), ("- Mỹ", {"vi"}), ("a - - b", {"x"}),
    # apostrophes and quotes
    ("Vietnam's", {"en", "x"}), ("Vietnam's Minister", {"en", "x"}),
    ('"Vietnam\'s Minister"', {"en"}), ("'", set()),
    ("'Bui Thanh Son'", {"vi"}), ('"', set()), ('""', set()), ('"""', set()),
    ('"Bui Thanh', {"vi"}), ('Bui Thanh"', {"vi"}), ('Bui "Thanh Son', {"vi"}),
    # *, :, ^, +, parentheses, column filters that are text here
    ("*", set()), ("**", set()), ("*conductors", set()), ("semi*conductors", set()),
    (":", set()), ("title:foo", set()), ("text:Hanoi", set()), ("title:dialogue", set()),
    ("{title text}: Hanoi", set()), ("-title:foo", set()), ("^Hanoi", {"en", "x"}),
    ("+Hanoi", {"en", "x"}), ("(", set()), (")", set()), ("()", set()),
    ("(Hanoi", {"en", "x"}), ("Hanoi)", {"en", "x"}), ("(theo Bộ Ngoại giao)", {"vi"}),
    # NEAR that is not a NEAR group
    ("NEAR", set()), ("NEAR(", set()), ("NEAR(Hanoi", set()), ("NEAR()", set()),
    ("NEAR(Hanoi dialogue, 99999999999)", {"en"}), ("NEAR(Hanoi dialogue, -1)", set()),
    ("NEAR(Hanoi dialogue, " + "9" * 5000 + ")", {"en"}),  # int() reads 4,300 digits
    ("NEAR/3", set()),
    # AND/OR/NOT as words
    ("AND", {"en", "x"}), ("OR", set()), ("NOT", set()), ("trade AND", {"en", "x"}),
    ("OR dialogue", set()), ("NOT dialogue", set()), ("dialogue OR", set()),
    ("dialogue OR OR Washington", set()), ("AND AND", {"en", "x"}),
    # Vietnamese with punctuation
    ("Hà Nội,", {"vi"}), ("Đối tác Chiến lược Toàn diện,", {"vi"}), ("Mỹ?", {"vi"}),
    ("Mỹ!", {"vi"}), ("ưu tiên;", {"vi"}), ("1,5 tỷ", {"vi"}), ("25/3", {"vi"}),
    ("Việt…Mỹ", {"vi"}), ("Viet\x1fNam", {"vi"}),
    # emoji, control characters, invisible characters
    ("🇻🇳🇺🇸", ANY), ("Việt 🇻🇳", ANY), ("😀", ANY), ("\x00", set()),
    ("\x01\x02\x1b[0m", ANY), ("Hanoi\u200b", {"en", "x"}), ("\ufeffHanoi", {"en", "x"}),
    # SQL-looking text
    ("' OR 1=1 --", set()), ("Robert'); DROP TABLE articles;--", set()),
    # very long (as long as a URL's query may be: httpx's limit is 64 KiB; longer ones
    # go through the command and the library in test_very_long_text)
    ("U.S. " * 3000, {"en"}), ("Hanoi " * 5000, {"en", "x"}),
    ('"' + "Việt - Mỹ " * 800, set()), ("(" * 5000 + "Hanoi" + ")" * 5000, {"en", "x"}),
    ("NOT " * 3000, set()), ("a OR " * 3000 + "Hanoi", ANY),
    (" ".join(f"w{n}" for n in range(2000)) + " Hanoi", set()),  # Hanoi is word 2,001
]


@pytest.mark.parametrize(("query", "expected"), KINDS, ids=[repr(q[:40]) for q, _ in KINDS])
def test_inputs_of_the_kind(paths: Paths, query: str, expected: set[str] | None) -> None:
    found = paths.everywhere(query)
    if expected is not None:
        assert found == expected


def test_empty_and_blank_search_text(paths: Paths) -> None:
    """dogsheep/dogsheep-beta#33, simonw/datasette.io#89: an empty or blank query was
    ``fts5: syntax error near ""`` (a 500). Here: nothing found in the command and the
    canned queries; an empty table search box is no search (every row)."""
    for query in ("", " ", "\t\n", "\u3000"):
        assert paths.library(query) == set()
        assert paths.canned(query) == (200, set())
        assert paths.canned(query, "search_fts") == (200, set())
        assert paths.table(query) == (200, {"en", "vi", "x"})
        assert paths.table(query, _searchmode="raw") == (200, {"en", "vi", "x"})
    assert paths.cli_found(" ") == set()
    code, _, err = paths.cli("")
    assert code == 0 and "0 result(s)" in err


def test_symbols_outside_barewords(paths: Paths) -> None:
    """calebevans/mulder#152, dbohdan/tinyfts#2, stephencelis/SQLite.swift#855,
    spences10/ccrecall#23: FTS5 barewords are letters, digits and ``_``: any other
    character was a syntax error. Each is text here, and finds the article that has it."""
    for query in ("@nasa", "#VietnamUS", "a=b", "grammar::fa", "Downloads/transcripts",
                  "50%", "C:\\reports", "[tariff]", "tariff,", "real?", "<tariff>",
                  "Hanoi's", "a=b;", "$1.5", "US$1.5"):
        assert paths.everywhere(query), query
    assert paths.everywhere("x\\y") == set()


def test_leading_hyphen(paths: Paths) -> None:
    """higebu/3gpp-mcp#47: ``-band`` is no FTS5 NOT (``no such column: band``); a query
    that starts with a dash is also no option of the command."""
    assert paths.everywhere("-band") == set()
    assert paths.everywhere("AMF -band") == set()
    assert paths.everywhere("-US") == {"en", "x"}
    code, out, err = paths.cli("--json", "-US")  # without "--": still the query
    assert code == 0 and out.strip(), err
    code, _, err = paths.cli("--jsn")  # a misspelt option stays an error
    assert code == 2 and err.startswith("error: no such option: --jsn")
    assert paths.cli_found("--jsn") == set()  # after "--", it is the query


def test_operator_words(paths: Paths) -> None:
    """emdash-cms/emdash#3193: a title with ``and`` and apostrophes found nothing;
    BYK/loreai#810: ``AND*`` was a syntax error; chandra447/pi-hermes-memory#122: capital
    ``NOT`` with punctuation found nothing."""
    assert paths.everywhere("Vietnam's and America's negotiators") == {"x"}
    assert paths.everywhere("Minister of Industry and Trade") == {"en", "x"}
    for query in ("AND*", "OR*", "NOT*", "NEAR*", "DO NOT USE FIND /", "and or not near"):
        paths.everywhere(query)


def test_typographic_quotes(paths: Paths) -> None:
    """MLTSHP/mltshp#551, DestinyItemManager/DIM#3909, bluesky-social/social-app#8865:
    “…” typed on a phone is a phrase; spacepandas/cineaste-ios#102: ’ is an apostrophe."""
    assert paths.everywhere("“Bùi Thanh Sơn”") == {"vi"}
    assert paths.everywhere("“Sơn Thanh Bùi”") == set()  # a phrase, as with "..."
    assert paths.everywhere("„Thanh Sơn“") == {"vi"}
    assert paths.everywhere("«Thanh Sơn»") == {"vi"}
    assert paths.everywhere("“Vietnam’s Minister”") == {"en"}
    assert paths.everywhere("“Bùi Thanh") == {"vi"}  # unclosed, as with "


def test_numbers_and_hyphenated_words(paths: Paths) -> None:
    """mitre/cis-bench#12, higebu/3gpp-mcp#43: ``20.04``, ``38.101`` were syntax errors;
    pvliesdonk/markdown-vault-mcp#866: a hyphenated word silently found nothing."""
    assert paths.everywhere("20.04") == {"x"}
    assert paths.everywhere("spec 38.101") == {"x"}
    assert paths.everywhere("1.5 billion") == {"en"}
    assert paths.everywhere("clean-energy projects") == {"en", "x"}
    assert paths.everywhere("Clean-Energy") == {"en", "x"}


def test_column_search_of_the_table(paths: Paths) -> None:
    """``?_search_title=`` and ``?_search_text=`` are read the same way."""
    response = paths._get(f"/{NAME}/articles.json",
                          {"_search_title": "U.S.", "_shape": "array"})
    assert response.status_code == 200
    assert {paths.keys[row["id"]] for row in response.json()} == {"en"}
    response = paths._get(f"/{NAME}/articles.json",
                          {"_search_text": "Việt - Mỹ", "_shape": "array"})
    assert response.status_code == 200
    assert {paths.keys[row["id"]] for row in response.json()} == {"vi"}


# --- FTS5 syntax, when asked for -----------------------------------------------------------


def test_fts5_syntax_only_when_asked(paths: Paths) -> None:
    """``--fts``, ``?_searchmode=raw`` and the ``search_fts`` query read FTS5 syntax
    (folded); what FTS5 cannot parse is one line: exit 2, HTTP 400 with FTS5's message."""
    # column filters work when asked for, and are text otherwise
    assert paths.library("title:dialogue", fts=True) == {"en"}
    assert paths.cli_found("title:dialogue", "--fts") == {"en"}
    assert paths.canned("title:dialogue", "search_fts") == (200, {"en"})
    assert paths.table("title:dialogue", _searchmode="raw") == (200, {"en"})
    assert paths.everywhere("title:dialogue") == set()
    assert paths.cli_found("NEAR(bùi sơn, 2) OR ^hanoi", "--fts") == {"en", "vi", "x"}
    for query, said in (("U.S.", 'fts5: syntax error near "."'),
                        ("Vietnam-US", "no such column: US"),
                        ("Việt - Mỹ", "no such column: My"),
                        ('"Bui Thanh Son', "unterminated string")):
        with pytest.raises(QuerySyntaxError, match=said.replace(".", r"\.")):
            paths.library(query, fts=True)
        code, out, err = paths.cli("--fts", query)
        assert code == 2 and out == ""
        assert err.splitlines() == [f"error: bad search query {query!r} (FTS5 syntax, "
                                    f"--fts): {said}"]
        assert paths.canned(query, "search_fts") == (400, said)
        assert paths.table(query, _searchmode="raw") == (400, said)
    # Datasette's escaped mode: every word a word, no operator, no prefix
    assert paths.table("semicon*", _searchmode="escaped") == (200, set())
    assert paths.table("U.S.", _searchmode="escaped") == (200, {"en"})
    assert paths.table("Hanoi NOT Washington", _searchmode="escaped") == (200, set())


def test_very_long_text(paths: Paths) -> None:
    """A pasted article and more: its first 64 words and phrases are searched, a repeated
    one counts once (FTS5's snippet() and bm25 take seconds with thousands of matching
    phrases)."""
    article = (CASE / "article_en.html").read_text(encoding="utf-8")
    paragraph = article.split("<p>")[2].split("</p>")[0]  # "Vietnam's Minister ..."
    assert paths.library(paragraph) == {"en"}
    assert paths.cli_found(paragraph) == {"en"}
    for query in ("U.S. " * 20000, '"' + "Bùi Thanh Sơn " * 5000, "(" * 100000):
        paths.library(query)
        paths.cli_found(query)
    # read in one pass: each failed "NEAR(" once read the rest of the text again
    # (20,000 of them: minutes)
    for query in ("NEAR( " * 20000 + ", x", "NEAR(" + "a " * 50000, "NEAR(a," * 30000):
        started = time.perf_counter()
        expression = plain_query(query)
        assert time.perf_counter() - started < 10
        assert plain_query(expression) == expression
        paths.library(query)


def test_lone_surrogates_from_an_undecodable_command_line(paths: Paths) -> None:
    """Bytes that are not UTF-8 on a command line reach Python as lone surrogates
    (``\\udcff``); SQLite cannot take them. They are separators."""
    assert paths.library("U.S.\udcff") == {"en"}
    assert paths.cli_found("\udcc3\udca9") == set()
    with pytest.raises(QuerySyntaxError):
        paths.library("U.S.\udcff", fts=True)


# --- the reading itself ----------------------------------------------------------------------


def test_separator_class_agrees_with_the_tokenizer() -> None:
    """A term is dropped as empty only if SQLite's tokenizer finds no token in it: every
    character the plain reading takes for a separator is one for unicode61 too."""
    conn = sqlite3.connect(":memory:")
    conn.execute(f"create virtual table t using fts5(text, tokenize='{TOKENIZE}')")
    conn.execute("create virtual table v using fts5vocab(t, instance)")
    chars = [cp for cp in range(1, 0x10000) if not 0xD800 <= cp < 0xE000
             and _SEPARATOR.fullmatch(chr(cp))]
    assert len(chars) > 150
    conn.executemany("insert into t(rowid, text) values (?, ?)",
                     [(cp, f"a{chr(cp)}b") for cp in chars])
    joined = [hex(cp) for (cp,) in conn.execute(
        "select doc from v group by doc having count(*) = 1")]
    assert joined == []


def test_plain_reading_examples() -> None:
    assert plain_query("U.S.") == '"U.S."'
    assert plain_query("Việt - Mỹ") == '"Viet My"'
    assert plain_query('"Bùi Thanh Sơn') == '"Bui Thanh Son"'
    assert plain_query("Blinken OR Knapper") == '"Blinken" OR "Knapper"'
    assert plain_query("semicon*") == '"semicon"*'
    assert plain_query("NOT Hanoi") == '"NOT" "Hanoi"'
    assert plain_query("NEAR(a b, 5)") == 'NEAR("a" "b", 5)'
    assert plain_query("title:foo") == '"title:foo"'
    assert plain_query("-") == plain_query("") == '""'
    assert plain_query("a OR b", syntax=False) == '"a" "OR" "b"'


# --- property: any string, three paths, never an error ------------------------------------

VIETNAMESE = ("aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợ"
              "uùúủũụưừứửữựyỳýỷỹỵđ")
PUNCTUATION = (".,;:!?'\"-–—‐‑/\\()[]{}<>*^+=%$#@&|~`_“”‘’«»„…·•×÷§¶°©®™€£¥"
               "\u00a0\u200b\u200d\ufeff\u0301\u0303\u0323\t\n\x00\x1f\x7f")
ALPHABET = VIETNAMESE + VIETNAMESE.upper() + PUNCTUATION + "  bcfgjklmnpqrstvwxzUSN0123456789"
SYNTAX = ["AND", "OR", "NOT", "NEAR", "NEAR(", ")", "(", ", 5)", "title:", "text:",
          "{title text}:", "-title:", "*", "^", "+", '"', "“", "U.S.", "Vietnam-US",
          "Vietnam's", "Việt - Mỹ", '"Bui Thanh Son', "-", "🇻🇳", "😀", "\x00", "\u3000",
          "semicon*", "dialogue", "Hà Nội", "đối tác", "xn--", "1=1", "--", "''", "\\"]

_words = st.text(alphabet=ALPHABET, min_size=1, max_size=10)
_any_char = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=4)
_part = st.one_of(_words, st.sampled_from(SYNTAX), _any_char)
ANALYST_TEXT = st.one_of(
    st.lists(_part, max_size=8).map(" ".join),  # words and syntax, spaced
    st.lists(_part, max_size=6).map("".join),  # glued together
    st.text(alphabet=ALPHABET, max_size=40),  # punctuation-heavy runs
    st.lists(_part, max_size=6).map(lambda p: unicodedata.normalize("NFD", " ".join(p))),
    st.lists(st.one_of(st.sampled_from(SYNTAX), _words), max_size=30).map(" ".join),
)


# the index's columns and tokenizer, empty: FTS5 parses a query against it as against
# the real one (check_fts_syntax makes one per call; here one for all examples)
_FTS5 = sqlite3.connect(":memory:")
_FTS5.execute(f"create virtual table q using fts5(title, text, tokenize='{TOKENIZE}')")


@settings(max_examples=2000, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ANALYST_TEXT)
def test_any_string_answers_everywhere(paths: Paths, typed: str) -> None:
    """2,000 generated strings (Vietnamese letters with their marks, NFC and NFD,
    punctuation, FTS5's own syntax, emoji, controls): the reading is idempotent (the
    next-page links carry it) and FTS5 parses it; ``newswatch search`` exits 0 with JSON
    lines, the canned query and the table search answer 200."""
    for syntax in (True, False):  # FTS5 parses the reading, with and without operators
        expression = plain_query(typed, syntax=syntax)
        assert plain_query(expression, syntax=syntax) == expression
        _FTS5.execute("select rowid from q where q match ?", [expression]).fetchall()
    try:  # FTS5 syntax asked for fails only as FTS5's own error (QuerySyntaxError)
        _FTS5.execute("select rowid from q where q match ?", [fts_query(typed)]).fetchall()
    except sqlite3.OperationalError:
        pass
    code, out, err = paths.cli("--json", "--", typed)
    assert code == 0, (typed, err)
    for line in out.splitlines():
        json.loads(line)
    status, found = paths.canned(typed)
    assert status == 200, (typed, found)
    status, found = paths.table(typed)
    assert status == 200, (typed, found)

