"""Alert messages for people: rendered from real farm crawls, delivered through the real
SMTP server and webhook receiver, parsed back with the ``email`` package, their links
opened on a running ``newswatch serve``."""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.alerts import deliver_pending, load_alert_config, local_time
from monitor.alerts.delivery import payload, send
from monitor.alerts.messages import (
    MessageSettings,
    changes,
    describe_reasons,
    describe_relevance,
    render,
)
from monitor.alerts.messages import summary as summary_of
from monitor.alerts.rules import Channel
from monitor.farm import Farm
from monitor.run import crawl
from monitor.sources import DEMO_CONFIG, ConfigError
from monitor.store import Store

from .channels import SECRET, SMTP_PASSWORD, Mailbox, Receiver, _free_port
from .test_alerts import STORY, VN, _env
from .test_alerts import _alerts_file as alerts_file

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SOURCES = ["laodong_en"]
EDITED = ("Under the document, the US will support Vietnam in surveying reserves and "
          "training 200 geologists by 2027.")


def _alerts_file(path: Path, public_url: str, digest_minutes: int = 0) -> Path:
    return alerts_file(path, digest_minutes, public_url)


def _deliver(db: Path, config: Path, env: dict[str, str]) -> Any:
    store = Store(db)
    try:
        return deliver_pending(store, load_alert_config(config), env=env)
    finally:
        store.close()


def _parts(message: email.message.Message) -> dict[str, str]:
    """text/plain and text/html parts of a message, decoded."""
    found = {}
    for part in message.walk():
        if part.get_content_type() in ("text/plain", "text/html"):
            found[part.get_content_type()] = part.get_payload(decode=True).decode(
                part.get_content_charset() or "utf-8")
    return found


def _links(text: str, base: str) -> set[str]:
    return set(re.findall(re.escape(base) + r"/[^\s\"'<>]+", text))


@pytest.fixture
def serve_url() -> Iterator[dict[str, Any]]:
    """A port for `newswatch serve`, and a function that starts it on a database."""
    port = _free_port()
    children: list[subprocess.Popen[bytes]] = []

    def start(db: Path) -> str:
        child = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "serve", "--db", str(db), "--port",
             str(port)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        children.append(child)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/versions.json",
                                            timeout=2):
                    return f"http://127.0.0.1:{port}"
            except OSError:
                if child.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("newswatch serve did not start")
                time.sleep(0.2)

    yield {"base": f"http://127.0.0.1:{port}", "start": start}
    for child in children:
        child.terminate()
        child.wait(timeout=10)


def _open(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        return response.read().decode("utf-8")


# -- tests ---------------------------------------------------------------------------------
def test_new_and_edited_messages_through_smtp_and_webhook(
        fresh_farm: Farm, smtp: Mailbox, receiver: Receiver, tmp_path: Path,
        serve_url: dict[str, Any]) -> None:
    db = tmp_path / "news.db"
    base = serve_url["base"]
    config = _alerts_file(tmp_path / "alerts.yaml", base)
    env = _env(smtp, receiver)
    published = (datetime.now(UTC) - timedelta(hours=1)).astimezone(VN)
    url = fresh_farm.publish({"site": "laodong_en", **STORY,
                              "published": published.isoformat()})
    crawl(DEMO_CONFIG, db, variables=fresh_farm.variables, sources=SOURCES, alerts=config)
    assert _deliver(db, config, env).errors == []
    assert smtp.messages and len(receiver.bodies) == len(smtp.messages)

    mail = next(m for m in smtp.messages if STORY["title"] in str(
        email.message_from_string(m.as_string(), policy=email.policy.default)["Subject"]))
    parsed = email.message_from_string(mail.as_string(), policy=email.policy.default)
    assert parsed["Subject"] == f"New: {STORY['title']}"
    assert parsed.get_content_type() == "multipart/alternative"
    parts = _parts(parsed)
    assert set(parts) == {"text/plain", "text/html"}
    text, html = parts["text/plain"], parts["text/html"]
    for body in (text, html):
        assert "{'" not in body and "0.99" not in body
        assert STORY["lead"] in body and "laodong_en" in body and "English" in body
        # local time: published 1 h ago, shown in Hanoi time
        assert f"{published:%H:%M} (UTC+07:00)" in body
        assert re.search(r"Why:(</b>)? .+ in the (title|lead)", body)
    assert f'<a href="{url}"' in html and f"Original: {url}" in text
    assert 'name="viewport"' in html  # readable on a phone
    links = _links(text, base)
    assert links == _links(html, base) and len(links) == 2
    hook = next(b for b in receiver.bodies if b["article"]["url"] == url)
    assert hook["summary"].startswith(f"New: {STORY['title']}\n")
    assert "{'" not in hook["summary"] and _links(hook["summary"], base) == links

    # the edit: subject says so, the changed paragraphs come first
    fresh_farm.edit("laodong_en", STORY["slug"], replace={1: EDITED})
    crawl(DEMO_CONFIG, db, variables=fresh_farm.variables, sources=SOURCES, alerts=config)
    before = len(smtp.messages)
    assert _deliver(db, config, env).sent == 2
    assert len(smtp.messages) == before + 1
    edited = email.message_from_string(smtp.messages[-1].as_string(),
                                       policy=email.policy.default)
    assert edited["Subject"].startswith("Edited") and edited["Subject"].endswith(STORY["title"])
    parts = _parts(edited)
    assert set(parts) == {"text/plain", "text/html"}
    text = parts["text/plain"]
    assert text.index(f"+ {EDITED}") < text.index(STORY["lead"])
    assert f"- {STORY['paragraphs'][1]}" in text
    assert "<ins" in parts["text/html"] and EDITED in parts["text/html"]
    assert "{'" not in text and "{'" not in parts["text/html"]
    assert receiver.bodies[-1]["summary"].startswith("Edited")
    assert f"+ {EDITED}" in receiver.bodies[-1]["summary"]

    # every newswatch link opens a page of the serve instance showing the article
    served = serve_url["start"](db)
    assert served == base
    for link in links | _links(text, base):
        page = _open(link)
        assert STORY["title"].split(",")[0] in page


def test_removed_and_edit_kinds_render_from_a_real_payload(
        farm: Farm, smtp: Mailbox, receiver: Receiver, tmp_path: Path) -> None:
    """Fields another part of newswatch adds (kind removed, edit_kinds, added/removed
    sentences) are used when a document has them."""
    db = tmp_path / "news.db"
    crawl(DEMO_CONFIG, db, variables=farm.variables, sources=SOURCES)
    store = Store(db)
    try:
        article_id, story_id = store.db.execute(
            "select id, story_id from articles where relevant = 1 order by id limit 1"
        ).fetchone()
        alert = {"key": "k", "article_id": article_id, "story_id": story_id, "version": 1,
                 "kind": "removed", "rule": "r"}
        doc = payload(store, alert, "2026-11-30T01:00:00+00:00")
    finally:
        store.close()
    settings = MessageSettings(public_url="https://nw.example.org")
    removed = render([doc], settings, "news")
    assert removed.subject.startswith("Removed: ") and doc["article"]["title"] in removed.subject
    assert f"https://nw.example.org/news/articles/{article_id}" in removed.text
    assert f"https://nw.example.org/news/stories/{story_id}" in removed.html

    edit = {**doc, "kind": "updated", "edit_kinds": ["headline", "numbers"],
            "removed": ["Exports rose 10%."], "added": ["Exports rose 12%."]}
    message = render([edit], settings, "news")
    assert message.subject.startswith("Edited (headline, numbers): ")
    assert message.text.index("- Exports rose 10%.") < message.text.index("+ Exports rose 12%.")
    assert message.text.index("+ Exports rose 12%.") < message.text.index("Why:")

    send(Channel(name="mail", url="mailto://newswatch:${P}@127.0.0.1:${PORT}?mode=insecure"
                 "&from=a@newswatch.test&to=b@newswatch.test"), [doc], "k1",
         {"P": SMTP_PASSWORD, "PORT": str(smtp.port)}, settings, "news")
    got = email.message_from_string(smtp.messages[-1].as_string(), policy=email.policy.default)
    assert got["Subject"] == removed.subject and set(_parts(got)) == {"text/plain", "text/html"}
    send(Channel(name="hook", webhook=receiver.url, secret="${S}"), [edit], "k2",
         {"S": SECRET}, settings, "news")
    assert receiver.bodies[-1]["summary"].startswith("Edited (headline, numbers): ")

    if CHROMIUM:  # the HTML part as a phone shows it (docs/screenshots/alert-email.png)
        page = tmp_path / "alert.html"
        page.write_text(message.html, encoding="utf-8")
        folder = REPO / "docs" / "screenshots" if os.environ.get("NEWSWATCH_SCREENSHOTS") \
            else tmp_path
        target = folder / "alert-email.png"
        done = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={target}",
             "--window-size=390,844", page.as_uri()], capture_output=True, timeout=90)
        assert done.returncode == 0 and target.read_bytes()[:4] == b"\x89PNG"


def test_reasons_and_scores_in_words() -> None:
    reasons = [
        {"group": "vietnam", "field": "title", "terms": ["vietnam"], "count": 1, "points": 3},
        {"group": "partner", "field": "title", "terms": ["us"], "count": 1, "points": 3},
        {"group": "together", "field": "title", "terms": [], "note": "both sides"},
        {"group": "officials", "field": "lead", "terms": ["blinken"], "count": 1,
         "points": 2},
        {"group": "sports", "field": "body", "terms": ["football"],
         "note": "negative context (sports): points x0.3"},
        {"group": "requirement", "field": "all", "terms": [], "requirement": "vietnam",
         "met": True, "by": ["vietnam: vietnam (title)"]},
        {"group": "verdict", "field": "all", "terms": [], "score": 0.99, "note": "x"},
    ]
    text = describe_reasons(reasons)
    assert text == ("both sides named in the title (Vietnam, US); Blinken in the lead; "
                    "lowered by sports context")
    assert describe_reasons([]) == "" and describe_reasons(None) == ""
    assert describe_relevance(0.9998) == "strong (100 %)"
    assert describe_relevance(0.61) == "borderline (61 %)"
    zone = MessageSettings().zone()
    assert local_time("2024-12-22T02:00:00+00:00", zone) == "22 Dec 2024, 09:00 (UTC+07:00)"
    assert local_time("not a date", zone) == "not a date"
    diff = "--- v1\n+++ v2\n@@ -1,2 +1,2 @@\n-Old one.\n+New one.\n Same."
    assert changes({"article": {}, "diff": diff}) == [("removed", "Old one."),
                                                      ("added", "New one.")]


def test_bad_messages_settings_are_config_errors(tmp_path: Path) -> None:
    path = tmp_path / "alerts.yaml"
    for block, error in (("timezone: Mars/Olympus", "unknown timezone"),
                         ("public_url: ftp://x", "public_url"), ("colour: red", "unknown")):
        path.write_text(f"messages:\n  {block}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=error):
            load_alert_config(path)


def test_chat_channel_gets_the_plain_text(farm: Farm, tmp_path: Path) -> None:
    """A chat-style apprise channel (json://, as Slack, Telegram, … take it) gets the
    subject as title and the plain-text body: no HTML, no Python reprs."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    got: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        db = tmp_path / "news.db"
        crawl(DEMO_CONFIG, db, variables=farm.variables, sources=SOURCES)
        store = Store(db)
        try:
            article_id, story_id = store.db.execute(
                "select id, story_id from articles where relevant = 1 order by id limit 1"
            ).fetchone()
            doc = payload(store, {"key": "k", "article_id": article_id, "story_id": story_id,
                                  "version": 1, "kind": "new", "rule": "r"}, "2026-11-30")
        finally:
            store.close()
        settings = MessageSettings(public_url="https://nw.example.org")
        send(Channel(name="chat", url=f"json://127.0.0.1:{server.server_address[1]}/chat"),
             [doc], "k", {}, settings, "news")
    finally:
        server.shutdown()
        server.server_close()
    assert len(got) == 1
    assert got[0]["title"] == f"New: {doc['article']['title']}"
    message = got[0]["message"]
    assert "Why: " in message and "<" not in message and "{'" not in message
    assert message.splitlines()[0] != got[0]["title"]  # the title is not said twice
    assert doc["article"]["title"] not in message.splitlines()[0]
    assert f"Article in newswatch: https://nw.example.org/news/articles/{article_id}" in message


def test_every_template_with_missing_fields_shows_no_none() -> None:
    """Issue 30: `alerts test` read "None · None": every kind, alone and in a digest,
    rendered from documents missing every optional field, shows no "None" to a reader;
    a term such as "pm" reads "PM", never "Pm"."""
    kinds = ["new", "updated", "removed", "health", None]
    docs = [{}, *({"kind": kind} for kind in kinds),
            *({"kind": kind, "article": {}, "story": {}} for kind in kinds)]
    for doc in docs:
        message = render([doc])
        for text in (message.subject, message.text, message.html):
            assert "None" not in text, (doc, text)
    digest = render([{"kind": kind} for kind in kinds])
    assert "None" not in digest.text and "None" not in digest.html, digest.text
    reasons = describe_reasons([{"group": "officials", "field": "title", "points": 3,
                                 "terms": ["deputy pm"]}])
    assert "Deputy PM" in reasons and "Pm" not in reasons


def test_the_body_does_not_repeat_the_subject() -> None:
    """Issue 30: every message repeated its subject as the body's first line. The
    subject is shown above the body (email Subject, Apprise title, the webhook's
    summary starts with it): a single alert's text and HTML start below it; a digest's
    body starts at its first story, each item with its own headline and title."""
    article = {"title": "Vietnam and US sign a chips pact", "source": "laodong_en",
               "language": "en", "url": "https://example.org/a", "lead": "A lead.",
               "published": "2026-11-30T09:00:00+07:00"}
    for kind in ("new", "updated", "removed"):
        message = render([{"kind": kind, "article": article, "story": {"id": 1}}])
        first = message.text.splitlines()[0]
        assert first != message.subject and article["title"] not in first, message.text
        assert article["title"] not in message.text.split("\n\n")[0]
        body = message.html.split("<body", 1)[1]
        assert f">{article['title']}<" not in body and message.subject not in body
    two = [{"kind": "new", "article": {**article, "title": f"Story {n}"}, "story": {"id": n}}
           for n in (1, 2)]
    digest = render(two)
    assert digest.text.splitlines()[0] != digest.subject
    assert digest.subject not in digest.text and digest.subject not in \
        digest.html.split("<body", 1)[1]
    assert "New: Story 1" in digest.text and "New: Story 2" in digest.text
    hook = summary_of(two)
    assert hook.startswith(digest.subject + "\n\n") and hook.count(digest.subject) == 1
