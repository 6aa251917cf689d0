"""The demo: serve the replica farm, crawl it with config/demo.yaml, return the result."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitor.config import DEMO_CONFIG
from monitor.crawl import CrawlResult, crawl
from monitor.farm import Farm

DEMO_PORT = 8800  # fixed, so that a second demo run finds the same article URLs


def run_demo(db_path: str | Path, runner: Callable[..., CrawlResult] = crawl,
             extra: int = 0, port: int = DEMO_PORT) -> CrawlResult:
    """Start the farm, crawl every replica source into ``db_path``, stop the farm."""
    with Farm(extra=extra, port=port) as farm:
        kwargs: dict[str, Any] = {"config": DEMO_CONFIG, "db_path": db_path,
                                  "variables": farm.variables}
        return runner(**kwargs)
