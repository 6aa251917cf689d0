"""Unpublished articles: a known article that its site now says is gone becomes a
``removed`` event (its last text stays stored) and can alert (``kinds: [removed]``).

What counts as "gone" on a re-check (``crawler.removals`` observes, this module
decides and stores):

- the page answers 404 or 410 (``change_rules.GONE_STATUSES``);
- it redirects to a page that is not an article of the source (a section page);
- it is replaced by a removal notice ("This article has been removed", "Bài viết không
  tồn tại", ``change_rules.REMOVAL_NOTICES``).

It must be found gone on ``REMOVAL_CONFIRMATIONS`` consecutive checks (crawls). A 5xx,
a timeout or a refused connection is no evidence: it neither counts nor resets. A check
that finds the page (200 with its text, or 304) resets the count and clears a removal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from monitor.alerts import AlertConfig
from monitor.changes import rules as change_rules
from monitor.store import Store, now

OK, GONE, FAILED = "ok", "gone", "failed"  # what one check of a known URL found


@lru_cache(maxsize=1)
def _notice() -> re.Pattern[str]:
    return re.compile(r"^\W*(?:" + "|".join(change_rules.REMOVAL_NOTICES) + r")\W*$",
                      re.IGNORECASE)


def is_removal_notice(html: str | bytes) -> bool:
    """Whether a page's title, a heading or a short block says its article is gone."""
    import lxml.html

    try:
        tree = lxml.html.fromstring(html)
    except (ValueError, TypeError, lxml.etree.ParserError):
        return False
    pattern = _notice()
    for node in tree.iter("title", "h1", "h2", "h3", "p", "div", "span", "strong", "section"):
        text = " ".join(node.text_content().split())
        if 0 < len(text) <= 300 and pattern.match(text):
            return True
    return False


def known_articles(store: Store, source: str) -> dict[str, dict[str, Any]]:
    """Stored articles of ``source`` by URL: id, relevant, removed, gone_checks."""
    rows = store.db.execute(
        "select url, id, relevant, removed, coalesce(gone_checks, 0) from articles "
        "where source = ?", [source]).fetchall()
    return {url: {"id": i, "relevant": r, "removed": rm, "gone_checks": g}
            for url, i, r, rm, g in rows}


def record_checks(store: Store, observations: Mapping[str, tuple[str, str]],
                  alerts: AlertConfig | None = None) -> list[int]:
    """Apply one crawl's checks of known URLs (url -> (ok|gone|failed, reason)) in one
    transaction; returns the ids of the articles found removed now (each queued its
    ``removed`` alerts in the same transaction)."""
    alerts = alerts or AlertConfig()
    stamp = now()
    removed = []
    db = store.db
    with db.conn:
        for url, (state, reason) in observations.items():
            row = db.execute(
                "select id, story_id, version, source, topic, relevance, relevant, removed, "
                "coalesce(gone_checks, 0) from articles where url = ?", [url]).fetchone()
            if row is None or state == FAILED:
                continue
            article_id, story_id, version, source, topic, relevance, relevant, gone, checks = row
            if state == OK:
                if checks or gone:
                    db.execute("update articles set gone_checks = 0, removed = null, "
                               "removed_reason = null where id = ?", [article_id])
                continue
            checks += 1
            if gone or checks < change_rules.REMOVAL_CONFIRMATIONS:
                db.execute("update articles set gone_checks = ? where id = ?",
                           [checks, article_id])
                continue
            db.execute("update articles set gone_checks = ?, removed = ?, removed_reason = ? "
                       "where id = ?", [checks, stamp, reason, article_id])
            alerts.enqueue(db, "removed", {
                "id": article_id, "story_id": story_id, "version": version or 1,
                "source": source, "topic": topic, "relevance": relevance,
                "relevant": relevant}, stamp)
            removed.append(article_id)
    return removed


def removed_articles(store: Store, ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
    """Removed articles (all, or ``ids``), with their last stored text."""
    where, params = "removed is not null", []
    if ids is not None:
        wanted = list(ids)
        where += f" and id in ({','.join('?' * len(wanted))})"
        params = wanted
    return list(store.db["articles"].rows_where(where, params, order_by="id"))
