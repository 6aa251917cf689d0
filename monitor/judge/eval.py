"""Precision and recall of a topic on labelled sets, tuning and checking part side by side.

    python -m monitor.judge.eval [FILE.jsonl ...] [--topic NAME] [--show-errors]

Each line of FILE is ``{"id", "title", "text", "relevant": true|false}`` (``lead``,
``source``, ``lang`` optional). Without FILE the labelled sets shipped with the tests are
read and split into the *tuning* part (the rules were tuned on it) and the *checking* part
(never tuned on) by the committed key lists in ``tests/data/relevance_split/``; items in
neither list are reported as an "other" part. When ``tests/data/relevance_blind.jsonl``
exists (titles and leads of real articles labelled by someone who never saw the rules), it
is split the same way by ``blind_tuning.txt`` / ``blind_checking.txt`` (fixed once by a
salted hash of the id, ``bench/split_relevance_blind.py``) into the *blind-tuning* and
*blind-checking* parts, reported beside the others with a "blind-all" line; blind items
in neither list are the "blind" part. With FILE, that file is one part.

``--show-errors`` lists misjudged items of the tuning and blind-tuning parts (and of
FILEs) only: the checking, blind-checking and unsplit blind parts are measured, never
read item by item, or they would become tuning data.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from monitor.judge.relevance import TOPICS_FILE, default_topic, judge, load_topics, parse_jsonl
from monitor.sources import PROJECT_ROOT, ConfigError

DATA = PROJECT_ROOT / "tests" / "data"
LABELLED = DATA / "relevance_labelled.jsonl"  # the first set (all of it is tuning data)
OUTLETS = DATA / "relevance_outlets.jsonl"  # titles and leads from the watched outlets
MORE = DATA / "relevance_more.jsonl"  # more of the kinds left by the first round
LABELLED_SETS = (LABELLED, OUTLETS, MORE)
BLIND = DATA / "relevance_blind.jsonl"  # optional: labelled without seeing the rules
SPLIT_DIR = DATA / "relevance_split"
PARTS = ("tuning", "checking")
BLIND_PARTS = ("blind-tuning", "blind-checking")  # key lists blind_tuning.txt, ...
HIDDEN = ("checking", "blind", "blind-checking", "blind-all")  # errors never listed


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a JSON-lines file; ValueError naming the line of a bad row."""
    with open(path, encoding="utf-8") as handle:
        return list(parse_jsonl(handle, where=f"{path}:"))


def split_keys(split_dir: Path = SPLIT_DIR) -> dict[str, set[str]]:
    """The committed key lists: ``{"tuning": {id, ...}, "checking": {id, ...}}``."""
    return {part: {line.strip() for line in (split_dir / f"{part}.txt").read_text(
        encoding="utf-8").splitlines() if line.strip()} for part in PARTS}


def blind_split_keys(split_dir: Path = SPLIT_DIR) -> dict[str, set[str]]:
    """The committed blind key lists: ``{"blind-tuning": {id, ...}, "blind-checking": ...}``
    (empty sets when a list is absent)."""
    keys: dict[str, set[str]] = {}
    for part in BLIND_PARTS:
        path = split_dir / f"{part.replace('-', '_')}.txt"
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        keys[part] = {line.strip() for line in text.splitlines() if line.strip()}
    return keys


def labelled_parts(paths: Sequence[Path] = LABELLED_SETS,
                   split_dir: Path = SPLIT_DIR,
                   blind: Path | None = BLIND) -> dict[str, list[dict[str, Any]]]:
    """Every labelled row of ``paths``, by part (tuning, checking; "other" if unlisted),
    and the rows of ``blind``, when that file exists, as the blind-tuning and
    blind-checking parts (by their key lists; "blind" if in neither)."""
    keys = split_keys(split_dir)
    parts: dict[str, list[dict[str, Any]]] = {part: [] for part in PARTS}
    for path in paths:
        if not Path(path).exists() and path == MORE:
            continue
        for row in read_jsonl(path):
            part = next((p for p in PARTS if str(row.get("id")) in keys[p]), "other")
            parts.setdefault(part, []).append({**row, "_set": Path(path).name})
    if blind is not None and Path(blind).exists():
        blind_keys = blind_split_keys(split_dir)
        for row in read_jsonl(blind):
            part = next((p for p in BLIND_PARTS if str(row.get("id")) in blind_keys[p]),
                        "blind")
            parts.setdefault(part, []).append({**row, "_set": Path(blind).name})
    return parts


def evaluate(rows: list[dict[str, Any]], topic_name: str | None = None) -> dict[str, Any]:
    """Confusion counts, precision and recall, and the misjudged ids."""
    topic = load_topics(TOPICS_FILE)[topic_name] if topic_name else default_topic()
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    wrong = []
    for row in rows:
        verdict = judge(row.get("title"), row["text"], row.get("lead"), topic).relevant
        key = ("t" if verdict == bool(row["relevant"]) else "f") + ("p" if verdict else "n")
        counts[key] += 1
        if key in ("fp", "fn"):
            wrong.append({"id": row.get("id"), "error": key, "title": row.get("title")})
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    return {**counts, "items": len(rows), "precision": tp / (tp + fp) if tp + fp else 0.0,
            "recall": tp / (tp + fn) if tp + fn else 0.0, "errors": wrong}


def _line(name: str, result: dict[str, Any]) -> str:
    return (f"{name:<14} items {result['items']:>4}  precision {result['precision']:.3f}  "
            f"recall {result['recall']:.3f}  (tp {result['tp']} fp {result['fp']} "
            f"fn {result['fn']} tn {result['tn']})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="labelled JSON lines (default: the "
                        "shipped sets, split into tuning and checking parts)")
    parser.add_argument("--topic", help="topic name (default: the file's default topic)")
    parser.add_argument("--by-set", action="store_true", help="also one line per labelled "
                        "file within each part")
    parser.add_argument("--show-errors", action="store_true", help="list misjudged items "
                        "of the tuning and blind-tuning parts (never of the checking or "
                        "blind-checking part)")
    args = parser.parse_args(argv)
    try:
        if args.files:
            parts = {Path(f).name: read_jsonl(f) for f in args.files}
        else:
            parts = {k: v for k, v in labelled_parts().items() if v}
            if all(parts.get(p) for p in BLIND_PARTS):
                parts["blind-all"] = parts["blind-tuning"] + parts["blind-checking"]
        results = {name: evaluate(rows, args.topic) for name, rows in parts.items()}
    except (OSError, ValueError, ConfigError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name, result in results.items():
        print(_line(name, result))
        if args.by_set and not args.files:
            for labelled in sorted({r["_set"] for r in parts[name]}):
                rows = [r for r in parts[name] if r["_set"] == labelled]
                print("  " + _line(f"{name}/{labelled}", evaluate(rows, args.topic)))
    if args.show_errors:
        for name, result in results.items():
            if name in HIDDEN and not args.files:
                print(f"  {name}: errors not listed (measured, never tuned on)")
                continue
            for error in result["errors"]:
                print(f"  {name}  {error['error']}  {error['id']}  {error['title']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
