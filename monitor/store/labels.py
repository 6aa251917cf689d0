"""Analysts' relevance labels on stored articles: corrections that become labelled data.

``newswatch label ARTICLE_ID relevant|irrelevant --db FILE`` records one row in the
``relevance_labels`` table (visible in Datasette beside ``articles``); the latest label of
an article wins, earlier ones stay as history. ``newswatch labels --db FILE --output
FILE.jsonl`` exports the labelled articles in the labelled-set format read by
``python -m monitor.judge.eval FILE.jsonl``, ready for the next tuning round.

A label acts at once (issue 30): it overrides the judge wherever ``articles.relevant`` is
read (``export --relevant-only``, the Atom feeds, the latest-relevant and home pages, the
alert rules of later edits and removals). The article row keeps the verdict in force in
``relevant``, the judge's own in ``judged_relevant``, and the latest label with who set it
and when in ``label``, ``label_by`` and ``labelled`` (migration ``_m13``); its story's
``relevant`` is refreshed. Labelled irrelevant, its alerts not yet sent (``pending`` or
``failed`` rows of the ``alerts`` outbox) are *withdrawn*: ``status = 'withdrawn'`` with
the reason in ``last_error``, never deleted. Labelled relevant, in the same transaction:
the alerts an earlier irrelevant label withdrew are *restored* (``pending`` again, due
now), and the alert rules given (``alerts``: the crawl's ``AlertConfig``) queue its
"new" alert as if the judge had found it relevant: a rule still needs its kinds, topic,
sources and ``min_score`` (the judge's score) to match. The outbox's idempotency key
(rule, channel, story) makes it once: an alert of its story queued, sent or withdrawn
before is never queued again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Protocol

from monitor.store.db import Store, now

TABLE = "relevance_labels"
VERDICTS = {"relevant": True, "irrelevant": False}
WITHDRAWN = "withdrawn"  # an alert outbox status: not to be sent, with its reason
NOT_SENT = ("pending", "failed")  # the outbox statuses of alerts not yet sent
WITHDRAWN_BY_LABEL = "labelled irrelevant"  # how a label's withdrawal reason begins


class AlertRules(Protocol):
    """What queues an article event's alerts (``monitor.alerts.AlertConfig``)."""

    def enqueue(self, db: Any, kind: str, article: dict[str, Any], stamp: str) -> int: ...


class LabelError(ValueError):
    """A label that cannot be recorded (unknown article, unknown verdict)."""


def ensure_table(store: Store) -> None:
    """Create the labels table and its index when missing (migration ``_m13`` creates
    them too)."""
    with store.db.conn:
        store.db[TABLE].create({
            "id": int, "article_id": int, "label": str, "relevant": int, "labelled": str,
            "analyst": str, "note": str, "judged_relevant": int, "judged_score": float,
        }, pk="id", if_not_exists=True)
        store.db.execute(f"create index if not exists idx_{TABLE}_article "
                         f"on {TABLE} (article_id, id)")


def add_label(store: Store, article_id: int, label: str, analyst: str | None = None,
              note: str | None = None, alerts: AlertRules | None = None) -> dict[str, Any]:
    """Record ``label`` ("relevant" or "irrelevant") for a stored article and put it in
    force (see the module doc); returns the label's row, with what the judge had said
    (``judged_relevant``, ``judged_score``) beside it, ``withdrawn`` (labelled
    irrelevant: the alerts not yet sent it withdrew), ``restored`` (labelled relevant:
    the withdrawn alerts put back to pending), ``story_alerts`` (labelled relevant: the
    "new" alerts of its story in the outbox before, whatever their status) and
    ``queued`` (labelled relevant: new alerts ``alerts``' rules queued; 0 without
    ``alerts``). LabelError for an unknown verdict or article id."""
    if label not in VERDICTS:
        raise LabelError(f"label must be one of {', '.join(VERDICTS)}, not {label!r}")
    row = store.db.execute("select coalesce(judged_relevant, relevant), relevance, story_id "
                           "from articles where id = ?", [article_id]).fetchone()
    if row is None:
        raise LabelError(f"no article with id {article_id}")
    ensure_table(store)
    stamp = now()
    relevant = int(VERDICTS[label])
    record: dict[str, Any] = {
        "article_id": article_id, "label": label, "relevant": relevant, "labelled": stamp,
        "analyst": analyst, "note": note, "judged_relevant": row[0], "judged_score": row[1]}
    with store.db.conn:
        record["id"] = store.db[TABLE].insert(record).last_pk
        store.db.execute("update articles set relevant = ?, label = ?, label_by = ?, "
                         "labelled = ? where id = ?",
                         [relevant, label, analyst, stamp, article_id])
        if row[2] is not None:
            store.db.execute("update stories set relevant = (select max(relevant) from "
                             "articles where story_id = ?) where id = ?", [row[2], row[2]])
        record["withdrawn"] = 0 if relevant else withdraw_alerts(
            store, article_id,
            f"{WITHDRAWN_BY_LABEL} by {analyst or 'an analyst'} at {stamp}")
        record["restored"] = restore_alerts(store, article_id, stamp) if relevant else 0
        record["queued"] = 0
        record["story_alerts"] = store.db.execute(
            "select count(*) from alerts where story_id = ? and kind = 'new'",
            [row[2]]).fetchone()[0] if relevant else 0
        if relevant and alerts is not None:
            article = store.db.execute(
                "select id, story_id, version, source, topic, relevance, relevant, label "
                "from articles where id = ?", [article_id]).fetchone()
            names = ("id", "story_id", "version", "source", "topic", "relevance",
                     "relevant", "label")
            record["queued"] = alerts.enqueue(store.db, "new",
                                              dict(zip(names, article, strict=True)), stamp)
    return record


def withdraw_alerts(store: Store, article_id: int, reason: str) -> int:
    """Withdraw the alerts of ``article_id`` not yet sent (:data:`NOT_SENT`): status
    :data:`WITHDRAWN`, ``reason`` in ``last_error``; the rows stay. Returns how many.
    Runs in the caller's transaction."""
    marks = ",".join("?" * len(NOT_SENT))
    cursor = store.db.execute(
        f"update alerts set status = ?, last_error = ? where article_id = ? "
        f"and status in ({marks})", [WITHDRAWN, reason, article_id, *NOT_SENT])
    return cursor.rowcount


def restore_alerts(store: Store, article_id: int, stamp: str) -> int:
    """Put back the alerts of ``article_id`` that a label withdrew (status
    :data:`WITHDRAWN`, reason beginning :data:`WITHDRAWN_BY_LABEL`): ``pending``, due at
    ``stamp``, their attempts kept. Returns how many. Runs in the caller's transaction."""
    cursor = store.db.execute(
        "update alerts set status = 'pending', last_error = null, next_attempt = ? "
        "where article_id = ? and status = ? and last_error like ?",
        [stamp, article_id, WITHDRAWN, f"{WITHDRAWN_BY_LABEL}%"])
    return cursor.rowcount


def labelled_articles(store: Store) -> Iterator[dict[str, Any]]:
    """The latest label of every labelled article, as labelled-set rows: ``{"id":
    "article-N", "article_id", "lang", "source", "url", "title", "lead", "text",
    "relevant", "kind": "analyst", "labelled", "judged_relevant"}``, oldest label first."""
    if not store.db[TABLE].exists():
        return
    cursor = store.db.execute(
        f"select l.article_id, l.relevant, l.labelled, l.judged_relevant, a.language, "
        f"a.source, a.url, a.title, a.lead, a.text from {TABLE} l "
        f"join articles a on a.id = l.article_id "
        f"where l.id = (select max(id) from {TABLE} where article_id = l.article_id) "
        f"order by l.id")
    for (article_id, relevant, labelled, judged, lang, source, url, title, lead,
         text) in cursor:
        yield {"id": f"article-{article_id}", "article_id": article_id, "lang": lang,
               "source": source, "url": url, "title": title, "lead": lead,
               "text": text or "", "relevant": bool(relevant), "kind": "analyst",
               "labelled": labelled,
               "judged_relevant": None if judged is None else bool(judged)}


def export_jsonl(store: Store) -> Iterator[str]:
    """JSON lines of :func:`labelled_articles`."""
    for row in labelled_articles(store):
        yield json.dumps(row, ensure_ascii=False)
