"""docs/FIELDCASES.md is the index of the failure kinds newswatch is tested against: every
field case (../shared/fieldcases, copied whole to tests/data/fieldcases so the suite runs
every input on a clean clone) and every kind found in public bug trackers, each with the
test that holds it. This keeps the index, the copies and the tests true to each other."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "fieldcases"
COPIES = REPO / "tests" / "data" / "fieldcases"
INDEX = REPO / "docs" / "FIELDCASES.md"
TEST_REF = re.compile(r"`?(tests/[\w/]+\.py)::(\w+)")


def _rows(section: str) -> list[str]:
    text = INDEX.read_text(encoding="utf-8")
    part = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return [line for line in part.splitlines() if line.startswith("| ") and "---" not in line
            and not line.startswith("| case |") and not line.startswith("| kind |")]


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/fieldcases is not here")
def test_every_shared_input_has_its_copy_in_the_repo() -> None:
    """Every file of every shared case is in tests/data/fieldcases, byte for byte: the
    case tests read the copies, so they run every shared input."""
    missing, differ = [], []
    for case in sorted(p for p in SHARED.iterdir() if p.is_dir()):
        for path in sorted(p for p in case.rglob("*") if p.is_file()):
            copy = COPIES / path.relative_to(SHARED)
            if not copy.exists():
                missing.append(str(path.relative_to(SHARED)))
            elif copy.read_bytes() != path.read_bytes():
                differ.append(str(path.relative_to(SHARED)))
    assert not missing and not differ, {"missing": missing, "differ": differ}


def test_every_case_and_kind_in_the_index_names_a_test_that_exists() -> None:
    cases = _rows("Field cases")
    named = {re.match(r"\| (case\d+)", row).group(1) for row in cases  # type: ignore[union-attr]
             if re.match(r"\| case\d+", row)}
    copied = {p.name.split("_", 1)[0] for p in COPIES.iterdir() if p.is_dir()}
    assert copied <= named, copied - named
    found = _rows("Kinds found in bug trackers")
    assert len(found) >= 21
    for row in cases + found:
        refs = TEST_REF.findall(row)
        assert refs, row
        for file, name in refs:
            source = (REPO / file).read_text(encoding="utf-8")
            assert re.search(rf"def {name}\b", source), (file, name)
