"""Source health, by repeated real crawls of the farm through the path the daemon uses
(``monitor.run.crawl.crawl`` → the store pipeline → ``monitor.sources.health``): a redesign, a site
answering 403 to everything, a feed that stops getting new items; each alerts once (and
once again when it recovers), delivered to a real webhook; the normal farm never alerts."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from monitor.alerts import deliver_pending, list_alerts, load_alert_config
from monitor.farm import Farm
from monitor.run import crawl
from monitor.sources import DEMO_CONFIG, health, load_settings
from monitor.store import Store

from .channels import SECRET, Receiver

VN = timezone(timedelta(hours=7))
_SLUGS = itertools.count(1)
PARAGRAPHS = [
    "Officials from Vietnam and the United States met in Hanoi to review a programme of "
    "cooperation on clean energy, vocational training and the digital economy.",
    "The two delegations agreed on a schedule of working groups for the coming months and "
    "on a joint report to be presented at the next annual dialogue between ministries.",
    "Local businesses welcomed the talks and said they hoped for simpler procedures.",
]


def _alerts_file(path: Path) -> Path:
    path.write_text("""
channels:
  hook:
    webhook: "${NW_HOOK_URL}"
    secret: "${NW_HOOK_SECRET}"
rules:
  - name: sources
    kinds: [health]
    channels: [hook]
""", encoding="utf-8")
    return path


def publish(farm: Farm, site: str, lang: str = "en") -> str:
    """A new article on ``site``, published now."""
    n = next(_SLUGS)
    return farm.publish({"site": site, "slug": f"health-check-story-number-{n}", "lang": lang,
                         "title": f"Vietnam and US review cooperation, round {n}",
                         "published": datetime.now(VN).replace(microsecond=0).isoformat(),
                         "paragraphs": [f"{p} (round {n})" for p in PARAGRAPHS]})


def _crawl(farm: Farm, db: Path, source: str, alerts: Path) -> dict[str, Any]:
    result = crawl(DEMO_CONFIG, db, sources=[source], variables=farm.variables, alerts=alerts)
    (run,) = result.runs
    return run


def _state(db: Path, source: str) -> dict[str, Any]:
    store = Store(db)
    try:
        return next(r for r in health.report(store.db) if r["source"] == source)
    finally:
        store.close()


def _health_alerts(db: Path) -> list[dict[str, Any]]:
    store = Store(db)
    try:
        return list(store.db.query("select * from alerts where kind = 'health' order by id"))
    finally:
        store.close()


def _deliver(db: Path, alerts: Path, receiver: Receiver) -> None:
    store = Store(db)
    try:
        deliver_pending(store, load_alert_config(alerts),
                        env={"NW_HOOK_URL": receiver.url, "NW_HOOK_SECRET": SECRET})
    finally:
        store.close()


def test_redesign_alerts_once_naming_the_rule_then_once_on_recovery(
        fresh_farm: Farm, tmp_path: Path, receiver: Receiver) -> None:
    farm, db, alerts = fresh_farm, tmp_path / "h.db", _alerts_file(tmp_path / "alerts.yaml")
    site = "laodong_en"
    for _ in range(3):  # the baseline: normal crawls, a new article each time
        publish(farm, site)
        _crawl(farm, db, site, alerts)
    assert _state(db, site)["state"] == "ok" and _health_alerts(db) == []
    farm.redesign(site)  # mid-run: the article markup changes
    publish(farm, site)
    _crawl(farm, db, site, alerts)  # the first crawl after the switch
    state = _state(db, site)
    (alert,) = _health_alerts(db)
    assert state["state"] == "degraded"
    rule = "//div[contains(@class,'art-body')]"
    assert f"body selector `{rule}` matched 0 of" in alert["message"]
    assert "the site may have changed its layout" in alert["message"]
    for _ in range(2):  # still broken: no further alert
        publish(farm, site)
        _crawl(farm, db, site, alerts)
    assert len(_health_alerts(db)) == 1
    farm.redesign(site, on=False)
    publish(farm, site)
    _crawl(farm, db, site, alerts)
    assert _state(db, site)["state"] == "ok"
    first, recovered = _health_alerts(db)
    assert recovered["message"] == f"{site} recovered: every health check passes again"
    store = Store(db)
    try:  # `newswatch alerts list` shows a health alert's message as its title
        titles = [row["title"] for row in list_alerts(store)]
    finally:
        store.close()
    assert titles[1].startswith(f"{site} is degraded: body selector")
    _deliver(db, alerts, receiver)
    assert [b["kind"] for b in receiver.bodies] == ["health", "health"]
    assert receiver.bodies[0]["health"]["state"] == "degraded"
    assert receiver.bodies[1]["health"]["state"] == "ok"
    assert receiver.bodies[0]["article"]["source"] == site
    # the message a person reads (issue 18): what happened first, the reasons in words
    summary = receiver.bodies[0]["summary"]
    assert summary.startswith(f"Source health: {site} is degraded"), summary
    assert "body selector" in summary and "{'" not in summary
    assert receiver.bodies[1]["summary"].startswith(f"Source health: {site} recovered")


def test_a_site_answering_403_to_everything_alerts_once(
        fresh_farm: Farm, tmp_path: Path) -> None:
    farm, db, alerts = fresh_farm, tmp_path / "h.db", _alerts_file(tmp_path / "alerts.yaml")
    site = "mofa_en"
    for _ in range(3):
        _crawl(farm, db, site, alerts)
    farm.forbid(site)
    for _ in range(3):
        _crawl(farm, db, site, alerts)
    (alert,) = _health_alerts(db)
    state = _state(db, site)
    assert state["state"] == "failing"
    assert "× HTTP 403" in alert["message"]
    assert "the site may be blocking newswatch" in alert["message"]
    assert "no feed, sitemap or listing page could be read" in alert["message"]
    # the alert came with the second forbidden crawl, confirmed, not the first (a blip)
    assert alert["key"].split(":")[4] == str(5)
    farm.forbid(site, on=False)
    _crawl(farm, db, site, alerts)
    assert _state(db, site)["state"] == "ok" and len(_health_alerts(db)) == 2


def test_a_feed_that_stops_getting_new_items_alerts_once(
        fresh_farm: Farm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # thresholds as data: the usual gap here is a few seconds (a new item per crawl)
    thresholds = tmp_path / "health.yaml"
    thresholds.write_text("thresholds: {min_silence: 0, silence_factor: 2, min_gaps: 3}\n",
                          encoding="utf-8")
    monkeypatch.setenv(health.HEALTH_ENV, str(thresholds))  # the crawl child inherits it
    farm, db, alerts = fresh_farm, tmp_path / "h.db", _alerts_file(tmp_path / "alerts.yaml")
    site = "laodong_vi"
    for _ in range(5):
        publish(farm, site, lang="vi")
        _crawl(farm, db, site, alerts)
    assert _health_alerts(db) == []
    for _ in range(12):  # the feed stops: no new item
        _crawl(farm, db, site, alerts)
        if _health_alerts(db):
            break
    (alert,) = _health_alerts(db)
    assert "no new article for" in alert["message"] and "usually one at least every" in \
        alert["message"]
    for _ in range(2):
        _crawl(farm, db, site, alerts)
    assert len(_health_alerts(db)) == 1  # once, not per crawl
    publish(farm, site, lang="vi")
    _crawl(farm, db, site, alerts)
    assert _state(db, site)["state"] == "ok" and len(_health_alerts(db)) == 2


def test_repeated_crawls_of_the_normal_farm_raise_no_health_alert(
        fresh_farm: Farm, tmp_path: Path) -> None:
    farm, db, alerts = fresh_farm, tmp_path / "h.db", _alerts_file(tmp_path / "alerts.yaml")
    for n in range(6):
        if n % 2:
            publish(farm, "laodong_en")
        result = crawl(DEMO_CONFIG, db, variables=farm.variables, alerts=alerts)
        assert result.ok
    assert _health_alerts(db) == []
    store = Store(db)
    try:
        rows = health.report(store.db)
    finally:
        store.close()
    sources = [s.name for s in load_settings(DEMO_CONFIG, farm.variables).sources]
    assert {r["source"]: r["state"] for r in rows} == dict.fromkeys(sources, "ok")


def test_checks_and_thresholds_are_data() -> None:
    assert set(health.CHECKS) >= {"requests", "discovery", "body_rule", "date", "extracted",
                                  "text_length", "unmatched", "silence"}
    values = health.load_thresholds("laodong_en")
    assert values["window"] >= 20
    base = {k: 0 for k in health.SIGNAL_KEYS} | {"stored": 0, "fail": {}}
    good = base | {"requests": 10, "pages": 8, "extracted": 8, "text_chars": 16000,
                   "discovery_ok": 3}
    ctx = health.Context(signals=good | {"extracted": 1, "text_chars": 300},
                         baseline=[good] * 5, thresholds=values, body_rule="//div",
                         at="2026-12-01T09:10:00+00:00")
    state, checks = health.judge(ctx)
    assert state == "degraded"
    assert checks["extracted"]["level"] == "degraded"
    assert "only 1 of 8 article pages gave article text since 2026-12-01 09:10 UTC" in \
        checks["extracted"]["reason"]
    # no evidence (no article page fetched): the last verdict stands
    quiet = health.Context(signals=base | {"requests": 3, "discovery_ok": 3},
                           baseline=[good] * 5, thresholds=values, body_rule="//div",
                           at="2026-12-01T09:40:00+00:00")
    state, after = health.judge(quiet, checks)
    assert state == "degraded" and after["extracted"] == checks["extracted"]
    assert json.dumps(after)  # stored as JSON


def test_status_and_datasette_show_health(fresh_farm: Farm, tmp_path: Path) -> None:
    import asyncio
    import os
    import subprocess
    import sys

    from monitor.browse.serve import build_datasette

    from .conftest import REPO

    farm, db, alerts = fresh_farm, tmp_path / "news.db", _alerts_file(tmp_path / "alerts.yaml")
    _crawl(farm, db, "mofa_en", alerts)
    farm.forbid("mofa_en")
    _crawl(farm, db, "mofa_en", alerts)  # one bad run: not yet confirmed (a blip?)
    _crawl(farm, db, "mofa_en", alerts)
    done = subprocess.run([sys.executable, "-m", "monitor.cli", "status", "--db", str(db)],
                          capture_output=True, text=True, timeout=60, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    assert "source health" in done.stdout and "failing" in done.stdout
    assert "HTTP 403" in done.stdout
    done = subprocess.run([sys.executable, "-m", "monitor.cli", "status", "--db", str(db),
                           "--json"], capture_output=True, text=True, timeout=60, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    (row,) = json.loads(done.stdout)["health"]
    assert row["state"] == "failing" and row["signals"]["fail"]["http_403"] >= 2

    async def fetch() -> tuple[Any, Any, Any]:
        ds = build_datasette(db)
        view = await ds.client.get("/news/health.json?_shape=array")
        canned = await ds.client.get("/news/source_health.json?_shape=array&all=0")
        history = await ds.client.get("/news/health_history.json?_shape=array&source=mofa_en")
        return view.json(), canned.json(), history.json()

    view, canned, history = asyncio.run(fetch())
    assert [(r["source"], r["state"]) for r in view] == [("mofa_en", "failing")]
    assert canned[0]["source"] == "mofa_en" and "HTTP 403" in canned[0]["reasons"]
    assert [r["state"] for r in history] == ["failing", "ok", "ok"]
