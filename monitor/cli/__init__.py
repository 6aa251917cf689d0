"""The ``newswatch`` command: a thin shell over the ``monitor`` library."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any


def _interrupted(*_: Any) -> None:
    """SIGINT while the command starts (its imports take a second): exit 130 quietly.
    A crawl replaces this with its own orderly stop while it runs."""
    sys.stderr.write("interrupted\n")
    sys.exit(130)


def _stopped_before_start(*_: Any) -> None:
    """``newswatch run`` or ``serve`` stopped (SIGTERM, Ctrl-C) while it starts: exit 0,
    as a stopped daemon or server does. Each replaces this with its own handlers."""
    sys.stderr.write("stopped\n")
    sys.exit(0)


def _command(argv: list[str]) -> str | None:
    """The subcommand's name in ``argv`` (the first word that is not an option)."""
    return next((word for word in argv if not word.startswith("-")), None)


if sys.argv[0] == "-m" or Path(sys.argv[0]).name == "newswatch":  # the command itself
    # (``python -m monitor.cli`` imports this package while argv[0] is still "-m")
    signal.signal(signal.SIGINT, _interrupted)
    if _command(sys.argv[1:]) in ("run", "serve", "worker"):  # services: a stop is exit 0
        signal.signal(signal.SIGINT, _stopped_before_start)
        signal.signal(signal.SIGTERM, _stopped_before_start)
    if _command(sys.argv[1:]) == "farm":  # SIGTERM is an orderly stop from the very start
        # (before its own handler, while the interpreter imports: killed with -15 under
        # load in tests/test_docs.py)
        signal.signal(signal.SIGTERM, _stopped_before_start)
    if _command(sys.argv[1:]) == "run":
        # until the daemon's own handlers are in place: a reload (SIGHUP, e.g. systemctl
        # reload right after start) means nothing yet, the file is read when it starts,
        # and its default action would kill the daemon
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

# the commands register themselves on ``main``
from monitor.cli import (  # noqa: E402,F401
    alerting,
    browsing,
    crawling,
    daemon,
    farm,
    fleet,
    judging,
    profiles,
    sources,
)
from monitor.cli.app import main  # noqa: E402
from monitor.cli.report import summary_table  # noqa: E402

__all__ = ["main", "summary_table"]
