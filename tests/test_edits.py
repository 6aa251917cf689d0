"""Issue 13: edit kinds from the diff, the rules that use them, and the labelled set."""

from __future__ import annotations

import subprocess
import sys

from monitor.alerts.rules import Rule
from monitor.changes.edits import changed_sentences, classify
from monitor.changes.eval import evaluate, load

BEFORE = {"title": "Vietnam, US sign deal", "lead": "Hanoi and Washington signed a deal.",
          "author": "Minh Chau", "published": "2024-03-25T10:00:00+07:00",
          "text": "Hanoi and Washington signed a deal.\nThe deal is worth 2 billion USD. "
                  "It covers trade.\nOfficials praised it."}


def _after(**changes: str) -> dict[str, str]:
    return {**BEFORE, **changes}


def test_each_kind_is_found() -> None:
    text = BEFORE["text"]
    assert classify(BEFORE, _after(title="Vietnam, US sign landmark deal")) == ["headline"]
    assert classify(BEFORE, _after(text=text.replace("2 billion", "3 billion"))) == ["numbers"]
    assert classify(BEFORE, _after(text=text + "\nCorrection: the deal was signed on "
                                   "Monday.")) == ["correction"]
    assert classify(BEFORE, _after(text=text + "\nĐính chính: hợp đồng ký ngày thứ Hai.")) \
        == ["correction"]
    assert classify(BEFORE, _after(author="Thu Trang")) == ["byline"]
    assert classify(BEFORE, _after(text=text.replace("Officials praised it.", ""))) == [
        "paragraph_removed"]
    assert classify(BEFORE, _after(text=text.replace("praised it.", "praised it. "
                                   "“A milestone,” the minister said."))) == ["quote"]
    assert classify(BEFORE, _after(text=text.replace("praised", "praized"))) == ["cosmetic"]
    assert classify(BEFORE, _after(text=text.replace("deal.", "deal !"))) == ["cosmetic"]
    assert classify(BEFORE, BEFORE) == []


def test_changed_sentences_in_order() -> None:
    old = "One. Two is here.\nThree."
    new = "One. Two is there.\nThree.\nFour is new."
    assert changed_sentences(old, new) == [
        {"op": "-", "text": "Two is here."}, {"op": "+", "text": "Two is there."},
        {"op": "+", "text": "Four is new."}]


def test_rules_narrow_updates_by_edit_kind_and_skip_cosmetic() -> None:
    article = {"relevant": 1, "topic": "vn-us", "source": "x", "relevance": 1.0}
    default = Rule(name="r", channels=("c",), kinds=("new", "updated"))
    narrow = Rule(name="n", channels=("c",), kinds=("updated",),
                  edits=("headline", "numbers", "correction", "paragraph_removed"))
    assert default.matches("updated", {**article, "edits": ["quote"]})
    assert not default.matches("updated", {**article, "edits": ["cosmetic"]})
    assert not narrow.matches("updated", {**article, "edits": ["quote"]})
    assert narrow.matches("updated", {**article, "edits": ["quote", "numbers"]})
    assert default.matches("new", article) and not default.matches("removed", article)
    assert Rule(name="d", channels=("c",), kinds=("removed",)).matches("removed", article)


def test_labelled_set_is_big_enough_and_split_once() -> None:
    rows = load()
    assert len(rows) >= 40 and {r["lang"] for r in rows} == {"en", "vi"}
    assert {r["split"] for r in rows} == {"tuning", "checking"}
    for half in ("tuning", "checking"):
        result = evaluate([r for r in rows if r["split"] == half])
        assert result["_exact"]["exact"] >= 0.8 * result["_exact"]["edits"]


def test_edit_eval_command_prints_both_halves() -> None:
    out = subprocess.run([sys.executable, "-m", "monitor.changes.eval"], capture_output=True,
                         text=True, check=True).stdout
    assert "tuning:" in out and "checking:" in out and "cosmetic" in out
    bad = subprocess.run([sys.executable, "-m", "monitor.changes.eval", "--data", "/nonexistent"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
