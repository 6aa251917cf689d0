"""`newswatch doctor`: what each rule of a source matched, on the farm and on saved files;
a redesign shows the body rule matching nothing (exit 1); user errors are one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from monitor.farm import Farm
from monitor.sources import DEMO_CONFIG

from .conftest import REPO

CLI = [sys.executable, "-m", "monitor.cli", "doctor"]
RULE = "//div[contains(@class,'art-body')]"


def _doctor(farm: Farm, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **farm.variables, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    return subprocess.run([*CLI, *args, "--config", str(DEMO_CONFIG)], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_doctor_on_the_farm_then_after_a_redesign(fresh_farm: Farm, tmp_path: Path) -> None:
    done = _doctor(fresh_farm, "laodong_en")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "✓ article_pattern" in done.stdout and "✓ body" in done.stdout
    assert RULE in done.stdout
    fresh_farm.redesign("laodong_en")
    done = _doctor(fresh_farm, "laodong_en")
    assert done.returncode == 1
    body_line = next(line for line in done.stdout.splitlines() if "body" in line)
    assert "✗ body" in body_line and RULE in body_line and "0 node(s)" in body_line
    # a saved article page (the redesigned one) and a saved listing
    state = fresh_farm.sites["laodong_en"]
    slug = state.articles[0].slug
    url = fresh_farm.url_of("laodong_en", slug)
    import urllib.request

    page = tmp_path / "article.html"
    page.write_bytes(urllib.request.urlopen(url).read())
    listing = tmp_path / "listing.html"
    listing.write_bytes(urllib.request.urlopen(
        fresh_farm.base_url("laodong_en") + "/politics").read())
    done = _doctor(fresh_farm, "laodong_en", str(page), "--listing", str(listing))
    assert done.returncode == 1 and "✗ body" in done.stdout


def test_doctor_user_errors_are_one_line(farm: Farm, tmp_path: Path) -> None:
    done = _doctor(farm, "no_such_source")
    assert done.returncode == 2 and "unknown source 'no_such_source'" in done.stderr
    assert "Traceback" not in done.stderr
    done = _doctor(farm, "laodong_en", str(tmp_path / "missing.html"))
    assert done.returncode == 2 and "cannot read" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    done = _doctor(farm, "laodong_en", "http://127.0.0.1:9/nothing-listens-1234567.ldo")
    assert done.returncode == 2 and "Traceback" not in done.stderr
