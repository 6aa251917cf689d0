"""The five seed pages, served by the farm with their clutter, come out clean."""

from __future__ import annotations

from datetime import datetime

import pytest
import yaml

from monitor.extract import normalize_text
from monitor.farm import Farm
from monitor.run import CrawlResult
from monitor.store import Store

from .conftest import REPO

SEEDS = yaml.safe_load((REPO / "seeds" / "seeds.yaml").read_text(encoding="utf-8"))["articles"]


@pytest.fixture(scope="module")
def stored(farm: Farm, crawled: CrawlResult) -> dict[str, dict]:
    store = Store(crawled.db_path)
    try:
        by_url = {row["url"]: row for row in store.articles()}
    finally:
        store.close()
    return {seed["seed"]: by_url.get(farm.url_of(seed["site"], seed["slug"])) for seed in SEEDS}


@pytest.mark.parametrize("seed", SEEDS, ids=[s["seed"] for s in SEEDS])
def test_every_paragraph_kept(seed: dict, stored: dict[str, dict]) -> None:
    row = stored[seed["seed"]]
    assert row is not None, f"seed {seed['seed']} was not stored"
    lines = row["text"].splitlines()
    expected = ([seed["lead"]] if seed.get("lead") else []) + seed["paragraphs"]
    assert lines == [normalize_text(p) for p in expected]


@pytest.mark.parametrize("seed", SEEDS, ids=[s["seed"] for s in SEEDS])
def test_no_clutter_line(seed: dict, stored: dict[str, dict]) -> None:
    lines = {line.casefold() for line in stored[seed["seed"]]["text"].splitlines()}
    clutter = [c for c in seed["clutter"] if c.strip().casefold() in lines]
    assert clutter == []
    text = stored[seed["seed"]]["text"]
    for marker in ("Comment (", "Bình luận (", "View count", "- Ảnh 1", "RELATED NEWS",
                   "VGP - ", "Ngày đăng"):
        assert marker not in text


@pytest.mark.parametrize("seed", SEEDS, ids=[s["seed"] for s in SEEDS])
def test_metadata(seed: dict, stored: dict[str, dict]) -> None:
    row = stored[seed["seed"]]
    assert row["title"] == seed["title"]
    assert datetime.fromisoformat(row["published"]) == datetime.fromisoformat(seed["published"])
    assert row["published"].endswith("+07:00")
    assert row["language"] == seed["lang"]
    if seed.get("author"):
        assert row["author"] == seed["author"]
