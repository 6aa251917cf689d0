"""Source health: every source watches itself, against its own baseline.

After each crawl (``crawler.pipelines.StorePipeline``, the path the CLI and the daemon
share) the run's *signals* (requests failing by kind, feeds and sitemaps unreadable,
articles discovered and extracted, pages where the profile's body or date rule matched
nothing, pages without a date, text length, article-like links failing the pattern, time
since the last new article) are stored with the run (table ``health_runs``) and compared
with the source's previous runs (``window``, 20 by default) by a registry of small named
checks (``CHECKS``). Thresholds are data (``config/health.yaml``).

A check returns a ``Verdict`` (ok / degraded / failing, with the reason in words) or None
when the run gives it no evidence (no article page fetched: nothing to say about the
body rule); then its last verdict stands. The source's state is the worst verdict. When
the state turns from ok to degraded or failing, one ``health`` alert is queued in the
outbox (``alerts`` table, same channels, rules with ``kinds: [health]``); when it turns
back to ok, one recovery alert. Between, nothing: never an alert per crawl.
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from monitor.sources.config import CONFIG_DIR

HEALTH_FILE = CONFIG_DIR / "health.yaml"
HEALTH_ENV = "NEWSWATCH_HEALTH_CONFIG"
OK, DEGRADED, FAILING = "ok", "degraded", "failing"
LEVELS = {OK: 0, DEGRADED: 1, FAILING: 2}
HEALTH_KIND = "health"
FAILURE_KINDS = ("dns", "refused", "timeout", "http_403", "http_429", "http_5xx",
                 "http_4xx", "other")
# the counters a run's signals are made of (stats "newswatch/<key>")
SIGNAL_KEYS = ("requests", "found", "pages", "rule_pages", "extracted", "no_date",
               "text_chars",
               "body_miss", "date_rule_miss", "unmatched", "unreadable", "parse_failures",
               "discovery_ok", "discovery_failed", "stale", "malformed_links",
               "feeds_autodiscovered", "body_lost")
STORED = ("new", "irrelevant", "duplicate")  # crawl-run counts of newly stored articles

DEFAULTS: dict[str, float] = {
    "window": 20, "min_history": 3, "min_pages": 2, "rule_miss_ratio": 0.5,
    "baseline_miss_ratio": 0.1, "failure_degraded": 0.3, "failure_failing": 0.8,
    "failure_margin": 0.2, "min_requests": 2, "extracted_ratio": 0.5,
    "baseline_extracted": 0.9, "text_drop": 0.4, "unmatched_min": 5, "unmatched_factor": 3,
    "silence_factor": 3, "min_silence": 6 * 3600, "min_gaps": 4,
    "confirm_requests": 2, "confirm_discovery": 2, "loss_min": 5, "loss_factor": 3,
}
# losses in a run's ledger (crawler.ledger) judged by ``check_losses``: the ones no other
# check already judges (failed requests: ``requests``; unmatched links: ``unmatched``;
# no text: ``extracted``), with what a jump usually means
LOSS_WORDS = {
    "malformed": "links that cannot be requested: the site's link markup may have changed",
    "no_link": "feed entries without a link: the feed may have changed its format",
    "too_long": "links longer than URLLENGTH_LIMIT: session ids or tracking in the links?",
    "not_text": "article URLs answering with binary bytes or a non-text type",
    "extraction_failed": "extraction failed (a broken worker or a bug): see the run's errors",
    "error": "exceptions while parsing or storing pages: see the run's errors",
    "store_failed": "batches whose transaction failed: see the run's errors",
    "filtered": "article requests dropped as repeats (redirects onto pages already fetched)",
    "off_site": "articles redirecting off the source's domains: the site may have moved",
    "refused": "articles refused by the SSRF guard (private addresses)",
    "robots": "articles robots.txt forbids: the site may have changed its robots.txt",
    "over_cap": "links over the source's max_urls_per_round: a sitemap or feed far larger "
                "than usual (a hostile or broken site?), or raise the cap",
    "unread_sitemaps": "child sitemaps left unread as max_urls_per_round was reached",
}
# plain words for what a dominant failure kind usually means
FAILURE_WORDS = {
    "dns": "the domain does not resolve", "refused": "nothing answers at the address",
    "timeout": "the site does not answer in time",
    "http_403": "the site may be blocking newswatch",
    "http_429": "the site is rate-limiting newswatch (raise download_delay)",
    "http_5xx": "the site's servers are failing", "http_4xx": "pages are missing",
    "other": "see the run's errors",
}
FAILURE_LABELS = {"dns": "DNS", "refused": "refused", "timeout": "timeout",
                  "http_403": "HTTP 403", "http_429": "HTTP 429", "http_5xx": "HTTP 5xx",
                  "http_4xx": "HTTP 4xx", "other": "other"}


# -- signals --------------------------------------------------------------------------------
def failure_kind(failure: Any) -> str:
    """The kind of a failed request (a Twisted Failure from a Scrapy errback): one of
    ``FAILURE_KINDS``."""
    from scrapy.spidermiddlewares.httperror import HttpError
    from twisted.internet import error as net

    if failure.check(HttpError):
        status = failure.value.response.status
        if status == 403:
            return "http_403"
        if status == 429:
            return "http_429"
        return "http_5xx" if status >= 500 else "http_4xx"
    if failure.check(net.DNSLookupError):
        return "dns"
    if failure.check(net.ConnectionRefusedError):
        return "refused"
    if failure.check(net.TimeoutError, net.TCPTimedOutError, TimeoutError):
        return "timeout"
    return "other"


def collect(stat: Callable[[str], Any], counts: Mapping[str, Any]) -> dict[str, Any]:
    """A run's signals from its Scrapy stats (``stat(key)`` reads ``newswatch/<key>``)
    and its crawl-run counts. Shape: ``{key: int for SIGNAL_KEYS, "stored": int,
    "fail": {kind: int}, "unmatched_examples": [url]}``."""
    signals: dict[str, Any] = {key: int(stat(key) or 0) for key in SIGNAL_KEYS}
    signals["requests"] = int(counts.get("requests") or signals["requests"])
    signals["found"] = int(counts.get("found") or signals["found"])
    signals["stored"] = sum(int(counts.get(key) or 0) for key in STORED)
    signals["fail"] = {kind: int(stat(f"fail/{kind}") or 0) for kind in FAILURE_KINDS
                       if stat(f"fail/{kind}")}
    signals["unmatched_examples"] = list(stat("unmatched_examples") or [])[:5]
    return signals


# -- thresholds -----------------------------------------------------------------------------
def load_thresholds(source: str | None = None,
                    path: str | Path | None = None) -> dict[str, float]:
    """Thresholds for ``source``: defaults, then the file's ``thresholds``, then its
    ``sources.<name>`` overrides. The file: ``path``, else ``$NEWSWATCH_HEALTH_CONFIG``,
    else ``config/health.yaml`` (a missing default file: the defaults)."""
    path = Path(path or os.environ.get(HEALTH_ENV) or HEALTH_FILE)
    values = dict(DEFAULTS)
    if path.exists():
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        values.update({k: float(v) for k, v in (data.get("thresholds") or {}).items()})
        if source:
            values.update({k: float(v) for k, v in
                           ((data.get("sources") or {}).get(source) or {}).items()})
    return values


# -- checks ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    """A check's finding on one run."""

    level: str  # ok, degraded, failing
    reason: str = ""


@dataclass
class Context:
    """What a check sees: this run's signals, the baseline (previous runs' signals,
    oldest first), the source's profile rules, thresholds, and the times of the source's
    runs that stored new articles."""

    signals: dict[str, Any]
    baseline: list[dict[str, Any]]
    thresholds: Mapping[str, float]
    body_rule: str | None = None
    date_rule: str | None = None
    article_pattern: str | None = None
    since: dict[str, str] = field(default_factory=dict)  # check -> when it turned bad
    at: str = ""  # this run's time (UTC ISO)
    new_times: list[str] = field(default_factory=list)  # runs that stored new articles

    def t(self, key: str) -> float:
        return float(self.thresholds.get(key, DEFAULTS[key]))

    def when(self, check: str) -> str:
        """Since when ``check`` has been bad (this run if it just turned)."""
        return _short(self.since.get(check) or self.at)

    @property
    def history(self) -> bool:
        return len(self.baseline) >= self.t("min_history")


def _short(stamp: str) -> str:
    return stamp.replace("T", " ")[:16] + " UTC" if stamp else "?"


def _ratio(runs: Sequence[dict[str, Any]], top: str, bottom: str) -> float | None:
    below = sum(int(r.get(bottom) or 0) for r in runs)
    return sum(int(r.get(top) or 0) for r in runs) / below if below else None


def check_requests(ctx: Context) -> Verdict | None:
    """Requests failing (DNS, refused, timeout, 403, 429, 5xx...) as a share of all."""
    s = ctx.signals
    fails = dict(s.get("fail") or {})
    failed = sum(fails.values())
    if s["requests"] < ctx.t("min_requests"):
        return None
    share = failed / s["requests"]
    usual = statistics.median([sum((r.get("fail") or {}).values()) / r["requests"]
                               for r in ctx.baseline if r.get("requests")] or [0.0])
    if share < ctx.t("failure_degraded") or share < usual + ctx.t("failure_margin"):
        return Verdict(OK)
    kinds = sorted(fails.items(), key=lambda kv: -kv[1])
    detail = ", ".join(f"{n} × {FAILURE_LABELS.get(k, k)}" for k, n in kinds)
    level = FAILING if share >= ctx.t("failure_failing") else DEGRADED
    return Verdict(level, f"{failed} of {s['requests']} requests failed ({detail}) since "
                          f"{ctx.when('requests')}; {FAILURE_WORDS.get(kinds[0][0], '')}")


def check_discovery(ctx: Context) -> Verdict | None:
    """Feeds, sitemaps and listing pages: none readable is failing; more unreadable than
    ever in the baseline is degraded."""
    s = ctx.signals
    bad = s["discovery_failed"] + s["unreadable"]
    if s["discovery_ok"] == 0 and bad:
        return Verdict(FAILING, f"no feed, sitemap or listing page could be read "
                                f"({bad} failed or unreadable) since {ctx.when('discovery')}")
    worst = max([r.get("unreadable", 0) + r.get("parse_failures", 0)
                 for r in ctx.baseline] or [0])
    unreadable = s["unreadable"] + s["parse_failures"]
    if unreadable > worst and (ctx.history or unreadable):
        return Verdict(DEGRADED, f"{unreadable} feed(s)/sitemap(s)/listing(s) unreadable "
                                 f"since {ctx.when('discovery')} (see the run's errors); the "
                                 "site may have moved or changed their format")
    return Verdict(OK)


def _rule_check(ctx: Context, name: str, rule: str | None, miss_key: str,
                label: str) -> Verdict | None:
    s = ctx.signals
    checked = s.get("rule_pages", s["pages"])  # pages whose rules were checked
    if not rule or checked < ctx.t("min_pages"):
        return None
    missed = s[miss_key]
    if missed / checked < ctx.t("rule_miss_ratio"):
        return Verdict(OK)
    usual = _ratio(ctx.baseline, miss_key, "rule_pages")
    if usual is not None and usual > ctx.t("baseline_miss_ratio"):
        return Verdict(OK)  # this rule often misses on this site: its normal
    return Verdict(DEGRADED, f"{label} `{rule}` matched {checked - missed} of {checked} "
                             f"pages ({missed} missed) since {ctx.when(name)}; the site may have "
                             "changed its layout")


def check_body_rule(ctx: Context) -> Verdict | None:
    """The profile's body selector matched nothing on most article pages."""
    return _rule_check(ctx, "body_rule", ctx.body_rule, "body_miss", "body selector")


def check_profile_guard(ctx: Context) -> Verdict | None:
    """The profile's body rule read other text than the article on most pages, so the
    generic reading was stored (``monitor.extract.guard``)."""
    s = ctx.signals
    pages = s["extracted"]
    if not ctx.body_rule or pages < ctx.t("min_pages"):
        return None
    lost = int(s.get("body_lost") or 0)
    if lost / pages < ctx.t("rule_miss_ratio"):
        return Verdict(OK)
    usual = _ratio(ctx.baseline, "body_lost", "extracted")
    if usual is not None and usual > ctx.t("baseline_miss_ratio"):
        return Verdict(OK)  # (reported when it began; its normal since)
    return Verdict(DEGRADED, f"body selector `{ctx.body_rule}` read other text than the "
                             f"article on {lost} of {pages} pages since "
                             f"{ctx.when('profile_guard')}; the generic reading was stored "
                             "instead: correct the profile")


def check_date(ctx: Context) -> Verdict | None:
    """The profile's date rule (or, without one, any date) found nothing on most pages."""
    if ctx.date_rule:
        return _rule_check(ctx, "date", ctx.date_rule, "date_rule_miss", "date rule")
    s = ctx.signals
    if s["extracted"] < ctx.t("min_pages"):
        return None
    if s["no_date"] / s["extracted"] < ctx.t("rule_miss_ratio"):
        return Verdict(OK)
    usual = _ratio(ctx.baseline, "no_date", "extracted")
    if usual is None or usual > ctx.t("baseline_miss_ratio"):
        return Verdict(OK)
    return Verdict(DEGRADED, f"no publication date on {s['no_date']} of {s['extracted']} "
                             f"articles since {ctx.when('date')}; the page's date markup "
                             "may have changed")


def check_extracted(ctx: Context) -> Verdict | None:
    """Article pages that gave no article text."""
    s = ctx.signals
    if s["pages"] < ctx.t("min_pages") or not ctx.history:
        return None
    if s["extracted"] / s["pages"] >= ctx.t("extracted_ratio"):
        return Verdict(OK)
    usual = _ratio(ctx.baseline, "extracted", "pages")
    if usual is None or usual < ctx.t("baseline_extracted"):
        return Verdict(OK)
    return Verdict(DEGRADED, f"only {s['extracted']} of {s['pages']} article pages gave "
                             f"article text since {ctx.when('extracted')} (usually "
                             f"{usual:.0%})")


def check_text_length(ctx: Context) -> Verdict | None:
    """Mean text length per extracted article against the baseline's median."""
    s = ctx.signals
    if s["extracted"] < ctx.t("min_pages"):
        return None
    means = [r["text_chars"] / r["extracted"] for r in ctx.baseline if r.get("extracted")]
    if len(means) < ctx.t("min_history"):
        return None
    mean, usual = s["text_chars"] / s["extracted"], statistics.median(means)
    if mean >= ctx.t("text_drop") * usual:
        return Verdict(OK)
    return Verdict(DEGRADED, f"articles hold {mean:.0f} characters on average against "
                             f"{usual:.0f} usually, since {ctx.when('text_length')}; the "
                             "body rule may now catch only part of the article")


def check_unmatched(ctx: Context) -> Verdict | None:
    """Links that look like articles but fail the source's article_pattern."""
    s = ctx.signals
    if not ctx.history:
        return None
    usual = statistics.median([r.get("unmatched", 0) for r in ctx.baseline] or [0])
    count = s["unmatched"]
    if count < ctx.t("unmatched_min") or count < ctx.t("unmatched_factor") * max(usual, 1):
        return Verdict(OK)
    examples = ", ".join(s.get("unmatched_examples") or [])
    return Verdict(DEGRADED, f"{count} links that look like articles failed article_pattern "
                             f"`{ctx.article_pattern}` since {ctx.when('unmatched')} (e.g. "
                             f"{examples}); the site may have changed its URL scheme")


def check_losses(ctx: Context) -> Verdict | None:
    """Inputs the run's ledger (``crawler.ledger``) counts as lost, by reason, against the
    source's baseline: a reason that jumps (at least ``loss_min``, and ``loss_factor``
    times the baseline's median) degrades the source, naming the reason."""
    losses = ctx.signals.get("losses")
    if losses is None or not ctx.history:
        return None
    jumped = []
    for reason, words in LOSS_WORDS.items():
        count = int(losses.get(reason, 0))
        usual = statistics.median([int((r.get("losses") or {}).get(reason, 0))
                                   for r in ctx.baseline] or [0])
        if count >= ctx.t("loss_min") and count >= ctx.t("loss_factor") * max(usual, 1):
            jumped.append(f"{count} {reason} (usually {usual:g}): {words}")
    if not jumped:
        return Verdict(OK)
    return Verdict(DEGRADED, f"inputs lost since {ctx.when('losses')}: " + "; ".join(jumped))


def check_silence(ctx: Context) -> Verdict | None:
    """Time since the last new article against the source's usual gap between new ones
    (90th percentile of the gaps between runs that stored new articles)."""
    if ctx.signals["stored"]:
        return Verdict(OK)
    times = sorted(datetime.fromisoformat(t) for t in ctx.new_times)
    if len(times) < ctx.t("min_gaps") + 1:
        return None
    gaps = sorted((b - a).total_seconds() for a, b in zip(times, times[1:], strict=False))
    usual = gaps[min(len(gaps) - 1, int(0.9 * len(gaps)))]
    limit = max(ctx.t("silence_factor") * usual, ctx.t("min_silence"))
    silent = (datetime.fromisoformat(ctx.at) - times[-1]).total_seconds()
    if silent <= limit:
        return Verdict(OK)
    return Verdict(DEGRADED, f"no new article for {_duration(silent)} (since "
                             f"{_short(times[-1].isoformat())}); usually one at least every "
                             f"{_duration(usual)}: the feed or listing may have stopped "
                             "updating")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


# name -> check, in the order their reasons are shown
CHECKS: dict[str, Callable[[Context], Verdict | None]] = {
    "requests": check_requests,
    "discovery": check_discovery,
    "body_rule": check_body_rule,
    "profile_guard": check_profile_guard,
    "date": check_date,
    "extracted": check_extracted,
    "text_length": check_text_length,
    "unmatched": check_unmatched,
    "losses": check_losses,
    "silence": check_silence,
}


def judge(ctx: Context, previous: Mapping[str, dict[str, Any]] | None = None
          ) -> tuple[str, dict[str, dict[str, Any]]]:
    """Run every check; a check without evidence keeps its previous verdict. A check with
    a ``confirm_<name>`` threshold must find the problem on that many runs in a row before
    it counts (a single transient timeout must not alert). Returns the state (worst
    level) and the checks' verdicts ``{name: {"level", "raw", "streak", "reason",
    "since"}}``: ``raw`` is this run's finding, ``level`` what counts."""
    previous = previous or {}
    checks: dict[str, dict[str, Any]] = {}
    ctx.since = {n: v.get("since", "") for n, v in previous.items()
                 if v.get("raw", v.get("level", OK)) != OK}
    for name, check in CHECKS.items():
        verdict = check(ctx)
        if verdict is None:
            if name in previous:
                checks[name] = dict(previous[name])
            continue
        before = previous.get(name) or {}
        was_bad = before.get("raw", before.get("level", OK)) != OK
        if verdict.level == OK:
            checks[name] = {"level": OK, "raw": OK, "streak": 0, "reason": "", "since": ""}
            continue
        streak = int(before.get("streak", 0)) + 1 if was_bad else 1
        confirmed = streak >= int(ctx.thresholds.get(f"confirm_{name}", 1))
        checks[name] = {"level": verdict.level if confirmed else OK, "raw": verdict.level,
                        "streak": streak, "reason": verdict.reason,
                        "since": (before.get("since") if was_bad else "") or ctx.at}
    state = max((v["level"] for v in checks.values()), key=LEVELS.__getitem__, default=OK)
    return state, checks


# -- after each crawl -----------------------------------------------------------------------
def after_run(db: Any, run_id: int, source: Any, signals: dict[str, Any], status: str,
              alerts: Any = None, at: str | None = None,
              thresholds: Mapping[str, float] | None = None) -> dict[str, Any]:
    """Record a finished run's signals, judge the source, store its state, and queue a
    ``health`` alert when the state turns bad or recovers. ``db`` is a sqlite_utils
    Database; ``source`` a ``monitor.sources.config.Source``; ``alerts`` an AlertConfig (None:
    queue nothing). One transaction. Returns the source's health row."""
    at = at or datetime.now(UTC).isoformat(timespec="seconds")
    thresholds = thresholds or load_thresholds(source.name)
    window = int(thresholds.get("window", DEFAULTS["window"]))
    # the baseline is the source's last `window` healthy runs: a broken spell is not
    # learnt as the new normal (the operator repairs the profile instead)
    baseline = [json.loads(row[0]) for row in db.execute(
        "select signals from health_runs where source = ? and run_id < ? and state = 'ok' "
        "order by run_id desc limit ?", [source.name, run_id, window]).fetchall()][::-1]
    new_times = [row[0] for row in db.execute(
        "select started from crawl_runs where source = ? and id <= ? and "
        "coalesce(new, 0) + coalesce(irrelevant, 0) + coalesce(duplicate, 0) > 0 "
        "order by id desc limit ?", [source.name, run_id, max(window, 20) + 1]).fetchall()]
    row = db.execute("select state, checks, since from source_health where source = ?",
                     [source.name]).fetchone()
    before_state = row[0] if row else OK
    previous = json.loads(row[1]) if row and row[1] else {}
    profile = source.profile
    ctx = Context(signals=signals, baseline=baseline, thresholds=thresholds,
                  body_rule=profile.body, date_rule=profile.date.xpath if profile.date else None,
                  article_pattern=source.article_pattern, at=at, new_times=new_times[::-1])
    state, checks = judge(ctx, previous)
    reasons = [v["reason"] for v in checks.values() if v["level"] != OK]
    turned = (before_state == OK) != (state == OK)
    since = at if (row is None or turned) else row[2]
    with db.conn:
        db.execute("insert or replace into health_runs (run_id, source, at, status, state, "
                   "signals, reasons) values (?, ?, ?, ?, ?, ?, ?)",
                   [run_id, source.name, at, status, state, json.dumps(signals),
                    json.dumps(reasons, ensure_ascii=False)])
        db.execute("insert or replace into source_health (source, state, since, reasons, "
                   "checks, updated, last_run) values (?, ?, ?, ?, ?, ?, ?)",
                   [source.name, state, since, json.dumps(reasons, ensure_ascii=False),
                    json.dumps(checks, ensure_ascii=False), at, run_id])
        if turned and alerts is not None:
            _enqueue(db, alerts, source.name, run_id, state, reasons, at)
    return {"source": source.name, "state": state, "since": since, "reasons": reasons,
            "checks": checks, "previous": before_state}


def message(source: str, state: str, reasons: Sequence[str]) -> str:
    """The text of a health alert."""
    if state == OK:
        return f"{source} recovered: every health check passes again"
    return f"{source} is {state}: " + "; ".join(reasons)


def _enqueue(db: Any, alerts: Any, source: str, run_id: int, state: str,
             reasons: Sequence[str], at: str) -> int:
    """Queue one health alert per (rule with kinds [health] covering the source,
    channel); the key names the run, so a state change is queued once."""
    queued = 0
    event = "recovered" if state == OK else "turned-bad"
    for rule in getattr(alerts, "rules", ()):
        if HEALTH_KIND not in rule.kinds or (rule.sources and source not in rule.sources):
            continue
        for channel in rule.channels:
            cursor = db.execute(
                "insert or ignore into alerts (key, kind, rule, channel, status, attempts, "
                "next_attempt, created, source, message) values (?, ?, ?, ?, 'pending', 0, "
                "?, ?, ?, ?)",
                [f"{rule.name}:{channel}:health:{source}:{run_id}:{event}", HEALTH_KIND,
                 rule.name, channel, at, at, source, message(source, state, reasons)])
            queued += cursor.rowcount
    return queued


def payload(alert: Mapping[str, Any], sent_at: str) -> dict[str, Any]:
    """The webhook document of a health alert (same shape as an article alert, with the
    message as title and the source named; plus ``health``)."""
    text = alert.get("message") or ""
    state = OK if " recovered" in text.split(":", 1)[0] else (
        FAILING if " is failing" in text.split(":", 1)[0] else DEGRADED)
    return {
        "schema": "newswatch.alert/1", "id": alert["key"], "kind": HEALTH_KIND,
        "rule": alert["rule"],
        "article": {"id": None, "url": None, "title": text.split(":", 1)[0],
                    "source": alert.get("source"), "language": None,
                    "published": alert.get("created"), "lead": text, "version": None,
                    "relevance": None, "reasons": []},
        "story": {"id": None, "title": None, "articles": 0, "languages": []},
        "diff": None, "sent_at": sent_at,
        "health": {"source": alert.get("source"), "state": state, "message": text},
    }


def report(db: Any) -> list[dict[str, Any]]:
    """Every source's health row, with its last run's key signals (for ``status``)."""
    rows = []
    for source, state, since, reasons, updated, run_id in db.execute(
            "select source, state, since, reasons, updated, last_run from source_health "
            "order by source").fetchall():
        signals_row = db.execute("select signals from health_runs where run_id = ?",
                                 [run_id]).fetchone()
        signals = json.loads(signals_row[0]) if signals_row else {}
        rows.append({"source": source, "state": state, "since": since,
                     "reasons": json.loads(reasons or "[]"), "updated": updated,
                     "run_id": run_id, "signals": signals})
    return rows
