"""Send alert documents to one channel, and what a send needs: the ``newswatch.alert/1``
payload, the signed webhook (HMAC-SHA256 of a timestamp, the idempotency key and the
body), apprise for everything else, the retry backoff, and secrets read from the
environment at send time and masked in every error and log record (docs/ALERTS.md).
The outbox's passes (``monitor.alerts.delivery``) and digests (``monitor.alerts.digests``)
send through it."""


from __future__ import annotations

import contextlib
import email
import email.header
import functools
import hashlib
import hmac
import inspect
import json
import logging
import os
import random
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.alerts import messages
from monitor.alerts.rules import Channel, url_secrets
from monitor.alerts.urls import MissingVariable, fill, resolve_url
from monitor.store import Store

SENDING = "sending"
SCHEMA = "newswatch.alert/1"
DIGEST_SCHEMA = "newswatch.digest/1"
SIGNATURE_HEADER = "X-Newswatch-Signature"
TIMESTAMP_HEADER = "X-Newswatch-Timestamp"  # signed with the body and the idempotency key
MAX_AGE = 300  # seconds: receivers refuse an older webhook (docs/ALERTS.md)
KEY_HEADER = "X-Newswatch-Key"  # on emails
BASE_DELAY = 30.0  # seconds before the first retry
MAX_DELAY = 3600.0  # longest wait between retries
JITTER = 0.1  # up to +10 %
CLAIM_TIMEOUT = timedelta(minutes=5)  # a 'sending' row older than this was abandoned
HTTP_TIMEOUT = 15.0
MAX_ERROR = 500

log = logging.getLogger("newswatch.alerts")



class DeliveryError(RuntimeError):
    """A channel could not take a message (the text is safe to store: no secrets)."""


@dataclass
class DeliveryReport:
    """What one delivery pass did (counts of alert rows)."""

    sent: int = 0
    retrying: int = 0  # failed this time, will be retried
    failed: int = 0  # failed for good (retry budget spent)
    held: int = 0  # waiting for their channel's digest
    recovered: int = 0  # abandoned claims put back to pending
    errors: list[str] = field(default_factory=list)
    # (channel, reason, for good) -> [(attempt number, seconds to the retry)], per alert
    failures: dict[tuple[str, str, bool], list[tuple[int, float]]] = field(
        default_factory=dict)
    back: dict[str, int] = field(default_factory=dict)  # channel -> alerts sent after errors
    sent_to: dict[str, int] = field(default_factory=dict)  # channel -> alerts sent

    def note_failure(self, channel: str, reason: str, attempts: int, final: bool,
                     delay: float, count: int = 1) -> None:
        """``count`` alerts of ``channel`` failed (their ``attempts``-th attempt); ``final``:
        their retry budget is spent; ``delay``: seconds until their retry."""
        self.failures.setdefault((channel, reason, final), []).extend(
            [(attempts, delay)] * count)

    def note_sent(self, channel: str, count: int, after_errors: bool) -> None:
        """``count`` alerts of ``channel`` were sent; ``after_errors``: some had failed
        before (the channel is delivering again)."""
        self.sent_to[channel] = self.sent_to.get(channel, 0) + count
        if after_errors:
            self.back[channel] = self.back.get(channel, 0) + count

    def lines(self, max_attempts: int) -> list[tuple[int, str]]:
        """The pass's log lines as (level, text): one per (channel, reason) that failed,
        one per channel delivering again."""
        found = []
        if self.sent_to:
            found.append((logging.INFO, f"sent {sum(self.sent_to.values())} alerts (" + ", ".join(
                f"{channel} {count}" for channel, count in self.sent_to.items()) + ")"))
        for (channel, reason, final), tries in self.failures.items():
            numbers = sorted({n for n, _ in tries})
            attempt = (f"attempt {numbers[0]}" if len(numbers) == 1
                       else f"attempts {numbers[0]}-{numbers[-1]}")
            if final:
                found.append((logging.ERROR, (
                    f"delivery to {channel} failed for good for {len(tries)} alerts after "
                    f"{attempt} of {max_attempts}: {reason}; kept as failed "
                    "(`newswatch alerts retry` sends them again)")))
            else:
                wait = _duration(min(d for _, d in tries))
                found.append((logging.WARNING, (
                    f"delivery to {channel} failed for {len(tries)} alerts: {reason}; "
                    f"retrying ({attempt} of {max_attempts}, next in {wait})")))
        for channel, count in self.back.items():
            found.append((logging.INFO, f"delivery to {channel} works again: {count} alerts "
                                        "sent after earlier failures"))
        return found

    def log(self, max_attempts: int, logger: logging.Logger | None = None) -> None:
        """Write :meth:`lines` to ``logger`` (default ``newswatch.alerts``)."""
        for level, text in self.lines(max_attempts):
            (logger or log).log(level, text)


def _duration(seconds: float) -> str:
    """``45s``, ``2m`` or ``1h``: a retry's wait, rounded."""
    if seconds < 90:
        return f"{max(round(seconds), 0)}s"
    if seconds < 5400:
        return f"{round(seconds / 60)}m"
    return f"{round(seconds / 3600)}h"


# -- helpers ---------------------------------------------------------------------------------
def utc_stamp(when: datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="seconds")


def parse_stamp(stamp: str) -> datetime:
    parsed = datetime.fromisoformat(stamp)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def resolve(text: str, env: Mapping[str, str], secrets: list[str] | None = None) -> str:
    """Replace ``${VAR}`` from ``env`` as they are (a webhook's HMAC secret); a missing or
    empty variable is a DeliveryError. Resolved values are appended to ``secrets`` (for
    redaction). URLs go through :func:`resolve_channel_url`."""
    try:
        return fill(text, env, found=secrets)
    except MissingVariable as exc:
        raise DeliveryError(str(exc)) from None


def resolve_channel_url(template: str, env: Mapping[str, str],
                        secrets: list[str] | None = None, apprise: bool = False) -> str:
    """A channel URL with each ``${VAR}`` percent-encoded for the part of the URL it lands
    in (``monitor.alerts.urls``): a secret's ``@ : # / ? & +`` reach the receiver as they
    are. ``apprise``: an apprise URL, whose query values some plugins decode twice
    (:func:`apprise_decodes`). DeliveryError for a missing variable."""
    scheme = template.partition("://")[0].lower()
    decodes = (lambda name: apprise_decodes(scheme, name)) if apprise else None
    try:
        return resolve_url(template, env, secrets, decodes)
    except MissingVariable as exc:
        raise DeliveryError(str(exc)) from None


@functools.cache
def apprise_decodes(scheme: str, name: str) -> int:
    """How many times apprise percent-decodes the value of the query parameter ``name`` of
    a ``scheme://`` URL: once in general (its URL parser), twice where a plugin unquotes
    what the parser already unquoted (json://, form:// and xml:// ``+header``, ``-param``
    and ``:field`` values; mailto:// ``?user=`` and ``?pass=``). Asked of apprise itself
    with a probe value, so a release that stops decoding twice is followed."""
    if not re.fullmatch(r"[a-z0-9]+", scheme) or not re.fullmatch(r"[+:-]?[\w.-]+", name):
        return 1
    import apprise

    key = f"{name[0]}nwprobe" if name[0] in "+-:" else name.lower()
    try:
        server = apprise.Apprise.instantiate(
            f"{scheme}://nwuser@127.0.0.1/?from=nw@example.org&to=nw@example.org"
            f"&{key}=nw%2541probe",
            suppress_exceptions=True)
    except Exception:  # noqa: BLE001 - an odd plugin: assume the parser's one decoding
        return 1
    seen: list[Any] = []
    for value in getattr(server, "__dict__", {}).values():
        seen += (list(value.values()) if isinstance(value, dict)
                 else list(value) if isinstance(value, (list, tuple, set)) else [value])
    return 2 if "nwAprobe" in seen else 1


def redact(message: str, secrets: Iterable[str]) -> str:
    """``message`` with every secret (longest first) replaced by ``***``."""
    forms = set()
    for secret in {s for s in secrets if s}:
        forms |= {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote(secret),
                  urllib.parse.quote_plus(secret), urllib.parse.unquote(secret),
                  urllib.parse.unquote_plus(secret)}
    for form in sorted((f for f in forms if f), key=len, reverse=True):
        message = message.replace(form, "***")
    return message


# loggers of the libraries a send goes through; their records are redacted during a send
LIBRARY_LOGGERS = ("apprise", "urllib3", "requests", "smtplib")


class _Redactor(logging.Filter):
    """Masks secrets in a log record's message and exception text."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets  # the send's list, which grows as placeholders resolve

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record: keep only its template
            message = str(record.msg)
        clean = redact(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


@contextlib.contextmanager
def _redacting_logs(secrets: list[str]) -> Iterator[None]:
    """While sending: every record of the library loggers (and their children) has the
    secrets masked before any handler sees it."""
    redactor = _Redactor(secrets)
    names = set(LIBRARY_LOGGERS) | {
        name for name in list(logging.root.manager.loggerDict)
        if name.split(".", 1)[0] in LIBRARY_LOGGERS}
    loggers = [logging.getLogger(name) for name in names]
    for logger in loggers:
        logger.addFilter(redactor)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(redactor)


def sign(body: bytes, secret: str, timestamp: str, key: str) -> str:
    """The ``X-Newswatch-Signature`` header value: HMAC-SHA256, keyed with the secret, of
    ``<timestamp>.<idempotency key>.<raw body>`` (docs/ALERTS.md), so that neither an old
    message nor another alert's key can be passed off with a valid signature."""
    signed = timestamp.encode() + b"." + key.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify_signature(raw_body: bytes, headers: Mapping[str, str], secret: str,
                     seen: dict[str, float] | None = None, now: float | None = None) -> bool:
    """For receivers, as docs/ALERTS.md gives it: True when the request is signed with
    ``secret``, at most MAX_AGE seconds old, and (with ``seen``: signature -> time it was
    taken, kept across requests) not taken before. A replay (the same request again) or
    an old message is False; a retry by newswatch (a new timestamp, the same
    ``Idempotency-Key``) is True: deduplicate by the key before acting."""
    now = time.time() if now is None else now
    stamp = headers.get(TIMESTAMP_HEADER) or ""
    key = headers.get("Idempotency-Key") or ""
    given = (headers.get(SIGNATURE_HEADER) or "").strip()
    if not (secret and stamp.isdigit() and key and given):
        return False
    if abs(now - int(stamp)) > MAX_AGE:
        return False  # too old (or from the future): refused, whatever its signature
    if not hmac.compare_digest(sign(raw_body, secret, stamp, key), given):
        return False
    if seen is not None:
        for old in [sig for sig, taken in seen.items() if now - taken > MAX_AGE]:
            del seen[old]  # out of the window: its timestamp refuses it now
        if given in seen:
            return False  # the same request again: a replay
        seen[given] = now
    return True


def backoff(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt (jittered)."""
    delay = min(BASE_DELAY * 2 ** max(attempts - 1, 0), MAX_DELAY)
    return delay * (1 + random.uniform(0, JITTER))


# -- payloads --------------------------------------------------------------------------------
def payload(store: Store, alert: dict[str, Any], sent_at: str) -> dict[str, Any]:
    """The webhook JSON document of one alert (schema ``newswatch.alert/1``)."""
    if alert["kind"] == "health":  # a source's health changed: no article
        from monitor.sources.health import payload as health_payload

        return health_payload(alert, sent_at)
    db = store.db
    article = store._get("articles", "id", alert["article_id"]) or {}
    story = store._get("stories", "id", alert["story_id"]) or {}
    diff, edits, changes, removed = None, None, None, None
    if alert["kind"] == "updated":
        row = db.execute("select diff, kinds, changes from versions "
                         "where article_id = ? and version = ?",
                         [alert["article_id"], alert["version"]]).fetchone()
        if row:
            diff = row[0]
            edits = json.loads(row[1]) if row[1] else []
            changes = json.loads(row[2]) if row[2] else []
    elif alert["kind"] == "removed":
        removed = {"when": article.get("removed"), "reason": article.get("removed_reason")}
    return {
        "schema": SCHEMA, "id": alert["key"], "kind": alert["kind"], "rule": alert["rule"],
        "article": {
            "id": article.get("id"), "url": article.get("url"),
            "title": article.get("title"), "source": article.get("source"),
            "language": article.get("language"), "published": article.get("published"),
            "lead": article.get("lead"), "version": alert["version"],
            "relevance": article.get("relevance"),
            "reasons": json.loads(article["reasons"]) if article.get("reasons") else [],
        },
        "story": {
            "id": story.get("id"), "title": story.get("title"),
            "articles": story.get("articles"),
            "languages": json.loads(story["languages"]) if story.get("languages") else [],
            "editions": _editions(store, alert["story_id"]),
        },
        # issue 13: what changed first: the edit kinds, the removed ("-") and added ("+")
        # sentences in order; for a removal, when and why (the last text stays stored)
        "edits": edits, "changes": changes, "removed": removed,
        "diff": diff, "sent_at": sent_at,
    }


def _editions(store: Store, story_id: Any, limit: int = 20) -> list[dict[str, Any]]:
    """The story's articles (id, url, title, source, language, link), oldest first."""
    cursor = store.db.execute(
        "select id, url, title, source, language, link from articles where story_id = ? "
        f"order by published_utc, id limit {int(limit)}", [story_id])
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def digest_key(keys: Iterable[str]) -> str:
    """Idempotency key of a digest: a hash of its alerts' keys."""
    return "digest:" + hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:32]


def text_message(docs: list[dict[str, Any]],
                 settings: messages.MessageSettings | None = None,
                 database: str | None = None) -> tuple[str, str]:
    """(subject, plain-text body) for apprise channels (see ``monitor.alerts.messages``)."""
    message = messages.render(docs, settings, database)
    return message.subject, message.text


# -- channels --------------------------------------------------------------------------------
def send(channel: Channel, docs: list[dict[str, Any]], key: str,
         env: Mapping[str, str] = os.environ,
         settings: messages.MessageSettings | None = None,
         database: str | None = None) -> None:
    """Send one message (one alert, or a digest of several) through ``channel``; raises
    DeliveryError with a redacted reason on any failure. ``settings`` and ``database``
    (the Datasette name of the database) shape the message text and its links."""
    secrets: list[str] = []
    try:
        with _redacting_logs(secrets):
            message = messages.render(docs, settings, database)
            if channel.webhook:
                _send_webhook(channel, docs, key, env, secrets, message)
            else:
                _send_apprise(channel, docs, key, env, secrets, message)
    except DeliveryError as exc:
        raise DeliveryError(redact(str(exc), secrets)[:MAX_ERROR]) from None
    except Exception as exc:  # a channel bug must not stop the loop
        text = redact(f"{type(exc).__name__}: {exc}", secrets)[:MAX_ERROR]
        raise DeliveryError(text) from None


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """A webhook answered with a redirect is a failed delivery, never followed: urllib
    would follow a 301/302/303 with a GET that drops the body (the alert), and the send
    would count as delivered (issue 34)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx surfaces as an HTTPError


_NO_REDIRECTS = urllib.request.build_opener(_RefuseRedirects)


def _send_webhook(channel: Channel, docs: list[dict[str, Any]], key: str,
                  env: Mapping[str, str], secrets: list[str],
                  message: messages.Message | None = None) -> None:
    url = resolve_channel_url(channel.webhook or "", env, secrets)
    secrets.extend(value for _, value in url_secrets(url))
    secret = resolve(channel.secret, env, secrets) if channel.secret else None
    if secret:
        secrets.append(secret)
    document = docs[0] if len(docs) == 1 else {
        "schema": DIGEST_SCHEMA, "id": key, "alerts": docs,
        "sent_at": docs[0]["sent_at"]}
    if message is not None:  # for people reading the receiver's log or chat
        document = {**document, "summary": f"{message.subject}\n\n{message.text}".strip()}
    body = json.dumps(document, ensure_ascii=False).encode("utf-8")
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "Idempotency-Key": key,
               TIMESTAMP_HEADER: timestamp, "User-Agent": "newswatch-alerts/1"}
    if secret:
        headers[SIGNATURE_HEADER] = sign(body, secret, timestamp, key)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _NO_REDIRECTS.open(request, timeout=HTTP_TIMEOUT) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:  # a redirect would turn the POST into a body-less GET
            where = exc.headers.get("Location", "?") if exc.headers else "?"
            raise DeliveryError(f"webhook {channel.name}: HTTP {exc.code} redirect to "
                                f"{where} refused: give the channel its final URL") from None
        raise DeliveryError(f"webhook {channel.name}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"webhook {channel.name}: unreachable: {reason}") from None
    if not 200 <= status < 300:
        raise DeliveryError(f"webhook {channel.name}: HTTP {status}")


def _send_apprise(channel: Channel, docs: list[dict[str, Any]], key: str,
                  env: Mapping[str, str], secrets: list[str],
                  message: messages.Message | None = None) -> None:
    import apprise

    url = resolve_channel_url(channel.url or "", env, secrets, apprise=True)
    secrets.extend(value for _, value in url_secrets(url))
    try:
        password = urllib.parse.urlsplit(url).password
    except ValueError:
        password = None
    if password:
        secrets.append(password)
    # an HTTP channel that answers with a redirect has not taken the message: requests
    # would follow a 301/302/303 with a GET that drops the body, and apprise would count
    # the 200 at the end as delivered (as our webhook does, issue 34: refused)
    notifier = apprise.Apprise(asset=apprise.AppriseAsset(http_redirects=False))
    if not notifier.add(url):
        raise DeliveryError(f"channel {channel.name}: not a valid apprise URL")
    for server in notifier:
        if _is_email(server):
            # smtplib's AUTH encodes the login as ASCII: anything else raises deep inside
            # apprise ("raised an exception"); say which part cannot be sent instead
            for part, value in (("user name", server.user), ("password", server.password)):
                if value and not value.isascii():
                    raise DeliveryError(f"channel {channel.name}: the SMTP {part} holds "
                                        "non-ASCII characters, which SMTP AUTH cannot send")
        if isinstance(getattr(server, "headers", None), dict):
            server.headers[KEY_HEADER] = key  # email: lets clients drop a repeat
    message = message or messages.render(docs)
    # email gets the HTML body (apprise adds the plain-text alternative); chat and other
    # channels get plain text, which every apprise service takes
    html = all(_is_email(server) for server in notifier)
    body = message.html if html else message.text
    # apprise's own lines ("Notifying 1 service(s)", the failure) would be one or two per
    # alert in the daemon's log: the failure is caught here, and the pass logs one line
    # per channel and reason (DeliveryReport.log); below DEBUG they stay out of the log
    quiet = not logging.getLogger("apprise").isEnabledFor(logging.DEBUG)
    # captured from DEBUG: apprise says what the SMTP server answered only at DEBUG
    # ("Socket Exception: (554, b'...')"), its warning just "Sending email ... failed."
    with _no_propagation("apprise", quiet), \
            apprise.LogCapture(level=apprise.logging.DEBUG) as log, \
            _own_plain_text(notifier, message), _folded_subject(notifier):
        ok = notifier.notify(title=message.subject, body=body,
                             body_format=apprise.NotifyFormat.HTML if html
                             else apprise.NotifyFormat.TEXT)
        detail = log.getvalue().strip().splitlines()
    if not ok:
        raise DeliveryError(f"channel {channel.name}: {_failure(detail)}")


_SMTP_ANSWER = re.compile(r"""\((\d{3}), b?(['"])(.*)\2\)$""")


def _failure(lines: list[str]) -> str:
    """Why apprise failed, in words, from its captured log lines (``time - LEVEL -
    message``): its last warning or error, with the server's answer when it logged one
    at DEBUG (an SMTP reply ``554 5.7.1 rejected``, a refused connection)."""
    parsed = [line.split(" - ", 2)[1:] for line in lines]
    parsed = [entry for entry in parsed if len(entry) == 2]
    warnings = [text for level, text in parsed if level in ("WARNING", "ERROR", "CRITICAL")]
    reason = warnings[-1].strip() if warnings else "notification failed"
    answers = [text.partition("Exception:")[2].strip() for level, text in parsed
               if level == "DEBUG" and "Exception:" in text]
    if answers and answers[-1]:
        answer = answers[-1]
        smtp = _SMTP_ANSWER.match(answer)
        if smtp:
            text = smtp.group(3).replace("\\r\\n", " ").replace("\\n", " ")
            answer = f"the SMTP server answered {smtp.group(1)} {text}"
        reason = f"{reason.rstrip('.')}: {answer}"
    return reason


_FOLD_LOCK = threading.Lock()


def _fold_subject(body: str, subject: str) -> str:
    """An email as apprise wrote it (``as_string()`` with no folding: a long subject is
    one line, which SMTP servers refuse past 998 characters, RFC 5322 2.1.1), with its
    Subject folded into lines of at most 78 characters (RFC 2047 encoded words where the
    text is not short ASCII words)."""
    parsed = email.message_from_string(body)  # compat32, as apprise built it
    if parsed["Subject"] is None:
        return body
    short_words = subject.isascii() and all(len(word) <= 60 for word in subject.split())
    parsed.replace_header("Subject", email.header.Header(
        subject, None if short_words else "utf-8", header_name="Subject"))
    return parsed.as_string(maxheaderlen=78)


@contextlib.contextmanager
def _folded_subject(notifier: Any) -> Iterator[None]:
    """While sending: apprise's email plugin folds its Subject (:func:`_fold_subject`); a
    1,200-character headline would otherwise be refused with "500 Line too long"."""
    classes = {cls for server in notifier for cls in type(server).__mro__
               if cls.__name__ == "NotifyEmail" and "prepare_emails" in vars(cls)}
    if not classes:
        yield
        return
    with _FOLD_LOCK:
        originals = {cls: vars(cls)["prepare_emails"] for cls in classes}

        def folding(original: Any) -> Any:
            def prepare(*args: Any, **kwargs: Any) -> Iterator[Any]:
                subject = kwargs.get("subject")
                for prepared in original.__func__(*args, **kwargs):
                    if isinstance(subject, str) and isinstance(prepared.body, str):
                        prepared.body = _fold_subject(prepared.body, subject)
                    yield prepared
            return staticmethod(prepare)

        try:
            for cls, original in originals.items():
                cls.prepare_emails = folding(original)
            yield
        finally:
            for cls, original in originals.items():
                cls.prepare_emails = original


def _is_email(server: Any) -> bool:
    """Whether an apprise service is its email plugin (mailto://, mailtos://)."""
    return any(cls.__name__ == "NotifyEmail" for cls in type(server).__mro__)


@contextlib.contextmanager
def _no_propagation(name: str, when: bool = True) -> Iterator[None]:
    """While inside: the logger ``name`` passes no record to its ancestors' handlers
    (its own handlers, such as apprise's LogCapture, still get them)."""
    logger = logging.getLogger(name)
    before = logger.propagate
    if when:
        logger.propagate = False
    try:
        yield
    finally:
        logger.propagate = before


_PLAIN_LOCK = threading.Lock()


@contextlib.contextmanager
def _own_plain_text(notifier: Any, message: messages.Message) -> Iterator[None]:
    """While sending: apprise's email plugin makes the text/plain alternative of an HTML
    email by stripping the tags (links lost); have it use our plain-text rendering of
    the same message instead. Other conversions are left to apprise."""
    modules = {inspect.getmodule(type(server)) for server in notifier}
    modules = {m for m in modules if m is not None and hasattr(m, "convert_between")}
    if not modules:
        yield
        return
    with _PLAIN_LOCK:
        originals = {m: m.convert_between for m in modules}

        def convert(from_format: Any, to_format: Any, content: str, *args: Any,
                    **kwargs: Any) -> str:
            if str(to_format).lower().endswith("text") and \
                    str(content).strip() == message.html.strip():
                return message.text
            return original(from_format, to_format, content, *args, **kwargs)

        original = next(iter(originals.values()))
        try:
            for module in modules:
                module.convert_between = convert
            yield
        finally:
            for module, function in originals.items():
                module.convert_between = function


# -- the outbox ------------------------------------------------------------------------------
