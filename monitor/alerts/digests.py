"""Scheduled digests: one message per channel and period, at a set local time.

A channel with a ``digest:`` schedule (``every_hours``, ``at``, optional ``quiet``) gets
no message per alert. When a period closes (at ``at`` local time, then every
``every_hours`` hours), the channel's pending alerts created before the boundary are
moved, in one transaction, into **one** row of the ``digests`` table keyed
``digest:<channel>:<boundary, UTC>`` (unique): the alerts' status becomes ``digested``.
That row is then claimed, sent as one message (grouped by story, EN and VI editions side
by side; ``monitor.alerts.messages``) and marked sent together with its alerts, with the same
retries, backoff and claim expiry as single alerts (``monitor.alerts.delivery``). Inside the
quiet hours nothing is sent; the digest waits for their end.

A digest is formed once per channel and period (the unique key, in the transaction that
takes its alerts); a crash between a successful send and its mark resends that digest
once, with the same ``Idempotency-Key`` / ``X-Newswatch-Key`` (at-least-once at the
channel, like single alerts).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from monitor.alerts.rules import FAILED, PENDING, SENT, AlertConfig, Channel
from monitor.alerts.send import backoff, parse_stamp, payload, send, utc_stamp
from monitor.store import Store

DIGESTED = "digested"  # an alert waiting in a formed digest
SENDING = "sending"

SCHEMA = """create table if not exists digests (
    id integer primary key, key text unique not null, channel text not null,
    period text not null, alert_ids text not null, status text not null,
    attempts integer not null default 0, next_attempt text, created text, sent text,
    last_error text)"""


def ensure_table(store: Store) -> None:
    """Create the ``digests`` table if this database has none yet."""
    with store.db.conn:
        store.db.execute(SCHEMA)


def close_periods(store: Store, config: AlertConfig, now: datetime) -> int:
    """Form the digests of every scheduled channel whose period has closed; returns the
    number of digests formed. Alerts that arrive for a period already formed wait for
    the next one."""
    formed = 0
    for name, channel in config.channels.items():
        if channel.digest is None:
            continue
        boundary = channel.digest.boundary(now)
        key = f"digest:{name}:{utc_stamp(boundary)}"
        with store.db.conn:  # one transaction: the row and its alerts, or neither
            if store.db.execute("select 1 from digests where key = ?", [key]).fetchone():
                continue
            rows = store.db.execute(
                "select id, created from alerts where channel = ? and status = ? "
                "order by id", [name, PENDING]).fetchall()
            ids = [i for i, created in rows if created and parse_stamp(created) < boundary]
            if not ids:
                continue
            store.db.execute(
                "insert into digests (key, channel, period, alert_ids, status, attempts, "
                "next_attempt, created) values (?, ?, ?, ?, ?, 0, ?, ?)",
                [key, name, utc_stamp(boundary), json.dumps(ids), PENDING, utc_stamp(now),
                 utc_stamp(now)])
            store.db.conn.executemany("update alerts set status = ? where id = ?",
                                      [(DIGESTED, i) for i in ids])
            formed += 1
    return formed


def deliver_digests(store: Store, config: AlertConfig, now: datetime,
                    env: Mapping[str, str], max_attempts: int, claim_timeout: timedelta,
                    report: Any) -> None:
    """Close periods, then send the due digests (counts go to ``report``, a
    ``DeliveryReport``): called by ``monitor.alerts.delivery.deliver_pending``."""
    if not any(c.digest is not None for c in config.channels.values()):
        return
    ensure_table(store)
    stamp = utc_stamp(now)
    with store.db.conn:  # abandoned claims
        report.recovered += store.db.execute(
            "update digests set status = ? where status = ? and next_attempt <= ?",
            [PENDING, SENDING, stamp]).rowcount
    close_periods(store, config, now)
    due = store.db.execute(
        "select id, key, channel, alert_ids, attempts from digests where status = ? "
        "and next_attempt <= ? order by id", [PENDING, stamp]).fetchall()
    for digest_id, key, name, alert_ids, attempts in due:
        ids = json.loads(alert_ids)
        channel: Channel | None = config.channels.get(name)
        if channel is not None and channel.digest is not None \
                and channel.digest.quiet_now(now):
            report.held += len(ids)
            continue
        with store.db.conn:
            claimed = store.db.execute(
                "update digests set status = ?, next_attempt = ? where id = ? and status = ?",
                [SENDING, utc_stamp(now + claim_timeout), digest_id, PENDING]).rowcount
        if not claimed:
            continue
        try:
            if channel is None:
                raise RuntimeError(f"channel {name} is not in the alerts config")
            cursor = store.db.execute(
                f"select * from alerts where id in ({','.join('?' * len(ids))}) order by id",
                ids)
            names = [c[0] for c in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            docs = [payload(store, row, stamp) for row in rows]
            send(channel, docs, key, env, config.messages, store.path.stem)
        except Exception as exc:  # noqa: BLE001 - a failed attempt, never a crash
            error = str(exc)
            attempts = (attempts or 0) + 1
            status = FAILED if attempts >= max_attempts else PENDING
            with store.db.conn:
                store.db.execute(
                    "update digests set status = ?, attempts = ?, last_error = ?, "
                    "next_attempt = ? where id = ?",
                    [status, attempts, error, utc_stamp(now + timedelta(
                        seconds=backoff(attempts))), digest_id])
            report.errors.append(error)
            report.note_failure(name, error, attempts, status == FAILED,
                                backoff(attempts), len(ids))
            if status == FAILED:
                report.failed += len(ids)
            else:
                report.retrying += len(ids)
            continue
        with store.db.conn:
            store.db.execute("update digests set status = ?, sent = ?, last_error = null "
                             "where id = ?", [SENT, stamp, digest_id])
            store.db.conn.executemany(
                "update alerts set status = ?, sent = ?, last_error = null where id = ?",
                [(SENT, stamp, i) for i in ids])
        report.sent += len(ids)
        report.note_sent(name, len(ids), bool(attempts))


def list_digests(store: Store) -> list[dict[str, Any]]:
    """Digest rows, newest first (empty when the table does not exist)."""
    ensure_table(store)
    cursor = store.db.execute("select * from digests order by id desc")
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
