"""Status words that mean one thing each (docs/USAGE.md run statuses, docs/BACKFILL.md
backfill states, docs/DAEMON.md daemon states), and next-step commands that can be pasted.

Before: an unreachable source was `finished` in the crawl summary; an interrupted
source's progress line said `done`; `status` said "not running" after a clean stop as
after a crash; a backfill's resume hint dropped `--config` (pasted, it would have fetched
the real outlet).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from monitor.farm import Farm
from monitor.sources import DEMO_CONFIG

from .conftest import PATIENCE, REPO
from .test_backfill_stop import _query

CLI = [sys.executable, "-m", "monitor.cli"]


def _refused_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _config(tmp_path: Path, names: list[str], name: str = "sources.yaml",
            **changes: object) -> Path:
    """config/demo.yaml with only ``names``, ``changes`` applied to each."""
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    data["sources"] = [{**s, **changes} for s in data["sources"] if s["name"] in names]
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _env(variables: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FARM_")}
    return {**env, **variables, "COLUMNS": "200"}


def _wait(predicate: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds * PATIENCE
    while not predicate():
        assert time.monotonic() < deadline, f"no {what} within {seconds:.0f} s"
        time.sleep(0.1)


def _progress_word(stderr: str, source: str) -> str:
    """The last word of ``source``'s progress line (the last one printed)."""
    lines = [line for line in stderr.splitlines() if line.startswith(source + " ")]
    assert lines, stderr[-3000:]
    found = re.search(r" \d+:\d\d:\d\d (.*)$", lines[-1])  # the elapsed time, then the word
    assert found, lines[-1]
    return found.group(1).strip()


def test_an_unreachable_source_says_unreachable_everywhere(tmp_path: Path) -> None:
    """Summary, progress line, the stored run and `newswatch status`: `unreachable`,
    never `finished` or `done`, for a source whose host never answered."""
    port = _refused_port()
    db = tmp_path / "unreachable.db"
    env = _env({"FARM_MOFA_EN": f"http://127.0.0.1:{port}", "FARM_MOFA_EN_HOST": "127.0.0.1"})
    proc = subprocess.run([*CLI, "crawl", "--config", str(_config(tmp_path, ["mofa_en"])),
                           "--db", str(db)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 1, proc.stderr[-3000:]
    row = next(line for line in proc.stdout.splitlines() if line.startswith("mofa_en "))
    assert row.split()[-1] == "unreachable", proc.stdout
    assert "finished" not in proc.stdout
    assert _progress_word(proc.stderr, "mofa_en") == "unreachable", proc.stderr
    assert _query(db, "select status from crawl_runs") == [("unreachable",)]
    shown = subprocess.run([*CLI, "status", "--db", str(db)], cwd=REPO, capture_output=True,
                           text=True, timeout=60)
    assert re.search(r"^mofa_en .* unreachable$", shown.stdout, re.M), shown.stdout


def test_interrupted_sources_say_interrupted_not_done(farm: Farm, tmp_path: Path) -> None:
    """Ctrl-C while two sources crawl: each progress line ends `interrupted`, as the
    summary's status, never `done`."""
    names = ["laodong_en", "mofa_en"]
    config = _config(tmp_path, names, download_delay=0.5, concurrency=1,
                     target_concurrency=1)
    db = tmp_path / "stopped.db"
    proc = subprocess.Popen([*CLI, "crawl", "--config", str(config), "--db", str(db)],
                            cwd=REPO, env=_env(farm.config_variables()), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait(lambda: (_query(db, "select count(*) from articles") or [(0,)])[0][0] > 0,
              120, "a first article stored")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err[-3000:]
    statuses = dict(_query(db, "select source, status from crawl_runs"))
    assert statuses == dict.fromkeys(names, "interrupted"), statuses
    for name in names:
        assert _progress_word(err, name) == "interrupted", err[-3000:]
        row = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert row.split()[-1] == "interrupted", out


def _status(db: Path) -> tuple[dict, str]:
    as_json = subprocess.run([*CLI, "status", "--db", str(db), "--json"], cwd=REPO,
                             capture_output=True, text=True, timeout=60)
    text = subprocess.run([*CLI, "status", "--db", str(db)], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "COLUMNS": "300"})
    assert as_json.returncode == 0 and text.returncode == 0, as_json.stderr + text.stderr
    lines = text.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("daemon:"))
    daemon_line = lines[at]
    if at + 1 < len(lines) and lines[at + 1].startswith("start it: "):  # (never started)
        daemon_line += " " + lines[at + 1]
    return json.loads(as_json.stdout)["daemon"], daemon_line


def test_status_tells_a_clean_stop_from_a_daemon_that_died(tmp_path: Path) -> None:
    """`never started`, then `alive`, then after SIGTERM `stopped at … (a clean stop)`,
    then after kill -9 `died` (no heartbeat, no clean stop): four words, four meanings;
    before, a clean stop and a crash were both "not running"."""
    port = _refused_port()  # one source, nothing to fetch: the daemon's own life only
    config = _config(tmp_path, ["mofa_en"], interval="1h")
    env = _env({"FARM_MOFA_EN": f"http://127.0.0.1:{port}", "FARM_MOFA_EN_HOST": "127.0.0.1"})
    db = tmp_path / "daemon.db"
    from monitor.store import Store

    Store(db).close()
    state, line = _status(db)
    assert state["state"] == "never started"
    assert line.endswith(f"start it: newswatch run --db {shlex.quote(str(db))}"), line

    def start() -> subprocess.Popen[str]:
        daemon = subprocess.Popen([*CLI, "run", "--config", str(config), "--db", str(db),
                                   "--no-alerts", "--log-level", "WARNING"], cwd=REPO,
                                  env=env, text=True, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
        _wait(lambda: _status(db)[0]["state"] == "alive" or daemon.poll() is not None, 120,
              "daemon alive")
        assert daemon.poll() is None, daemon.communicate()
        return daemon

    daemon = start()
    state, line = _status(db)
    assert line.startswith(f"daemon: alive (pid {daemon.pid}, last heartbeat "), line
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=120) == 0, daemon.stderr.read() if daemon.stderr else ""
    state, line = _status(db)
    assert (state["state"], state["alive"]) == ("stopped", False), state
    assert re.fullmatch(rf"daemon: stopped at \d{{4}}-\d\d-\d\d \d\d:\d\d UTC \(a clean stop; "
                        rf"pid {daemon.pid}\)", line), line

    daemon = start()
    daemon.kill()  # kill -9: no last heartbeat
    daemon.wait(timeout=60)
    _wait(lambda: _status(db)[0]["state"] == "died", 90, "the dead daemon said as such")
    state, line = _status(db)
    assert not state["alive"]
    assert line.startswith(f"daemon: died: not running; the last daemon (pid {daemon.pid}) "
                           "stopped beating at "), line
    assert line.endswith("without a clean stop (killed? crashed?)"), line


def test_the_backfill_resume_hint_pastes_as_printed(tmp_path: Path) -> None:
    """`--limit` reached: the summary says `stopped`, why, and a resume command carrying
    the session's --config, --db and --limit, quoted for the shell (paths with a space
    and a quote). Pasted as printed, it goes on with the same config (the farm serves
    it, never the real outlet) and the same database."""
    site = "baochinhphu_en"
    config = _config(tmp_path, [site], name="demo copy.yaml")
    db = tmp_path / "my archive's.db"
    with Farm(archive=400, archive_site=site, sites=[site]) as farm:
        assert farm.archive is not None
        env = _env(farm.config_variables())
        first = subprocess.run([*CLI, "backfill", site, "--config", str(config), "--db",
                                str(db), "--limit", "30"], cwd=REPO, env=env,
                               capture_output=True, text=True, timeout=180)
        assert first.returncode == 0, first.stderr[-3000:]
        assert f"backfill {site}: stopped (--limit 30 reached)" in first.stdout, first.stdout
        hint = next(line for line in first.stdout.splitlines() if "resume with: " in line)
        command = hint.split("resume with: ", 1)[1]
        args = shlex.split(command)
        assert args[:3] == ["newswatch", "backfill", site], command
        assert args[args.index("--config") + 1] == str(config), command
        assert args[args.index("--db") + 1] == str(db), command
        assert args[args.index("--limit") + 1] == "30", command
        stored = _query(db, "select count(*) from articles")[0][0]
        served = len(farm.archive.order.tolist())
        assert served > 0
        farm.archive.reset_log()
        again = subprocess.run([*CLI, *args[1:]], cwd=REPO, env=env, capture_output=True,
                               text=True, timeout=180)  # the pasted line, as a shell runs it
        assert again.returncode == 0, again.stderr[-3000:]
        assert farm.archive.order.tolist(), "the pasted command did not fetch the farm"
    assert _query(db, "select count(*) from articles")[0][0] > stored
    assert "resume with: " + command in again.stdout  # the same line again: still pastable


def test_a_backfill_whose_index_does_not_read_is_failed_not_resumable(farm: Farm,
                                                                      tmp_path: Path) -> None:
    """The site answers, its sitemap index is a 404: `failed`, why, its error line, exit
    1 and no resume line (it said `stopped`, offered a resume command and exited 0)."""
    site = "baochinhphu_en"
    config = _config(tmp_path, [site], sitemaps=[f"${{FARM_{site.upper()}}}/no-such.xml"])
    db = tmp_path / "failed.db"
    proc = subprocess.run([*CLI, "backfill", site, "--config", str(config), "--db", str(db)],
                          cwd=REPO, env=_env(farm.config_variables()), capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 1, (proc.stdout, proc.stderr[-3000:])
    assert (f"backfill {site}: failed (its sitemap index could not be read: see its errors "
            "below)") in proc.stdout, proc.stdout
    assert "resume with" not in proc.stdout and "Traceback" not in proc.stderr
    assert "no-such.xml" in proc.stderr, proc.stderr  # the run's error line says which
    assert proc.stderr.strip().splitlines()[-1] == (
        f"error: backfill of {site} failed: its sitemap index could not be read (its errors "
        "above)"), proc.stderr
    assert _query(db, "select state from backfills") == [("failed",)]
