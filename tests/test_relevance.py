"""Relevance: the labelled set, the farm's articles, look-alikes, and `newswatch judge`."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from monitor.farm.content import load_corpus
from monitor.judge import fold, judge
from monitor.judge.eval import LABELLED, evaluate, read_jsonl
from monitor.judge.relevance import load_topics

from .conftest import REPO


def test_labelled_set_precision_and_recall() -> None:
    rows = read_jsonl(LABELLED)
    assert len(rows) >= 120 and {r["lang"] for r in rows} == {"en", "vi"}
    result = evaluate(rows)
    print(f"labelled set: precision {result['precision']:.3f} recall {result['recall']:.3f}")
    assert result["precision"] >= 0.95 and result["recall"] >= 0.95, result["errors"]


def test_every_farm_article_judged_right() -> None:
    wrong = [a.slug for a in load_corpus()
             if judge(a.title, "\n".join(a.paragraphs), a.lead).relevant != (a.topic == "vn-us")]
    assert wrong == []


def test_seed_004_us_first_then_others_is_relevant_with_reasons() -> None:
    seed = next(a for a in load_corpus() if a.seed == "004")
    verdict = judge(seed.title, "\n".join(seed.paragraphs), seed.lead)
    assert verdict.relevant
    title_terms = {t for r in verdict.reasons if r["field"] == "title" for t in r["terms"]}
    assert "u.s." in title_terms


@pytest.mark.parametrize(("title", "text", "relevant"), [
    ("Talks in Tokyo", "Vietnam and Japan agreed to expand trade. Japan will fund a metro line "
     "in Hanoi. Japanese firms plan investments. The US and other partners were mentioned.",
     False),
    ("Mưa lớn ở Mỹ Tho", "Mưa lớn kéo dài khiến nhiều tuyến đường ở TP Mỹ Tho, Tiền Giang ngập "
     "sâu. Thẩm mỹ viện và cửa hàng mỹ phẩm phải đóng cửa.", False),
    ("Quan hệ Việt - Mỹ", "Phó Thủ tướng Bùi Thanh Sơn tiếp Đại sứ Hoa Kỳ Marc Knapper tại Hà "
     "Nội, hai bên bàn về Đối tác chiến lược toàn diện Việt Nam - Hoa Kỳ.", True),
    ("Quan he Viet - My", "Pho Thu tuong Bui Thanh Son tiep Dai su Hoa Ky Marc Knapper tai Ha Noi "
     "ve quan he Viet Nam - Hoa Ky.", True),  # a site that strips diacritics
])
def test_cases(title: str, text: str, relevant: bool) -> None:
    assert judge(title, text).relevant is relevant


def test_fold() -> None:
    assert fold("Bùi Thanh Sơn, Đà Nẵng") == "bui thanh son, da nang"


def test_topics_are_data(tmp_path) -> None:
    path = tmp_path / "topics.yaml"
    path.write_text("default: vn-jp\ntopics:\n  vn-jp:\n    threshold: 0.3\n"
                    "    required_any: [partner]\n    groups:\n"
                    "      partner: {weight: 2, folded: [japan, nhat ban]}\n", encoding="utf-8")
    topic = load_topics(path)["vn-jp"]
    assert judge("Việt Nam - Nhật Bản", "Hai nước Nhật Bản và Việt Nam.", topic=topic).relevant
    assert not judge("Weather", "Rain in Hanoi.", topic=topic).relevant


def test_judge_command(tmp_path) -> None:
    lines = tmp_path / "in.jsonl"
    lines.write_text(
        json.dumps({"id": "a", "title": "Vietnam, US hold talks",
                    "text": "Bui Thanh Son met Antony Blinken in Hanoi on Vietnam-US ties."}) + "\n"
        + json.dumps({"id": "b", "title": "Bão số 3", "text": "Bão gây mưa lớn ở Quảng Ninh."})
        + "\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "monitor.cli", "judge", str(lines)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(o["id"], o["relevant"]) for o in out] == [("a", True), ("b", False)]
    assert set(out[0]) == {"id", "score", "relevant", "reasons"} and out[0]["reasons"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "text": "ok"}\nnot json\n', encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "monitor.cli", "judge", str(bad)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "line 2" in proc.stderr
