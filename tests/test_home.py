# ruff: noqa: F811  (pytest fixtures imported from test_serve, used as arguments)
"""The analyst's pages (issue 30), in headless Chromium over `newswatch serve`: the home
page lists a farm day's new stories (EN and VI editions), its edits with their kinds in
words and the one unhealthy source; the watch list shows every source. No page has a
horizontal scrollbar at 1280 px or shows raw JSON. Real crawls of the farm."""

from __future__ import annotations

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
NOW = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).isoformat(timespec="seconds")
STORIES = [
    {"site": "laodong_en", "slug": "chips-pact-today", "lang": "en", "topic": "vn-us",
     "title": "Vietnam and US sign semiconductor workforce pact in Hanoi",
     "published": NOW,
     "lead": "Vietnam and the United States signed a pact to train 50,000 chip engineers.",
     "paragraphs": ["Minister Nguyen Manh Hung and US Ambassador Marc Knapper signed the "
                    "pact in Hanoi on Tuesday.",
                    "The pact covers 50,000 semiconductor engineers by 2030 under the "
                    "Comprehensive Strategic Partnership between Vietnam and the United "
                    "States."]},
    {"site": "laodong_vi", "slug": "hiep-uoc-chip-hom-nay", "lang": "vi", "topic": "vn-us",
     "title": "Việt Nam và Hoa Kỳ ký thỏa thuận đào tạo nhân lực bán dẫn",
     "published": NOW,
     "lead": "Việt Nam và Hoa Kỳ ký thỏa thuận đào tạo 50.000 kỹ sư bán dẫn.",
     "paragraphs": ["Bộ trưởng Nguyễn Mạnh Hùng và Đại sứ Hoa Kỳ Marc Knapper ký thỏa "
                    "thuận tại Hà Nội.",
                    "Thỏa thuận hướng tới 50.000 kỹ sư bán dẫn đến năm 2030 trong khuôn khổ "
                    "Đối tác Chiến lược Toàn diện giữa Việt Nam và Hoa Kỳ."]},
]
EDIT = "The pact covers 60,000 semiconductor engineers by 2030."


@pytest.fixture(scope="module")
def farm_day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A farm day: two new stories published today (EN and VI), crawled; the EN one
    edited (a figure) and crawled again; one site forbidding every request, crawled
    twice (failing)."""
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
    yield {"db": db, "urls": urls}


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
    px window: Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
    JSON messages ending in NUL, written to its fd 3, read from its fd 4)."""
    to_chrome, chrome_in = os.pipe()
    chrome_out, from_chrome = os.pipe()
    child = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--remote-debugging-pipe", f"--user-data-dir={tmp_path / 'cdp-profile'}",
         "about:blank"],
        pass_fds=(3, 4), stdout=subprocess.DEVNULL,  # dup2-ed to 3 and 4 below
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: (os.dup2(to_chrome, 3), os.dup2(from_chrome, 4)))
    os.close(to_chrome)
    os.close(from_chrome)
    writer, reader = os.fdopen(chrome_in, "wb"), os.fdopen(chrome_out, "rb")
    counter = iter(range(1, 10_000))
    buffer = b""

    def call(method: str, session: str | None = None, **params: object) -> dict:
        nonlocal buffer
        number = next(counter)
        message = {"id": number, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        writer.write(json.dumps(message).encode() + b"\0")
        writer.flush()
        while True:
            while b"\0" not in buffer:
                chunk = os.read(reader.fileno(), 65536)
                assert chunk, "chromium closed the pipe"
                buffer += chunk
            line, buffer = buffer.split(b"\0", 1)
            answer = json.loads(line)
            if answer.get("id") == number:
                assert "error" not in answer, answer
                return answer["result"]

    try:
        target = call("Target.createTarget", url="about:blank")["targetId"]
        session = call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        call("Emulation.setDeviceMetricsOverride", session, width=1280, height=height,
             deviceScaleFactor=1, mobile=False)
        call("Page.navigate", session, url=url)
        deadline = time.monotonic() + 60
        while call("Runtime.evaluate", session, expression="document.readyState + ' ' + "
                   "location.href")["result"]["value"] != f"complete {url}":
            assert time.monotonic() < deadline, "the page did not load"
            time.sleep(0.1)
        value = call("Runtime.evaluate", session, expression=expression,
                     returnByValue=True)["result"]["value"]
    finally:
        writer.close()
        reader.close()
        child.terminate()
        child.wait(timeout=30)
    return value


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
    assert len(ids) == 2 and kinds, "both stories stored, the EN one edited"
    assert states.get(BROKEN) in ("degraded", "failing"), states
    dom = dump_dom(tmp_path, f"{home_server}/")
    assert "<h2>New relevant stories today</h2>" in dom
    for url in farm_day["urls"]:  # both editions, linked to their article pages
        assert f'class="nw-edition" href="/news/articles/{ids[url]}"' in dom
    assert 'class="nw-story-title" href="/news/stories/' in dom
    assert "English" in dom and "Vietnamese" in dom
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
    top, bottom = _evaluate(tmp_path, url, FIRST_ROW, height=800)
    screenshot(tmp_path, url, "articles-table")
    assert 0 < top <= 700 and bottom > top, f"first row from {top} to {bottom} px"
