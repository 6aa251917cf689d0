"""Precision and recall of the edit classifier (``monitor.changes.edits``) per kind, on the
labelled edits (``tests/data/edits_labelled.jsonl``), for its tuning and checking halves.

    python -m monitor.changes.eval [--data FILE] [--show-errors]

Exit codes: 0 done, 2 the data file is missing or unreadable (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from monitor.changes.edits import KINDS, classify

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "edits_labelled.jsonl"


def load(path: str | Path = DEFAULT_DATA) -> list[dict[str, Any]]:
    """The labelled edits: dicts with key, lang, split, kinds, before, after."""
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def evaluate(rows: list[dict[str, Any]]) -> dict[str, dict[str, float | int]]:
    """Per kind: tp, fp, fn, precision, recall (None when undefined); plus "_exact" (the
    share of edits whose kinds are all right)."""
    counts = {kind: {"tp": 0, "fp": 0, "fn": 0} for kind in KINDS}
    exact = 0
    for row in rows:
        got, want = set(classify(row["before"], row["after"])), set(row["kinds"])
        exact += got == want
        for kind in KINDS:
            if kind in got and kind in want:
                counts[kind]["tp"] += 1
            elif kind in got:
                counts[kind]["fp"] += 1
            elif kind in want:
                counts[kind]["fn"] += 1
    out: dict[str, dict[str, Any]] = {}
    for kind, c in counts.items():
        tp, fp, fn = c["tp"], c["fp"], c["fn"]
        out[kind] = {**c, "precision": tp / (tp + fp) if tp + fp else None,
                     "recall": tp / (tp + fn) if tp + fn else None}
    out["_exact"] = {"edits": len(rows), "exact": exact}
    return out


def _fmt(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.2f}"


def report(rows: list[dict[str, Any]]) -> str:
    """A table: per kind, precision / recall (support) for each half."""
    halves = {name: [r for r in rows if r["split"] == name] for name in ("tuning", "checking")}
    results = {name: evaluate(part) for name, part in halves.items()}
    lines = [f"{'kind':<18} {'tuning P':>9} {'R':>5} {'n':>3}   {'checking P':>10} {'R':>5} "
             f"{'n':>3}"]
    for kind in KINDS:
        cells = []
        for name in halves:
            r = results[name][kind]
            cells.append(f"{_fmt(r['precision']):>9} {_fmt(r['recall']):>5} "
                         f"{r['tp'] + r['fn']:>3}")
        lines.append(f"{kind:<18} {cells[0]}   {cells[1]:>20}")
    for name in halves:
        e = results[name]["_exact"]
        lines.append(f"{name}: {e['edits']} edits, {e['exact']} with exactly the right kinds")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m monitor.changes.eval", description=__doc__)
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args(argv)
    try:
        rows = load(args.data)
    except (OSError, ValueError) as exc:
        print(f"edit_eval: cannot read {args.data}: {exc}", file=sys.stderr)
        return 2
    print(report(rows))
    if args.show_errors:
        for row in rows:
            got = classify(row["before"], row["after"])
            if set(got) != set(row["kinds"]):
                print(f"{row['split']:<8} {row['key']:<24} want {row['kinds']} got {got}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
