"""Split the blind relevance set once into a blind-tuning and a blind-checking part.

    python bench/split_relevance_blind.py   # writes tests/data/relevance_split/blind_*.txt

The part of an item is fixed by a salted SHA-256 hash of its id; a derived item (an NFD or
no-diacritics copy, field ``derived_from``) goes with its original, so the same real
article is never in both parts. The key lists are committed; re-running writes the same
lists (and adds new ids where their hash puts them).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLIND = ROOT / "tests" / "data" / "relevance_blind.jsonl"
SPLIT_DIR = ROOT / "tests" / "data" / "relevance_split"
SPLIT_SALT = "relevance-blind-v1"


def split_of(key: str) -> str:
    """``"blind-tuning"`` or ``"blind-checking"`` for an original item's id (never re-drawn)."""
    digest = hashlib.sha256(f"{SPLIT_SALT}:{key}".encode()).digest()[0]
    return "blind-tuning" if digest % 2 == 0 else "blind-checking"


def part_of(row: dict) -> str:
    """The part of a blind row: its original's part when it is a derived copy."""
    return split_of(str(row.get("derived_from") or row["id"]))


def main() -> None:
    rows = [json.loads(line) for line in BLIND.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    parts: dict[str, list[str]] = {"blind-tuning": [], "blind-checking": []}
    for row in rows:
        parts[part_of(row)].append(str(row["id"]))
    for part, keys in parts.items():
        path = SPLIT_DIR / f"{part.replace('-', '_')}.txt"
        path.write_text("".join(f"{key}\n" for key in keys), encoding="utf-8")
        print(f"{path.relative_to(ROOT)}: {len(keys)} keys")


if __name__ == "__main__":
    main()
