"""The numbers, settings and addresses the docs state are read here from the code and
the config they describe: a doc that drifts from them fails. (The commands the docs show
are run by tests/test_docs.py.)

Each test names the statement it checks. Found drifted (issue 31): "15 outlets" beside a
17-row table; SOURCES.md's politeness that five sources did not set (and mofa_en and
mofa_vi on one host at two rates); the farm addresses; a systemd unit without
`ExecReload`; BROWSE.md's screenshots; DAEMON.md's `stopped` heartbeat that `status`
never showed.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
import yaml

from monitor.farm.hostile import HOST as HOSTILE_HOST
from monitor.farm.hostile import OFFSITE_HOST
from monitor.farm.sites import OUTLETS, SITES
from monitor.sources import DEFAULT_CONFIG, ConfigError, Source, load_settings, seconds

from .conftest import REPO

DOCS = REPO / "docs"
README = (REPO / "README.md").read_text(encoding="utf-8")


def _doc(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _table(text: str, header: str) -> list[list[str]]:
    """The rows (cells stripped) of the markdown table whose header line starts with
    ``header``."""
    lines = [line.strip() for line in text.splitlines()]  # (also a table in a list item)
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def _number(pattern: str, text: str) -> tuple[int, ...]:
    """The numbers ``pattern`` finds in ``text`` (read as one line: wrapped lines join)."""
    found = re.search(pattern, " ".join(text.split()))
    assert found, f"the docs no longer say {pattern!r}"
    return tuple(int(group) for group in found.groups())


# -- outlets ---------------------------------------------------------------------------
def _outlets() -> list[set[str]]:
    """config/sources.yaml's outlets: its sources joined by their `edition:` links."""
    settings = load_settings(DEFAULT_CONFIG)
    groups: list[set[str]] = []
    for source in settings.sources:
        linked = {source.name, *([source.edition] if source.edition else [])}
        joined = [group for group in groups if group & linked]
        for group in joined:
            groups.remove(group)
            linked |= group
        groups.append(linked)
    return groups


def test_source_and_outlet_counts() -> None:
    """README "holds 29 sources, 17 outlets" beside its outlet table, SOURCES.md "watches
    29 sources: 17 outlets"."""
    sources = len(load_settings(DEFAULT_CONFIG).sources)
    outlets = _outlets()
    assert _number(r"holds (\d+) sources, (\d+) outlets", README) == (sources, len(outlets))
    assert _number(r"watches (\d+) sources: (\d+) outlets", _doc("SOURCES.md")) == (
        sources, len(outlets))
    rows = _table(README, "| outlet | sources (language) |")
    assert len(rows) == len(outlets), [row[0] for row in rows]
    listed = [re.findall(r"`([a-z0-9_]+)`", row[1]) for row in rows]
    assert sorted(name for row in listed for name in row) == sorted(
        s.name for s in load_settings(DEFAULT_CONFIG).sources)  # each source once
    assert sorted(map(sorted, listed)) == sorted(map(sorted, outlets))  # one row, one outlet


# -- politeness ------------------------------------------------------------------------
def _seconds_cell(cell: str) -> float:
    value, unit = cell.split()
    return float(value) * {"s": 1, "min": 60}[unit]


def test_sources_md_politeness_table_is_the_config() -> None:
    """SOURCES.md's table of `download_delay`, `concurrency` and `interval` per source,
    and "every source states its limits (none relies on the defaults of 0.5 s and 4)"."""
    text = _doc("SOURCES.md")
    settings = load_settings(DEFAULT_CONFIG)
    by_name = {s.name: s for s in settings.sources}
    rows = _table(text, "| sources | `download_delay` |")
    stated: dict[str, tuple[float, int, float]] = {}
    rest: tuple[float, int, float] | None = None
    for names, delay, concurrency, interval in rows:
        values = (_seconds_cell(delay), int(concurrency), _seconds_cell(interval))
        if names.startswith("every other source"):
            rest = values
            (count,) = _number(r"\((\d+)\)", names)
            assert count == len(by_name) - len(stated), names
        else:
            for name in re.findall(r"`([a-z0-9_]+)`", names):
                stated[name] = values
    assert rest is not None and set(stated) <= set(by_name)
    for name, source in by_name.items():
        actual = (source.download_delay, source.concurrency, float(seconds(source.interval)))
        assert actual == stated.get(name, rest), (name, actual, stated.get(name, rest))
    defaults = Source.model_fields
    said = _number(r"defaults of (\d+)\.(\d+) s and (\d+)\)", text)
    assert (float(f"{said[0]}.{said[1]}"), said[2]) == (
        defaults["download_delay"].default, defaults["concurrency"].default)
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))["sources"]
    unset = [s["name"] for s in raw if not {"download_delay", "concurrency"} <= set(s)]
    assert not unset, f"sources relying on the defaults: {unset}"


def test_readme_politeness_defaults_are_the_code() -> None:
    """README's table: `concurrency` default 4, `download_delay` default 0.5 s."""
    rows = {row[0]: row[1] for row in _table(README, "| what | default | why |")}
    defaults = Source.model_fields
    assert rows["`concurrency` (per source)"] == str(defaults["concurrency"].default)
    assert rows["`download_delay` (per source)"] == f"{defaults['download_delay'].default} s"


def test_one_site_one_set_of_limits(tmp_path: Path) -> None:
    """SOURCES.md: sources on one site (registered domain) must state the same limits; a
    file that gives two is refused with one line naming the source, the field and the
    other source (mofa_en at 0.5 s beside mofa_vi at 1 s, as config/sources.yaml had)."""
    data = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    for source in data["sources"]:
        if source["name"] == "mofa_en":
            source["download_delay"] = 0.5
    config = tmp_path / "sources.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_settings(config)
    message = str(refused.value)
    assert len(message.splitlines()) == 1, message
    number = next(i for i, s in enumerate(data["sources"]) if s["name"] == "mofa_vi")
    assert f"sources[{number}].download_delay: 1.0 differs from 0.5 of 'mofa_en', on the " \
           "same site (mofa.gov.vn)" in message, message
    # hosts given by placeholders are sites of their own (a farm's, a test's)
    assert load_settings(REPO / "config" / "demo.yaml",
                         {f"FARM_{n.upper()}{part}": value
                          for n in [*SITES, *OUTLETS]
                          for part, value in (("", "http://127.0.0.1:9"),
                                              ("_HOST", "127.0.0.1"))})


# -- the farm's addresses ----------------------------------------------------------------
def _addresses(text: str) -> set[int]:
    """Every 127.0.0.N of ``text``, ranges ("127.0.0.11–15", "127.0.0.11-15") expanded."""
    found: set[int] = set()
    for first, last in re.findall(r"127\.0\.0\.(\d+)(?:[–-](\d+)\b)?", text):
        found.update(range(int(first), int(last or first) + 1))
    return found


FIRST_FIVE = {s.host_index for name, s in SITES.items() if name not in OUTLETS}
OUTLET_HOSTS = {s.host_index for s in OUTLETS.values()}
HOSTILE = {int(HOSTILE_HOST.rsplit(".", 1)[1]), int(OFFSITE_HOST.rsplit(".", 1)[1])}


def test_farm_addresses() -> None:
    """README, SOURCES.md, config/demo.yaml: the farm on 127.0.0.11–15 and 127.0.0.20–43;
    ARCHITECTURE.md: those, and the hostile sites on 127.0.0.16–17; USAGE.md: `127.0.0.11`
    … `127.0.0.43` (monitor/farm/sites.py, monitor/farm/hostile.py)."""
    farm = FIRST_FIVE | OUTLET_HOSTS
    assert farm == {s.host_index for s in SITES.values()}
    said = re.search(r"\(the \*\*site farm\*\*, on ([^)]*)\)", README)
    assert said and _addresses(said.group(1)) == farm, said
    said = re.search(r"at the replica farm's addresses \(([^)]*)\)", _doc("SOURCES.md"))
    assert said and _addresses(said.group(1)) == farm, said
    demo = (REPO / "config" / "demo.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert _addresses(demo) == farm, demo
    said = re.search(r"\((127\.0\.0\.[\d–]+) for the first five, (127\.0\.0\.[\d–]+) for the "
                     r"outlet replicas, (127\.0\.0\.[\d–]+) for the hostile sites\)",
                     " ".join(_doc("ARCHITECTURE.md").split()))
    assert said, "ARCHITECTURE.md no longer lists the farm's addresses"
    assert [_addresses(g) for g in said.groups()] == [FIRST_FIVE, OUTLET_HOSTS, HOSTILE]
    said = re.search(r"\(`127\.0\.0\.(\d+)` … `127\.0\.0\.(\d+)`, one port\)", _doc("USAGE.md"))
    assert said and (int(said.group(1)), int(said.group(2))) == (min(farm), max(farm))


def test_no_doc_states_another_farm_range() -> None:
    """Any "127.0.0.A–B" range anywhere in the docs is one of the farm's groups."""
    groups = [FIRST_FIVE, OUTLET_HOSTS, HOSTILE, FIRST_FIVE | OUTLET_HOSTS]
    for path in [REPO / "README.md", *sorted(DOCS.glob("*.md"))]:
        for first, last in re.findall(r"127\.0\.0\.(\d+)[–-](\d+)\b",
                                      path.read_text(encoding="utf-8")):
            span = set(range(int(first), int(last) + 1))
            assert any(span <= group for group in groups), (path.name, first, last)


# -- systemd -----------------------------------------------------------------------------
def _units() -> list[tuple[str, str]]:
    found = []
    for path in [REPO / "README.md", *sorted(DOCS.glob("*.md"))]:
        for block in re.findall(r"```ini\n(.*?)```", path.read_text(encoding="utf-8"), re.S):
            if "[Service]" in block:
                found.append((path.name, block))
    return found


def test_systemd_units() -> None:
    """Every unit file shown: no comment after a value (systemd would read it as part of
    the value); the daemon's unit reloads with SIGHUP (`ExecReload`), which the daemon
    handles, and has systemd create the --db folder (`StateDirectory`), which newswatch
    does not create."""
    from monitor.run import Daemon

    assert "signal.signal(signal.SIGHUP, hangup)" in inspect.getsource(Daemon.run_forever)
    units = _units()
    assert {name for name, _ in units} >= {"README.md", "DAEMON.md"}
    daemons = 0
    for name, block in units:
        for line in block.splitlines():
            if "=" in line and not line.lstrip().startswith(("#", ";")):
                assert " #" not in line and " ;" not in line, (name, line)
        if not re.search(r"^ExecStart=.*newswatch run ", block, re.M):
            continue  # (`serve` reads the database the daemon's unit made)
        daemons += 1
        assert "\nExecReload=/bin/kill -HUP $MAINPID\n" in block, (name, block)
        db = re.search(r"^ExecStart=.* --db /var/lib/([^/\s]+)/", block, re.M)
        if db:
            assert f"\nStateDirectory={db.group(1)}\n" in block, (name, block)
    assert daemons >= 2


# -- screenshots -------------------------------------------------------------------------
SHOTS = REPO / "docs" / "screenshots"


def test_screenshots() -> None:
    """Every image the docs show exists, every file is shown; BROWSE.md's counts ("The 7
    screenshots above", "8 in `docs/screenshots/`"), its table of which test takes each,
    and its refresh command, which runs every one of those tests."""
    files = {path.name for path in SHOTS.glob("*.png")}
    shown: dict[str, set[str]] = {}
    for path in [REPO / "README.md", *sorted(DOCS.glob("*.md"))]:
        names = set(re.findall(r"!\[[^\]]*\]\((?:docs/)?screenshots/([\w.-]+\.png)\)",
                               path.read_text(encoding="utf-8")))
        shown[path.name] = names
    assert set().union(*shown.values()) == files
    browse = _doc("BROWSE.md")
    assert _number(r"The (\d+) screenshots above", browse) == (len(shown["BROWSE.md"]),)
    assert _number(r"\((\d+) in `docs/screenshots/`\)", browse) == (len(files),)
    rows = _table(browse, "| test file | screenshots |")
    taken: dict[str, str] = {}
    for test_file, names in rows:
        source = (REPO / test_file.strip("`")).read_text(encoding="utf-8")
        for name in re.findall(r"`([\w.-]+\.png)`", names):
            assert name not in taken, name
            taken[name] = test_file
            assert re.search(rf"""["']{re.escape(name.removesuffix('.png'))}(\.png)?["']""",
                             source), (test_file, name)
    assert set(taken) == files
    refresh = re.search(r"NEWSWATCH_SCREENSHOTS=1 python -m pytest -q (.*)\n", browse)
    assert refresh and set(refresh.group(1).split()) == {t.strip("`") for t in taken.values()}


# -- words and codes ---------------------------------------------------------------------
def test_daemon_states() -> None:
    """DAEMON.md's table of what `status` says of the daemon is DAEMON_STATES, and its
    `stopped` heartbeat is one of them (tests/test_status_words.py runs them)."""
    from monitor.run.daemon import DAEMON_STATES, STOPPED

    text = _doc("DAEMON.md")
    words = [row[0].strip("`") for row in _table(text, "| word | meaning | printed |")]
    assert words == list(DAEMON_STATES)
    assert "writes a last\nheartbeat (`stopped`)" in text and STOPPED in words


def test_run_statuses_and_backfill_states() -> None:
    """USAGE.md's table of run statuses holds the words the code writes; BACKFILL.md's
    table of backfill states is monitor.store.frontier's, resume lines as RESUMABLE."""
    from monitor.run.crawl import ENDED, INTERRUPTED, UNREACHABLE
    from monitor.store import frontier
    from monitor.store.db import ORPHANED

    words = {row[0].strip("`").split(":")[0].split()[0]
             for row in _table(_doc("USAGE.md"), "| status | meaning |")}
    assert {"running", "finished", INTERRUPTED, UNREACHABLE, "failed", "partial", "stopped",
            ORPHANED.split(":")[0]} == words
    assert set(ENDED.values()) <= words | {"done"}
    rows = _table(_doc("BACKFILL.md"), "| state | meaning | resume line |")
    assert [row[0].strip("`") for row in rows] == [
        frontier.DONE, frontier.STOPPED, frontier.INTERRUPTED, frontier.FAILED,
        frontier.RUNNING]
    assert {row[0].strip("`") for row in rows if row[2] == "yes"} == set(frontier.RESUMABLE)


def test_exit_codes() -> None:
    """README's exit-code table, `newswatch --help` and USAGE.md's database errors use the
    codes of monitor/cli/app.py; the busy timeout the docs state is the code's."""
    from click.testing import CliRunner

    from monitor.cli import app, main
    from monitor.store.dbfile import BUSY_TIMEOUT

    codes = {0, app.EXIT_FAILED, app.EXIT_BAD_INPUT, app.EXIT_DATABASE, app.EXIT_INTERRUPTED}
    table = {int(row[0]) for row in _table(README, "| code | meaning |")}
    assert table == codes
    helped = " ".join(CliRunner().invoke(main, ["--help"]).output.split())
    for code in codes:
        assert re.search(rf"\b{code} ", helped), (code, helped)
    exits = {int(row[2]) for row in _table(_doc("USAGE.md"), "| cause | the line says | exit |")}
    assert exits == {app.EXIT_BAD_INPUT, app.EXIT_DATABASE}
    for text in (README, _doc("DAEMON.md"), _doc("USAGE.md")):
        assert f"{BUSY_TIMEOUT:g} s" in text
