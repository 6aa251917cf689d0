"""Deliver the alert outbox: claim, send, mark; retries with exponential backoff.

``monitor.changes.ingest`` writes alert rows (table ``alerts``) in the article's transaction; this
module sends them. Each pass:

1. releases rows left ``sending`` by a crashed deliverer whose claim has expired;
2. picks rows ``pending`` whose ``next_attempt`` is due, channel by channel;
3. *claims* each (``status = 'sending'``, ``next_attempt`` = claim expiry) in one
   transaction, so two deliverers never send the same row;
4. sends it, then immediately marks it ``sent`` (with the ``sent`` time); on failure it
   goes back to ``pending`` with ``attempts + 1``, the (redacted) ``last_error`` and a
   later ``next_attempt`` (30 s x 2^(attempts-1), at most 1 h, plus up to 10 % jitter);
   after ``max_attempts`` it is ``failed`` and waits for :func:`retry_failed`.

A crash between a successful send and its mark can resend at most that one alert (or one
digest) after the claim expires: at-least-once at the channel. The webhook carries the
alert's idempotency key (``Idempotency-Key`` header and ``id`` field) and every email an
``X-Newswatch-Key`` header, so receivers can drop the repeat.

Secrets: ``${VAR}`` placeholders in a channel's URL or secret are read from the
environment at send time (``monitor.alerts.rules`` refuses secrets written in the file);
resolved values are never written to the database or logs: they are masked in
``last_error`` and in every log record that apprise, urllib3 or requests emit while a
message is being sent.

Logging: each pass ends with at most one line per (channel, reason) on the
``newswatch.alerts`` logger (:meth:`DeliveryReport.log`): an INFO line with the alerts
sent per channel, a WARNING with the number of alerts that failed and will be retried, an
ERROR for those that failed for good, and one INFO line when a channel delivers again
after failures. Never one line per alert; a pass with nothing due logs nothing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.alerts import messages
from monitor.alerts.digests import deliver_digests
from monitor.alerts.rules import FAILED, PENDING, SENT, AlertConfig, Channel
from monitor.alerts.send import (
    CLAIM_TIMEOUT,
    SCHEMA,
    SENDING,
    DeliveryError,
    DeliveryReport,
    backoff,
    digest_key,
    parse_stamp,
    payload,
    send,
    utc_stamp,
)
from monitor.store import Store


def recover(store: Store, now: datetime | None = None) -> int:
    """Put rows whose claim expired (a deliverer died while sending) back to pending."""
    stamp = utc_stamp(now or datetime.now(UTC))
    with store.db.conn:
        cursor = store.db.execute(
            "update alerts set status = ? where status = ? and next_attempt <= ?",
            [PENDING, SENDING, stamp])
    return cursor.rowcount


def _claim(store: Store, ids: list[int], until: str) -> list[int]:
    claimed = []
    with store.db.conn:
        for alert_id in ids:
            cursor = store.db.execute(
                "update alerts set status = ?, next_attempt = ? where id = ? and status = ?",
                [SENDING, until, alert_id, PENDING])
            if cursor.rowcount:
                claimed.append(alert_id)
    return claimed


def _rows(store: Store, where: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = store.db.execute(f"select * from alerts where {where} order by id", params)
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def deliver_pending(store: Store, config: AlertConfig, now: datetime | None = None,
                    env: Mapping[str, str] = os.environ, max_attempts: int = 8,
                    claim_timeout: timedelta = CLAIM_TIMEOUT) -> DeliveryReport:
    """One delivery pass over the due pending alerts (see the module docstring)."""
    now = now or datetime.now(UTC)
    stamp = utc_stamp(now)
    report = DeliveryReport(recovered=recover(store, now))
    # scheduled digests first (their own rows)
    deliver_digests(store, config, now, env, max_attempts, claim_timeout, report)
    due = _rows(store, "status = ? and next_attempt <= ?", [PENDING, stamp])
    by_channel: dict[str, list[dict[str, Any]]] = {}
    for row in due:
        by_channel.setdefault(row["channel"], []).append(row)
    for name, rows in by_channel.items():
        channel = config.channels.get(name)
        if channel is None:
            batches = [[row] for row in rows]
        elif channel.digest is not None:  # waiting for the period's digest
            report.held += len(rows)
            continue
        elif channel.digest_minutes > 0:
            oldest = min(parse_stamp(row["created"]) for row in rows)
            if now - oldest < timedelta(minutes=channel.digest_minutes):
                report.held += len(rows)
                continue
            batches = [rows]
        else:
            batches = [[row] for row in rows]
        for batch in batches:
            claimed = set(_claim(store, [r["id"] for r in batch], utc_stamp(now + claim_timeout)))
            batch = [r for r in batch if r["id"] in claimed]
            if batch:
                _deliver_batch(store, channel, name, batch, now, env, max_attempts, report,
                               config.messages)
    _once_back(str(store.path), report)
    report.log(max_attempts)
    return report


_BACK_LOCK = threading.Lock()
_BACK_LOGGED: set[tuple[str, str]] = set()  # (database, channel) said to work again


def _once_back(database: str, report: DeliveryReport) -> None:
    """Keep in ``report.back`` only the channels not yet said to work again since their
    last failure in this process: a recovery is one INFO line, not one per pass while the
    alerts that failed earlier come due one by one."""
    with _BACK_LOCK:
        for channel, _, _ in report.failures:
            _BACK_LOGGED.discard((database, channel))
        for channel in list(report.back):
            if (database, channel) in _BACK_LOGGED:
                del report.back[channel]
            elif not any(c == channel for c, _, _ in report.failures):
                _BACK_LOGGED.add((database, channel))


def _deliver_batch(store: Store, channel: Channel | None, name: str,
                   batch: list[dict[str, Any]], now: datetime, env: Mapping[str, str],
                   max_attempts: int, report: DeliveryReport,
                   settings: messages.MessageSettings | None = None) -> None:
    stamp = utc_stamp(now)
    try:
        if channel is None:
            raise DeliveryError(f"channel {name} is not in the alerts config")
        docs = [payload(store, row, stamp) for row in batch]
        key = batch[0]["key"] if len(batch) == 1 else digest_key(r["key"] for r in batch)
        send(channel, docs, key, env, settings, store.path.stem)
    except Exception as exc:  # noqa: BLE001 - any failure is a failed attempt, never a crash
        error = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
    else:
        with store.db.conn:
            store.db.conn.executemany(
                "update alerts set status = ?, sent = ?, last_error = null where id = ?",
                [(SENT, stamp, row["id"]) for row in batch])
        report.sent += len(batch)
        report.note_sent(name, len(batch), any(row["last_error"] for row in batch))
        return
    report.errors.append(error)
    with store.db.conn:
        for row in batch:
            attempts = (row["attempts"] or 0) + 1
            status = FAILED if attempts >= max_attempts else PENDING
            delay = backoff(attempts)
            retry_at = utc_stamp(now + timedelta(seconds=delay))
            report.note_failure(name, error, attempts, status == FAILED, delay)
            store.db.execute(
                "update alerts set status = ?, attempts = ?, last_error = ?, next_attempt = ? "
                "where id = ?", [status, attempts, error, retry_at, row["id"]])
            if status == FAILED:
                report.failed += 1
            else:
                report.retrying += 1


def retry_failed(store: Store, ids: Iterable[int] | None = None,
                 now: datetime | None = None) -> int:
    """Put failed alerts (all, or ``ids``) back to pending with a fresh retry budget."""
    stamp = utc_stamp(now or datetime.now(UTC))
    sql = "update alerts set status = ?, attempts = 0, next_attempt = ? where status = ?"
    params: list[Any] = [PENDING, stamp, FAILED]
    wanted = list(ids or [])
    if wanted:
        sql += f" and id in ({','.join('?' * len(wanted))})"
        params += wanted
    with store.db.conn:
        return store.db.execute(sql, params).rowcount


def list_alerts(store: Store, status: str | None = None,
                limit: int | None = None) -> list[dict[str, Any]]:
    """Alert rows with their article's title and URL, newest first."""
    # a health alert has no article: its message stands as the title
    sql = ("select al.*, coalesce(a.title, al.message) as title, a.url as url from alerts al "
           "left join articles a on a.id = al.article_id")
    params: list[Any] = []
    if status:
        sql += " where al.status = ?"
        params.append(status)
    sql += " order by al.id desc"
    if limit:
        sql += f" limit {int(limit)}"
    cursor = store.db.execute(sql, params)
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def counts(store: Store) -> dict[str, int]:
    """Alert rows per status (for ``newswatch status``)."""
    return {status: count for status, count in
            store.db.execute("select status, count(*) from alerts group by status")}


def send_test(config: AlertConfig, name: str, env: Mapping[str, str] = os.environ,
              now: datetime | None = None) -> None:
    """Send a test message to one channel; raises DeliveryError (or KeyError: unknown)."""
    channel = config.channels[name]
    stamp = utc_stamp(now or datetime.now(UTC))
    key = f"test:{name}:{stamp}"
    doc = {
        "schema": SCHEMA, "id": key, "kind": "test", "rule": None,
        "article": {"id": None, "url": None, "title": "newswatch test message",
                    "source": None, "language": None, "published": stamp,
                    "lead": f"A test of the alert channel {name!r}.", "version": None,
                    "relevance": None, "reasons": []},
        "story": {"id": None, "title": None, "articles": 0, "languages": []},
        "diff": None, "sent_at": stamp,
    }
    send(channel, [doc], key, env, config.messages)
