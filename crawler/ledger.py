"""The ledger of a crawl run: every discovered link and every article request accounted
for, under a named outcome.

An analyst reads "no alert" as "nothing happened"; that holds only if no input is ever
dropped without saying so. The ledger keeps two books per crawl run (per source), in the
crawler's stats (``ledger/…`` keys), and three identities that must hold exactly:

1. **Links.** Every article link candidate discovery reads (a feed entry, a sitemap
   ``<url>``, a listing page's ``<a href>``) ends under one ``LINK_OUTCOMES`` reason:
   ``discovered == sum(links)``.
2. **Requests.** The article requests that leave the spider side are the links
   ``requested``, plus stored articles re-checked that no link pointed at
   (``rechecked``), minus the links to stored articles not re-checked in this run
   (``settled``: not due, or over the re-check budget): ``requested + rechecked - settled
   == issued``. (A backfill's requests are its own links ``requested``.)
3. **Pages.** Every issued article request ends under one ``PAGE_OUTCOMES`` reason:
   ``issued == sum(pages)``. A run stopped early counts what was still queued or in
   flight as ``unfinished``; a run that finished has none.
4. **Fetched pages.** An article response that reached the spider (``fetched``) is never
   ``unfinished``: a stop waits until every page already downloaded is extracted and
   stored (issue 31), so ``unfinished <= issued - fetched``.

Bounded discovery (the source's ``max_urls_per_round``) adds the link outcome
``over_cap``, and ``unread_sitemaps``: child sitemaps of an index not read at all once the
round's links were taken (no link of theirs was read, so none is in the books).

Beside the books, a run that re-checks stored articles (``crawler.removals.RecheckPlan``,
``monitor.changes.recheck``) keeps ``recheck``: the articles ``due``, those ``checked``
(requests for stored articles, within the budget), those ``deferred`` (due, or flagged
changed by a feed or sitemap, but over the budget: they stay due) and the run's
``budget``. Not an identity: a count the user sees ("recheck: ... deferred N").

Counts are made where each thing happens (the spider, the middlewares, the pipelines, the
writer's statuses, Scrapy's ``request_dropped``, ``spider_error`` and ``item_error``
signals), so a path that loses an input without counting it breaks an identity.
``Ledger.close`` runs when the spider closes: an identity that does not hold is an error
line of the run ("ledger does not balance: …"), never silent; with the environment
variable ``NEWSWATCH_LEDGER_VIOLATIONS`` set to a file path, each violation is also
appended there as a JSON line (the test suite's session fixture reads it,
tests/conftest.py). The ledger is stored with the run (``crawl_runs.ledger``, JSON) and
shown by the crawl summary and ``newswatch status``.

Components: ``Ledger`` (``Ledger.of(crawler)``), and ``LedgerMiddleware`` (spider
middleware, outermost: counts ``issued`` and connects the signals).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from scrapy import Request, signals

log = logging.getLogger(__name__)

VIOLATIONS_ENV = "NEWSWATCH_LEDGER_VIOLATIONS"

# why a discovered link was, or was not, requested
LINK_OUTCOMES: dict[str, str] = {
    "requested": "requested as an article",
    "seen": "already found in this run (another feed, sitemap or listing, or another "
            "form of the same canonical URL)",
    "off_site": "on a host the source does not own",
    "not_article": "on the source's site, but not an article link (sections, tags, media)",
    "unmatched": "looks like an article, but fails the source's article_pattern",
    "stale": "its hinted publication date is older than NEWSWATCH_STALE_AFTER",
    "malformed": "not a URL that can be requested",
    "no_link": "a feed entry without a link",
    "too_long": "longer than URLLENGTH_LIMIT (Scrapy would drop the request unsaid)",
    "over_cap": "beyond the source's max_urls_per_round for this crawl (the newest were "
                "taken); left for newswatch backfill",
}

# what a run's re-checks of stored articles were (not outcomes: counts beside the books)
RECHECK_KEYS = ("due", "checked", "deferred", "budget")

# what became of an issued article request
STORED = ("new", "updated", "unchanged", "duplicate", "irrelevant")
PAGE_OUTCOMES: dict[str, str] = {
    "new": "stored: a new article",
    "updated": "stored: a new version of a known article",
    "unchanged": "stored: the same text as the stored version (last seen updated)",
    "duplicate": "stored: a copy of another source's article (same story)",
    "irrelevant": "stored: not about the topic",
    "not_modified": "answered 304 Not Modified to a conditional GET",
    "filtered": "dropped by the scheduler: the same request was already made in this run "
                "(e.g. a redirect to a page already fetched)",
    "robots": "forbidden by robots.txt",
    "refused": "refused by the SSRF guard (private or reserved address)",
    "off_site": "redirected to a host the source does not own (refused, recorded)",
    "gone": "removed by its site (404/410, a deletion notice; crawler.removals)",
    "failed": "failed: HTTP error, timeout, connection error, too large, redirect loop",
    "not_text": "not an HTML page (binary bytes or a non-text type)",
    "no_text": "no article text found on the page",
    "extraction_failed": "extraction failed (a broken worker or a bug)",
    "error": "an exception in the spider's parsing or in a pipeline",
    "not_stored": "not stored: the database is full",
    "store_failed": "not stored: its batch's transaction failed",
    "unfinished": "still queued or in flight when the crawl was stopped",
}


class Ledger:
    """The two books of one crawler's run, kept in its stats (``ledger/link/<outcome>``,
    ``ledger/page/<outcome>``, ``ledger/discovered``, ``ledger/issued``,
    ``ledger/fetched``, ``ledger/rechecked``, ``ledger/settled``)."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @property
    def stats(self) -> Any:
        """The crawler's stats (set only when the crawl starts, after ``from_crawler``)."""
        return self.crawler.stats

    @classmethod
    def of(cls, crawler: Any) -> Ledger:
        """The crawler's ledger (created on first use)."""
        ledger = getattr(crawler, "_newswatch_ledger", None)
        if ledger is None:
            ledger = cls(crawler)
            crawler._newswatch_ledger = ledger
        return ledger

    # -- counting --------------------------------------------------------------------------
    def discovered(self, n: int = 1) -> None:
        """``n`` link candidates read by discovery (each must get a link outcome)."""
        if n:
            self.stats.inc_value("ledger/discovered", n)

    def link(self, outcome: str, n: int = 1) -> None:
        """``n`` discovered links ended under ``outcome`` (a ``LINK_OUTCOMES`` key)."""
        if outcome not in LINK_OUTCOMES:
            raise ValueError(f"unknown link outcome {outcome!r}")
        if n:
            self.stats.inc_value(f"ledger/link/{outcome}", n)

    def page(self, outcome: str, n: int = 1) -> None:
        """``n`` issued article requests ended under ``outcome`` (``PAGE_OUTCOMES``)."""
        if outcome not in PAGE_OUTCOMES:
            raise ValueError(f"unknown page outcome {outcome!r}")
        if n:
            self.stats.inc_value(f"ledger/page/{outcome}", n)

    def count(self, key: str, n: int = 1) -> None:
        """``issued``, ``fetched``, ``rechecked``, ``settled`` or ``unread_sitemaps``."""
        if n:
            self.stats.inc_value(f"ledger/{key}", n)

    def recheck(self, key: str, n: int = 1) -> None:
        """Re-check counts: ``due``, ``checked``, ``deferred`` (added to), ``budget`` (set)."""
        if key not in RECHECK_KEYS:
            raise ValueError(f"unknown re-check count {key!r}")
        if key == "budget":
            self.stats.set_value("ledger/recheck/budget", int(n))
        elif n:
            self.stats.inc_value(f"ledger/recheck/{key}", n)

    # -- reading ---------------------------------------------------------------------------
    def book(self) -> dict[str, Any]:
        """``{"discovered", "issued", "fetched", "rechecked", "settled": int,
        "links": {outcome: n}, "pages": {outcome: n}}``, outcomes with a count only; and
        ``"unread_sitemaps": int`` when child sitemaps were left unread because the
        source's ``max_urls_per_round`` was reached (their links are not counted: never
        read); plus ``"recheck": {"due", "checked", "deferred", "budget": int}`` when the
        run planned re-checks."""
        stats = self.stats.get_stats()
        links = {k: int(stats[f"ledger/link/{k}"]) for k in LINK_OUTCOMES
                 if stats.get(f"ledger/link/{k}")}
        pages = {k: int(stats[f"ledger/page/{k}"]) for k in PAGE_OUTCOMES
                 if stats.get(f"ledger/page/{k}")}
        book = {"discovered": int(stats.get("ledger/discovered", 0)),
                "issued": int(stats.get("ledger/issued", 0)),
                "fetched": int(stats.get("ledger/fetched", 0)),
                "rechecked": int(stats.get("ledger/rechecked", 0)),
                "settled": int(stats.get("ledger/settled", 0)),
                "links": links, "pages": pages}
        if stats.get("ledger/unread_sitemaps"):  # child sitemaps left unread (the cap)
            book["unread_sitemaps"] = int(stats["ledger/unread_sitemaps"])
        if any(f"ledger/recheck/{k}" in stats for k in RECHECK_KEYS):
            book["recheck"] = {k: int(stats.get(f"ledger/recheck/{k}", 0))
                               for k in RECHECK_KEYS}
        return book

    def close(self, finished: bool, source: str) -> tuple[dict[str, Any], list[str]]:
        """The run's final book, and the identities that do not hold (one line each).
        A run that did not finish counts its remaining requests ``unfinished``."""
        book = self.book()
        open_requests = book["issued"] - sum(book["pages"].values())
        if not finished and open_requests > 0:
            self.page("unfinished", open_requests)
            book = self.book()
        problems = check(book, finished)
        for problem in problems:
            log.error("%s: ledger does not balance: %s", source, problem)
            path = os.environ.get(VIOLATIONS_ENV)
            if path:
                with open(path, "a", encoding="utf-8") as out:
                    out.write(json.dumps({"source": source, "problem": problem,
                                          "book": book}) + "\n")
        return book, problems


def check(book: Mapping[str, Any], finished: bool = True) -> list[str]:
    """The identities of ``book`` (``Ledger.book``'s shape) that do not hold, as lines.
    ``finished``: the run ended normally, so nothing may be ``unfinished``."""
    problems = []
    links = book.get("links") or {}
    pages = book.get("pages") or {}
    if book.get("discovered", 0) != sum(links.values()):
        problems.append(f"{book.get('discovered', 0)} links discovered, "
                        f"{sum(links.values())} with an outcome ({_terms(links)})")
    expected = (links.get("requested", 0) + book.get("rechecked", 0)
                - book.get("settled", 0))
    if expected != book.get("issued", 0):
        problems.append(f"{links.get('requested', 0)} requested + {book.get('rechecked', 0)} "
                        f"rechecked - {book.get('settled', 0)} settled != "
                        f"{book.get('issued', 0)} article requests issued")
    if book.get("issued", 0) != sum(pages.values()):
        problems.append(f"{book.get('issued', 0)} article requests issued, "
                        f"{sum(pages.values())} with an outcome ({_terms(pages)})")
    if finished and pages.get("unfinished"):
        problems.append(f"{pages['unfinished']} article requests unfinished in a finished run")
    fetched = book.get("fetched")
    if fetched is not None and pages.get("unfinished", 0) > book.get("issued", 0) - fetched:
        problems.append(f"{pages['unfinished']} article requests unfinished, but only "
                        f"{book.get('issued', 0) - fetched} of {book.get('issued', 0)} "
                        f"issued were not fetched: a stop lost pages already downloaded")
    return problems


def _terms(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"


def summary(book: Mapping[str, Any] | None) -> str:
    """One line for people: ``links 40: requested 12, seen 20, not_article 8; pages 12:
    new 3, unchanged 9`` (empty for no book)."""
    if not book:
        return ""
    links, pages = book.get("links") or {}, book.get("pages") or {}
    unread = (f"; child sitemaps unread {book['unread_sitemaps']}"
              if book.get("unread_sitemaps") else "")
    line = (f"links {book.get('discovered', 0)}: {_terms(links)}; "
            f"pages {book.get('issued', 0)}: {_terms(pages)}{unread}")
    rechecks = recheck_line(book)
    return f"{line}; {rechecks}" if rechecks else line


def recheck_line(book: Mapping[str, Any] | None) -> str:
    """The run's re-checks for people: ``recheck: due 40, checked 12, deferred 28 (budget
    12)``; empty when it had none to make."""
    counts = (book or {}).get("recheck")
    if not counts or not any(counts.get(k) for k in ("due", "checked", "deferred")):
        return ""
    return (f"recheck: due {counts.get('due', 0)}, checked {counts.get('checked', 0)}, "
            f"deferred {counts.get('deferred', 0)} (budget {counts.get('budget', 0)})")


# outcomes that are the normal course of a crawl, left out of ``dropped``
ROUTINE_LINKS = ("requested", "seen", "off_site", "not_article")
ROUTINE_PAGES = (*STORED, "not_modified")


def load(text: str | None) -> dict[str, Any] | None:
    """A stored ledger (``crawl_runs.ledger``, JSON) as a dict; None when absent or
    unreadable (runs made before the ledger existed)."""
    if not text:
        return None
    try:
        book = json.loads(text)
    except ValueError:
        return None
    return book if isinstance(book, dict) else None


def losses(book: Mapping[str, Any]) -> dict[str, int]:
    """The outcomes of ``book`` that lost an input (not ``ROUTINE_LINKS`` or
    ``ROUTINE_PAGES``), links and pages together: ``{reason: n}``. (``off_site`` as a
    link is routine, as a page a loss: only the page's counts.)"""
    found = {k: int(v) for k, v in (book.get("links") or {}).items()
             if k not in ROUTINE_LINKS}
    for k, v in (book.get("pages") or {}).items():
        if k not in ROUTINE_PAGES:
            found[k] = found.get(k, 0) + int(v)
    if book.get("unread_sitemaps"):
        found["unread_sitemaps"] = int(book["unread_sitemaps"])
    return found


def dropped(book: Mapping[str, Any] | None) -> str:
    """The outcomes of ``book`` that lost an input, for people: ``not requested: unmatched
    3, stale 1; not stored: failed 2, robots 1`` (empty when none)."""
    if not book:
        return ""
    links = {k: v for k, v in (book.get("links") or {}).items() if k not in ROUTINE_LINKS}
    pages = {k: v for k, v in (book.get("pages") or {}).items() if k not in ROUTINE_PAGES}
    parts = []
    if links:
        parts.append(f"not requested: {_terms(links)}")
    if pages:
        parts.append(f"not stored: {_terms(pages)}")
    if book.get("unread_sitemaps"):
        parts.append(f"not read: {book['unread_sitemaps']} child sitemaps (max_urls_per_round)")
    return "; ".join(parts)


def merge(books: Iterable[Mapping[str, Any] | None]) -> dict[str, Any]:
    """Books of several runs added up (``Ledger.book``'s shape)."""
    total: dict[str, Any] = {"discovered": 0, "issued": 0, "fetched": 0, "rechecked": 0,
                             "settled": 0, "links": {}, "pages": {}}
    for book in books:
        if not book:
            continue
        for key in ("discovered", "issued", "fetched", "rechecked", "settled"):
            total[key] += int(book.get(key, 0))
        if book.get("unread_sitemaps"):
            total["unread_sitemaps"] = total.get("unread_sitemaps", 0) + int(
                book["unread_sitemaps"])
        if book.get("recheck"):
            counts = total.setdefault("recheck", dict.fromkeys(RECHECK_KEYS, 0))
            for key in RECHECK_KEYS:
                counts[key] += int(book["recheck"].get(key, 0))
        for part in ("links", "pages"):
            for k, v in (book.get(part) or {}).items():
                total[part][k] = total[part].get(k, 0) + int(v)
    return total


class LedgerMiddleware:
    """Spider middleware, outermost (closest to the engine): counts every article request
    that leaves the spider side (``issued``), every article response that comes in
    (``fetched``, whatever its status), and the outcomes only Scrapy's signals see:
    a request the scheduler drops (``filtered``), an exception in an article's callback or
    in a pipeline (``error``)."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.ledger = Ledger.of(crawler)
        crawler.signals.connect(self._dropped, signal=signals.request_dropped)
        crawler.signals.connect(self._spider_error, signal=signals.spider_error)
        crawler.signals.connect(self._item_error, signal=signals.item_error)

    @classmethod
    def from_crawler(cls, crawler: Any) -> LedgerMiddleware:
        return cls(crawler)

    def _issued(self, result: Any) -> Any:
        if isinstance(result, Request) and result.meta.get("kind") == "article":
            self.ledger.count("issued")
        return result

    def process_spider_input(self, response: Any, spider: Any = None) -> None:
        if response.request is not None and response.request.meta.get("kind") == "article":
            self.ledger.count("fetched")

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for result in start:
            yield self._issued(result)

    async def process_spider_output_async(self, response: Any, result: AsyncIterator[Any],
                                          spider: Any = None) -> AsyncIterator[Any]:
        async for item in result:
            yield self._issued(item)

    def process_spider_output(self, response: Any, result: Iterable[Any],
                              spider: Any = None) -> Iterable[Any]:
        for item in result:
            yield self._issued(item)

    def _dropped(self, request: Request, spider: Any = None) -> None:
        if request.meta.get("kind") == "article":
            self.ledger.page("filtered")

    def _spider_error(self, failure: Any, response: Any, spider: Any = None) -> None:
        request = getattr(response, "request", None)
        if request is not None and request.meta.get("kind") == "article":
            self.ledger.page("error")

    def _item_error(self, item: Any, response: Any, spider: Any = None,
                    failure: Any = None) -> None:
        self.ledger.page("error")
