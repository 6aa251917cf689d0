"""The daemon (``newswatch run``, its own process) against the farm: no health alert on
the normal farm, then a redesign of one site: one health alert within two crawls naming
the body rule, one recovery alert when switched back (bench/health_soak.py, short).

The normal farm runs for half a minute (two crawls of every source on a loaded 2-core
machine), not a minute: what this adds is the daemon's path (scheduled crawls, its
outbox) to the alert and the recovery; false alerts over many crawls of the normal farm
are test_health.py's (six crawls of every source, past the checks' minimum history)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.health_soak import soak


@pytest.mark.soak  # a daemon soak: `python -m pytest -m soak` (not in CI's run)
def test_daemon_alerts_once_on_a_redesign_and_once_on_recovery(tmp_path: Path) -> None:
    report = soak(minutes=0.5, workdir=tmp_path, interval=6, publish_every=5,
                  progress=lambda line: None)
    print("\n".join(report.lines()))
    assert report.failures == []
    assert report.runs >= 1 and report.false_alerts == []
    assert report.alert_after is not None and report.alert_after <= 2
    assert report.recovery_after is not None and report.recovery_after <= 2
    assert report.health_alerts == 2
