"""The soak run (bench/soak.py), short: about two minutes of `newswatch run` against the
farm with the hostile site mixed in, while stories are published and edited (CI time:
the test runs publish for a minute; `python bench/soak.py --minutes 10` is the real one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.soak import soak, timeout_soak

pytestmark = pytest.mark.soak  # minutes each: `python -m pytest -m soak` (not in CI's run)


def test_soak_memory_flat_and_every_story_stored_and_alerted_once(tmp_path: Path) -> None:
    report = soak(minutes=1.0, workdir=tmp_path, publish_every=4, interval=6,
                  progress=lambda line: None)
    print("\n".join(report.lines()))
    assert report.failures == []
    # the run did what it claims: stories published and edited, hostile errors recorded
    assert len(report.published_relevant) >= 6 and report.published_other
    assert len(report.edited) == 2
    assert report.hostile_runs >= 1 and report.hostile_errors >= 10
    assert abs(report.growth) <= 0.10 and len(report.rss) >= 30
    assert report.tree and report.tree_most >= 3  # crawl processes were counted
    assert report.left_behind == []


def test_timeout_soak_stays_flat_and_leaves_nothing(tmp_path: Path) -> None:
    """Every crawl killed by its crawl_timeout, for 42 s: the summed memory of the
    daemon and every process it started stays flat, and nothing is left behind."""
    report = timeout_soak(minutes=0.7, workdir=tmp_path)
    print("\n".join(report.lines()))
    assert report.killed >= 5
    assert report.most >= 3  # crawl child and its pool were there to be counted
    assert report.failures == [], report.lines()
