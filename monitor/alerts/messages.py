"""Alert messages for people: subject, plain text and HTML from alert documents.

``monitor.alerts.delivery`` builds one ``newswatch.alert/1`` document per alert (see
docs/ALERTS.md); this module turns a list of them (one alert, or a digest) into a
:class:`Message` - a subject that says what happened ("New: …", "Edited (headline,
numbers): …", "Removed: …"), a plain-text body and an HTML body - and into the webhook's
one-line-per-fact ``summary``. The bodies are Jinja2 templates shipped as files under
``monitor/alerts/templates/messages/`` (``message.txt``, ``message.html``); wording that is data
(names of languages, fields and edit kinds) lives in ``words.yaml`` beside them.

Fields that other parts of newswatch may add to a document are used when present and
skipped when absent: ``edit_kinds`` (list of kinds such as ``headline``, ``numbers``),
``added`` / ``removed`` (changed sentences, in order), kind ``removed``. Without
``added``/``removed``, an edit's changed paragraphs are read from its unified ``diff``.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from monitor.sources import DEFAULT_TIMEZONE  # every local time newswatch shows

TEMPLATES = Path(__file__).parent / "templates" / "messages"
FIELDS = ("title", "lead", "body")
MAX_TERMS = 4  # terms named per field in the reasons line
MAX_CHANGES = 12  # changed sentences shown per edit


@dataclass(frozen=True)
class MessageSettings:
    """How messages are written (the ``messages:`` block of the alerts file).

    ``public_url``: base URL of the ``newswatch serve`` instance the analysts can open
    (e.g. ``https://newswatch.example.org``); without it, messages carry no newswatch links.
    ``database``: the Datasette name of the database there (default: the delivering
    database file's stem, as ``newswatch serve`` names it). ``timezone``: IANA zone of the
    times shown."""

    public_url: str | None = None
    database: str | None = None
    timezone: str = DEFAULT_TIMEZONE

    def zone(self) -> ZoneInfo:
        """The zone of the times shown; ValueError for an unknown name."""
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {self.timezone!r}") from exc

    def page(self, table: str, row_id: Any, database: str | None = None) -> str | None:
        """URL of a row's page (``articles`` or ``stories``) on the serve instance."""
        name = self.database or database
        if not self.public_url or not name or row_id is None:
            return None
        return f"{self.public_url.rstrip('/')}/{name}/{table}/{row_id}"


@dataclass(frozen=True)
class Message:
    """One message: subject line, plain-text body, HTML body."""

    subject: str
    text: str
    html: str


@cache
def words() -> dict[str, Any]:
    """The wording data (``words.yaml``): languages, fields, edit kinds, verbs."""
    return yaml.safe_load((TEMPLATES / "words.yaml").read_text(encoding="utf-8"))


@cache
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=False, undefined=jinja2.StrictUndefined)


# -- pieces ----------------------------------------------------------------------------------
def local_time(stamp: str | None, zone: ZoneInfo) -> str | None:
    """An ISO 8601 time as ``22 Dec 2024, 09:00 (UTC+07:00)`` in ``zone``; a time without
    a zone is taken as UTC; text that is not a time comes back unchanged."""
    if not stamp:
        return None
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    local = when.astimezone(zone)
    offset = local.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    zone_text = f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return f"{local.day} {local:%b %Y, %H:%M} ({zone_text})"


def _term(term: str) -> str:
    """A matched term as people write it: folded terms capitalised, exact ones as is."""
    if not term.islower():
        return term
    special = words()["terms"]
    return " ".join(special.get(w, w if w in words()["small_words"] else string.capwords(w))
                    for w in term.split())


def _listing(items: list[str], limit: int = MAX_TERMS) -> str:
    shown = items[:limit]
    text = ", ".join(shown)
    if len(items) > limit:
        text += f" and {len(items) - limit} more"
    return text


def describe_reasons(reasons: list[dict[str, Any]] | None) -> str:
    """The relevance verdict's reasons in words: ``both sides named in the title
    (Vietnam, US); Blinken in the lead; Washington and 2 more in the body``; negative
    context as ``lowered: sports context``. Empty string for no reasons."""
    counted: dict[str, list[str]] = {}
    together: set[str] = set()
    lowered: list[str] = []
    for reason in reasons or []:
        if not isinstance(reason, dict):
            continue
        group, where = reason.get("group"), reason.get("field")
        if group == "together" and where in FIELDS:
            together.add(where)
        elif "points" in reason and where in FIELDS:
            for term in reason.get("terms") or []:
                shown = _term(str(term))
                if shown.lower() not in {t.lower() for t in counted.setdefault(where, [])}:
                    counted[where].append(shown)
        elif str(reason.get("note", "")).startswith("negative context (") and \
                "points x" in str(reason.get("note")):
            label = words()["groups"].get(group, str(group).replace("_", " "))
            if label not in lowered:
                lowered.append(label)
    field_names = words()["fields"]
    parts = []
    for where in FIELDS:
        terms = counted.get(where, [])
        if where in together:
            parts.append(f"both sides named in the {field_names[where]}"
                         + (f" ({_listing(terms)})" if terms else ""))
        elif terms:
            parts.append(f"{_listing(terms)} in the {field_names[where]}")
    if lowered:
        parts.append("lowered by " + ", ".join(lowered))
    return "; ".join(parts)


def describe_relevance(score: float | None) -> str | None:
    """A score in [0, 1] as words and a whole percentage: ``strong (98 %)``."""
    if score is None:
        return None
    for floor, label in words()["relevance"]:
        if score >= floor:
            return f"{label} ({round(score * 100)} %)"
    return f"{round(score * 100)} %"


def changes(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """An edit's changed sentences, in order, as ``("removed"|"added", text)``: from the
    document's ``changes`` (``[{"op": "-"|"+", "text": …}]``, monitor.changes.edits, in order),
    else its ``removed`` / ``added`` lists, else its unified diff."""
    if isinstance(doc.get("changes"), list) and doc["changes"]:
        return [("added" if c.get("op") == "+" else "removed", str(c.get("text", "")))
                for c in doc["changes"] if isinstance(c, dict)][:MAX_CHANGES]
    edit = doc.get("edit") if isinstance(doc.get("edit"), dict) else {}
    removed = doc.get("removed") or edit.get("removed")
    added = doc.get("added") or edit.get("added")
    if isinstance(removed, list) or isinstance(added, list):
        return ([("removed", str(s)) for s in removed or []]
                + [("added", str(s)) for s in added or []])[:MAX_CHANGES]
    found = []
    for line in (doc.get("diff") or "").splitlines():
        if line.startswith(("+++", "---", "@@")):
            continue
        if line.startswith("+") and line[1:].strip():
            found.append(("added", line[1:].strip()))
        elif line.startswith("-") and line[1:].strip():
            found.append(("removed", line[1:].strip()))
    return found[:MAX_CHANGES]


def edit_kinds(doc: dict[str, Any]) -> list[str]:
    """The edit's kinds (``headline``, ``numbers``, …) when the document carries them."""
    edit = doc.get("edit") if isinstance(doc.get("edit"), dict) else {}
    kinds = (doc.get("edits") or doc.get("edit_kinds") or edit.get("kinds")
             or (doc.get("article") or {}).get("edit_kinds"))
    if isinstance(kinds, str):
        kinds = [k for k in kinds.replace(",", " ").split() if k]
    names = words()["edit_kinds"]
    return [names.get(k, str(k).replace("_", " ")) for k in kinds or []]


def headline(doc: dict[str, Any]) -> str:
    """What happened, before the title: ``New``, ``Edited (headline, numbers)``, …"""
    verb = words()["verbs"].get(doc.get("kind"), str(doc.get("kind") or "").capitalize())
    verb = verb or "Alert"  # a document without a kind (issue 30: never "None")
    kinds = edit_kinds(doc) if doc.get("kind") == "updated" else []
    return f"{verb} ({', '.join(kinds)})" if kinds else verb


def item(doc: dict[str, Any], settings: MessageSettings,
         database: str | None = None) -> dict[str, Any]:
    """The template context of one alert document."""
    article, story = doc.get("article") or {}, doc.get("story") or {}
    zone = settings.zone()
    languages = words()["languages"]
    lang = article.get("language")
    links = []
    if article.get("url"):
        links.append({"label": "Original", "url": article["url"]})
    editions = []
    for other in story.get("editions") or []:
        if other.get("id") == article.get("id"):
            continue
        label = languages.get(other.get("language"), other.get("language") or "?")
        entry = {"label": f"{label} edition" if other.get("language") != lang
                 else f"Copy ({other.get('source')})",
                 "title": other.get("title"), "source": other.get("source"),
                 "url": other.get("url"),
                 "page": settings.page("articles", other.get("id"), database),
                 "other_language": other.get("language") != lang}
        editions.append(entry)
    editions.sort(key=lambda e: not e["other_language"])
    for edition in editions:
        if edition["other_language"] and edition["url"]:
            links.append({"label": edition["label"], "url": edition["url"]})
            break
    story_page = settings.page("stories", story.get("id"), database)
    article_page = settings.page("articles", article.get("id"), database)
    if story_page:
        links.append({"label": "Story in newswatch", "url": story_page})
    if article_page:
        links.append({"label": "Article in newswatch", "url": article_page})
    source = article.get("source")
    return {
        "kind": doc.get("kind"), "headline": headline(doc),
        "title": article.get("title") or "(no title)", "url": article.get("url"),
        "source": source, "language": languages.get(lang, lang),
        "time": local_time(article.get("published"), zone),
        "seen": local_time(doc.get("sent_at"), zone),
        "lead": article.get("lead"), "version": article.get("version"),
        "reasons": describe_reasons(article.get("reasons")),
        "relevance": describe_relevance(article.get("relevance")),
        "changes": changes(doc) if doc.get("kind") == "updated" else [],
        "removal": removal(doc, zone),
        "story_id": story.get("id"), "story_title": story.get("title"),
        "story_articles": story.get("articles") or 0,
        "story_languages": [languages.get(x, x) for x in story.get("languages") or []],
        "editions": editions, "links": links, "article_page": article_page,
        "story_page": story_page,
    }


def removal(doc: dict[str, Any], zone: ZoneInfo) -> str | None:
    """For a ``removed`` alert, when and why its site took the article down
    (``"Taken down 1 Dec 2026, 16:10 (UTC+07:00): HTTP 404"``); else None."""
    gone = doc.get("removed")
    if doc.get("kind") != "removed" or not isinstance(gone, dict):
        return None
    when = local_time(gone.get("when"), zone)
    reason = gone.get("reason") or "no longer published"
    return f"Taken down{' ' + when if when else ''}: {reason}"


def subject(docs: list[dict[str, Any]]) -> str:
    """The subject line: ``New: <title>`` for one alert, counts by kind for a digest."""
    if len(docs) == 1:
        title = (docs[0].get("article") or {}).get("title") or "(no title)"
        return f"{headline(docs[0])}: {title}"
    counts: dict[str, int] = {}
    for doc in docs:
        counts[doc.get("kind") or "?"] = counts.get(doc.get("kind") or "?", 0) + 1
    plural = words()["plural"]
    parts = [f"{n} {plural.get(kind, kind) if n > 1 else words()['verbs'].get(kind, kind)}"
             .lower() for kind, n in counts.items()]
    stories = len({(d.get("story") or {}).get("id") for d in docs})
    return f"newswatch digest: {', '.join(parts)} ({stories} stories)"


def _grouped(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items grouped by story, first-come order, English before Vietnamese in a group."""
    groups: dict[Any, dict[str, Any]] = {}
    for entry in items:
        key = entry["story_id"] if entry["story_id"] is not None else id(entry)
        group = groups.setdefault(key, {"title": entry["story_title"] or entry["title"],
                                        "page": entry["story_page"], "items": []})
        group["items"].append(entry)
    order = words()["language_order"]
    languages = words()["languages"]
    for group in groups.values():
        group["items"].sort(key=lambda e: order.index(e["language"])
                            if e["language"] in order else len(order))
        # the story's editions in languages no alert of the group is in, beside them
        have = {e["language"] for e in group["items"]}
        others: dict[str, dict[str, Any]] = {}
        for entry in group["items"]:
            for edition in entry["editions"]:
                name = edition["label"].removesuffix(" edition")
                if edition["other_language"] and name not in have and name in languages.values():
                    others.setdefault(name, {**edition, "language": name})
        group["others"] = list(others.values())
    return list(groups.values())


def render(docs: list[dict[str, Any]], settings: MessageSettings | None = None,
           database: str | None = None) -> Message:
    """The message for one alert (``len(docs) == 1``) or a digest of several.

    ``database``: Datasette name of the database (used when ``settings.database`` is
    unset). ValueError for an unknown timezone."""
    settings = settings or MessageSettings()
    items = [item(doc, settings, database) for doc in docs]
    context = {"items": items, "groups": _grouped(items), "digest": len(items) > 1,
               "subject": subject(docs)}
    env = _environment()
    text = env.get_template("message.txt").render(context).strip() + "\n"
    html = env.get_template("message.html").render(context).strip() + "\n"
    return Message(subject=context["subject"], text=text, html=html)


def summary(docs: list[dict[str, Any]], settings: MessageSettings | None = None,
            database: str | None = None) -> str:
    """The webhook's ``summary``: the plain-text message, subject first."""
    message = render(docs, settings, database)
    return f"{message.subject}\n\n{message.text}".strip()
