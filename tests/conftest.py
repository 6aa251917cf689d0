"""Shared fixtures: the replica farm and a database filled by a real crawl of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.config import DEMO_CONFIG
from monitor.crawl import CrawlResult, crawl
from monitor.farm import Farm

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def farm() -> Iterator[Farm]:
    """The farm with its full corpus, shared and never modified by tests."""
    with Farm() as running:
        yield running


@pytest.fixture(scope="session")
def crawled(farm: Farm, tmp_path_factory: pytest.TempPathFactory) -> CrawlResult:
    """One real Scrapy crawl of every replica source into a fresh database."""
    db = tmp_path_factory.mktemp("crawl") / "news.db"
    return crawl(DEMO_CONFIG, db, variables=farm.variables)


@pytest.fixture
def fresh_farm() -> Iterator[Farm]:
    """A farm of its own, for tests that publish or edit articles."""
    with Farm() as running:
        yield running


from .channels import receiver, smtp  # noqa: E402,F401  (real SMTP and webhook fixtures)
