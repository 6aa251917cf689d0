"""Alert rules, channels, and the transactional outbox.

An alert row is written by ``monitor.ingest`` in the same SQLite transaction that stores
the article (``enqueue``): if the article is stored, its alerts are too, and a crash
cannot separate them. Delivery is a separate step (``monitor.delivery``). Each row has an
idempotency key - rule, channel and the event (a story for "new", an article version for
"updated") - so the same event can never be queued twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from monitor.config import CONFIG_DIR, ConfigError

ALERTS_FILE = CONFIG_DIR / "alerts.yaml"
KINDS = ("new", "updated")
PENDING, SENT, FAILED = "pending", "sent", "failed"


@dataclass(frozen=True)
class Channel:
    """Where alerts go: an apprise URL, or a signed JSON webhook. ``${VAR}`` placeholders
    stay unresolved here; delivery reads them from the environment."""

    name: str
    url: str | None = None  # apprise URL
    webhook: str | None = None  # signed JSON webhook URL
    secret: str | None = None  # HMAC secret for the webhook (usually "${VAR}")
    digest_minutes: int = 0  # 0: one message per alert; N: one message per N minutes


@dataclass(frozen=True)
class Rule:
    """Which stored articles alert which channels."""

    name: str
    channels: tuple[str, ...]
    kinds: tuple[str, ...] = KINDS
    topic: str | None = None
    sources: tuple[str, ...] = ()
    min_score: float | None = None

    def matches(self, kind: str, article: dict[str, Any]) -> bool:
        """Whether an article event (kind "new" or "updated") falls under this rule."""
        if kind not in self.kinds or not article.get("relevant"):
            return False
        if self.topic and article.get("topic") != self.topic:
            return False
        if self.sources and article.get("source") not in self.sources:
            return False
        return self.min_score is None or (article.get("relevance") or 0) >= self.min_score


@dataclass(frozen=True)
class AlertConfig:
    """Every rule and channel."""

    channels: dict[str, Channel] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()

    def enqueue(self, db: Any, kind: str, article: dict[str, Any], stamp: str) -> int:
        """Queue the alerts an article event calls for, inside the caller's transaction.

        ``article`` is the stored row (id, story_id, version, source, topic, relevance,
        relevant). Returns the number of rows queued; an event already queued is skipped.
        """
        queued = 0
        for rule in self.rules:
            if not rule.matches(kind, article):
                continue
            event = (f"story:{article['story_id']}" if kind == "new"
                     else f"article:{article['id']}:v{article['version']}")
            for channel in rule.channels:
                cursor = db.execute(
                    "insert or ignore into alerts (key, article_id, story_id, version, kind, "
                    "rule, channel, status, attempts, next_attempt, created) "
                    "values (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
                    [f"{rule.name}:{channel}:{event}", article["id"], article["story_id"],
                     article.get("version") or 1, kind, rule.name, channel, PENDING, stamp,
                     stamp])
                queued += cursor.rowcount
        return queued


def load_alert_config(path: str | Path = ALERTS_FILE) -> AlertConfig:
    """Read and check an alerts file; a missing default file means no alerts."""
    path = Path(path)
    if not path.exists():
        if path == ALERTS_FILE:
            return AlertConfig()
        raise ConfigError(f"{path}: no such alerts file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        channels = {}
        for name, spec in (data.get("channels") or {}).items():
            unknown = set(spec) - {"url", "webhook", "secret", "digest_minutes"}
            if unknown:
                raise ValueError(f"channel {name!r}: unknown keys {sorted(unknown)}")
            if bool(spec.get("url")) == bool(spec.get("webhook")):
                raise ValueError(f"channel {name!r}: give exactly one of 'url' or 'webhook'")
            channels[name] = Channel(name=name, url=spec.get("url"), webhook=spec.get("webhook"),
                                     secret=spec.get("secret"),
                                     digest_minutes=int(spec.get("digest_minutes", 0)))
        rules = []
        for spec in data.get("rules") or []:
            missing = [c for c in spec.get("channels", []) if c not in channels]
            if missing or not spec.get("channels"):
                raise ValueError(f"rule {spec.get('name')!r}: unknown or no channels {missing}")
            kinds = tuple(spec.get("kinds", KINDS))
            if set(kinds) - set(KINDS):
                raise ValueError(f"rule {spec.get('name')!r}: kinds must be among {KINDS}")
            rules.append(Rule(name=spec["name"], channels=tuple(spec["channels"]), kinds=kinds,
                              topic=spec.get("topic"), sources=tuple(spec.get("sources", [])),
                              min_score=spec.get("min_score")))
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: invalid alerts config: {exc}") from exc
    return AlertConfig(channels=channels, rules=tuple(rules))
