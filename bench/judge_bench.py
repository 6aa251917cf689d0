"""Relevance judge speed per article: this tree against an earlier commit, in one run.

    python bench/judge_bench.py [--ref COMMIT] [--rounds 15] [--clock wall|cpu]

The earlier judge (``monitor/judge/relevance.py`` and ``config/topics.yaml`` at ``--ref``,
default: where this branch left main, ``git merge-base HEAD main``) is loaded from
``git show`` into a temporary directory, so both run in the same process on the same
articles: the farm's full articles, ../shared/realpages truth texts when present, and the
labelled titles and leads. Rounds alternate old/new; the figure is the median over rounds
of the time per article, and the ratio new/old; the ratio of the fastest rounds is printed
too (on a loaded machine it is the steadier of the two). ``--clock cpu`` times with the
process's CPU clock instead of the wall clock: time the process waited for a core (other
work on a shared machine) does not count.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.farm.content import load_corpus  # noqa: E402
from monitor.judge import relevance  # noqa: E402
from monitor.judge.eval import LABELLED_SETS, read_jsonl  # noqa: E402

REALPAGES = ROOT.parent / "shared" / "realpages" / "truth"


def articles() -> list[tuple[str, str, str | None]]:
    """``(title, text, lead)`` of every article the bench judges."""
    out = [(a.title, "\n".join(a.paragraphs), a.lead) for a in load_corpus()]
    if REALPAGES.is_dir():
        for path in sorted(REALPAGES.glob("*.json")):
            page = json.loads(path.read_text(encoding="utf-8"))
            out.append((page.get("title") or "", page.get("articleBody") or "",
                        page.get("lead")))
    for path in LABELLED_SETS:
        out += [(r.get("title") or "", r["text"], r.get("lead")) for r in read_jsonl(path)]
    return out


def old_judge(ref: str, workdir: Path) -> tuple[Any, Any]:
    """The judge function and default topic at ``ref``."""
    def show(path: str) -> str:
        return subprocess.run(["git", "show", f"{ref}:{path}"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout
    (workdir / "relevance_old.py").write_text(show("monitor/judge/relevance.py"), encoding="utf-8")
    topics = workdir / "topics_old.yaml"
    topics.write_text(show("config/topics.yaml"), encoding="utf-8")
    try:  # the learned scorer's file, next to the topics file, when the ref has one
        model = show("config/relevance_model.json")
    except subprocess.CalledProcessError:
        model = ""
    if model:
        (workdir / "relevance_model.json").write_text(model, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("relevance_old", workdir / "relevance_old.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["relevance_old"] = module
    spec.loader.exec_module(module)
    import yaml
    default = yaml.safe_load(topics.read_text(encoding="utf-8"))["default"]
    return module.judge, module.load_topics(topics)[default]


CLOCK = time.perf_counter


def per_article(judge: Any, topic: Any, items: list[tuple[str, str, str | None]]) -> float:
    """Seconds per article for one pass over ``items`` (by ``CLOCK``)."""
    start = CLOCK()
    for title, text, lead in items:
        judge(title, text, lead, topic)
    return (CLOCK() - start) / len(items)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", default=None, help="earlier commit (default: merge-base "
                        "with main)")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    ref = args.ref or subprocess.run(["git", "merge-base", "HEAD", "main"], cwd=ROOT,
                                     check=True, capture_output=True,
                                     text=True).stdout.strip()
    items = articles()
    farm = [a for a in items[:len(load_corpus())]]
    new_topic = relevance.default_topic()
    with tempfile.TemporaryDirectory() as tmp:
        judge_old, topic_old = old_judge(ref, Path(tmp))
        for judge, topic in ((judge_old, topic_old), (relevance.judge, new_topic)):
            per_article(judge, topic, items)  # warm up (regex compile, caches)
        results: dict[str, dict[str, list[float]]] = {
            name: {"old": [], "new": []} for name in ("all", "farm (full articles)")}
        for _ in range(args.rounds):
            for name, subset in (("all", items), ("farm (full articles)", farm)):
                results[name]["old"].append(per_article(judge_old, topic_old, subset))
                results[name]["new"].append(per_article(relevance.judge, new_topic, subset))
    print(f"judge per article ({args.clock} clock), median of {args.rounds} alternating "
          f"rounds; old = {ref[:10]}")
    for name, runs in results.items():
        old, new = statistics.median(runs["old"]), statistics.median(runs["new"])
        count = len(items) if name == "all" else len(farm)
        best = min(runs["new"]) / min(runs["old"])  # the fastest round of each: less noise
        print(f"  {name:<22} {count:>4} articles  old {old * 1e6:8.1f} us  "
              f"new {new * 1e6:8.1f} us  ratio {new / old:.2f}x  (fastest rounds "
              f"{min(runs['old']) * 1e6:.1f} / {min(runs['new']) * 1e6:.1f} us, {best:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
