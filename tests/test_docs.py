"""The docs cannot drift: every `newswatch ...` command shown in a code block of README.md
and docs/*.md is run here, as written, with only these substitutions:

- database paths become one temporary database filled by a real crawl of the farm (a copy
  of the session's `crawled` database), other file paths go to a temporary folder;
- commands that crawl the real sites (no `--config`) crawl the farm's replica of them
  (`--config config/demo.yaml`): the internet is not reachable from CI; `run` gets the
  five sites of the original farm from it (`FIVE`): the daemon starts a crawl process
  per source at once, and 29 of them starting on two cores took a minute per test;
- fixed ports become free ones (other services may hold 8800/8001/8080);
- long-running commands (`run`, `serve`, `farm`) are started, checked alive and doing
  their job, then stopped with SIGTERM/SIGINT;
- `check SOURCE` runs against a daemon started for it on the database (SOURCE on a
  schedule that does not fire), which is stopped after;
- a `--redis URL` becomes the URL of a real `redis-server` started for the command
  (tests/redis_server.py; skipped where it is not installed): `run --redis` is alive once
  it offered its jobs to the fleet (no worker runs: they stay queued).

Each must exit as documented (0; `alerts test` reaches a real webhook receiver), print no
traceback, and no usage error.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from monitor.farm import Farm
from monitor.run import CrawlResult

from .channels import SECRET, Receiver
from .conftest import REPO

CLI = [sys.executable, "-m", "monitor.cli"]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LONG_RUNNING = {"run", "serve", "farm"}
FIVE = ["baochinhphu_en", "laodong_en", "laodong_vi", "vietnam_vn", "mofa_en"]


def _five_sources(work: Path) -> Path:
    """config/demo.yaml with only the five sites of the original farm."""
    data = yaml.safe_load((REPO / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data["sources"] = [s for s in data["sources"] if s["name"] in FIVE]
    path = work / "five-sources.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def doc_commands() -> list[tuple[str, str]]:
    """(file name, command) for every line starting with `newswatch ` in a code block."""
    found = []
    for path in DOCS:
        for block in re.findall(r"```[a-z]*\n(.*?)```", path.read_text(encoding="utf-8"),
                                re.S):
            for line in block.splitlines():
                line = line.strip()
                if line.startswith("newswatch "):
                    found.append((path.name, line))
    return found


COMMANDS = doc_commands()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _free_farm_port() -> int:
    """A port free on every farm address (``monitor.run.demo.check_port``), never the
    README's 8800: a user's `newswatch farm` may hold it (issue 31)."""
    from monitor.run.demo import DemoPortBusy, check_port

    for _ in range(50):
        port = _free_port()
        try:
            check_port(port)
        except DemoPortBusy:
            continue
        return port
    raise RuntimeError("no free port on the farm addresses")


def _args(command: str, db: Path, work: Path) -> tuple[list[str], Path | None]:
    """The command's arguments after the substitutions above, and where its stdout goes
    (a `> file` redirection), if anywhere."""
    command = command.split(" #")[0]  # a trailing comment
    command = re.sub(r"\[[^\]]*\]", "", command)  # [optional] parts
    words = shlex.split(command)[1:]  # without "newswatch"
    stdout_file = None
    if ">" in words:
        at = words.index(">")
        stdout_file = work / words[at + 1]
        words = words[:at]
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        value = words[i + 1] if i + 1 < len(words) else None
        if word == "--db":
            out += [word, str(db)]
            i += 2
            continue
        if word == "--port":
            port = _free_farm_port() if words[0] == "farm" else _free_port()
            out += [word, str(port)]
            i += 2
            continue
        if word == "--output" and value:
            out += [word, str(work / value)]
            i += 2
            continue
        out.append(word)
        i += 1
    command_name = out[0]
    if command_name in ("crawl", "run", "demo") and "--db" not in out:
        out += ["--db", str(db)]  # never the default newswatch.db inside the repo
    if command_name == "run" and "--config" not in out:
        out += ["--config", str(_five_sources(work))]
    if command_name in ("crawl", "doctor", "backfill", "profile", "recheck") and (
            "--config" not in out):
        out += ["--config", "config/demo.yaml"]
    if command_name in ("serve",) and "--port" not in out:
        out += ["--port", str(_free_port())]
    if command_name == "demo" and "--port" not in out:
        out += ["--port", str(_free_farm_port())]
    if command_name == "judge":
        out = [str(work / w) if w.endswith(".jsonl") else w for w in out]
    return out, stdout_file


@pytest.fixture
def doc_env(crawled: CrawlResult, farm: Farm, receiver: Receiver,
            tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """A database filled by a real crawl, a work folder, the environment (farm addresses,
    the webhook channel's receiver)."""
    db = tmp_path / "newswatch.db"
    # SQLite's online backup, not a copy of the files: a copied -shm index that no longer
    # matches its -wal made the copy answer "disk I/O error" to the next process
    source, copy = sqlite3.connect(crawled.db_path), sqlite3.connect(db)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()
    work = tmp_path / "work"
    work.mkdir()
    (work / "items.jsonl").write_text(
        '{"id": "a1", "title": "Vietnam and US sign rare earths deal", '
        '"text": "Hanoi and Washington agreed on rare earths cooperation."}\n',
        encoding="utf-8")
    env = {**os.environ, **farm.variables, "COLUMNS": "80",
           "NEWSWATCH_WEBHOOK_URL": receiver.url, "NEWSWATCH_WEBHOOK_SECRET": SECRET}
    return db, work, env


def _clean(text: str) -> None:
    assert "Traceback" not in text, text[-3000:]
    assert "Usage:" not in text and "No such option" not in text, text[-3000:]


def _long_running(args: list[str], env: dict[str, str], db: Path) -> None:
    """Start, see it doing its job, stop it; it must stop cleanly."""
    proc = subprocess.Popen([*CLI, *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    printed: list[str] = []  # the farm's standard output, read as it comes
    reader = None
    if args[0] == "farm":
        def read() -> None:
            for line in proc.stdout:
                printed.append(line)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
    try:
        deadline = time.monotonic() + 60
        alive = False
        while time.monotonic() < deadline and proc.poll() is None and not alive:
            time.sleep(0.5)
            if args[0] == "serve":
                port = args[args.index("--port") + 1]
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                        alive = r.status == 200
                except OSError:
                    pass
            elif args[0] == "run" and "--redis" in args:  # jobs offered to the fleet
                from monitor.run import status

                fleet = status(db).get("fleet") if db.exists() else None
                alive = bool(fleet and fleet.get("counts", {}).get("jobs"))
            elif args[0] == "run":
                from monitor.run import status

                alive = db.exists() and any(r["status"] == "finished" for r in
                                            status(db)["last_runs"]
                                            if r["started"] > started)
            else:  # farm: its export lines, printed once every site listens (at a load
                # of 25 they came more than a second after its first site answered)
                alive = any("export FARM_LAODONG_EN=" in line for line in printed)
        assert alive and proc.poll() is None, proc.communicate(timeout=30)
        proc.send_signal(signal.SIGTERM if args[0] != "serve" else signal.SIGINT)
        if reader is None:
            out, err = proc.communicate(timeout=60)
        else:
            err = proc.stderr.read()
            proc.wait(60)
            reader.join(60)
            out = "".join(printed)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _clean(err)
    assert proc.returncode == 0, err[-3000:]
    if args[0] == "farm":
        assert "export FARM_LAODONG_EN=" in out


def _with_daemon(args: list[str], env: dict[str, str], db: Path, work: Path) -> None:
    """`check SOURCE`: a daemon on the database first (its sources on a schedule that
    does not fire during the test, so the only crawl is the one asked for), then the
    command, which must say the daemon took the request; then the daemon is stopped."""
    from monitor.run import status

    data = yaml.safe_load((REPO / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data["sources"] = [{**s, "cron": "0 0 1 1 *"} for s in data["sources"]
                       if s["name"] == args[1]]
    config = work / "check-sources.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    daemon = subprocess.Popen([*CLI, "run", "--config", str(config), "--db", str(db),
                               "--no-alerts"], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (status(db)["daemon"]["alive"] and daemon.poll() is None):
            assert time.monotonic() < deadline and daemon.poll() is None, daemon.poll()
            time.sleep(0.2)
        proc = subprocess.run([*CLI, *args], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=120)
        _clean(proc.stderr + proc.stdout)
        assert proc.returncode == 0, (args, proc.stderr[-3000:])
        assert "taken by the daemon" in proc.stdout, proc.stdout
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=60)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    _clean(err)
    assert daemon.returncode == 0, err[-3000:]


def _worker(args: list[str], env: dict[str, str], work: Path) -> None:
    """`worker`: a real redis-server (skipped without one) as NEWSWATCH_REDIS, a job of one
    farm site offered to the fleet the command names, its --workdir in the work folder;
    run with `--once`, it must crawl the job, send its articles and run, and exit 0."""
    from monitor.fleet import JobQueue, Keys, connect, offer_round
    from monitor.sources import load_settings

    from .redis_server import REDIS_SERVER, SKIP_REASON, RedisServer

    if REDIS_SERVER is None:
        pytest.skip(SKIP_REASON)
    args = list(args)
    if "--workdir" in args:
        args[args.index("--workdir") + 1] = str(work / "worker")
    fleet = args[args.index("--fleet") + 1] if "--fleet" in args else None
    (work / "redis").mkdir()
    server = RedisServer(work / "redis")
    server.start()
    try:
        client = connect(server.url)
        keys = Keys(fleet) if fleet else Keys()
        settings = load_settings(REPO / "config" / "demo.yaml", env)
        offer_round(JobQueue(client, keys), [settings.source("laodong_en")], "docs")
        proc = subprocess.run([*CLI, *args, "--once"], cwd=REPO,
                              env={**env, "NEWSWATCH_REDIS": server.url},
                              capture_output=True, text=True, timeout=180)
        _clean(proc.stderr + proc.stdout)
        assert proc.returncode == 0, (args, proc.stderr[-3000:])
        kinds = [fields["kind"] for _, fields in client.xrange(keys.stream)]
        assert "batch" in kinds and kinds[-1] == "run", kinds
    finally:
        server.stop()


started = ""


@pytest.mark.parametrize(("doc", "command"), COMMANDS,
                         ids=[f"{d}:{c.split(' #')[0].strip()}" for d, c in COMMANDS])
def test_documented_command_runs(doc: str, command: str,
                                 doc_env: tuple[Path, Path, dict[str, str]]) -> None:
    global started
    db, work, env = doc_env
    args, stdout_file = _args(command, db, work)
    if args[:2] == ["sources", "add"]:  # onboard a farm site into files of the work folder
        args[2] = env["FARM_LAODONG_VI"] + "/"
        (work / "sources.yaml").write_text("sources:\n", encoding="utf-8")
        args += ["--config", str(work / "sources.yaml"), "--profiles",
                 str(work / "profiles.yaml")]
    if "--redis" in args:  # a real redis-server for it (skipped where not installed)
        from .redis_server import REDIS_SERVER, SKIP_REASON, RedisServer

        if REDIS_SERVER is None:
            pytest.skip(SKIP_REASON)
        (work / "redis").mkdir()
        server = RedisServer(work / "redis")
        server.start()
        args[args.index("--redis") + 1] = server.url
        try:
            assert args[0] in LONG_RUNNING, args  # (`run --redis`, the one shown)
            _long_running(args, env, db)
        finally:
            server.stop(signal.SIGKILL)
        return
    if args[0] == "check":
        _with_daemon(args, env, db, work)
        return
    if args[0] == "worker":
        _worker(args, env, work)
        return
    if args[0] in LONG_RUNNING:
        from monitor.store import now

        started = now()
        _long_running(args, env, db)
        return
    proc = subprocess.run([*CLI, *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    _clean(proc.stderr + proc.stdout)
    assert proc.returncode == 0, (args, proc.stderr[-3000:])
    if stdout_file is not None:
        stdout_file.write_text(proc.stdout, encoding="utf-8")
        assert stdout_file.stat().st_size > 0


def test_docs_show_commands() -> None:
    """The extraction above finds the commands (a broken pattern would test nothing)."""
    shown = {c.split()[1] for _, c in COMMANDS}
    assert {"crawl", "demo", "farm", "run", "status", "serve", "export", "alerts",
            "judge", "check", "recheck"} <= shown
