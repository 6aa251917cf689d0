"""newswatch against the tool a user would pick instead: the ``trafilatura`` command line
(installed with the trafilatura dependency) fed the farm's article URL list, and
``newswatch crawl`` with everything on, over the same farm pages, in alternated rounds.

    python bench/peer_bench.py [--extra 2000] [--rounds 3] [--sources a,b] [--json]
                               [--baseline DIR]

The farm (``newswatch farm --prerender``, its own process) serves its replica sites on
127.0.0.0/8. Its sitemaps give the article URL list once, outside every timed section.
Each round then runs both commands, in alternating order (round 1 trafilatura first,
round 2 newswatch first, ...), each as a whole process tree in a fresh directory:

- ``trafilatura -i urls.txt --output-format json --with-metadata --config-file cfg``,
  stdout to a file (one JSON document a line). ``cfg`` is the installed
  ``settings.cfg`` with ``SLEEP_TIME = 0`` (the CLI otherwise waits 5 s between two
  requests to one host) and ``SSRF_PROTECTION = off`` (the CLI otherwise refuses
  loopback addresses); nothing else changed. Metadata is on because newswatch extracts
  title, date and author too; ``--trafilatura-args`` replaces those flags. Its own
  sitemap and feed discovery is not used: it fails on IP-address sites.
- ``newswatch crawl --config config/demo.yaml --db fresh.db`` with the farm's FARM_*
  variables: discovery from feeds, sitemaps and listings, robots.txt, politeness,
  extraction in the process pool, relevance, dedupe, stories, versions, alerts queued,
  health, the fetch log.

CPU is counted by a cpuacct cgroup (v1, ``/sys/fs/cgroup/cpuacct``): each command is
put into a fresh child cgroup before it execs, so every process it starts (Scrapy's
forkserver, the extraction workers and the writer, which are *not* waited for by the
command itself and so escape ``RUSAGE_CHILDREN``) is counted, and nothing else. Where
the cgroup cannot be made (not root, no cgroup v1), the bench falls back to
``RUSAGE_CHILDREN`` and says so: that undercounts newswatch (the forkserver's tree is
reparented when the crawl process exits). Wall time runs from the command's start to
its exit (interpreter start-up and imports included, for both).

``--baseline DIR`` adds a third command to every round: ``newswatch crawl`` from another
checkout (``git worktree add DIR COMMIT``), to compare commits in the same session.

Prints, per round and over all rounds, articles/s and CPU-ms per article of both tools,
newswatch's ratios to trafilatura (articles/s: higher is better; CPU per article: lower
is better), the load average when each run started, the farm's own CPU (counted for
neither), and whether both stored the same article set (by URL). Exit 0 when every
command succeeded and both article sets equal the farm's list.
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import resource
import shlex
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trafilatura

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from crawl_bench import _cpu_seconds, article_urls, start_farm  # noqa: E402

CGROUP_ROOT = Path("/sys/fs/cgroup/cpuacct")
TRAFILATURA_ARGS = "--output-format json --with-metadata"


class CpuMeter:
    """CPU seconds of one command's whole process tree: a child cpuacct cgroup the command
    joins before it execs (``preexec``), or ``RUSAGE_CHILDREN`` when no cgroup can be
    made (``method`` says which; ``why`` says why not the cgroup)."""

    def __init__(self, label: str) -> None:
        self.path: Path | None = CGROUP_ROOT / f"newswatch-peer-{os.getpid()}-{label}"
        self.method = "cgroup cpuacct"
        self.why = ""
        try:
            self.path.mkdir()
        except OSError as exc:
            self.path, self.method, self.why = None, "RUSAGE_CHILDREN", str(exc)
        self._rusage_before = self._rusage()

    @staticmethod
    def _rusage() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def preexec(self) -> None:
        """Runs in the forked child before exec: join the cgroup."""
        if self.path is not None:
            (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until every process in the cgroup has exited (the command's children may
        end a moment after it: a forkserver reads its EOF, a resource tracker its pipe),
        at most ``timeout`` seconds; their CPU counts."""
        if self.path is None:
            return
        deadline = time.monotonic() + timeout
        while (self.path / "cgroup.procs").read_text().split() and time.monotonic() < deadline:
            time.sleep(0.05)

    def seconds(self) -> float:
        """CPU seconds (user + system) used so far by the command's tree."""
        if self.path is None:
            return self._rusage() - self._rusage_before
        return int((self.path / "cpuacct.usage").read_text()) / 1e9

    def close(self) -> int:
        """Kill what is left in the cgroup (processes the command started that outlived
        it by ``settle``'s wait: none is expected), remove the cgroup; the number of such
        processes."""
        if self.path is None:
            return 0
        left = [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for _ in range(100):
            try:
                self.path.rmdir()
                break
            except OSError:
                time.sleep(0.05)
        return len(left)


def trafilatura_config(directory: Path) -> Path:
    """The installed trafilatura ``settings.cfg`` with the per-host sleep and the SSRF
    guard off (what reaching the farm on 127.0.0.0/8 at full speed needs)."""
    parser = configparser.ConfigParser()
    parser.read(Path(trafilatura.__file__).parent / "settings.cfg")
    parser["DEFAULT"]["SLEEP_TIME"] = "0"
    parser["DEFAULT"]["SSRF_PROTECTION"] = "off"
    path = directory / "trafilatura.cfg"
    with path.open("w", encoding="utf-8") as handle:
        parser.write(handle)
    return path


def trafilatura_command() -> list[str]:
    """The ``trafilatura`` console script beside this interpreter (the one the dependency
    installs), or its module."""
    script = Path(sys.executable).parent / "trafilatura"
    return [str(script)] if script.exists() else [sys.executable, "-m", "trafilatura.cli"]


def run_measured(label: str, argv: list[str], workdir: Path, env: dict[str, str],
                 stdout: Path, farm_pid: int) -> dict[str, Any]:
    """Run ``argv`` in ``workdir`` to its end in its own cgroup; wall seconds, CPU
    seconds of its tree, exit code, load average at its start, the farm's CPU seconds."""
    meter = CpuMeter(label)
    load = os.getloadavg()[0]
    farm_before = _cpu_seconds(farm_pid)
    started = time.perf_counter()
    with stdout.open("wb") as out, (workdir / "stderr.txt").open("wb") as err:
        proc = subprocess.Popen(argv, cwd=workdir, env=env, stdout=out, stderr=err,
                                preexec_fn=meter.preexec)  # noqa: PLW1509 (no threads here)
        code = proc.wait()
    wall = time.perf_counter() - started
    meter.settle()
    cpu = meter.seconds()
    leftover = meter.close()
    return {"wall_s": wall, "cpu_s": cpu, "exit": code, "load": load,
            "farm_cpu_s": _cpu_seconds(farm_pid) - farm_before, "cpu_method": meter.method,
            "cgroup_why_not": meter.why, "leftover_processes": leftover}


def run_trafilatura(workdir: Path, urls_file: Path, extra_args: str, farm_pid: int
                    ) -> tuple[dict[str, Any], set[str]]:
    """The trafilatura CLI over the URL list; its figures and the URLs it wrote out."""
    workdir.mkdir()
    argv = [*trafilatura_command(), "-i", str(urls_file), *shlex.split(extra_args),
            "--config-file", str(trafilatura_config(workdir))]
    output = workdir / "articles.jsonl"
    figures = run_measured("trafilatura", argv, workdir, dict(os.environ), output, farm_pid)
    urls: set[str] = set()
    documents = 0
    for line in output.read_text(encoding="utf-8").splitlines():
        if line.startswith("{"):
            documents += 1
            url = json.loads(line).get("source")
            if url:
                urls.add(url)
    figures["articles"] = documents
    # the URL is in the output only with --with-metadata: without it, only the count checks
    figures["urls_known"] = bool(urls) or not documents
    figures["command"] = shlex.join(["trafilatura", *argv[len(trafilatura_command()):]])
    return figures, urls


def run_newswatch(workdir: Path, variables: dict[str, str], sources: list[str],
                  farm_pid: int, repo: Path = REPO) -> tuple[dict[str, Any], set[str]]:
    """``newswatch crawl`` of the farm into a fresh database; figures and stored URLs.
    ``repo``: the checkout whose code runs (another one to compare commits)."""
    workdir.mkdir()
    db = workdir / "crawl.db"
    argv = [sys.executable, "-m", "monitor.cli", "crawl", "--config",
            str(repo / "config" / "demo.yaml"), "--db", str(db)]
    for name in sources:
        argv += ["--source", name]
    env = {**os.environ, **variables,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(repo),
                                                       os.environ.get("PYTHONPATH")]))}
    figures = run_measured("newswatch", argv, workdir, env, workdir / "stdout.txt", farm_pid)
    with sqlite3.connect(db) as conn:
        urls = {row[0] for row in conn.execute("SELECT url FROM articles")}
    conn.close()
    figures["articles"] = len(urls)
    figures["command"] = shlex.join(["newswatch", *argv[3:]]).replace(str(workdir), "DIR")
    return figures, urls


def _rates(run: dict[str, Any]) -> dict[str, float]:
    articles = max(run["articles"], 1)
    return {"articles_per_s": round(run["articles"] / run["wall_s"], 1),
            "cpu_ms_per_article": round(1000 * run["cpu_s"] / articles, 2)}


def _set_check(listed: set[str], found: dict[str, set[str]]) -> dict[str, Any]:
    """Each tool's article set against the farm's list and against the other's."""
    check: dict[str, Any] = {"listed": len(listed)}
    for tool, urls in found.items():
        check[tool] = {"articles": len(urls), "missing": sorted(listed - urls)[:5],
                       "missing_count": len(listed - urls),
                       "not_listed_count": len(urls - listed)}
    trafilatura_urls, newswatch_urls = found["trafilatura"], found["newswatch"]
    check["same_set"] = trafilatura_urls == newswatch_urls
    check["only_trafilatura"] = len(trafilatura_urls - newswatch_urls)
    check["only_newswatch"] = len(newswatch_urls - trafilatura_urls)
    return check


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--extra", type=int, default=2000, help="generated articles to add "
                        "to the farm (2000: 2,095 pages)")
    parser.add_argument("--rounds", type=int, default=3, help="alternated rounds")
    parser.add_argument("--sources", default="", help="comma-separated farm sites (default: "
                        "all of config/demo.yaml)")
    parser.add_argument("--trafilatura-args", default=TRAFILATURA_ARGS,
                        help="the trafilatura CLI's output flags")
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout whose "
                        "`newswatch crawl` runs in every round too (e.g. the commit before)")
    parser.add_argument("--json", action="store_true", help="print figures as JSON")
    args = parser.parse_args()
    tools = ["trafilatura", "newswatch", *(["baseline"] if args.baseline else [])]
    sources = [name for name in args.sources.split(",") if name]

    farm, variables = start_farm(args.extra)
    rounds: list[dict[str, Any]] = []
    try:
        chosen = {k: v for k, v in variables.items()
                  if not sources or k.removeprefix("FARM_").removesuffix("_HOST").lower()
                  in sources}
        listed = article_urls(chosen)  # outside every timed section
        with tempfile.TemporaryDirectory(prefix="peer-bench-") as tmp:
            urls_file = Path(tmp) / "urls.txt"
            urls_file.write_text("\n".join(listed) + "\n", encoding="utf-8")
            for number in range(1, args.rounds + 1):
                order = list(tools)
                if number % 2 == 0:
                    order.reverse()
                runs: dict[str, dict[str, Any]] = {}
                found: dict[str, set[str]] = {}
                for tool in order:
                    workdir = Path(tmp) / f"{tool}-{number}"
                    if tool == "trafilatura":
                        runs[tool], found[tool] = run_trafilatura(
                            workdir, urls_file, args.trafilatura_args, farm.pid)
                    else:
                        runs[tool], found[tool] = run_newswatch(
                            workdir, variables, sources, farm.pid,
                            args.baseline.resolve() if tool == "baseline" else REPO)
                    runs[tool].update(_rates(runs[tool]))
                check = _set_check(set(listed), found)
                if not runs["trafilatura"]["urls_known"]:
                    check["same_set"] = None  # not known: compared by count only
                    check["trafilatura"]["missing_count"] = len(listed) - runs[
                        "trafilatura"]["articles"]
                rounds.append({"round": number, "order": order, **runs,
                               "articles_check": check})
                if not args.json:
                    _print_round(rounds[-1])
                    sys.stdout.flush()  # a round is minutes: show it as it ends
    finally:
        farm.terminate()
        farm.wait(timeout=10)

    summary = _summary(rounds)
    figures = {"pages_listed": len(listed), "rounds": rounds, "summary": summary,
               "cores": os.cpu_count(), "trafilatura_version": trafilatura.__version__}
    if args.json:
        print(json.dumps(figures))
    else:
        _print_summary(figures)
    ok = all(r[t]["exit"] == 0 and r["articles_check"][t]["missing_count"] == 0
             for r in rounds for t in tools)
    return 0 if ok else 1


def _summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Both tools over all rounds (total articles over total wall and CPU time), and
    newswatch's ratios per round and overall."""
    out: dict[str, Any] = {}
    for tool in [t for t in ("trafilatura", "newswatch", "baseline") if t in rounds[0]]:
        total = {"articles": sum(r[tool]["articles"] for r in rounds),
                 "wall_s": sum(r[tool]["wall_s"] for r in rounds),
                 "cpu_s": sum(r[tool]["cpu_s"] for r in rounds)}
        out[tool] = _rates(total)
    speed = [r["newswatch"]["articles_per_s"] / r["trafilatura"]["articles_per_s"]
             for r in rounds]
    cpu = [r["newswatch"]["cpu_ms_per_article"] / r["trafilatura"]["cpu_ms_per_article"]
           for r in rounds]
    out["speed_ratio_per_round"] = [round(x, 2) for x in speed]
    out["cpu_ratio_per_round"] = [round(x, 2) for x in cpu]
    out["speed_ratio"] = round(out["newswatch"]["articles_per_s"]
                               / out["trafilatura"]["articles_per_s"], 2)
    out["cpu_ratio"] = round(out["newswatch"]["cpu_ms_per_article"]
                             / out["trafilatura"]["cpu_ms_per_article"], 2)
    out["speed_ratio_median"] = round(statistics.median(speed), 2)
    out["cpu_ratio_median"] = round(statistics.median(cpu), 2)
    if "baseline" in out:
        out["baseline_ratio"] = {
            "speed": round(out["newswatch"]["articles_per_s"]
                           / out["baseline"]["articles_per_s"], 2),
            "cpu": round(out["newswatch"]["cpu_ms_per_article"]
                         / out["baseline"]["cpu_ms_per_article"], 2)}
    out["cpu_method"] = rounds[0]["newswatch"]["cpu_method"]
    out["cgroup_why_not"] = rounds[0]["newswatch"]["cgroup_why_not"]
    return out


def _print_round(entry: dict[str, Any]) -> None:
    print(f"round {entry['round']} ({' then '.join(entry['order'])})")
    for tool in [t for t in ("trafilatura", "newswatch", "baseline") if t in entry]:
        run = entry[tool]
        print(f"  {tool:<12}: {run['articles']:>5} articles in {run['wall_s']:6.2f} s = "
              f"{run['articles_per_s']:6.1f} articles/s; CPU {run['cpu_s']:6.2f} s = "
              f"{run['cpu_ms_per_article']:5.2f} ms/article; exit {run['exit']}; "
              f"load {run['load']:.1f}; farm CPU {run['farm_cpu_s']:.2f} s")
        if run["leftover_processes"]:
            print(f"  {tool:<12}: {run['leftover_processes']} processes left running 10 s "
                  "after its exit (killed)")
    check = entry["articles_check"]
    words = ("trafilatura's output names no URL (no --with-metadata): counts compared only"
             if check["same_set"] is None else "same article set" if check["same_set"] else (
        f"article sets differ: {check['only_trafilatura']} only trafilatura, "
        f"{check['only_newswatch']} only newswatch"))
    print(f"  articles    : {check['listed']} listed by the farm; {words}; missing: "
          f"trafilatura {check['trafilatura']['missing_count']}, "
          f"newswatch {check['newswatch']['missing_count']}")
    ours, theirs = entry["newswatch"], entry["trafilatura"]
    print(f"  ratio       : newswatch "
          f"{ours['articles_per_s'] / theirs['articles_per_s']:.2f}x trafilatura's "
          f"articles/s, {ours['cpu_ms_per_article'] / theirs['cpu_ms_per_article']:.2f}x "
          "its CPU per article")


def _print_summary(figures: dict[str, Any]) -> None:
    summary = figures["summary"]
    first = figures["rounds"][0]
    print(f"all rounds ({len(figures['rounds'])}, {figures['pages_listed']} pages listed, "
          f"{figures['cores']} cores, trafilatura {figures['trafilatura_version']}):")
    for tool in [t for t in ("trafilatura", "newswatch", "baseline") if t in summary]:
        print(f"  {tool:<12}: {summary[tool]['articles_per_s']} articles/s, "
              f"{summary[tool]['cpu_ms_per_article']} CPU-ms per article")
    print(f"  newswatch / trafilatura: articles/s {summary['speed_ratio']}x "
          f"(rounds {summary['speed_ratio_per_round']}), CPU per article "
          f"{summary['cpu_ratio']}x (rounds {summary['cpu_ratio_per_round']})")
    if "baseline_ratio" in summary:
        print(f"  newswatch / baseline: articles/s {summary['baseline_ratio']['speed']}x, "
              f"CPU per article {summary['baseline_ratio']['cpu']}x")
    why = f" ({summary['cgroup_why_not']})" if summary["cgroup_why_not"] else ""
    print(f"  CPU counted by: {summary['cpu_method']}{why}")
    print(f"  commands: {first['trafilatura']['command']}")
    print(f"            {first['newswatch']['command']}")


if __name__ == "__main__":
    sys.exit(main())
