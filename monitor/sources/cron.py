"""A source's ``cron:`` schedule, read as crontab(5) reads it, in the configured zone.

APScheduler 3.x's ``CronTrigger.from_crontab`` passes the weekday field through to its
own numbering (0 = Monday, agronholm/apscheduler#286), so ``0 8 * * 1`` fired on
Tuesdays, and ``7`` was refused; and it ANDs a restricted day of month with a restricted
day of week, where cron runs on either. Here the five fields are parsed by crontab's
rules and handed to APScheduler as explicit values and weekday *names*:

- fields: minute 0-59, hour 0-23, day of month 1-31, month 1-12 or ``jan``-``dec``,
  day of week 0-7 or ``sun``-``sat`` (0 and 7 are Sunday, 1 is Monday);
- each field a list (``,``) of ``*``, ``N``, ``N-M`` (N <= M), each with an optional
  ``/step`` (``N/step`` is ``N-max/step``); names are case-insensitive;
- ``@yearly`` (``@annually``), ``@monthly``, ``@weekly``, ``@daily`` (``@midnight``) and
  ``@hourly`` stand for their five fields (``@reboot`` is not a schedule here);
- when both the day of month and the day of week are restricted (neither starts with
  ``*``), a day matches if *either* does (``0 9 1 * mon``: the 1st and every Monday);
- times are wall-clock times in ``timezone`` (the sources file's ``timezone:``, default
  ``DEFAULT_TIMEZONE``), whatever the machine's TZ.

An invalid expression is a ``ValueError`` of one line naming the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"  # every local time newswatch shows or reads

FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
          ("day of week", 0, 7))
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab's numbers: 0..6 (7 = sun)
NAMES = {"month": {name: i + 1 for i, name in enumerate(MONTHS)},
         "day of week": {name: i for i, name in enumerate(DAYS)}}
ALIASES = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
           "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
           "@hourly": "0 * * * *"}
_LONGEST = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # days in each month, at most
MAX_DAYS = 366 * 8 + 2  # the longest wait: Feb 29 across a century year (2096 -> 2104)
_ITEM = re.compile(r"(?P<range>\*|(?P<first>\w+)(?:-(?P<last>\w+))?)(?:/(?P<step>\d+))?")


@dataclass(frozen=True)
class Crontab:
    """A parsed crontab line: the values each field allows (day of week 0-6, 0 = Sunday),
    and whether the day fields start with ``*`` (crontab's day-matching rule)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool  # the day-of-month field starts with "*"
    any_weekday: bool  # the day-of-week field starts with "*"

    def day_matches(self, day: int, month: int, weekday: int) -> bool:
        """Whether a date (``weekday`` 0 = Sunday) is one of the schedule's days."""
        if month not in self.months:
            return False
        if self.any_day or self.any_weekday:
            return day in self.days and weekday in self.weekdays
        return day in self.days or weekday in self.weekdays


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ValueError (one line) when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {name!r} (an IANA name such as "
                         f"{DEFAULT_TIMEZONE})") from None


def parse_crontab(expr: str) -> Crontab:
    """Parse a crontab schedule (five fields or an ``@alias``); ValueError naming the
    field when it is not one."""
    text = " ".join(str(expr).split())
    if text.startswith("@"):
        if text.lower() not in ALIASES:
            raise ValueError(f"unknown crontab alias {text!r} (known: {', '.join(ALIASES)})")
        text = ALIASES[text.lower()]
    parts = text.split(" ")
    if len(parts) != 5:
        raise ValueError(f"a crontab has 5 fields (minute hour day-of-month month "
                         f"day-of-week), {text!r} has {len(parts) if text else 0}")
    values = [_field(part, *spec) for part, spec in zip(parts, FIELDS, strict=True)]
    weekdays = frozenset(d % 7 for d in values[4])
    longest = max(_LONGEST[m - 1] for m in values[3])
    if (parts[2].startswith("*") or parts[4].startswith("*")) and min(values[2]) > longest:
        raise ValueError(f"day of month field {parts[2]!r}: no month in the month field "
                         f"{parts[3]!r} has that day, so it would never run")
    return Crontab(*values[:4], weekdays, parts[2].startswith("*"), parts[4].startswith("*"))


def _field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    found: set[int] = set()
    for item in text.split(","):
        match = _ITEM.fullmatch(item)
        if not match:
            raise ValueError(f"{name} field {text!r}: {item!r} is not N, N-M, * or a step")
        if match["range"] == "*":
            first, last = low, high
        else:
            first = _number(match["first"], name, text, low, high)
            last = (_number(match["last"], name, text, low, high) if match["last"]
                    else high if match["step"] else first)
            if first > last:
                raise ValueError(f"{name} field {text!r}: range {item!r} runs backwards")
        step = int(match["step"] or 1)
        if step < 1:
            raise ValueError(f"{name} field {text!r}: step 0 in {item!r}")
        found.update(range(first, last + 1, step))
    return frozenset(found)


def _number(token: str, name: str, text: str, low: int, high: int) -> int:
    names = NAMES.get(name, {})
    if token.lower() in names:
        return names[token.lower()]
    if not token.isdigit():
        known = f" or a name ({', '.join(names)})" if names else ""
        raise ValueError(f"{name} field {text!r}: {token!r} is not a number{known}")
    value = int(token)
    if not low <= value <= high:
        sunday = " (0 and 7 are Sunday)" if name == "day of week" else ""
        raise ValueError(f"{name} field {text!r}: {value} is outside {low}-{high}{sunday}")
    return value


class CrontabTrigger(BaseTrigger):
    """An APScheduler trigger that fires when a crontab matches the wall clock of a zone.

    Its own arithmetic, not APScheduler 3's ``CronTrigger``, which on a zone's autumn
    change fires a time of the repeated hour twice and then returns times that run
    backwards (``*/30 1-3 * * *`` in Europe/Berlin on 2025-10-26: 02:30+02, 02:00+01,
    02:30+02, ...). The daylight-saving rules are cron's: a time the clock skips runs
    when the clock jumps (once), a time the clock repeats runs once, at its first
    occurrence, except in a schedule that runs every hour, which runs in both."""

    def __init__(self, expr: str, timezone: str | tzinfo = DEFAULT_TIMEZONE) -> None:
        self.expr = expr
        self.crontab = parse_crontab(expr)
        self.timezone = zone(timezone) if isinstance(timezone, str) else timezone

    def get_next_fire_time(self, previous_fire_time: datetime | None,
                           now: datetime) -> datetime | None:
        """The first time at or after ``now`` (after ``previous_fire_time``) that fires."""
        # in UTC: wall-clock arithmetic on a local time drops its fold (the repeated hour)
        after = now.astimezone(UTC)
        if previous_fire_time is not None:
            after = max(after, previous_fire_time.astimezone(UTC) + timedelta(microseconds=1))
        day = after.astimezone(self.timezone).date() - timedelta(days=1)
        for _ in range(MAX_DAYS):
            if self.crontab.day_matches(day.day, day.month, (day.weekday() + 1) % 7):
                found = [when for when in self._fires(day) if when >= after]
                if found:
                    return min(found).astimezone(self.timezone)
            day += timedelta(days=1)
        return None

    def _fires(self, day: date) -> list[datetime]:
        """Every instant (UTC) the schedule fires on the local date ``day``."""
        every_hour = len(self.crontab.hours) == 24
        fires = set()
        for hour in self.crontab.hours:
            for minute in self.crontab.minutes:
                fires.update(self._instants(datetime.combine(day, time(hour, minute)),
                                            every_hour))
        return sorted(fires)

    def _instants(self, wall: datetime, both: bool) -> list[datetime]:
        """The instants a local wall-clock time stands for: one; none that exists (the
        clock skipped it: the instant the clock jumped); or two (the clock repeated it:
        the first, or both when ``both``)."""
        first = wall.replace(tzinfo=self.timezone, fold=0).astimezone(UTC)
        second = wall.replace(tzinfo=self.timezone, fold=1).astimezone(UTC)
        if first.astimezone(self.timezone).replace(tzinfo=None) != wall:  # skipped
            jump = second  # the clock jumped between ``second`` and ``first``
            offset = first.astimezone(self.timezone).utcoffset()
            while jump.astimezone(self.timezone).utcoffset() != offset and jump < first:
                jump += timedelta(minutes=1)
            return [jump]
        if first != second:  # repeated
            return [first, second] if both else [min(first, second)]
        return [first]

    def __str__(self) -> str:
        return f"cron[{self.expr!r}, {self.timezone}]"

    def __repr__(self) -> str:
        return f"<CrontabTrigger ({self.expr!r}, timezone={str(self.timezone)!r})>"


def crontab_trigger(expr: str, timezone: str | tzinfo = DEFAULT_TIMEZONE) -> CrontabTrigger:
    """An APScheduler trigger for the crontab ``expr`` read in ``timezone`` (see the
    module docstring); ValueError (one line) when either is invalid."""
    return CrontabTrigger(expr, timezone)
