# ruff: noqa: F811  (pytest fixtures imported from test_serve, used as arguments)
"""The analyst's pages (issue 30), in headless Chromium over `newswatch serve`: the home
page lists a farm day's new story (its EN and VI editions joined as one story), its edit
with its kinds in words and the one unhealthy source; the watch list shows every source.
No page the browse tests visit has a horizontal scrollbar at 1280 px or shows raw JSON
(the versions table and the change pages included). Real crawls of the farm."""

from __future__ import annotations

import base64
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.farm import Farm
from monitor.run import crawl
from monitor.sources import DEMO_CONFIG

from .test_serve import CHROMIUM, REPO, _free_port, dump_dom, needs_chromium, screenshot

SITES = ["laodong_en", "laodong_vi", "mofa_en"]
BROKEN = "mofa_en"
LOCAL_NOW = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh"))
NOW = LOCAL_NOW.isoformat(timespec="seconds")
# the EN and VI editions of one event name the same people, figure and day (as a real
# pair does: monitor/changes/dedupe.py joins editions on names + a date or numbers)
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
DAY_EN = f"{LOCAL_NOW.day} {MONTHS[LOCAL_NOW.month - 1]}"  # "7 December"
DAY_VI = f"ngày {LOCAL_NOW.day} tháng {LOCAL_NOW.month}"  # "ngày 7 tháng 12"
STORIES = [
    {"site": "laodong_en", "slug": "chips-pact-today", "lang": "en", "topic": "vn-us",
     "title": "Vietnam and US sign semiconductor workforce pact in Hanoi",
     "published": NOW,
     "lead": "Vietnam and the United States signed a pact to train 50,000 chip engineers.",
     "paragraphs": ["Minister Nguyen Manh Hung and US Ambassador Marc Knapper signed the "
                    f"pact in Hanoi on {DAY_EN}.",
                    "The pact covers 50,000 semiconductor engineers by 2030 under the "
                    "Comprehensive Strategic Partnership between Vietnam and the United "
                    "States."]},
    {"site": "laodong_vi", "slug": "hiep-uoc-chip-hom-nay", "lang": "vi", "topic": "vn-us",
     "title": "Việt Nam và Hoa Kỳ ký thỏa thuận đào tạo nhân lực bán dẫn",
     "published": NOW,
     "lead": "Việt Nam và Hoa Kỳ ký thỏa thuận đào tạo 50.000 kỹ sư bán dẫn.",
     "paragraphs": ["Bộ trưởng Nguyễn Mạnh Hùng và Đại sứ Hoa Kỳ Marc Knapper ký thỏa "
                    f"thuận tại Hà Nội {DAY_VI}.",
                    "Thỏa thuận hướng tới 50.000 kỹ sư bán dẫn đến năm 2030 trong khuôn khổ "
                    "Đối tác Chiến lược Toàn diện giữa Việt Nam và Hoa Kỳ."]},
]
EDIT = "The pact covers 60,000 semiconductor engineers by 2030."


@pytest.fixture(scope="module")
def farm_day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A farm day: one story published today in two editions (EN and VI, one story),
    crawled; the EN one edited (a figure) and crawled again; one site forbidding every
    request, crawled three times (failing)."""
    db = tmp_path_factory.mktemp("home") / "news.db"
    with Farm(sites=SITES) as farm:
        variables = farm.config_variables()
        urls = [farm.publish(story) for story in STORIES]
        assert crawl(DEMO_CONFIG, db, variables=variables, sources=SITES, alerts=None).ok
        farm.edit("laodong_en", "chips-pact-today", replace={1: EDIT})
        farm.forbid(BROKEN)
        for _ in range(3):
            crawl(DEMO_CONFIG, db, variables=variables, sources=["laodong_en", BROKEN],
                  alerts=None, scrapy_settings={"NEWSWATCH_RECHECK_DAYS": 36500})
    conn = sqlite3.connect(db)
    stories = dict(conn.execute("select url, story_id from articles where url in (?, ?)",
                                urls).fetchall())
    conn.close()
    yield {"db": db, "urls": urls, "stories": stories}


@pytest.fixture(scope="module")
def home_server(farm_day: dict) -> Iterator[str]:
    port = _free_port()
    child = subprocess.Popen([sys.executable, "-m", "monitor.cli", "serve", "--db",
                              str(farm_day["db"]), "--port", str(port)], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/-/versions.json", timeout=2):
                    break
            except OSError:
                if child.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("newswatch serve did not start")
                time.sleep(0.2)
        yield base
    finally:
        child.terminate()
        child.wait(timeout=10)


def _no_raw_json(dom: str) -> None:
    body = dom.split("<body", 1)[1]
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)  # not shown
    text = re.sub(r"<[^>]+>", " ", body)
    assert not re.search(r'\[\s*"|\{\s*"|&quot;\w+&quot;\s*:', text), "raw JSON on the page"


# the width the page needs: the document's, or more when a box that scrolls sideways
# (Datasette's table wrapper) holds something wider than itself (its own scrollbar)
NEEDED_WIDTH = """Math.max(document.documentElement.scrollWidth, ...Array.from(
  document.querySelectorAll('*'), e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)
    && e.scrollWidth > e.clientWidth + 1
    ? document.documentElement.clientWidth + e.scrollWidth - e.clientWidth : 0))"""


def _scroll_width(tmp_path: Path, url: str) -> int:
    """The width ``url`` needs laid out in a 1280 px wide window
    (``document.documentElement.scrollWidth``, or more when a box scrolls sideways)."""
    width = _evaluate(tmp_path, url, NEEDED_WIDTH)
    assert width >= 1000, width  # laid out in the 1280 px window
    return int(width)


def _evaluate(tmp_path: Path, url: str, expression: str, height: int = 1000) -> object:
    """The value of the JavaScript ``expression`` on ``url`` loaded in a 1280 x ``height``
    px window (one :class:`Browser` for one page)."""
    with Browser(tmp_path) as browser:
        browser.visit(url, height)
        return browser.evaluate(expression)


class Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe
    (``--remote-debugging-pipe``: JSON messages ending in NUL, written to its fd 3, read
    from its fd 4): one process for many pages (``visit``, ``evaluate``, ``capture``)."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.counter = iter(range(1, 100_000))
        self.buffer = b""
        self.session: str | None = None

    def __enter__(self) -> Browser:
        to_chrome, chrome_in = os.pipe()
        chrome_out, from_chrome = os.pipe()
        self.child = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--remote-debugging-pipe", f"--user-data-dir={self.tmp_path / 'cdp-profile'}",
             "about:blank"],
            pass_fds=(3, 4), stdout=subprocess.DEVNULL,  # dup2-ed to 3 and 4 below
            stderr=subprocess.DEVNULL,
            preexec_fn=lambda: (os.dup2(to_chrome, 3), os.dup2(from_chrome, 4)))
        os.close(to_chrome)
        os.close(from_chrome)
        self.writer, self.reader = os.fdopen(chrome_in, "wb"), os.fdopen(chrome_out, "rb")
        try:
            target = self.call("Target.createTarget", url="about:blank")["targetId"]
            self.session = self.call("Target.attachToTarget", targetId=target,
                                     flatten=True)["sessionId"]
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.writer.close()
        self.reader.close()
        self.child.terminate()
        self.child.wait(timeout=30)

    def call(self, method: str, **params: object) -> dict:
        number = next(self.counter)
        message: dict = {"id": number, "method": method, "params": params}
        if self.session:
            message["sessionId"] = self.session
        self.writer.write(json.dumps(message).encode() + b"\0")
        self.writer.flush()
        while True:
            while b"\0" not in self.buffer:
                chunk = os.read(self.reader.fileno(), 1 << 20)
                assert chunk, "chromium closed the pipe"
                self.buffer += chunk
            line, self.buffer = self.buffer.split(b"\0", 1)
            answer = json.loads(line)
            if answer.get("id") == number:
                assert "error" not in answer, answer
                return answer["result"]

    def visit(self, url: str, height: int = 1000) -> None:
        """Load ``url`` in a 1280 x ``height`` px window and wait until it is complete."""
        self.call("Emulation.setDeviceMetricsOverride", width=1280, height=height,
                  deviceScaleFactor=1, mobile=False)
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + 60
        while self.evaluate("document.readyState + ' ' + location.href") != f"complete {url}":
            assert time.monotonic() < deadline, f"{url} did not load"
            time.sleep(0.1)

    def evaluate(self, expression: str) -> object:
        return self.call("Runtime.evaluate", expression=expression,
                         returnByValue=True)["result"]["value"]

    def capture(self, name: str) -> Path:
        """The window as ``name``.png: under docs/screenshots/ when
        NEWSWATCH_SCREENSHOTS=1 (to refresh the docs), else under tmp_path."""
        folder = REPO / "docs" / "screenshots" if os.environ.get("NEWSWATCH_SCREENSHOTS") \
            else self.tmp_path
        target = folder / f"{name}.png"
        data = self.call("Page.captureScreenshot", format="png")["data"]
        target.write_bytes(base64.b64decode(data))
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        return target


@needs_chromium
def test_home_page_lists_the_days_stories_edits_and_the_unhealthy_source(
        farm_day: dict, home_server: str, tmp_path: Path) -> None:
    conn = sqlite3.connect(farm_day["db"])
    ids = dict(conn.execute("select url, id from articles where url in (?, ?)",
                            farm_day["urls"]).fetchall())
    states = dict(conn.execute("select source, state from source_health").fetchall())
    kinds = conn.execute("select kinds from versions v join articles a on a.id = "
                         "v.article_id where a.url = ? and v.version = 2",
                         [farm_day["urls"][0]]).fetchone()
    conn.close()
    assert len(ids) == 2 and kinds, "both editions stored, the EN one edited"
    assert states.get(BROKEN) in ("degraded", "failing"), states
    dom = dump_dom(tmp_path, f"{home_server}/")
    assert "<h2>New relevant stories today</h2>" in dom
    today = dom.split("<h2>New relevant stories today</h2>", 1)[1].split("<h2>", 1)[0]
    # the EN and VI editions joined as one story (monitor.changes.dedupe): one item
    # holds both, each linked to its article page, the story title to the story page
    links = [f'class="nw-edition" href="/news/articles/{ids[url]}"' for url in farm_day["urls"]]
    items = [item for item in today.split('<li class="nw-story-item">')[1:]
             if any(link in item for link in links)]
    assert len(items) == 1 and all(link in items[0] for link in links), items
    (story,) = {farm_day["stories"][url] for url in farm_day["urls"]}
    assert f'class="nw-story-title" href="/news/stories/{story}"' in items[0]
    assert "English" in items[0] and "Vietnamese" in items[0]
    assert "(other-language edition)" in items[0]
    edits = dom.split("<h2>Edits and removals this week</h2>", 1)[1].split("<h2>", 1)[0]
    assert f'href="/news/articles/{ids[farm_day["urls"][0]]}"' in edits
    assert json.loads(kinds[0]), "the edit has kinds"
    assert '<span class="nw-kind">' in edits and "[" not in edits  # kinds as words
    attention = dom.split("<h2>Sources needing attention</h2>", 1)[1]
    assert f">{BROKEN}</a> is <b>" in attention
    assert attention.count('class="nw-source-link"') == 1  # the one unhealthy source
    assert 'href="/-/catalogue"' in dom  # the catalogue one click away
    _no_raw_json(dom)
    assert _scroll_width(tmp_path, f"{home_server}/") <= 1280
    screenshot(tmp_path, f"{home_server}/", "home-page")
    catalogue = dump_dom(tmp_path, f"{home_server}/-/catalogue")
    assert "Tables" in catalogue and 'href="/news/articles"' in catalogue


@needs_chromium
def test_watch_list_shows_every_source(farm_day: dict, home_server: str,
                                       tmp_path: Path) -> None:
    conn = sqlite3.connect(farm_day["db"])
    names = [row[0] for row in conn.execute("select name from sources order by name")]
    conn.close()
    assert set(SITES) <= set(names)
    dom = dump_dom(tmp_path, f"{home_server}/-/watch")
    for name in names:
        assert f'id="source-{name}"' in dom, name
    row = dom.split(f'id="source-{BROKEN}"', 1)[1].split("</tr>", 1)[0]
    assert "failing" in row or "degraded" in row
    _no_raw_json(dom)
    assert _scroll_width(tmp_path, f"{home_server}/-/watch") <= 1280
    screenshot(tmp_path, f"{home_server}/-/watch", "watch-list")


def _cells(dom: str) -> str:
    """The text of a Datasette results table's cells."""
    body = dom.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.sub(r"<[^>]+>", " ", body)


@needs_chromium
def test_updated_articles_show_changes_as_the_article_page_does(
        farm_day: dict, home_server: str, tmp_path: Path) -> None:
    """The "Articles updated in the last 7 days" page: each edit's title links to its
    article page, its kinds are words and its changed sentences are the article page's
    sentence diff (no raw JSON, no word salad), all within a 1280 px window."""
    conn = sqlite3.connect(farm_day["db"])
    (article_id,) = conn.execute("select id from articles where url = ?",
                                 [farm_day["urls"][0]]).fetchone()
    conn.close()
    url = f"{home_server}/news/updated_articles"
    dom = dump_dom(tmp_path, url)
    rows = dom.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert f'class="nw-title" href="/news/articles/{article_id}"' in rows  # title linked
    assert '<ul class="nw-sdiff">' in rows and f"<ins>{EDIT}</ins>" in rows
    assert "<del>The pact covers 50,000 semiconductor engineers" in rows  # whole sentences
    assert '<span class="nw-kind">' in rows  # kinds as words
    cells = _cells(dom)
    assert '{"' not in cells and '[{"' not in cells and '["' not in cells, "raw JSON"
    _no_raw_json(dom)
    article_page = dump_dom(tmp_path, f"{home_server}/news/articles/{article_id}")
    assert f"<ins>{EDIT}</ins>" in article_page  # the same diff as the article page
    assert _scroll_width(tmp_path, url) <= 1280
    screenshot(tmp_path, url, "updated-articles")


FIRST_ROW = """(() => { const row = document.querySelector('table.rows-and-columns tbody tr');
  return row ? [row.getBoundingClientRect().top, row.getBoundingClientRect().bottom] : [-1, -1];
})()"""


@needs_chromium
def test_articles_table_shows_rows_in_the_first_screen(
        farm_day: dict, home_server: str, tmp_path: Path) -> None:
    """The articles table at 1280 x 800: its column descriptions are folded into one
    line (a <details> that opens them), so the rows start in the first screen: the first
    row begins at least 100 px above its bottom (before: at 1,287-2,592 px). (Its end,
    at about 800 px, moves with fonts and data: 801.8 px in one CI run.)"""
    url = f"{home_server}/news/articles"
    dom = dump_dom(tmp_path, url)
    help_box = dom.split('<details class="nw-column-help">', 1)[1].split("</details>", 1)[0]
    assert "<dt>published_utc</dt>" in help_box  # the descriptions are one click away
    # its columns past a 1280 px window folded, named, one click away
    line = dom.split('<span class="nw-folded-columns">', 1)[1].split("</span>", 1)[0]
    assert "folded: url, author," in line and "signature" in line
    assert "_nw_columns=all" in line and "Show all" in line
    every = dump_dom(tmp_path, f"{url}?_nw_columns=all")  # the link: every column shown
    assert '<td class="col-signature' in every and "nw-folded-columns" not in every
    top, bottom = _evaluate(tmp_path, url, FIRST_ROW, height=800)
    screenshot(tmp_path, url, "articles-table")
    assert 0 < top <= 700 and bottom > top, f"first row from {top} to {bottom} px"


# what a reader sees of a page (closed <details> and hidden boxes are not shown), its
# width (NEEDED_WIDTH) and the kinds shown as words on the changes page
SEEN = f"""({{width: {NEEDED_WIDTH}, text: document.body.innerText,
  kinds: document.querySelectorAll('td.col-atom_categories .nw-kind').length,
  folded: document.querySelectorAll('td.col-word_diff details.nw-fold:not([open])').length,
  copy_of: (document.querySelector('.nw-copy a') || {{}}).pathname}})"""
RAW_JSON = re.compile(r'\[\s*[\[{"]|\{\s*"')


@needs_chromium
def test_no_page_scrolls_sideways_or_shows_raw_json(farm_day: dict, home_server: str,
                                                    tmp_path: Path) -> None:
    """Every page the browse tests visit, in one Chromium at 1280 px wide: none needs
    more than 1280 px (no sideways scrollbar, none inside either) and none shows raw
    JSON (``[{``, ``{"``, ``["``) in its visible text. The versions table folds its word
    diff and unified diff under one line each; the changes feed's page shows its
    ``atom_categories`` as kinds in words; a copy's page says what it copies.
    Screenshots: the versions table, the changes page, a copy's page."""
    conn = sqlite3.connect(farm_day["db"])
    en, vi = (conn.execute("select id from articles where url = ?", [url]).fetchone()[0]
              for url in farm_day["urls"])
    (copy, original) = conn.execute("select id, (select id from articles o where "
                                    "o.story_id = a.story_id and o.link is null) from "
                                    "articles a where id in (?, ?) and link is not null",
                                    [en, vi]).fetchone()
    (version,) = conn.execute("select id from versions where article_id = ? and version = 2",
                              [en]).fetchone()
    conn.close()
    story = farm_day["stories"][farm_day["urls"][0]]
    pages = ["/", "/-/watch", "/-/catalogue", f"/news/articles/{en}", f"/news/articles/{copy}",
             f"/news/stories/{story}", "/news/updated_articles", "/news/changes",
             f"/news/article?id={en}", "/news/versions", f"/news/versions/{version}",
             "/news/latest_relevant", f"/news/story?story={story}",
             "/news/search?q=semiconductor", "/news/removed_articles", "/news/feed",
             "/news/articles"]
    shots = {"/news/versions": "versions-table", "/news/changes": "changes-page",
             f"/news/articles/{copy}": "copy-page"}
    seen: dict[str, dict] = {}
    with Browser(tmp_path) as browser:
        for page in pages:
            browser.visit(home_server + page, height=900)
            seen[page] = browser.evaluate(SEEN)
            if page in shots:
                browser.capture(shots[page])
    wide = {page: found["width"] for page, found in seen.items() if found["width"] > 1280}
    assert not wide, f"pages wider than 1280 px: {wide}"
    assert all(found["width"] >= 1000 for found in seen.values())  # laid out at 1280 px
    raw = {page: RAW_JSON.search(found["text"]).group(0) for page, found in seen.items()
           if RAW_JSON.search(found["text"])}
    assert not raw, f"raw JSON shown: {raw}"
    assert seen["/news/changes"]["kinds"] >= 2, "atom_categories as kinds in words"
    assert "paragraph edited" in seen["/news/changes"]["text"]
    versions = seen["/news/versions"]
    assert versions["folded"] >= 1 and re.search(r"word diff: \d+ insertions?, \d+ deletions?",
                                                 versions["text"])
    assert EDIT in versions["text"]  # the changed sentences, shown
    table = seen["/news/articles"]["text"]  # the articles table: its other columns named
    assert re.search(r"\d+ shown here, \d+ folded: url, author", table), table[:600]
    assert "Show all" in table
    assert {copy, original} == {en, vi}
    assert "This article is another-language edition of" in seen[
        f"/news/articles/{copy}"]["text"]
    assert seen[f"/news/articles/{copy}"]["copy_of"] == f"/news/articles/{original}"
