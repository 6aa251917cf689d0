"""When a channel's digest is sent: a period of hours ending at a set local time, and
quiet hours (a channel's ``digest:`` block in config/alerts.yaml; docs/ALERTS.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from monitor.sources import DEFAULT_TIMEZONE


@dataclass(frozen=True)
class DigestSchedule:
    """When a channel's digest is sent: periods of ``every_hours`` hours ending at
    ``at`` (``HH:MM``, local time in ``timezone``) and every ``every_hours`` after it;
    no sending during ``quiet`` (``HH:MM-HH:MM`` local, may wrap midnight)."""

    every_hours: float = 24.0
    at: str = "07:00"
    quiet: str | None = None
    timezone: str = DEFAULT_TIMEZONE

    @classmethod
    def from_spec(cls, spec: dict[str, Any], timezone: str) -> DigestSchedule:
        """From the alerts file's ``digest:`` block; ValueError when wrong."""
        unknown = set(spec) - {"every_hours", "at", "quiet"}
        if unknown:
            raise ValueError(f"digest: unknown keys {sorted(unknown)}")
        schedule = cls(every_hours=float(spec.get("every_hours", 24)),
                       at=str(spec.get("at", "07:00")), quiet=spec.get("quiet"),
                       timezone=timezone)
        if not 0 < schedule.every_hours <= 24 * 7:
            raise ValueError("digest: every_hours must be in (0, 168]")
        _clock(schedule.at)
        if schedule.quiet is not None:
            start, _, end = str(schedule.quiet).partition("-")
            _clock(start)
            _clock(end)
        return schedule

    def boundary(self, now: datetime) -> datetime:
        """The latest period boundary at or before ``now`` (UTC)."""
        zone = ZoneInfo(self.timezone)
        local = now.astimezone(zone)
        anchor = datetime.combine(local.date(), _clock(self.at), tzinfo=zone)
        step = timedelta(hours=self.every_hours)
        periods = math.floor((local - anchor) / step)
        return (anchor + periods * step).astimezone(UTC)

    def quiet_now(self, now: datetime) -> bool:
        """Whether ``now`` falls in the quiet hours."""
        if not self.quiet:
            return False
        start, _, end = str(self.quiet).partition("-")
        clock = now.astimezone(ZoneInfo(self.timezone)).time()
        begin, finish = _clock(start), _clock(end)
        if begin <= finish:
            return begin <= clock < finish
        return clock >= begin or clock < finish


def _clock(text: str) -> time:
    try:
        hours, minutes = str(text).strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"digest: {text!r} is not a HH:MM time") from None
