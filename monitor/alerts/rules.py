"""Alert rules, channels, and the transactional outbox.

An alert row is written by ``monitor.changes.ingest`` in the same SQLite transaction that stores
the article (``enqueue``): if the article is stored, its alerts are too, and a crash
cannot separate them. Delivery is a separate step (``monitor.alerts.delivery``). Each row has an
idempotency key - rule, channel and the event (a story for "new", an article version for
"updated") - so the same event can never be queued twice.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from monitor.alerts.messages import MessageSettings
from monitor.alerts.schedule import DigestSchedule
from monitor.sources import CONFIG_DIR, BoundedLoader, ConfigError

ALERTS_FILE = CONFIG_DIR / "alerts.yaml"
KINDS = ("new", "updated")  # what a rule alerts on when it names no kinds
EVENT_KINDS = ("new", "updated", "removed")  # what a rule may name
# Edit kinds a rule may narrow "updated" to (monitor.changes.edits.KINDS); a rule that names none
# alerts on every edit but a cosmetic one.
EDIT_KINDS = ("headline", "lead", "numbers", "quote", "paragraph_added", "paragraph_removed",
              "paragraph_edited", "correction", "byline", "date", "cosmetic")
HEALTH = "health"  # a source turned degraded/failing or recovered (monitor.sources.health)
PENDING, SENT, FAILED = "pending", "sent", "failed"

# Secrets come only from the environment: a channel's `secret`, the password in a URL's
# userinfo, secret-named query parameters and the tokens of token-in-URL apprise schemes
# must be ${VAR} placeholders (see docs/ALERTS.md).
_PLACEHOLDERS = re.compile(r"(?:\$\{[A-Za-z_][A-Za-z0-9_]*\})+")
_HAS_PLACEHOLDER = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# query parameter names (lower case, without "-" and "_", apprise's "+"/"-"/":" prefixes
# stripped) that carry a credential in apprise URLs (mailto ?pass=, gotify/ntfy/matrix
# ?token=, json/form +Authorization header, ...)
SECRET_PARAMS = frozenset({"pass", "password", "passwd", "pwd", "token", "secret", "key",
                           "apikey", "apitoken", "accesstoken", "auth", "authorization",
                           "signature", "sig"})
SECRET_PARAM_WORDS = ("token", "secret", "password", "apikey", "auth")
# apprise schemes whose host/path is the credential (slack://TokenA/TokenB/TokenC,
# tgram://bottoken/chat, discord://id/token, ...): they must take a ${VAR} before the query
TOKEN_SCHEMES = frozenset({"slack", "tgram", "discord", "msteams", "pbul", "pover",
                           "gotify", "gotifys", "pushed", "join", "ifttt", "mmost",
                           "mmosts", "rocket", "rockets", "zulip", "matrix", "matrixs"})


def is_placeholder(value: str) -> bool:
    """Whether ``value`` is made only of ``${VAR}`` placeholders."""
    return bool(_PLACEHOLDERS.fullmatch(value))


def _from_env(value: str) -> bool:
    """A credential value taken from the environment: placeholders only, or an HTTP auth
    scheme word and placeholders (``Bearer ${TOKEN}``)."""
    if is_placeholder(value):
        return True
    rest = _HAS_PLACEHOLDER.sub(" ", value).split()
    return bool(_HAS_PLACEHOLDER.search(value)) and all(
        word.lower() in ("bearer", "basic", "token", "bot") for word in rest)


def secret_param(name: str) -> bool:
    """Whether a URL query parameter named ``name`` carries a credential."""
    norm = name.strip().lstrip("+-:").lower().replace("-", "").replace("_", "")
    return norm in SECRET_PARAMS or any(word in norm for word in SECRET_PARAM_WORDS)


def url_secrets(url: str) -> list[tuple[str, str]]:
    """The credential parts of a URL, as (where, value): the userinfo password and the
    values of secret-named query parameters. Works on unresolved URLs (``${VAR}``)."""
    rest = url.split("://", 1)[1] if "://" in url else url
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0]
    found = []
    userinfo = netloc.rpartition("@")[0]
    if ":" in userinfo:
        found.append(("the password in the URL", userinfo.partition(":")[2]))
    query = rest.partition("?")[2].partition("#")[0]
    for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        if secret_param(name):
            found.append((f"the URL parameter {name.strip()!r}", value))
    return [(where, value) for where, value in found if value]


def _check_secrets(name: str, spec: dict[str, Any]) -> None:
    """Refuse a channel whose secret, URL password or token is written in the file."""
    secret = spec.get("secret")
    if secret is not None and not (isinstance(secret, str) and is_placeholder(secret)):
        raise ValueError(f"channel {name!r}: 'secret' must come from the environment; "
                         'write secret: "${NAME}" and set NAME')
    for key in ("url", "webhook"):
        url = spec.get(key)
        if not isinstance(url, str):
            continue
        for where, value in url_secrets(url):
            if not (is_placeholder(value) if where.startswith("the password") else
                    _from_env(value)):
                raise ValueError(f"channel {name!r}: {where} ({key!r}) must come from the "
                                 "environment; write ${NAME} instead of the value")
        scheme = url.partition("://")[0].lower() if "://" in url else ""
        if scheme in TOKEN_SCHEMES and not _HAS_PLACEHOLDER.search(
                url.split("://", 1)[1].partition("?")[0]):
            raise ValueError(f"channel {name!r}: the token in the {scheme}:// URL must come "
                             "from the environment; write ${NAME} instead of the value")


@dataclass(frozen=True)
class Channel:
    """Where alerts go: an apprise URL, or a signed JSON webhook. ``${VAR}`` placeholders
    stay unresolved here; delivery reads them from the environment."""

    name: str
    url: str | None = None  # apprise URL
    webhook: str | None = None  # signed JSON webhook URL
    secret: str | None = None  # HMAC secret for the webhook (usually "${VAR}")
    digest_minutes: int = 0  # 0: one message per alert; N: one message per N minutes
    digest: DigestSchedule | None = None  # one message per period


@dataclass(frozen=True)
class Rule:
    """Which stored articles alert which channels."""

    name: str
    channels: tuple[str, ...]
    kinds: tuple[str, ...] = KINDS
    topic: str | None = None
    sources: tuple[str, ...] = ()
    min_score: float | None = None
    edits: tuple[str, ...] = ()  # "updated" only for these edit kinds (default: not cosmetic)

    def matches(self, kind: str, article: dict[str, Any]) -> bool:
        """Whether an article event (kind "new", "updated" or "removed") falls under this
        rule. An "updated" event carries its edit kinds as ``article["edits"]`` (absent:
        not classified, it matches)."""
        if kind not in self.kinds or not article.get("relevant"):
            return False
        if kind == "updated" and "edits" in article:
            found = set(article["edits"] or ())
            wanted = set(self.edits) if self.edits else set(EDIT_KINDS) - {"cosmetic"}
            if not found & wanted:
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
    messages: MessageSettings = field(default_factory=MessageSettings)

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
                     else f"article:{article['id']}:removed:v{article.get('version') or 1}"
                     if kind == "removed"
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


def channel_variables(config: AlertConfig | None) -> set[str]:
    """The environment variables the channels of ``config`` read at send time (the
    ``${NAME}`` of their ``url``, ``webhook`` and ``secret``)."""
    names: set[str] = set()
    for channel in (config.channels.values() if config else ()):
        for template in (channel.url, channel.webhook, channel.secret):
            names.update(_VARIABLE.findall(template or ""))
    return names


def withhold_secrets(config: AlertConfig | None,
                     environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Take the alert channels' variables (:func:`channel_variables`) out of ``environ``
    (default ``os.environ``) and return them: the processes this one starts from then on
    (crawl processes, their extraction workers) never hold an alert secret; this process
    sends alerts with the returned values (``deliver_pending(..., env=...)``)."""
    environ = os.environ if environ is None else environ
    return {name: environ.pop(name) for name in sorted(channel_variables(config))
            if name in environ}


def load_alert_config(path: str | Path = ALERTS_FILE) -> AlertConfig:
    """Read and check an alerts file; a missing default file means no alerts."""
    path = Path(path)
    if not path.exists():
        if path == ALERTS_FILE:
            return AlertConfig()
        raise ConfigError(f"{path}: no such alerts file")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=BoundedLoader) or {}
        channels = {}
        messages = _messages(data.get("messages") or {})
        for name, spec in (data.get("channels") or {}).items():
            unknown = set(spec) - {"url", "webhook", "secret", "digest_minutes", "digest"}
            if unknown:
                raise ValueError(f"channel {name!r}: unknown keys {sorted(unknown)}")
            if bool(spec.get("url")) == bool(spec.get("webhook")):
                raise ValueError(f"channel {name!r}: give exactly one of 'url' or 'webhook'")
            _check_secrets(name, spec)
            channels[name] = Channel(name=name, url=spec.get("url"), webhook=spec.get("webhook"),
                                     secret=spec.get("secret"),
                                     digest_minutes=int(spec.get("digest_minutes", 0)),
                                     digest=_schedule(name, spec.get("digest"),
                                                      messages.timezone))
        rules = []
        for spec in data.get("rules") or []:
            missing = [c for c in spec.get("channels", []) if c not in channels]
            if missing or not spec.get("channels"):
                raise ValueError(f"rule {spec.get('name')!r}: unknown or no channels {missing}")
            kinds = tuple(spec.get("kinds", KINDS))
            if set(kinds) - {*EVENT_KINDS, HEALTH}:
                raise ValueError(f"rule {spec.get('name')!r}: kinds must be among "
                                 f"{(*EVENT_KINDS, HEALTH)}")
            edits = tuple(spec.get("edits", ()))
            if set(edits) - set(EDIT_KINDS):
                raise ValueError(f"rule {spec.get('name')!r}: edits must be among "
                                 f"{EDIT_KINDS}")
            rules.append(Rule(name=spec["name"], channels=tuple(spec["channels"]), kinds=kinds,
                              topic=spec.get("topic"), sources=tuple(spec.get("sources", [])),
                              min_score=spec.get("min_score"), edits=edits))
    except yaml.YAMLError as exc:  # one line: the line and the problem, not a snippet
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: invalid alerts config: {problem}") from None
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: invalid alerts config: {exc}") from exc
    return AlertConfig(channels=channels, rules=tuple(rules), messages=messages)


def _schedule(name: str, spec: Any, timezone: str) -> DigestSchedule | None:
    """A channel's ``digest:`` block as a DigestSchedule (None without one)."""
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise ValueError(f"channel {name!r}: digest must be a mapping (every_hours, at, quiet)")
    try:
        return DigestSchedule.from_spec(spec, timezone)
    except ValueError as exc:
        raise ValueError(f"channel {name!r}: {exc}") from None


def _messages(spec: dict[str, Any]) -> MessageSettings:
    """The ``messages:`` block (public_url, database, timezone); ValueError when wrong."""
    unknown = set(spec) - {"public_url", "database", "timezone"}
    if unknown:
        raise ValueError(f"messages: unknown keys {sorted(unknown)}")
    url = spec.get("public_url")
    if url is not None and not (isinstance(url, str)
                                and url.startswith(("http://", "https://"))):
        raise ValueError("messages: public_url must be an http(s) URL")
    settings = MessageSettings(public_url=url, database=spec.get("database"),
                               timezone=spec.get("timezone") or MessageSettings.timezone)
    settings.zone()  # an unknown timezone is a config error, not a failed delivery
    return settings
