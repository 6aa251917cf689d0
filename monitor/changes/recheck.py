"""The re-check schedule of stored articles: when each one is looked at again, and which
ones first when a source's request budget cannot cover every article that is due.

Pure functions of an article's :class:`Clock` and the time (seconds since the epoch, UTC):
the crawler (``crawler.removals``), the writer (``monitor.changes.ingest``) and the
simulation (``bench/recheck_sim.py``, a virtual clock) all run this code. The database
side (which articles are due, what a crawl's checks found) is at the end of the module.

The model
---------
**Prior edit hazard.** An article of age ``a`` is edited at rate ``A / (a + τ)``
(``rules.RECHECK_PRIOR_EDITS``, ``rules.RECHECK_HAZARD_OFFSET``): most edits come within
hours of publication and they thin out like 1/age, with a long tail (a correction months
later). It is the shape of the revisit schedule the news-diff trackers settled on
(NewsDiffs, ``ecprice/newsdiffs`` ``get_update_delay``: every 15 min under 3 h since the
last change, 30 min under a day, 2 h under a week, a day under a month, a week after;
such trackers gathered the NewsEdits corpus, Spangher et al., NAACL 2022: 1.2 M articles,
4.6 M versions). The expected number of edits between ages ``a1`` and ``a2`` is
``A ln((a2 + τ) / (a1 + τ))``.

**Its own history.** Each article has a multiplier ``ρ = (α + X) / (α + E)``: ``X`` changes
its checks saw (an edit, a removal), ``E`` the edits the prior expected over the time it
was watched, ``α`` the prior's weight (``rules.RECHECK_PRIOR_WEIGHT``). This is the
posterior mean of a Gamma(α, α) prior on the article's rate relative to the hazard, as
in Cho and Garcia-Molina's estimators of a page's change frequency ("Estimating frequency
of change", ACM TOIT 2003), where a page's own record of changed and unchanged checks
sets its revisit rate. A check that sees a change counts one change however many edits
it hides; that bias is small when intervals are short against the edit rate, the regime
this schedule keeps (their "improved estimator" corrects it for long ones).

**The next check.** ``Δ = clamp(c · t / ρ, min, max)`` after each check, ``c`` =
``rules.RECHECK_FACTOR`` and ``t`` the article's age. A change seen makes the article
young again (corrections come in rounds, and NewsDiffs' schedule too counts from the
last update): its age then restarts from a point just before the change, keeping a share
of it (``rules.RECHECK_AGE_KEPT``), and the next wait is never longer than the one
before the change. So the interval is short after publication, stretches while checks
find nothing (``t`` grows, ``ρ`` falls: the multiplicative back-off of StormCrawler's
adaptive fetch schedule and Nutch's AdaptiveFetchSchedule, here with the age as its
clock), and shortens at once when an edit or a removal is seen. An article's first wait
is spread by its URL (50-100 %, :func:`spread_of`) so that articles stored together are
not due together. ``min`` and ``max`` are the source's bounds (``recheck:`` in the
sources file): ``max`` guarantees every article is looked at again, ``min`` ("0s": every
crawl) caps the cost of a busy one. A failed check (5xx, timeout) is no evidence: it is
tried again after ``rules.RECHECK_RETRY``.

**Which first.** A due article's value is ``weight · P(changed since its last check)``,
``P = 1 - exp(-ρ A ln((t_now + τ) / (t_last + τ)))``: relevant articles first
(``rules.RECHECK_RELEVANT_WEIGHT`` against ``RECHECK_OTHER_WEIGHT``), then the likelier
to have changed, which grows the longer an article is overdue. A feed's or sitemap's
modification time (``<lastmod>``, Atom ``<updated>``) after the last check makes ``P``
1. A crawl takes due articles in that order while its budget lasts (:func:`choose`); the
rest are *deferred*, counted, and stay due.

**The budget.** Re-check requests per sliding hour (:func:`run_budget`), per source;
unset, a tenth of what the source's ``download_delay`` allows (:func:`default_budget`).
Discovery of new articles never counts against it, and goes first in the crawl's queue.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from monitor.changes import rules

UNCHANGED, CHANGED, GONE, FAILED = "unchanged", "changed", "gone", "failed"  # a check's outcome
OUTCOMES = (UNCHANGED, CHANGED, GONE, FAILED)
DAY = 86400.0


@dataclass(frozen=True)
class Bounds:
    """A source's bounds on one article's interval between checks, in seconds."""

    min: float = 0.0
    max: float = 7 * DAY

    @classmethod
    def of(cls, recheck: Any) -> Bounds:
        """From a sources-file ``recheck:`` (``monitor.sources.Recheck``, or a mapping of
        its fields: durations such as "0s", "7d")."""
        from monitor.sources import seconds

        get = recheck.get if isinstance(recheck, Mapping) else (
            lambda key, default=None: getattr(recheck, key, default))
        return cls(float(seconds(get("min") or "0s")), float(seconds(get("max") or "7d")))


@dataclass(frozen=True)
class Clock:
    """One article's re-check state (the ``articles.check_*`` columns); times in seconds
    since the epoch (UTC).

    ``born``: when it was published (its first sighting when undated, or dated later);
    ``first_seen``: when it was first stored; ``last_check``: the last time its page was
    looked at (``first_seen`` at first); ``next_check``: when it is due; ``changes``:
    changes its checks saw (edits, removals); ``origin``: where its age is counted from
    once a change was seen (None: ``born``); ``exposure``: the prior's expected edits over
    the time it was watched (``E``);
    ``checks``: checks made; ``hint``: a modification time a feed or sitemap gave, not
    before ``last_check`` (None: none)."""

    born: float
    first_seen: float
    last_check: float
    next_check: float
    changes: int = 0
    origin: float | None = None
    exposure: float = 0.0
    checks: int = 0
    hint: float | None = None


def _origin(clock: Clock) -> float:
    """Where the article's age is counted from: publication, moved forward by each change
    seen (to a point just before it: ``rules.RECHECK_AGE_KEPT`` of its age then is kept)."""
    return clock.born if clock.origin is None else max(clock.born, clock.origin)


def _prior_edits(origin: float, start: float, end: float) -> float:
    """Edits the prior hazard expects between ``start`` and ``end`` (ages from ``origin``)."""
    tau = rules.RECHECK_HAZARD_OFFSET
    a1, a2 = max(0.0, start - origin), max(0.0, end - origin)
    return rules.RECHECK_PRIOR_EDITS * math.log((a2 + tau) / (a1 + tau)) if a2 > a1 else 0.0


def rate(clock: Clock) -> float:
    """The article's edit-rate multiplier ``ρ`` (1: as the prior expects; above: edited
    more, below: quieter)."""
    alpha = rules.RECHECK_PRIOR_WEIGHT
    return (alpha + clock.changes) / (alpha + clock.exposure)


def interval(clock: Clock, now: float, bounds: Bounds) -> float:
    """Seconds from ``now`` to the article's next check: ``c · t / ρ`` within ``bounds``."""
    age = max(0.0, now - _origin(clock))
    return min(bounds.max, max(bounds.min, rules.RECHECK_FACTOR * age / rate(clock)))


def first_check(born: float | None, seen: float, bounds: Bounds,
                spread: float = 1.0) -> Clock:
    """The clock of an article stored for the first time at ``seen`` (published at
    ``born``; None when undated). ``spread`` (0-1) shortens its first wait to that share
    (never below ``bounds.min``): articles stored together (a first crawl, a backfill of
    an archive) are then not all due at the same moment (:func:`spread_of` gives one per
    URL)."""
    origin = seen if born is None else min(born, seen)
    clock = Clock(born=origin, first_seen=seen, last_check=seen, next_check=seen)
    wait = max(bounds.min, interval(clock, seen, bounds) * min(1.0, max(0.0, spread)))
    return replace(clock, next_check=seen + wait)


def spread_of(url: str) -> float:
    """A share between 0.5 and 1 that depends on ``url`` only (CRC-32): the spread of its
    first wait (:func:`first_check`)."""
    return 0.5 + 0.5 * (zlib.crc32(url.encode("utf-8")) % 1024) / 1024


def after_check(clock: Clock, outcome: str, now: float, bounds: Bounds) -> Clock:
    """The clock after a check at ``now`` that found ``outcome``: ``unchanged`` (a 304,
    or the same text), ``changed`` (a new version), ``gone`` (404/410, a removal notice,
    a redirect away) or ``failed`` (no answer worth anything: tried again later)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown check outcome {outcome!r}")
    if outcome == FAILED:
        retry = min(bounds.max, max(bounds.min, rules.RECHECK_RETRY))
        return replace(clock, next_check=now + retry)
    origin = _origin(clock)
    exposure = clock.exposure + _prior_edits(origin, clock.last_check, now)
    changed = outcome in (CHANGED, GONE)
    if changed:  # young again: only a share of its age is kept
        origin = now - rules.RECHECK_AGE_KEPT * max(0.0, now - origin)
    after = replace(clock, last_check=now, checks=clock.checks + 1, exposure=exposure,
                    changes=clock.changes + changed, hint=None,
                    origin=origin if changed else clock.origin)
    wait = interval(after, now, bounds)
    if changed:  # never longer than the interval before the change
        wait = max(bounds.min, min(wait, max(0.0, clock.next_check - clock.last_check)))
    return replace(after, next_check=now + wait)


def change_probability(clock: Clock, now: float) -> float:
    """Probability that the article changed since its last check (1 when a feed or
    sitemap said so)."""
    if clock.hint is not None and clock.hint >= clock.last_check:
        return 1.0
    expected = rate(clock) * _prior_edits(_origin(clock), clock.last_check, now)
    return 1.0 - math.exp(-expected)


def value(clock: Clock, now: float, relevant: bool = True) -> float:
    """What checking the article now is worth: its weight times ``change_probability``."""
    weight = rules.RECHECK_RELEVANT_WEIGHT if relevant else rules.RECHECK_OTHER_WEIGHT
    return weight * change_probability(clock, now)


def choose(candidates: Iterable[tuple[Any, Clock, bool]], now: float,
           budget: int) -> tuple[list[Any], list[Any]]:
    """Which due articles a crawl checks: ``candidates`` are ``(key, clock, relevant)``;
    returns ``(chosen, deferred)`` keys, the chosen ones most valuable first (then the
    longest overdue), at most ``budget`` of them."""
    ranked = sorted(candidates, key=lambda c: (-value(c[1], now, c[2]), c[1].next_check))
    keys = [key for key, _, _ in ranked]
    budget = max(0, int(budget))
    return keys[:budget], keys[budget:]


def default_budget(download_delay: float) -> int:
    """Re-check requests per hour a source gets when its ``recheck.budget`` is unset: a
    share (``rules.RECHECK_BUDGET_SHARE``) of what its per-request delay allows, the delay
    taken as at least ``rules.RECHECK_BUDGET_MIN_DELAY`` (0.5 s: 720 an hour)."""
    delay = max(float(download_delay or 0.0), rules.RECHECK_BUDGET_MIN_DELAY)
    return int(rules.RECHECK_BUDGET_SHARE * 3600.0 / delay)


def budget_per_hour(recheck: Any, download_delay: float) -> int:
    """A source's budget: its ``recheck.budget``, else :func:`default_budget`."""
    given = (recheck.get("budget") if isinstance(recheck, Mapping)
             else getattr(recheck, "budget", None))
    return int(given) if given is not None else default_budget(download_delay)


def run_budget(per_hour: int, spent_in_window: int) -> int:
    """Re-checks one crawl may make: the hourly budget less what the source's crawls
    spent in the last ``rules.RECHECK_BUDGET_WINDOW`` seconds (a sliding hour)."""
    return max(0, int(per_hour) - int(spent_in_window))


# -- the database side -----------------------------------------------------------------------
def stamp(when: float) -> str:
    """Epoch seconds as the database writes times (UTC ISO 8601, whole seconds)."""
    return datetime.fromtimestamp(when, UTC).isoformat(timespec="seconds")


def epoch(text: str | None) -> float | None:
    """A stored time (ISO 8601; no zone: UTC) as epoch seconds, None when absent or bad."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


# the articles columns that hold a Clock (besides published_utc and first_seen)
CLOCK_COLUMNS = ("check_next", "check_last", "check_count", "check_changes", "check_origin",
                 "check_exposure", "check_hint")
_SELECT = ("url, id, relevant, published_utc, first_seen, check_next, check_last, "
           "check_count, check_changes, check_origin, check_exposure, check_hint")


def clock_of(row: Mapping[str, Any], now: float | None = None) -> Clock:
    """The clock of a stored article row (``articles`` columns); a row without one (never
    scheduled) is due ``now``."""
    seen = epoch(row.get("first_seen")) or now or 0.0
    born = epoch(row.get("published_utc"))
    last = epoch(row.get("check_last")) or seen
    due = epoch(row.get("check_next"))
    return Clock(born=seen if born is None else min(born, seen), first_seen=seen,
                 last_check=last, next_check=due if due is not None else (now or last),
                 changes=int(row.get("check_changes") or 0),
                 origin=epoch(row.get("check_origin")),
                 exposure=float(row.get("check_exposure") or 0.0),
                 checks=int(row.get("check_count") or 0), hint=epoch(row.get("check_hint")))


def columns(clock: Clock) -> dict[str, Any]:
    """A clock as the ``articles.check_*`` values to write."""
    return {"check_next": stamp(clock.next_check), "check_last": stamp(clock.last_check),
            "check_count": clock.checks, "check_changes": clock.changes,
            "check_origin": None if clock.origin is None else stamp(clock.origin),
            "check_exposure": round(clock.exposure, 6),
            "check_hint": None if clock.hint is None else stamp(clock.hint)}


@dataclass(frozen=True)
class Due:
    """A stored article due for a check: its URL, whether relevant, its clock."""

    url: str
    relevant: bool
    clock: Clock


def due(store: Any, source: str, now: float, window_days: float | None = None) -> list[Due]:
    """The articles of ``source`` (not removed) whose next check is at or before ``now``,
    or that were never scheduled; with ``window_days`` (the legacy
    ``NEWSWATCH_RECHECK_DAYS``), also every one published within that many days. Index
    ``articles_check_next`` (source, check_next) serves the query."""
    when = stamp(now)
    db = store.db
    rows = db.execute(
        f"select {_SELECT} from articles where source = ? and check_next <= ? "
        f"and removed is null union all select {_SELECT} from articles where source = ? "
        "and check_next is null and removed is null", [source, when, source])
    names = [c[0] for c in rows.description]
    found = {row[0]: dict(zip(names, row, strict=True)) for row in rows.fetchall()}
    if window_days:
        since = stamp(now - float(window_days) * DAY)
        more = db.execute(f"select {_SELECT} from articles where source = ? and removed is "
                          "null and (published_utc is null or published_utc >= ?)",
                          [source, since])
        for row in more.fetchall():
            found.setdefault(row[0], dict(zip(names, row, strict=True)))
    return [Due(url, bool(row["relevant"]), clock_of(row, now)) for url, row in found.items()]


def checked_urls(store: Any, source: str) -> tuple[dict[str, float], set[str]]:
    """Every stored article of ``source`` by URL with the time of its last check (epoch
    seconds), and the URLs of those found removed: one query, when a crawl starts."""
    rows = store.db.execute("select url, coalesce(check_last, last_seen, first_seen), "
                            "removed is not null from articles where source = ?",
                            [source]).fetchall()
    return ({url: epoch(last) or 0.0 for url, last, _ in rows},
            {url for url, _, removed in rows if removed})


def spent(store: Any, source: str, now: float) -> int:
    """Re-checks the crawl runs of ``source`` started in the last budget window made (the
    ``recheck.checked`` of their ledgers, ``crawler.ledger``)."""
    since = stamp(now - rules.RECHECK_BUDGET_WINDOW)
    row = store.db.execute(
        "select coalesce(sum(json_extract(ledger, '$.recheck.checked')), 0) from crawl_runs "
        "where source = ? and started > ? and json_valid(ledger)", [source, since]).fetchone()
    return int(row[0] or 0)


def record(store: Any, checks: Mapping[str, str], now: float, bounds: Bounds, since: str,
           hints: Mapping[str, float] | None = None) -> int:
    """Apply one crawl's checks to the schedule, in one transaction: ``checks`` maps a
    stored article's URL to what its check found (``ok``, ``gone``, ``failed``: the states
    of ``monitor.changes.removals``); ``ok`` is ``changed`` when the crawl stored a new
    version of it (``updated`` at or after ``since``, the crawl's start), else
    ``unchanged``. ``hints``: URL -> modification time a feed or sitemap gave, for
    articles the budget left unchecked: they stay due, first in line. Returns the number
    of articles rescheduled."""
    db = store.db
    done = 0
    with db.conn:
        for url, state in checks.items():
            cursor = db.execute(f"select {_SELECT}, updated from articles where url = ?", [url])
            row = cursor.fetchone()
            if row is None:
                continue
            data = dict(zip([c[0] for c in cursor.description], row, strict=True))
            if state == "failed":
                outcome = FAILED
            elif state == "gone":
                outcome = GONE
            else:
                outcome = CHANGED if (data["updated"] or "") >= since else UNCHANGED
            clock = after_check(clock_of(data, now), outcome, now, bounds)
            values = columns(clock)
            db.execute("update articles set " + ", ".join(f"{k} = ?" for k in values)
                       + " where id = ?", [*values.values(), data["id"]])
            done += 1
        for url, hint in (hints or {}).items():
            if url in checks:
                continue
            db.execute("update articles set check_hint = ?, check_next = min(coalesce("
                       "check_next, ?), ?) where url = ?", [stamp(hint), stamp(now),
                                                          stamp(now), url])
    return done
