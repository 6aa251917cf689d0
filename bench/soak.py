"""Soak run: the daemon for some minutes against the farm, with the hostile site mixed in.

    python bench/soak.py [--minutes 5] [--publish-every SECONDS] [--keep DIR]

Starts the site farm, the hostile site (``monitor.farm.hostile``) and a webhook receiver
that checks signatures, then ``newswatch run`` as its own process with all six sources on
short intervals. While it runs, stories from ``bench/soak_stories.yaml`` are published on
the farm's English sites (relevant ones and others) and two relevant ones are edited.
Then it waits for the daemon to catch up, stops it with SIGTERM and prints:

- the daemon's RSS after warm-up and at the end (goal: within 10 %), and its peak;
- crawl runs per status, errors on the hostile source;
- each published relevant story stored once and alerted once, each edit alerted once as
  ``updated``, no other story alerted, no alert key received twice;
- tracebacks in the daemon's log (goal: none) and its exit code (goal: 0).

Exits 1 if a goal is missed. ``tests/test_soak.py`` runs it for about a minute.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from monitor.config import DEMO_CONFIG  # noqa: E402
from monitor.farm import Farm  # noqa: E402
from monitor.farm.hostile import ARTICLE_PATTERN, FEEDS, SITEMAPS, HostileSite  # noqa: E402
from monitor.store import Store  # noqa: E402
from tests.channels import SECRET, Receiver  # noqa: E402

STORIES = Path(__file__).with_name("soak_stories.yaml")
EN_SITES = ("laodong_en", "baochinhphu_en", "mofa_en")
# The soak runs on the five sites it was defined on (issue 16 added 24 outlet replicas to
# the farm; the demo and tests/test_crawl.py crawl those).
SOAK_SITES = ("baochinhphu_en", "laodong_en", "laodong_vi", "vietnam_vn", "mofa_en")
VN = timezone(timedelta(hours=7))
EDIT = ("Officials said a follow-up meeting is planned within three months to review "
        "the first results, and a joint statement will be published afterwards.")
MEMORY_GROWTH_GOAL = 0.10


@dataclass
class SoakReport:
    """What a soak run saw; ``failures`` lists every missed goal."""

    seconds: float = 0.0
    published_relevant: list[str] = field(default_factory=list)
    published_other: list[str] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)
    rss: list[tuple[float, int]] = field(default_factory=list)  # (seconds, kB) of the daemon
    rss_warm_kb: int = 0
    rss_end_kb: int = 0
    child_peak_kb: int = 0
    runs: Counter = field(default_factory=Counter)  # status -> count
    hostile_runs: int = 0
    hostile_errors: int = 0
    stored: dict[str, int] = field(default_factory=dict)  # url -> rows
    stories: dict[str, Any] = field(default_factory=dict)  # url -> story id
    versions: dict[str, int] = field(default_factory=dict)  # url -> stored versions
    new_alerts: Counter = field(default_factory=Counter)  # url -> "new" alerts received
    updated_alerts: Counter = field(default_factory=Counter)
    hooks_received: int = 0
    duplicate_keys: int = 0
    bad_signatures: int = 0
    outbox: dict[str, int] = field(default_factory=dict)
    tracebacks: int = 0
    exit_code: int | None = None
    failures: list[str] = field(default_factory=list)

    @property
    def published(self) -> list[str]:
        return self.published_relevant + self.published_other

    @property
    def growth(self) -> float:
        return self.rss_end_kb / self.rss_warm_kb - 1 if self.rss_warm_kb else float("nan")

    def check(self) -> list[str]:
        """Fill and return ``failures``: every goal this run missed."""
        fail = self.failures
        fail.clear()
        if self.exit_code != 0:
            fail.append(f"daemon exit code {self.exit_code}")
        if self.tracebacks:
            fail.append(f"{self.tracebacks} traceback(s) in the daemon's log")
        if not self.growth <= MEMORY_GROWTH_GOAL:
            fail.append(f"daemon RSS grew {self.growth:+.1%} (goal ≤ {MEMORY_GROWTH_GOAL:.0%})")
        for url in self.published:
            if self.stored.get(url) != 1:
                fail.append(f"{url}: stored {self.stored.get(url, 0)} times")
        for url in self.published_relevant:
            if self.new_alerts[url] != 1:
                fail.append(f"{url}: {self.new_alerts[url]} 'new' alerts")
        if len({self.stories.get(u) for u in self.published_relevant}) != len(
                self.published_relevant):
            fail.append("two published stories were merged into one")
        for url in self.published_other:
            if self.new_alerts[url] or self.updated_alerts[url]:
                fail.append(f"{url}: irrelevant but alerted")
        for url in self.edited:
            if self.updated_alerts[url] != 1:
                fail.append(f"{url}: {self.updated_alerts[url]} 'updated' alerts")
        for url, count in self.versions.items():
            if count != 1 + (url in self.edited):
                fail.append(f"{url}: {count} versions stored")
        if self.duplicate_keys or self.bad_signatures:
            fail.append(f"{self.duplicate_keys} alerts received twice, "
                        f"{self.bad_signatures} bad signatures")
        if set(self.outbox) - {"sent"}:
            fail.append(f"outbox not drained: {self.outbox}")
        if not self.hostile_runs or not self.hostile_errors:
            fail.append("the hostile source was not crawled")
        return fail

    def lines(self) -> list[str]:
        """The figures, one per line, for people."""
        return [
            f"soak: {self.seconds:.0f} s, {sum(self.runs.values())} crawl runs "
            f"({dict(self.runs)}), {self.hostile_runs} of them on the hostile site "
            f"with {self.hostile_errors} errors recorded",
            f"published: {len(self.published_relevant)} relevant, "
            f"{len(self.published_other)} other; edited: {len(self.edited)}",
            f"stored once: {sum(self.stored.get(u) == 1 for u in self.published)}"
            f"/{len(self.published)}; 'new' alerts once: "
            f"{sum(self.new_alerts[u] == 1 for u in self.published_relevant)}/"
            f"{len(self.published_relevant)}; 'updated' once: "
            f"{sum(self.updated_alerts[u] == 1 for u in self.edited)}/{len(self.edited)}",
            f"webhook calls: {self.hooks_received}, repeated keys: {self.duplicate_keys}, "
            f"bad signatures: {self.bad_signatures}, outbox: {self.outbox}",
            f"daemon RSS: {self.rss_warm_kb / 1024:.1f} MB after warm-up, "
            f"{self.rss_end_kb / 1024:.1f} MB at the end ({self.growth:+.1%}), peak "
            f"{max((kb for _, kb in self.rss), default=0) / 1024:.1f} MB over "
            f"{len(self.rss)} samples; largest crawl child {self.child_peak_kb / 1024:.1f} MB",
            f"tracebacks: {self.tracebacks}, exit code: {self.exit_code}",
        ]


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def _config(path: Path, hostile: HostileSite, interval: int) -> Path:
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    data["sources"] = [{**s, "interval": f"{interval}s", "jitter": "1s", "crawl_timeout": "90s"}
                       for s in data["sources"] if s["name"] in SOAK_SITES]
    base = hostile.base_url
    data["sources"].append({
        "name": "hostile", "title": "Hostile", "language": "en", "domains": [hostile.host],
        "listings": [f"{base}/news"], "feeds": [base + p for p in FEEDS],
        "sitemaps": [base + p for p in SITEMAPS], "article_pattern": ARTICLE_PATTERN,
        "download_delay": 0, "profile": "mofa", "interval": f"{2 * interval}s",
        "jitter": "1s", "crawl_timeout": "90s"})
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _alerts(path: Path) -> Path:
    path.write_text('channels:\n  hook:\n    webhook: "${SOAK_HOOK_URL}"\n'
                    '    secret: "${SOAK_HOOK_SECRET}"\n'
                    "rules:\n  - name: vn-us\n    kinds: [new, updated]\n"
                    "    channels: [hook]\n", encoding="utf-8")
    return path


def _wait_stored(db: Path, url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if db.exists():
            store = Store(db)
            try:
                if store.db["articles"].count_where("url = ?", [url]):
                    return
            finally:
                store.close()
        time.sleep(1)


def _pending(db: Path) -> int:
    store = Store(db)
    try:
        return store.db["alerts"].count_where("status != 'sent'")
    finally:
        store.close()


def soak(minutes: float, workdir: Path, publish_every: float | None = None, interval: int = 6,
         progress: Any = print) -> SoakReport:
    """Run the soak for about ``minutes`` (plus catching up) and return its report.
    Stories are published every ``publish_every`` seconds (default: spread over the run)."""
    stories = yaml.safe_load(STORIES.read_text(encoding="utf-8"))
    queue = [("relevant", s) for s in stories["relevant"]]
    others = [("other", s) for s in stories["other"]]
    for i, item in enumerate(others):  # one other story after every third relevant one
        queue.insert(4 * i + 3, item)
    if publish_every is None:  # spread over the run, the last 30 s left to catch up
        publish_every = max(1.0, (minutes * 60 - 30) / (len(queue) + 1))
    report = SoakReport()
    db = workdir / "soak.db"
    log_path = workdir / "daemon.log"
    receiver = Receiver()
    started = time.monotonic()
    with Farm(sites=SOAK_SITES) as farm, HostileSite() as hostile, log_path.open("w") as log:
        env = {**os.environ, **farm.variables, "SOAK_HOOK_URL": receiver.url,
               "SOAK_HOOK_SECRET": SECRET}
        daemon = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "run", "--config",
             str(_config(workdir / "sources.yaml", hostile, interval)), "--db", str(db),
             "--alerts-config", str(_alerts(workdir / "alerts.yaml")), "--deliver-every", "1",
             "--log-level", "INFO"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        stop_sampling = threading.Event()

        def sample() -> None:
            while not stop_sampling.wait(1.0):
                report.rss.append((time.monotonic() - started, _rss_kb(daemon.pid)))
                for child in _children(daemon.pid):
                    report.child_peak_kb = max(report.child_peak_kb, _rss_kb(child))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            deadline = started + minutes * 60
            site_turn = 0
            relevant: list[tuple[str, str]] = []  # (site, slug)
            while queue and time.monotonic() < deadline - 30:
                time.sleep(publish_every)
                kind, story = queue.pop(0)
                site = EN_SITES[site_turn % len(EN_SITES)]
                site_turn += 1
                slug = f"soak-{len(relevant) + len(report.published_other) + 1}"
                url = farm.publish({
                    "site": site, "slug": slug, "title": story["title"], "lang": "en",
                    "topic": "vn-us" if kind == "relevant" else "domestic",
                    "published": datetime.now(VN).replace(microsecond=0).isoformat(),
                    "author": "Soak Desk", "paragraphs": story["paragraphs"]})
                if kind == "relevant":
                    report.published_relevant.append(url)
                    relevant.append((site, slug))
                else:
                    report.published_other.append(url)
                if len(relevant) in (3, 6) and kind == "relevant":  # edit an earlier story
                    edit_site, edit_slug = relevant[len(relevant) - 3]
                    _wait_stored(db, farm.url_of(edit_site, edit_slug), 60)  # version 1 first
                    report.edited.append(farm.edit(edit_site, edit_slug, replace={1: EDIT}))
                progress(f"{time.monotonic() - started:5.0f} s: published {url} ({kind}); "
                         f"daemon RSS {_rss_kb(daemon.pid) / 1024:.1f} MB")
            while time.monotonic() < deadline:
                time.sleep(1)
            wanted = set(report.published)
            catch_up = time.monotonic() + 120
            while time.monotonic() < catch_up:  # every story stored, the outbox drained
                time.sleep(2)
                if db.exists():
                    store = Store(db)
                    try:
                        seen = {r["url"] for r in store.db.query(
                            "select url from articles where url in ({})".format(
                                ",".join("?" * len(wanted))), list(wanted))}
                        versions = store.db.execute(
                            "select count(*) from versions where version > 1").fetchone()[0]
                    finally:
                        store.close()
                    if seen == wanted and versions >= len(report.edited) and not _pending(db):
                        break
            time.sleep(2 * interval)  # more crawls and deliveries: nothing may come twice
        finally:
            stop_sampling.set()
            daemon.send_signal(signal.SIGTERM)
            try:
                report.exit_code = daemon.wait(timeout=120)
            except subprocess.TimeoutExpired:
                daemon.kill()
                report.exit_code = daemon.wait()
            sampler.join()
            receiver.close()
    report.seconds = time.monotonic() - started
    _collect(report, db, receiver, log_path)
    report.check()
    return report


def _collect(report: SoakReport, db: Path, receiver: Receiver, log_path: Path) -> None:
    store = Store(db)
    try:
        for url in report.published:
            rows = list(store.db.query("select id, story_id from articles where url = ?", [url]))
            report.stored[url] = len(rows)
            report.stories[url] = rows[0]["story_id"] if rows else None
            report.versions[url] = store.db["versions"].count_where(
                "article_id = ?", [rows[0]["id"]]) if rows else 0
        for run in store.db["crawl_runs"].rows:
            report.runs[run["status"]] += 1
            if run["source"] == "hostile":
                report.hostile_runs += 1
                report.hostile_errors += run["errors"] or 0
        report.outbox = {r["status"]: r["n"] for r in store.db.query(
            "select status, count(*) as n from alerts group by status")}
    finally:
        store.close()
    for body in receiver.bodies:
        target = report.new_alerts if body["kind"] == "new" else report.updated_alerts
        target[body["article"]["url"]] += 1
    report.hooks_received = len(receiver.keys)
    report.duplicate_keys = len(receiver.keys) - len(set(receiver.keys))
    report.bad_signatures = receiver.bad_signatures
    report.tracebacks = log_path.read_text(errors="replace").count("Traceback")
    samples = [(t, kb) for t, kb in report.rss if kb]
    if samples:
        # warm-up: the first third of the run (imports, first crawls of every source)
        span = samples[-1][0] - samples[0][0]
        warm = [kb for t, kb in samples if span / 3 <= t - samples[0][0] <= span / 2]
        end = [kb for t, kb in samples if t - samples[0][0] >= span * 5 / 6]
        report.rss_warm_kb = int(statistics.median(warm or [samples[0][1]]))
        report.rss_end_kb = int(statistics.median(end or [samples[-1][1]]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="how long to publish and "
                        "crawl before catching up")
    parser.add_argument("--publish-every", type=float, default=None, help="seconds between "
                        "two published stories (default: spread over the run)")
    parser.add_argument("--interval", type=int, default=6, help="seconds between two crawls "
                        "of a farm source (the hostile source: twice that)")
    parser.add_argument("--keep", type=Path, help="keep the database and the daemon's log "
                        "in this directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        report = soak(args.minutes, workdir, args.publish_every, args.interval)
    print("\n".join(report.lines()))
    for failure in report.failures:
        print("FAILED:", failure)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
