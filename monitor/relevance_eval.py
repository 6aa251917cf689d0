"""Precision and recall of a topic on a labelled set.

    python -m monitor.relevance_eval [FILE.jsonl] [--topic NAME] [--show-errors]

Each line of FILE is ``{"id", "title", "text", "relevant": true|false}`` (``lead`` optional).
The default file is the labelled set shipped with the tests.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from monitor.config import PROJECT_ROOT, ConfigError
from monitor.relevance import TOPICS_FILE, default_topic, judge, load_topics, parse_jsonl

LABELLED = PROJECT_ROOT / "tests" / "data" / "relevance_labelled.jsonl"


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a JSON-lines file; ValueError naming the line of a bad row."""
    with open(path, encoding="utf-8") as handle:
        return list(parse_jsonl(handle, where=f"{path}:"))


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", default=str(LABELLED))
    parser.add_argument("--topic", help="topic name (default: the file's default topic)")
    parser.add_argument("--show-errors", action="store_true", help="list misjudged items")
    args = parser.parse_args(argv)
    try:
        result = evaluate(read_jsonl(args.file), args.topic)
    except (OSError, ValueError, ConfigError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"items {result['items']}  precision {result['precision']:.3f}  "
          f"recall {result['recall']:.3f}  (tp {result['tp']} fp {result['fp']} "
          f"fn {result['fn']} tn {result['tn']})")
    if args.show_errors:
        for error in result["errors"]:
            print(f"  {error['error']}  {error['id']}  {error['title']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
