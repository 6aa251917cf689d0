"""Re-check one stored article now: ``newswatch recheck URL|ID``.

The article (by its id in the store, or its URL: canonicalised as crawls store it) is
fetched again by a one-URL crawl of its source (``crawler.spiders.recheck``, in a crawl
child process like any crawl, ``monitor.run.crawl``): the SSRF guard, robots.txt, the
source's politeness, a conditional GET with the validators of the last fetch, removal
checks, extraction and the Ingestor all apply. Its age does not matter (the re-check
window is not applied to it). No daemon is needed; one running beside it is fine.

What happened is one ``RecheckResult`` (``outcome`` and ``line``):

- ``updated``: a new version was stored, with its diff and edit kinds; its ``updated``
  alerts were queued as a crawl queues them;
- ``unchanged``: fetched in full, the text is the stored version's;
- ``not_modified``: the site answered 304 to the conditional GET;
- ``gone``: its site says it is gone (404/410, a redirect away, a removal notice); it is
  marked removed (and its ``removed`` alerts queued) once found gone on
  ``REMOVAL_CONFIRMATIONS`` checks in a row (``monitor.changes.removals``), and
  ``removed`` says whether it is now;
- ``moved``: the URL now leads to another article URL, stored under its own row;
- ``error``: the fetch failed (HTTP error, timeout, robots.txt, the SSRF guard, no text);
  ``reason`` says why;
- ``interrupted``: stopped (Ctrl-C) before it ended.

The one-URL crawl is recorded as a crawl run of the source (one request), without a
source-health verdict (one page is no sample of a source's health).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.alerts import ALERTS_FILE, AlertConfig
from monitor.changes import rules as change_rules
from monitor.processes import Interrupt
from monitor.run.crawl import CrawlResult, crawl
from monitor.sources import DEFAULT_CONFIG, ConfigError, Settings, canonicalize, load_settings
from monitor.store import Store, existing_database

SPIDER = "crawler.spiders.recheck.RecheckSpider"
# what the one request became (its ledger page outcome, crawler.ledger) -> outcome
STORED_AS = {"updated": "updated", "unchanged": "unchanged", "not_modified": "not_modified",
             "gone": "gone", "new": "moved", "duplicate": "moved", "irrelevant": "moved"}
OK_OUTCOMES = frozenset({"updated", "unchanged", "not_modified", "gone", "moved"})


class UnknownArticle(LookupError):
    """No stored article has that id or URL (``newswatch recheck`` exits 2)."""


@dataclass
class RecheckResult:
    """What one re-check did (see the module doc for ``outcome``)."""

    article: dict[str, Any]  # the article's row before the re-check: id, url, source, version
    outcome: str
    crawl: CrawlResult
    version: int | None = None  # the stored version after the re-check
    kinds: list[str] = field(default_factory=list)  # edit kinds of a new version
    reason: str | None = None  # why it is gone, or why the re-check failed
    removed: bool = False  # marked removed (now or before)
    gone_checks: int = 0  # consecutive checks that found it gone

    @property
    def ok(self) -> bool:
        """The site answered and the answer was recorded (not an error, not stopped)."""
        return self.outcome in OK_OUTCOMES

    @property
    def line(self) -> str:
        """What happened, in one line for people."""
        article = self.article
        what = f"article {article['id']} ({article['source']}, {article['url']})"
        before = article.get("version") or 1
        if self.outcome == "updated":
            kinds = ", ".join(k.replace("_", " ") for k in self.kinds) or "text"
            return f"updated: {what}: v{before} -> v{self.version} ({kinds})"
        if self.outcome == "unchanged":
            return f"unchanged: {what}: fetched, the same text as v{self.version or before}"
        if self.outcome == "not_modified":
            return (f"not modified: {what}: the site answered 304 to a conditional GET; "
                    f"v{self.version or before} stands")
        if self.outcome == "gone":
            needed = change_rules.REMOVAL_CONFIRMATIONS
            state = ("marked removed, its last text kept" if self.removed else
                     f"marked removed after {needed} checks in a row")
            return (f"gone: {what}: {self.reason or 'gone'} (found gone on "
                    f"{self.gone_checks} of {needed} checks; {state})")
        if self.outcome == "moved":
            return f"moved: {what}: {self.reason}"
        if self.outcome == "interrupted":
            return f"interrupted: {what}: stopped before the re-check ended"
        return f"error: {what}: {self.reason or 'the re-check failed'}"


def find_article(db_path: str | Path, target: str | int) -> dict[str, Any]:
    """The stored article ``target`` names: an id (digits), or a URL (as given, then
    canonicalised as crawls store URLs). Raises ``UnknownArticle`` (one line)."""
    store = Store(existing_database(db_path))
    try:
        text = str(target).strip()
        if text.isdigit():
            rows = list(store.db["articles"].rows_where("id = ?", [int(text)], limit=1))
            if not rows:
                raise UnknownArticle(f"no stored article with id {text} in {db_path}")
            return _fields(rows[0])
        candidates = [text]
        try:
            canonical = canonicalize(text)
        except ValueError:
            canonical = None
        if canonical and canonical != text:
            candidates.append(canonical)
        for url in candidates:
            row = store.article(url)
            if row is not None:
                return _fields(row)
        shown = f"{text} (canonical: {canonical})" if canonical and canonical != text else text
        raise UnknownArticle(f"no stored article at {shown} in {db_path} "
                             "(give its id or the URL crawls stored)")
    finally:
        store.close()


def _fields(row: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "url", "source", "title", "version", "removed", "gone_checks")
    return {key: row.get(key) for key in keep}


def recheck(target: str | int, config: str | Path | Settings = DEFAULT_CONFIG,
            db_path: str | Path = "newswatch.db",
            alerts: str | Path | AlertConfig | None = ALERTS_FILE,
            variables: Mapping[str, str] | None = None,
            scrapy_settings: Mapping[str, Any] | None = None,
            stop: Interrupt | None = None, timeout: float | None = None) -> RecheckResult:
    """Re-check the stored article ``target`` (id or URL) now; blocks until done.

    ``config`` gives the article's source (its domains, politeness, profile); ``alerts``
    the rules that queue alerts for an update or a removal (None: none). Raises
    ``UnknownArticle`` for an id or URL not in the store, ``DatabaseFileError`` for a
    database that does not exist, ``ConfigError`` for a bad config or a source no longer
    in it, ``CrawlError`` when the crawl process fails. ``stop``: as
    ``monitor.run.crawl.crawl``."""
    article = find_article(db_path, target)
    settings = config if isinstance(config, Settings) else load_settings(config, variables)
    try:
        settings.source(article["source"])
    except ConfigError:
        raise ConfigError(f"article {article['id']} is of source {article['source']!r}, "
                          "which is not in the sources file; give the --config that "
                          "lists it") from None
    overrides = {
        "NEWSWATCH_SPIDER": SPIDER,
        "NEWSWATCH_RECHECK_URL": article["url"],
        "NEWSWATCH_SKIP_STORED": False,  # the one URL asked for, whatever its age
        "NEWSWATCH_HEALTH": False,  # one page is no sample of the source's health
        **(scrapy_settings or {}),
    }
    result = crawl(config=settings, db_path=db_path, sources=[article["source"]],
                   scrapy_settings=overrides, alerts=alerts, stop=stop, timeout=timeout)
    return _outcome(article, result, Path(db_path))


def _outcome(article: dict[str, Any], result: CrawlResult, db_path: Path) -> RecheckResult:
    """Read what the one-URL crawl did from its run's ledger and the article's row."""
    from crawler import ledger

    store = Store(db_path)
    try:
        rows = list(store.db["articles"].rows_where("id = ?", [article["id"]], limit=1))
        after = rows[0] if rows else {}
        version = after.get("version") or article.get("version") or 1
        kinds: list[str] = []
        version_rows = list(store.db["versions"].rows_where(
            "article_id = ? and version = ?", [article["id"], version], limit=1))
        if version_rows and version_rows[0].get("kinds"):
            try:
                kinds = [str(k) for k in json.loads(version_rows[0]["kinds"])]
            except ValueError:
                kinds = []
    finally:
        store.close()
    done = RecheckResult(article=article, outcome="error", crawl=result, version=version,
                         removed=bool(after.get("removed")),
                         gone_checks=int(after.get("gone_checks") or 0))
    if result.interrupted:
        done.outcome = "interrupted"
        return done
    run = result.runs[0] if result.runs else None
    if run is None:
        done.reason = "the crawl recorded no run"
        return done
    pages = (ledger.load(run.get("ledger")) or {}).get("pages") or {}
    outcome = next((STORED_AS[k] for k in STORED_AS if pages.get(k)), None)
    if outcome == "updated":
        done.kinds = kinds
    elif outcome == "gone":
        done.reason = after.get("removed_reason") or _gone_reason(run, article["url"])
    elif outcome == "moved":
        done.reason = (f"it now leads to another article URL, stored under its own row "
                       f"({next(k for k in ('new', 'duplicate', 'irrelevant') if pages.get(k))})")
    elif outcome is None:
        failed = next(iter(pages), None)
        done.reason = (_error(run, article["url"])
                       or (ledger.PAGE_OUTCOMES.get(failed) if failed else None)
                       or f"crawl run {run['id']} ended {run['status']}")
        if result.unreachable:
            host, info = next(iter(result.unreachable.items()))
            done.reason = f"{host} unreachable: {info.get('reason')}"
        return done
    done.outcome = outcome
    return done


def _error(run: dict[str, Any], url: str) -> str | None:
    """The run's error line about ``url`` (without the URL), else its first one."""
    lines = [line for line in (run.get("error_detail") or "").splitlines() if line.strip()]
    for line in lines:
        if line.startswith(url + ": "):
            return line[len(url) + 2:]
    return lines[0] if lines else None


def _gone_reason(run: dict[str, Any], url: str) -> str:
    """Why the check found the article gone ("HTTP 404", "removal notice", "redirected to
    ..."), from the note the re-check spider leaves in the run's ``error_detail``
    (``crawler.spiders.recheck``); the article row holds it only once it is removed."""
    note = _error(run, url) or ""
    if note.startswith("gone:") and note.endswith(")") and " (" in note:
        return note[note.index(" (") + 2:-1]
    return "its site says it is gone"

