"""Issue 29: every stored article has a re-check schedule (``monitor.changes.recheck``),
crawls re-check on a budget, and an edit to an article older than the old 3-day window
is found, on the farm, by a crawl and by the daemon, and alerted once."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.changes import recheck
from monitor.farm import Farm
from monitor.run import crawl
from monitor.sources import DEMO_CONFIG, ConfigError, Recheck, load_settings, with_recheck
from monitor.store import Store

from .channels import SECRET, Receiver
from .conftest import PATIENCE, REPO
from .pages import alerts_file

DAY = 86400.0
EPS = 1e-6
CLI = [sys.executable, "-m", "monitor.cli"]


# -- the scheduling function -----------------------------------------------------------------
bounds = st.builds(lambda low, extra: recheck.Bounds(low, low + extra),
                   st.floats(0, 3600), st.floats(1, 30 * DAY))
steps = st.lists(st.tuples(st.floats(0, 10 * DAY),
                           st.sampled_from([recheck.UNCHANGED, recheck.UNCHANGED,
                                            recheck.CHANGED, recheck.GONE])),
                 min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(bounds=bounds, age=st.floats(0, 800 * DAY), steps=steps)
def test_the_interval_stretches_while_unchanged_shortens_on_a_change_within_bounds(
        bounds: recheck.Bounds, age: float, steps: list[tuple[float, str]]) -> None:
    seen = 1.7e9
    clock = recheck.first_check(seen - age, seen, bounds)
    assert bounds.min - EPS <= clock.next_check - seen <= bounds.max + EPS
    for late, outcome in steps:
        now = clock.next_check + late  # a check at its due time, or later
        previous = clock.next_check - clock.last_check
        after = recheck.after_check(clock, outcome, now, bounds)
        wait = after.next_check - now
        assert bounds.min - EPS <= wait <= bounds.max + EPS  # the source's bounds
        quiet = recheck.after_check(clock, recheck.UNCHANGED, now, bounds)
        if outcome == recheck.UNCHANGED:
            assert wait >= previous - EPS  # stretches while nothing changes
            assert after.changes == clock.changes and after.checks == clock.checks + 1
        else:  # an edit or a removal: sooner than before, sooner than had it not changed
            assert wait <= max(previous, bounds.min) + EPS
            assert wait <= quiet.next_check - now + EPS
            assert after.changes == clock.changes + 1
        clock = after


def test_young_articles_every_crawl_old_ones_within_the_max_unchanged_ones_later() -> None:
    b, seen = recheck.Bounds(), 1.7e9
    hour_old = recheck.first_check(seen - 3600, seen, b)
    assert hour_old.next_check - seen == pytest.approx(0.15 * 3600)  # 9 min: every crawl
    ancient = recheck.first_check(seen - 600 * DAY, seen, b)
    assert ancient.next_check - seen == b.max  # a 2024 article: within a week
    # stored together, due apart: the first wait is spread by the URL (50-100 %)
    spread = recheck.first_check(seen - 3600, seen, b, recheck.spread_of("https://x.test/a"))
    assert 0.5 * 0.15 * 3600 <= spread.next_check - seen <= 0.15 * 3600
    assert recheck.spread_of("https://x.test/a") != recheck.spread_of("https://x.test/b")
    undated = recheck.first_check(None, seen, b)
    assert undated.born == seen and undated.next_check == seen  # dated by its first sighting
    week = recheck.first_check(seen - 7 * DAY, seen, b)
    quiet = week
    for _ in range(5):  # checked when due, unchanged each time: ever longer waits
        quiet = recheck.after_check(quiet, recheck.UNCHANGED, quiet.next_check, b)
    assert quiet.next_check - quiet.last_check > week.next_check - seen
    assert recheck.rate(quiet) < 1  # its own record says: quieter than the prior expects
    edited = recheck.after_check(quiet, recheck.CHANGED, quiet.next_check, b)
    assert edited.next_check - edited.last_check < 0.2 * (quiet.next_check - quiet.last_check)
    assert recheck.rate(edited) > recheck.rate(quiet)


def test_a_failed_check_is_no_evidence_and_is_tried_again_later() -> None:
    b, seen = recheck.Bounds(), 1.7e9
    clock = recheck.first_check(seen - 30 * DAY, seen, b)
    failed = recheck.after_check(clock, recheck.FAILED, clock.next_check, b)
    assert (failed.changes, failed.checks, failed.last_check) == (0, 0, clock.last_check)
    assert failed.next_check == clock.next_check + recheck.rules.RECHECK_RETRY
    with pytest.raises(ValueError):
        recheck.after_check(clock, "maybe", seen, b)


def test_relevant_likelier_and_longer_overdue_first_within_the_budget() -> None:
    b, seen = recheck.Bounds(), 1.7e9
    day_old = recheck.first_check(seen - DAY, seen, b)
    month_old = recheck.first_check(seen - 30 * DAY, seen, b)
    now = seen + DAY
    assert recheck.value(day_old, now) > recheck.value(month_old, now)  # likelier changed
    assert recheck.value(day_old, now) > recheck.value(day_old, now, relevant=False)
    assert recheck.value(day_old, now + DAY) > recheck.value(day_old, now)  # overdue longer
    hinted = recheck.Clock(**{**month_old.__dict__, "hint": now - 60})
    assert recheck.change_probability(hinted, now) == 1.0  # its sitemap said so
    chosen, deferred = recheck.choose(
        [("month", month_old, True), ("day-irrelevant", day_old, False),
         ("day", day_old, True), ("hinted", hinted, True)], now, budget=2)
    assert chosen == ["hinted", "day"] and deferred == ["day-irrelevant", "month"]
    assert recheck.choose([("a", day_old, True)], now, budget=0) == ([], ["a"])


def test_the_budget_comes_from_politeness_and_is_a_sliding_hour() -> None:
    assert recheck.default_budget(0) == 720  # delay taken as at least 0.5 s: a tenth of 7,200
    assert recheck.default_budget(0.5) == 720
    assert recheck.default_budget(2.0) == 180
    assert recheck.budget_per_hour(Recheck(budget=300), 0.5) == 300
    assert recheck.budget_per_hour(Recheck(), 5.0) == 72
    assert recheck.run_budget(300, 120) == 180 and recheck.run_budget(300, 400) == 0


def test_the_settings_come_from_the_sources_file_and_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("""recheck: {max: 14d, budget: 200}
sources:
  - name: a
    title: A
    language: en
    domains: [a.test]
    article_pattern: x
    recheck: {min: 10m}
  - name: b
    title: B
    language: en
    domains: [b.test]
    article_pattern: x
    recheck: {budget: 50}
""", encoding="utf-8")
    loaded = load_settings(path)
    a, b = loaded.source("a").recheck, loaded.source("b").recheck
    assert (a.min, a.max, a.budget) == ("10m", "14d", 200)  # file defaults, field by field
    assert (b.min, b.max, b.budget) == ("0s", "14d", 50)
    again = type(loaded).model_validate(loaded.model_dump())  # what a crawl process gets
    assert again.source("a").recheck == a and again.source("b").recheck == b
    assert recheck.Bounds.of(a) == recheck.Bounds(600.0, 14 * DAY)
    over = with_recheck(loaded, {"max": "2d", "budget": None})
    assert over.source("a").recheck.max == over.source("b").recheck.max == "2d"
    assert over.source("b").recheck.budget == 50
    with pytest.raises(ConfigError, match="source a: min 10m is longer than max 5m"):
        with_recheck(loaded, {"max": "5m"})
    bad = path.read_text(encoding="utf-8").replace("{min: 10m}", "{min: soon}")
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sources\.yaml:\d+: sources\[0\]\.recheck\.min"):
        load_settings(path)


# -- the simulation, small -------------------------------------------------------------------
def test_the_adaptive_policy_catches_more_edits_than_the_window_and_a_fixed_interval() -> None:
    """bench/recheck_sim.py at a tenth of its size (a few seconds): at the same budget the
    adaptive schedule catches more edits as their own version than the old 3-day window
    and a fixed interval, and detects at least as many."""
    from bench.recheck_sim import UP_TO_90, WEEK, simulate

    began = time.monotonic()
    every = ["0-1 d", "1-7 d", "7-30 d", "30-90 d", "90+ d"]
    runs = {policy: simulate(policy, articles=3000, budget=45, days=24, warmup=7, tail=7,
                             seed=3) for policy in ("window", "fixed", "adaptive")}
    assert time.monotonic() - began < 30
    adaptive, window, fixed = runs["adaptive"], runs["window"], runs["fixed"]
    assert len(adaptive.edits) == len(window.edits) == len(fixed.edits) > 100  # same edits
    assert adaptive.caught(every) > window.caught(every)
    assert adaptive.caught(every) > fixed.caught(every)
    assert adaptive.detected(every) >= max(window.detected(every), fixed.detected(every))
    assert adaptive.detected(UP_TO_90) >= 0.95
    assert adaptive.median_hours(WEEK) < fixed.median_hours(WEEK)
    # at the same budget: none spent more than it
    assert all(r.requests <= 45 * (r.hours + 1) for r in runs.values())
    assert not math.isinf(adaptive.median_hours(every))


# -- the commands ---------------------------------------------------------------------------------
def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=180)


def test_recheck_options_that_make_no_sense_are_one_line_errors(farm: Farm,
                                                                tmp_path: Path) -> None:
    env = {**os.environ, **farm.variables}
    base = ["crawl", "--config", str(DEMO_CONFIG), "--db", str(tmp_path / "x.db"),
            "--source", "mofa_en", "--no-alerts"]
    bad = _cli([*base, "--recheck-max", "soon"], env)
    assert bad.returncode == 2 and "'soon' is not a duration" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
    crossed = _cli([*base, "--recheck-min", "2d", "--recheck-max", "1d"], env)
    assert crossed.returncode == 2 and "min 2d is longer than max 1d" in crossed.stderr
    assert len(crossed.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.db").exists()  # refused before any crawl
    negative = _cli(["run", "--config", str(DEMO_CONFIG), "--db", str(tmp_path / "y.db"),
                     "--recheck-budget", "-1"], env)
    assert negative.returncode == 2 and "Traceback" not in negative.stderr


def test_due_articles_over_the_budget_are_deferred_and_said_so(farm: Farm,
                                                               tmp_path: Path) -> None:
    """`newswatch crawl --recheck-max 1s --recheck-budget 0`: every stored article is due,
    none may be re-checked: the summary says how many were deferred, the ledger too."""
    db = tmp_path / "budget.db"
    env = {**os.environ, **farm.variables}
    base = ["crawl", "--config", str(DEMO_CONFIG), "--db", str(db), "--source", "mofa_en",
            "--no-alerts", "--recheck-max", "1s"]
    assert _cli(base, env).returncode == 0
    store = Store(db)
    try:
        stored = store.db["articles"].count
        due_at = max(recheck.epoch(row[0]) for row in store.db.execute(
            "select check_next from articles"))
    finally:
        store.close()
    _wait(lambda: time.time() > due_at + 1, 30, "every stored article to be due")
    second = _cli([*base, "--recheck-budget", "0"], env)
    assert second.returncode == 0, second.stderr
    said = " ".join(second.stdout.split())  # (the ledger line wraps at 80 columns)
    assert f"mofa_en: recheck deferred {stored} (over the budget of 0; still due)" in said
    assert f"recheck: due {stored}, checked 0, deferred {stored} (budget 0)" in said
    store = Store(db)
    try:
        run = store.runs()[-1]
    finally:
        store.close()
    assert run["new"] == run["updated"] == run["unchanged"] == 0  # none was requested
    status = _cli(["status", "--db", str(db)], env)
    assert status.returncode == 0
    assert f"mofa_en: recheck deferred {stored} (due {stored}, budget 0)" in " ".join(
        status.stdout.split())


# -- on the farm, in real time -----------------------------------------------------------------
def _oldest_relevant(db: Path, source: str) -> dict:
    store = Store(db)
    try:
        return next(store.db.query(
            "select id, url, published_utc, check_next, check_last from articles "
            "where source = ? and relevant = 1 order by published_utc limit 1", [source]))
    finally:
        store.close()


def _slug(farm: Farm, site: str, url: str) -> str:
    return next(a.slug for a in farm.sites[site].articles if farm.url_of(site, a.slug) == url)


def _updated_alerts(db: Path, article_id: int) -> int:
    store = Store(db)
    try:
        return store.db["alerts"].count_where("kind = 'updated' and article_id = ?",
                                              [article_id])
    finally:
        store.close()


def test_an_edit_to_a_2024_article_is_found_by_the_next_crawl_with_no_option(
        fresh_farm: Farm, tmp_path: Path) -> None:
    """Default settings: the article (2024, older than the old 3-day window) is not due
    for days, but the sitemap's <lastmod> says it changed since its last check."""
    farm, db = fresh_farm, tmp_path / "old.db"
    alerts = alerts_file(tmp_path / "alerts.yaml")
    first = crawl(DEMO_CONFIG, db, variables=farm.variables, sources=["mofa_en"], alerts=alerts)
    assert first.ok
    old = _oldest_relevant(db, "mofa_en")
    assert old["published_utc"] < "2025"  # far older than 3 days
    store = Store(db)
    try:  # every stored article is due again within the default max (7 days)
        waits = [recheck.epoch(n) - recheck.epoch(c) for n, c in store.db.execute(
            "select check_next, check_last from articles where source = 'mofa_en'")]
    finally:
        store.close()
    assert waits and all(0 <= w <= 7 * DAY for w in waits)
    farm.edit("mofa_en", _slug(farm, "mofa_en", old["url"]),
              replace={0: "The Ministry corrected the date of the talks to 12 March."})
    second = crawl(DEMO_CONFIG, db, variables=farm.variables, sources=["mofa_en"],
                   alerts=alerts)
    assert second.ok and second.totals["updated"] == 1 and second.totals["new"] == 0
    third = crawl(DEMO_CONFIG, db, variables=farm.variables, sources=["mofa_en"],
                  alerts=alerts)
    assert third.ok and third.totals["updated"] == 0
    assert _updated_alerts(db, old["id"]) == 1  # one rule, one channel: once
    edited = _oldest_relevant(db, "mofa_en")
    assert edited["check_last"] > old["check_last"]  # re-checked, and rescheduled


def _daemon_config(tmp_path: Path) -> Path:
    """mofa_en without its sitemap (no <lastmod> to tell it an article changed: only the
    schedule finds an edit), crawled every 2 s, re-checked at least every 5 s."""
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    mofa = next(s for s in data["sources"] if s["name"] == "mofa_en")
    mofa = {**mofa, "interval": "2s", "jitter": "0s", "crawl_timeout": "60s",
            "recheck": {"max": "5s"}}
    mofa.pop("sitemaps", None)
    data["sources"] = [mofa]
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _wait(predicate, seconds: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + seconds * PATIENCE
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _finished_runs(db: Path) -> int:
    if not db.exists():
        return 0
    store = Store(db)
    try:
        return store.db["crawl_runs"].count_where("status = 'finished'")
    finally:
        store.close()


def test_the_daemon_finds_an_edit_to_an_old_article_when_it_is_due_and_alerts_once(
        tmp_path: Path, receiver: Receiver) -> None:
    db = tmp_path / "daemon.db"
    hook = tmp_path / "alerts.yaml"
    hook.write_text("channels:\n  hook:\n    webhook: \"${NW_HOOK_URL}\"\n"
                    "    secret: \"${NW_HOOK_SECRET}\"\n"
                    "rules:\n  - name: edits\n    kinds: [updated]\n    channels: [hook]\n",
                    encoding="utf-8")
    with Farm(sites=["mofa_en"]) as farm:
        env = {**os.environ, **farm.variables, "NW_HOOK_URL": receiver.url,
               "NW_HOOK_SECRET": SECRET}
        daemon = subprocess.Popen(
            [*CLI, "run", "--config", str(_daemon_config(tmp_path)), "--db", str(db),
             "--alerts-config", str(hook), "--deliver-every", "1", "--log-level", "WARNING"],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            _wait(lambda: _finished_runs(db) >= 1, 90, "a first crawl")
            old = _oldest_relevant(db, "mofa_en")
            assert old["published_utc"] < "2025"
            url = farm.edit("mofa_en", _slug(farm, "mofa_en", old["url"]),
                            replace={1: "The two sides agreed to hold the next round of "
                                        "talks in Washington in May."})
            _wait(lambda: any(b["kind"] == "updated" for b in receiver.bodies), 90,
                  "the edit's alert")
            runs = _finished_runs(db)
            _wait(lambda: _finished_runs(db) >= runs + 3, 90, "three more crawls")
            _wait(lambda: _updated_alerts(db, old["id"]) == 1 and not _pending(db), 30,
                  "the outbox to drain")
        finally:
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(timeout=90)
        assert code == 0, daemon.stderr.read()[-2000:]
    updated = [b for b in receiver.bodies if b["kind"] == "updated"]
    assert len(updated) == 1 and updated[0]["article"]["url"] == url  # alerted once
    assert "Washington in May" in updated[0]["diff"]


def _pending(db: Path) -> int:
    store = Store(db)
    try:
        return store.db["alerts"].count_where("status in ('pending', 'sending')")
    finally:
        store.close()
