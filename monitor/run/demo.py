"""The demo: serve the replica farm, crawl it with config/demo.yaml, return the result."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitor.alerts import ALERTS_FILE, AlertConfig, load_alert_config
from monitor.farm import Farm
from monitor.run.crawl import CrawlResult, crawl
from monitor.sources import DEMO_CONFIG

DEMO_PORT = 8800  # fixed, so that a second demo run finds the same article URLs


class DemoPortBusy(OSError):
    """The demo's fixed port is taken on one of the farm's addresses."""


DEMO_HINT = ("(a new port means new article URLs: use a new --db with it)")
FARM_HINT = ("(or --port 0 for free ports chosen per site; the export lines printed "
             "then say which)")


def check_port(port: int = DEMO_PORT, hint: str = DEMO_HINT) -> None:
    """DemoPortBusy if ``port`` cannot be bound on every farm address (``SITES``:
    127.0.0.11-15 and 127.0.0.20-43).

    The farm would otherwise move to a random port, and the demo's articles would get new
    URLs: a second demo run on the same database would store them all again; a second
    ``newswatch farm`` would serve on other ports than the exports in the user's shell."""
    import socket

    from monitor.farm import SITES

    for spec in SITES.values():
        host = f"127.0.0.{spec.host_index}"
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                raise DemoPortBusy(
                    f"port {port} is in use on {host} ({exc.strerror or exc}): is another "
                    "`newswatch demo` or `newswatch farm` running? Stop it, or give "
                    f"another port with --port {hint}") from None


def run_demo(db_path: str | Path, runner: Callable[..., CrawlResult] = crawl,
             extra: int = 0, port: int = DEMO_PORT,
             alerts: str | Path | AlertConfig | None = ALERTS_FILE) -> CrawlResult:
    """Start the farm on ``port`` (DemoPortBusy if taken: never a random port), crawl
    every replica source into ``db_path``, stop the farm. ``alerts``: the alerts file
    whose rules queue alerts (None: queue none), as for ``monitor.run.crawl.crawl``."""
    check_port(port)
    if alerts and not isinstance(alerts, AlertConfig):  # a bad file: before the farm starts
        alerts = load_alert_config(alerts)
    with Farm(extra=extra, port=port) as farm:
        kwargs: dict[str, Any] = {"config": DEMO_CONFIG, "db_path": db_path,
                                  "variables": farm.variables, "alerts": alerts}
        return runner(**kwargs)
