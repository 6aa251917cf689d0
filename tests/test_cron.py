"""Field case 25 and its kind: ``cron:`` schedules are crontab(5)'s (1 = Monday, 0 and 7 =
Sunday, either day field matching when both are restricted, ``@daily``-style aliases),
read on the wall clock of the configured zone (default Asia/Ho_Chi_Minh, whatever the
machine's TZ), through daylight-saving changes without firing twice or running backwards;
a wrong expression is one line naming the file, line and field."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.alerts.schedule import DigestSchedule
from monitor.cli import main
from monitor.sources import DEFAULT_TIMEZONE, ConfigError, crontab_trigger, load_settings

from .conftest import REPO

CASE = Path(__file__).parent / "data" / "fieldcases" / "case25_cron-hours-zone"
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
BERLIN = ZoneInfo("Europe/Berlin")
# what the operator of each case row means (the third column of schedules.tsv), as
# (weekday with Monday = 0 or None for every day, hour, minute) in Vietnam time
MEANT = {"morning": (None, 7, 0), "weekly": (0, 8, 0)}


def _rows() -> list[tuple[str, str]]:
    rows = []
    for line in (CASE / "schedules.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, cron, _ = line.split("\t")
            rows.append((name, cron))
    return rows


def _meant_next(name: str, after: datetime) -> datetime:
    """The first time after ``after`` that the operator of row ``name`` meant."""
    weekday, hour, minute = MEANT[name]
    day = after.astimezone(HANOI).date()
    while True:
        when = datetime(day.year, day.month, day.day, hour, minute, tzinfo=HANOI)
        if when > after and (weekday is None or day.weekday() == weekday):
            return when
        day += timedelta(days=1)


def _fires(expr: str, start: datetime, count: int, zone: str = DEFAULT_TIMEZONE
           ) -> list[datetime]:
    """The next ``count`` fire times after ``start``, as the scheduler asks for them."""
    trigger = crontab_trigger(expr, zone)
    fires: list[datetime] = []
    previous, now = None, start
    for _ in range(count):
        fire = trigger.get_next_fire_time(previous, now)
        assert fire is not None
        fires.append(fire)
        previous, now = fire, fire
    return fires


# -- case25's rows ---------------------------------------------------------------------------
@pytest.mark.parametrize("name,cron", _rows(), ids=[n for n, _ in _rows()])
def test_case25_rows_fire_when_the_operator_meant(name: str, cron: str) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for hour in range(0, 24 * 9, 5):  # from every 5 hours over 9 days
        now = start + timedelta(hours=hour)
        fire = crontab_trigger(cron).get_next_fire_time(None, now)
        assert fire == _meant_next(name, now - timedelta(microseconds=1)), (now, fire)


def _listing_server(article: str) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = (article if self.path.startswith("/news/") else
                    '<html><body><a href="/news/talks-1.html">Talks</a></body></html>')
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"127.0.0.1:{server.server_address[1]}"


@pytest.mark.parametrize("machine_tz", ["Asia/Ho_Chi_Minh", "UTC", "America/New_York"])
def test_case25_daemon_next_runs_in_vietnam_time(tmp_path: Path, machine_tz: str) -> None:
    """The daemon (``newswatch run``, the machine's TZ as given) reports each row's next
    run in ``newswatch status --json`` at the time the operator meant, in Vietnam time."""
    published = datetime.now(HANOI).replace(microsecond=0).isoformat()
    article = (CASE / "article.html").read_text(encoding="utf-8").replace(
        "{{PUBLISHED}}", published)
    server, host = _listing_server(article)
    sources = [{"name": name, "title": name, "language": "en", "domains": ["127.0.0.1"],
                "listings": [f"http://{host}/world"], "article_pattern": r"/news/.+\.html$",
                "timezone": "+07:00", "cron": cron} for name, cron in _rows()]
    config = tmp_path / "sources.yaml"
    config.write_text(yaml.safe_dump({"sources": sources}), encoding="utf-8")
    db = tmp_path / "daemon.db"
    env = {**os.environ, "TZ": machine_tz}
    daemon = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "run", "--config", str(config), "--db", str(db),
         "--no-alerts", "--log-level", "WARNING"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        report: dict = {}
        deadline = time.time() + 90
        while time.time() < deadline:
            proc = subprocess.run([sys.executable, "-m", "monitor.cli", "status", "--db",
                                   str(db), "--json"], cwd=REPO, env=env,
                                  capture_output=True, text=True, timeout=60)
            if proc.returncode == 0:
                report = json.loads(proc.stdout)
                if report["daemon"]["alive"] and all(
                        report["next_runs"].get(f"crawl:{n}") for n, _ in _rows()):
                    break
            time.sleep(1)
        else:
            raise AssertionError(f"no next runs in `newswatch status --json`: {report}")
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=90)
        server.shutdown()
        server.server_close()
    assert code == 0, daemon.stderr.read()[-2000:]
    started = datetime.fromisoformat(report["daemon"]["started"])
    for name, _ in _rows():
        next_run = datetime.fromisoformat(report["next_runs"][f"crawl:{name}"])
        assert next_run == _meant_next(name, started), (name, next_run)
    assert report["last_runs"] == []  # a cron source waits for its time, not the start


# -- weekday numbers, names, ranges, lists, steps ---------------------------------------------
MONDAY = datetime(2025, 1, 6, tzinfo=HANOI)  # a Monday, 00:00 in Hanoi
WEEKDAYS = {  # field -> crontab weekdays (0 = Sunday ... 6 = Saturday)
    **{str(n): {n % 7} for n in range(8)},
    **{name: {i} for i, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))},
    "MON": {1}, "Sun": {0}, "1-5": {1, 2, 3, 4, 5}, "mon-fri": {1, 2, 3, 4, 5},
    "5-7": {5, 6, 0}, "0-6": set(range(7)), "0-7": set(range(7)), "1,3,5": {1, 3, 5},
    "*/2": {0, 2, 4, 6}, "1-7/2": {1, 3, 5, 0}, "sat,0": {6, 0}, "6-7": {6, 0},
}


@pytest.mark.parametrize("field,days", WEEKDAYS.items(), ids=list(WEEKDAYS))
def test_weekday_numbers_and_names_are_crontabs(field: str, days: set[int]) -> None:
    fires = _fires(f"0 8 * * {field}", MONDAY, 2 * len(days))
    assert {(f.isoweekday() % 7) for f in fires} == days
    assert all(f.astimezone(HANOI).hour == 8 and f.minute == 0 for f in fires)
    assert max(fires) - min(fires) < timedelta(days=14)  # each day once a week


def test_day_of_month_or_day_of_week_when_both_restricted() -> None:
    """crontab(5): "0 9 13 * 5" runs on the 13th *and* on every Friday."""
    fires = _fires("0 9 13 * 5", datetime(2025, 1, 1, tzinfo=UTC), 6)
    days = [f.astimezone(HANOI).date() for f in fires]
    assert all(d.day == 13 or d.isoweekday() == 5 for d in days)
    assert date(2025, 1, 13) in days and date(2025, 1, 3) in days  # a Monday, a Friday
    # one of them starred: both must match (the 13th that is a Friday)
    fires = _fires("0 9 13 * */1", datetime(2025, 1, 1, tzinfo=UTC), 2)
    assert [f.astimezone(HANOI).date() for f in fires] == [date(2025, 1, 13),
                                                           date(2025, 2, 13)]
    fires = _fires("0 9 */1 * 5", datetime(2025, 1, 1, tzinfo=UTC), 2)
    assert all(f.isoweekday() == 5 for f in fires)


ALIASES = {"@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
           "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *",
           "@annually": "0 0 1 1 *", "@DAILY": "0 0 * * *"}


@pytest.mark.parametrize("alias,fields", ALIASES.items(), ids=list(ALIASES))
def test_aliases_are_their_five_fields(alias: str, fields: str) -> None:
    start = datetime(2025, 2, 11, 13, 17, tzinfo=UTC)
    assert _fires(alias, start, 3) == _fires(fields, start, 3)


# -- zones -----------------------------------------------------------------------------------
def test_cron_is_read_in_the_configured_zone(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    source = {"name": "s", "title": "s", "language": "en", "domains": ["example.org"],
              "article_pattern": "x", "cron": "0 7 * * *"}
    path.write_text(yaml.safe_dump({"sources": [source]}), encoding="utf-8")
    assert load_settings(path).timezone == DEFAULT_TIMEZONE == "Asia/Ho_Chi_Minh"
    fire = crontab_trigger("0 7 * * *").get_next_fire_time(
        None, datetime(2025, 6, 1, 12, tzinfo=UTC))
    assert fire == datetime(2025, 6, 2, 0, tzinfo=UTC)  # 07:00 in Hanoi, not 07:00 UTC
    path.write_text(yaml.safe_dump({"timezone": "Europe/Berlin", "sources": [source]}),
                    encoding="utf-8")
    zone = load_settings(path).timezone
    fire = crontab_trigger("0 7 * * *", zone).get_next_fire_time(
        None, datetime(2025, 6, 1, 12, tzinfo=UTC))
    assert fire == datetime(2025, 6, 2, 5, tzinfo=UTC)  # 07:00 CEST


def test_berlin_spring_change_skipped_time_runs_once_when_the_clock_jumps() -> None:
    # 2025-03-30: 02:00 CET -> 03:00 CEST (01:00 UTC); 02:30 does not exist that day
    fires = _fires("30 2 * * *", datetime(2025, 3, 29, 12, tzinfo=UTC), 3, "Europe/Berlin")
    assert [f.astimezone(UTC) for f in fires] == [
        datetime(2025, 3, 30, 1, 0, tzinfo=UTC),  # when the clock jumped, once
        datetime(2025, 3, 31, 0, 30, tzinfo=UTC), datetime(2025, 4, 1, 0, 30, tzinfo=UTC)]
    fires = _fires("0 7 * * *", datetime(2025, 3, 29, 12, tzinfo=UTC), 2, "Europe/Berlin")
    assert [f.astimezone(BERLIN).hour for f in fires] == [7, 7]
    assert fires[1].astimezone(UTC) - fires[0].astimezone(UTC) == timedelta(hours=24)
    assert fires[0].astimezone(UTC).hour == 5  # CEST


def test_berlin_autumn_change_repeated_time_runs_once() -> None:
    # 2025-10-26: 03:00 CEST -> 02:00 CET (01:00 UTC); 02:00-02:59 happens twice
    fires = _fires("30 2 * * *", datetime(2025, 10, 25, 12, tzinfo=UTC), 2, "Europe/Berlin")
    assert [f.astimezone(UTC) for f in fires] == [datetime(2025, 10, 26, 0, 30, tzinfo=UTC),
                                                  datetime(2025, 10, 27, 1, 30, tzinfo=UTC)]
    # APScheduler 3.11's CronTrigger: 02:30+02, 02:00+01, 02:30+02, ... (backwards)
    fires = _fires("*/30 1-3 * * *", datetime(2025, 10, 25, 22, tzinfo=UTC), 8,
                   "Europe/Berlin")
    assert fires == sorted(set(fires))


# APScheduler's CronTrigger added 24 h for a day and landed an hour late past a change, then
# skipped the day (agronholm/apscheduler#529, #606)
DAY_AFTER_A_CHANGE = {
    "weekdays across US/Central's spring change": (
        "0 0 * * 1-5", "US/Central", datetime(2021, 3, 12, 6, 0, 0, 1, tzinfo=UTC),
        datetime(2021, 3, 15, 5, tzinfo=UTC)),  # Mon 00:00 CDT
    "midnight across US/Pacific's spring change": (
        "0 0 * * *", "US/Pacific", datetime(2022, 3, 13, 8, 0, 7, tzinfo=UTC),
        datetime(2022, 3, 14, 7, tzinfo=UTC)),  # Mon 00:00 PDT, not Tuesday
}


@pytest.mark.parametrize("cron,zone,now,expected", DAY_AFTER_A_CHANGE.values(),
                         ids=list(DAY_AFTER_A_CHANGE))
def test_no_day_skipped_after_a_change(cron: str, zone: str, now: datetime,
                                       expected: datetime) -> None:
    assert crontab_trigger(cron, zone).get_next_fire_time(None, now) == expected


def test_every_half_hour_runs_through_both_repeated_hours() -> None:
    fires = [f.astimezone(UTC) for f in _fires("*/30 * * * *", datetime(
        2025, 10, 25, 23, tzinfo=UTC), 8, "Europe/Berlin")]  # (local minus local: wall time)
    assert [f - fires[0] for f in fires] == [timedelta(minutes=30 * i) for i in range(8)]


ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Ho_Chi_Minh",
         "America/Santiago"]
FIELD = st.sampled_from(["*", "0", "30", "*/15", "0-10/5", "59"])
HOUR = st.sampled_from(["*", "0", "1", "2", "3", "1-3", "*/6", "2,14", "23"])


@settings(max_examples=150, deadline=None)
@given(minute=FIELD, hour=HOUR, zone=st.sampled_from(ZONES),
       start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 1, 1),
                          timezones=st.just(UTC)))
def test_fire_times_always_move_forward(minute: str, hour: str, zone: str,
                                        start: datetime) -> None:
    """Across any zone's changes: strictly increasing, each at least the asked time, and
    never two fires of one wall-clock time unless the schedule runs every hour."""
    fires = _fires(f"{minute} {hour} * * *", start, 30, zone)
    assert fires[0] >= start and all(b > a for a, b in zip(fires, fires[1:], strict=False))
    if hour != "*":
        walls = [f.astimezone(ZoneInfo(zone)).replace(tzinfo=None, fold=0) for f in fires]
        assert len(walls) == len(set(walls))


# brute force: crontab(5)'s definition applied to every day, in a zone without changes
SETS = {"minute": (0, 59), "hour": (0, 23), "day": (1, 31), "month": (1, 12),
        "weekday": (0, 7)}


@st.composite
def crontabs(draw: st.DrawFn) -> tuple[str, dict[str, set[int] | None]]:
    fields, sets = [], {}
    for name, (low, high) in SETS.items():
        if draw(st.booleans()) and name != "minute":
            fields.append("*")
            sets[name] = None
            continue
        values = draw(st.sets(st.integers(low, high), min_size=1, max_size=4))
        if name == "day" and min(values) > 28:
            values |= {28}  # a day every month has (impossible dates are config errors)
        fields.append(",".join(map(str, sorted(values))))
        sets[name] = values
    return " ".join(fields), sets


def _brute(sets: dict[str, set[int] | None], after: datetime) -> datetime:
    def ok(name: str, value: int) -> bool:
        return sets[name] is None or value in sets[name]

    local = after.astimezone(HANOI)
    day = local.date()
    for _ in range(366 * 9):
        weekday = day.isoweekday() % 7
        day_ok = ok("day", day.day)
        weekday_ok = sets["weekday"] is None or weekday in {d % 7 for d in sets["weekday"]}
        both = sets["day"] is not None and sets["weekday"] is not None
        if ok("month", day.month) and ((day_ok or weekday_ok) if both
                                       else (day_ok and weekday_ok)):
            for hour in range(24):
                for minute in range(60):
                    when = datetime(day.year, day.month, day.day, hour, minute, tzinfo=HANOI)
                    if when >= after and ok("hour", hour) and ok("minute", minute):
                        return when
        day += timedelta(days=1)
    raise AssertionError("no fire time")


@settings(max_examples=150, deadline=None)
@given(tab=crontabs(), start=st.datetimes(min_value=datetime(2024, 1, 1),
                                          max_value=datetime(2030, 1, 1),
                                          timezones=st.just(UTC)))
def test_next_fire_is_crontabs_definition(tab: tuple[str, dict], start: datetime) -> None:
    expr, sets = tab
    assert crontab_trigger(expr).get_next_fire_time(None, start) == _brute(sets, start)


def test_digest_period_closes_at_local_time_across_a_change() -> None:
    """A digest ``at: "07:00"`` in Europe/Berlin closes at 07:00 on both sides of the
    spring change (06:00 UTC, then 05:00 UTC)."""
    schedule = DigestSchedule(every_hours=24, at="07:00", timezone="Europe/Berlin")
    assert schedule.boundary(datetime(2025, 3, 29, 12, tzinfo=UTC)) == datetime(
        2025, 3, 29, 6, tzinfo=UTC)
    assert schedule.boundary(datetime(2025, 3, 30, 12, tzinfo=UTC)) == datetime(
        2025, 3, 30, 5, tzinfo=UTC)


# -- wrong schedules: one line naming the field ----------------------------------------------
INVALID = {
    "0 8 * * 8": "day of week field '8': 8 is outside 0-7",
    "61 * * * *": "minute field '61'",
    "0 24 * * *": "hour field '24'",
    "0 0 0 * *": "day of month field '0'",
    "0 0 1 13 *": "month field '13'",
    "0 0 30 2 *": "day of month field '30': no month",
    "0 0 31 4,6 *": "day of month field '31': no month",
    "* * *": "5 fields",
    "* * * * * *": "5 fields",
    "@reboot": "unknown crontab alias '@reboot'",
    "0 8 * * mon-xyz": "day of week field 'mon-xyz': 'xyz'",
    "5-1 * * * *": "minute field '5-1': range '5-1' runs backwards",
    "*/0 * * * *": "minute field '*/0': step 0",
    "0 8 * * L": "day of week field 'L'",
    "0 8 ? * *": "day of month field '?'",
}


@pytest.mark.parametrize("cron,problem", INVALID.items(), ids=list(INVALID))
def test_invalid_cron_is_one_line_naming_the_field(tmp_path: Path, cron: str,
                                                   problem: str) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - name: s\n    title: s\n    language: en\n"
                    "    domains: [example.org]\n    article_pattern: x\n"
                    f"    cron: {json.dumps(cron)}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as bad:
        load_settings(path)
    message = str(bad.value)
    assert message.startswith(f"{path}:7: sources[0].cron: invalid crontab ")
    assert problem in message and "\n" not in message, message
    result = CliRunner().invoke(main, ["run", "--config", str(path), "--db",
                                       str(tmp_path / "x.db"), "--no-alerts"])
    assert result.exit_code == 2 and problem in result.output
    assert "Traceback" not in result.output


def test_unknown_timezone_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("timezone: Asia/Hanoi_City\nsources:\n  - name: s\n    title: s\n"
                    "    language: en\n    domains: [example.org]\n    article_pattern: x\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sources.yaml:1: timezone: unknown timezone "
                                          r"'Asia/Hanoi_City'"):
        load_settings(path)
