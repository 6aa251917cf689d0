"""Relevance: the three kinds of issue 15, each in both languages, with and without
diacritics, composed (NFC) and decomposed (NFD); the split labelled sets; reasons."""

from __future__ import annotations

import unicodedata

import pytest

from monitor.judge import default_topic, judge
from monitor.judge.eval import LABELLED_SETS, SPLIT_DIR, evaluate, labelled_parts, split_keys


def _strip(text: str) -> str:
    """As a site that strips diacritics prints it."""
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return bare.replace("đ", "d").replace("Đ", "D")


def _forms(title: str, lead: str) -> list[tuple[str, str, str]]:
    return [("nfc", title, lead),
            ("nfd", unicodedata.normalize("NFD", title), unicodedata.normalize("NFD", lead)),
            ("bare", _strip(title), _strip(lead))]


def _requirement(verdict, name: str) -> dict:
    return next(r for r in verdict.reasons if r["group"] == "requirement"
                and r["requirement"] == name)


# -- kind 1: a phrase naming both countries meets both requirements ---------------------
BOTH = [
    ("Việt Nam và Hoa Kỳ tổ chức Đối thoại Chính trị - An ninh - Quốc phòng lần thứ 12",
     "Hai bên rà soát kết quả hợp tác quốc phòng, an ninh và khắc phục hậu quả chiến tranh."),
    ("Điện đàm giữa hai Bộ trưởng", "Hai bên nhất trí thúc đẩy quan hệ Đối tác chiến lược "
     "toàn diện Việt Nam - Hoa Kỳ đi vào chiều sâu."),
    ("Quan hệ Việt - Mỹ bước vào giai đoạn mới", "Hai nước nhất trí mở rộng hợp tác kinh tế."),
    ("Two-way trade between Vietnam and the United States hits record",
     "Bilateral trade reached 134 billion dollars in ten months, customs data show."),
    ("Vietnam-US trade deal expected before year end",
     "Negotiators said they had narrowed differences on rules of origin."),
]


@pytest.mark.parametrize(("title", "lead"), BOTH)
def test_bilateral_phrase_meets_both_requirements(title: str, lead: str) -> None:
    for form, t, ld in _forms(title, lead):
        verdict = judge(t, ld)
        assert verdict.relevant, (form, verdict.reasons)
        vietnam = _requirement(verdict, "vietnam")
        assert vietnam["met"] and any(b.startswith("bilateral") for b in vietnam["by"]), form


def test_verdict_never_contradicts_score_without_a_reason() -> None:
    topic = default_topic()
    # a high score with a requirement missing: the verdict reason says which one
    verdict = judge("Nhà Trắng và Lầu Năm Góc họp với Ngoại trưởng Marco Rubio",
                    "Tổng thống Donald Trump, Ngoại trưởng Marco Rubio và Bộ trưởng "
                    "Pete Hegseth bàn về ngân sách.", source_country="us")
    last = verdict.reasons[-1]
    assert last["group"] == "verdict" and last["relevant"] is verdict.relevant
    if verdict.score >= topic.threshold:
        assert not verdict.relevant and "no match for vietnam" in last["note"]
    rows = [r for part in labelled_parts().values() for r in part]
    for row in rows:
        verdict = judge(row.get("title"), row["text"])
        last = verdict.reasons[-1]
        assert last["group"] == "verdict" and last["relevant"] is verdict.relevant
        if (verdict.score >= topic.threshold) != verdict.relevant:
            assert ("but not relevant: no match for" in last["note"]
                    or "but relevant: learned scorer p" in last["note"]), row["id"]


# -- kind 2: Vietnam implied by its offices on a Vietnamese source -----------------------
IMPLIED = [
    ("Phó Thủ tướng hội đàm với Đại diện Thương mại Mỹ về thuế đối ứng",
     "Hai bên thảo luận về khung thỏa thuận thương mại đối ứng, công bằng và cân bằng."),
    ("Bộ trưởng Ngoại giao điện đàm với Ngoại trưởng Mỹ Marco Rubio",
     "Hai bộ trưởng nhất trí tăng cường trao đổi đoàn các cấp."),
    ("Chủ tịch Quốc hội tiếp đoàn Thượng nghị sĩ Hoa Kỳ",
     "Chủ tịch Quốc hội đề nghị các nghị sĩ ủng hộ việc công nhận quy chế kinh tế thị trường."),
    ("Deputy PM meets US Trade Representative on tariffs",
     "The Deputy Prime Minister and the U.S. Trade Representative discussed a reciprocal "
     "trade framework."),
    ("National Assembly ratifies civil nuclear cooperation agreement with US",
     "Lawmakers approved the agreement on the peaceful use of nuclear energy with the "
     "United States."),
]


@pytest.mark.parametrize(("title", "lead"), IMPLIED)
def test_offices_imply_vietnam_on_a_vietnamese_source(title: str, lead: str) -> None:
    for form, t, ld in _forms(title, lead):
        verdict = judge(t, ld)  # newswatch's sources are Vietnamese by default
        assert verdict.relevant, (form, verdict.reasons)
        vietnam = _requirement(verdict, "vietnam")
        assert any(b.startswith("implied") for b in vietnam["by"]), (form, vietnam)
        # the same words from an American outlet do not name Vietnam
        elsewhere = judge(t, ld, source_country="us")
        assert not elsewhere.relevant, form
        assert any("counts only on sources from vn" in r.get("note", "")
                   for r in elsewhere.reasons)


@pytest.mark.parametrize(("title", "lead"), [
    ("Phó Thủ tướng Trung Quốc thăm Mỹ", "Phó Thủ tướng Trung Quốc hội đàm với Bộ trưởng "
     "Tài chính Mỹ về thuế quan."),
    ("Bộ trưởng Ngoại giao Nhật Bản điện đàm với Ngoại trưởng Mỹ",
     "Hai bên bàn về tình hình khu vực."),
    ("Japanese Prime Minister meets US President", "The Prime Minister of Japan and the U.S. "
     "President discussed trade and security."),
])
def test_foreign_offices_do_not_imply_vietnam(title: str, lead: str) -> None:
    for form, t, ld in _forms(title, lead):
        verdict = judge(t, ld)
        assert not verdict.relevant, (form, verdict.reasons)
        assert not _requirement(verdict, "vietnam")["met"], form
        assert any(r["group"] == "foreign" for r in verdict.reasons), form


# -- kind 3: negative context lowers the score, with the reason -----------------------
NEGATIVE = [
    ("Đội tuyển Việt Nam thắng Mỹ ở giải bóng chuyền nữ",
     "Tuyển bóng chuyền nữ Việt Nam đánh bại Mỹ 3-1 ở giải vô địch thế giới.", "sports"),
    ("Vietnam stun USA in women's volleyball world championship",
     "Vietnam beat the United States 3-1 in their second group match.", "sports"),
    ("Ca sĩ Việt Nam lưu diễn tại Mỹ", "Nữ ca sĩ Việt Nam sẽ biểu diễn liveshow tại "
     "California, Mỹ.", "entertainment"),
    ("Vietnamese film released in US cinemas", "The Vietnamese drama film earned $500,000 at "
     "the US box office.", "entertainment"),
    ("Phố Wall lao dốc, VN-Index của Việt Nam mất 30 điểm", "Chỉ số Dow Jones của Mỹ giảm, "
     "chứng khoán Việt Nam chịu áp lực bán.", "markets"),
    ("Wall Street slump drags Vietnam's VN-Index down", "Worries about the US Federal Reserve "
     "sent stocks in Vietnam lower.", "markets"),
    ("Mưa lớn ở Việt Nam, bão ở Mỹ", "Mưa lớn gây ngập ở Hà Nội trong khi siêu bão đổ bộ "
     "Florida, Mỹ.", "weather"),
    ("Hurricane hits US as typhoon nears Vietnam", "The storm hit the US coast while a "
     "typhoon approached central Vietnam.", "weather"),
]


@pytest.mark.parametrize(("title", "lead", "context"), NEGATIVE)
def test_negative_context_lowers_the_score(title: str, lead: str, context: str) -> None:
    topic = default_topic()
    for form, t, ld in _forms(title, lead):
        verdict = judge(t, ld)
        assert not verdict.relevant, (form, verdict.reasons)
        notes = [r for r in verdict.reasons if r["group"] == context and "note" in r]
        assert notes and "points x" in notes[0]["note"], (form, verdict.reasons)
    # the same words without the context: the penalty group is what lowered the score
    group = next(g for g in topic.groups if g.name == context)
    assert 0 < group.penalty < 1


def test_negative_context_rare_in_the_body_does_not_sink_a_relevant_article() -> None:
    body = ("Ngoại trưởng Mỹ và Bộ trưởng Ngoại giao Việt Nam bàn về hợp tác.\n"
            "Hai bên cũng nhắc đến cơn bão gần đây.")
    verdict = judge("Việt Nam - Hoa Kỳ thúc đẩy quan hệ", body)
    assert verdict.relevant
    assert any("too rare" in r.get("note", "") for r in verdict.reasons)


def test_reasons_name_terms_fields_requirements_and_context() -> None:
    verdict = judge("Đội tuyển Việt Nam gặp Mỹ", "Trận giao hữu bóng đá diễn ra tại Hà Nội.")
    groups = {(r["group"], r["field"]) for r in verdict.reasons}
    assert ("vietnam", "title") in groups and ("partner", "title") in groups
    assert any(r["group"] == "sports" and "negative context" in r["note"]
               for r in verdict.reasons if "note" in r)
    assert [r["requirement"] for r in verdict.reasons if r["group"] == "requirement"] == [
        "vietnam", "partner|bilateral|officials"]


# -- the labelled sets and their split ---------------------------------------------------
def test_split_is_fixed_and_disjoint() -> None:
    keys = split_keys(SPLIT_DIR)
    assert not keys["tuning"] & keys["checking"]
    parts = labelled_parts(LABELLED_SETS, SPLIT_DIR)
    assert not parts.get("other")
    outlets = [r for p in parts.values() for r in p if r["id"].startswith("o-")]
    assert len(outlets) >= 400
    negatives = [r for r in outlets if not r["relevant"]]
    assert len(negatives) >= 0.4 * len(outlets)
    assert {r["lang"] for r in outlets} == {"en", "vi"}
    forms = {r["form"] for r in outlets}
    assert {"nfd", "no-diacritics"} <= forms
    assert len(parts["checking"]) >= 150


def test_checking_part_precision_and_recall() -> None:
    parts = labelled_parts()
    tuning, checking = evaluate(parts["tuning"]), evaluate(parts["checking"])
    print(f"tuning P {tuning['precision']:.3f} R {tuning['recall']:.3f}; "
          f"checking P {checking['precision']:.3f} R {checking['recall']:.3f}")
    # floors a little under the figures in BENCHMARKS.md, so a regression fails
    assert tuning["precision"] >= 0.97 and tuning["recall"] >= 0.95, tuning["errors"]
    assert checking["precision"] >= 0.97 and checking["recall"] >= 0.97, "see the figures"


def test_same_verdict_with_or_without_diacritics_composed_or_decomposed() -> None:
    rows = [r for r in labelled_parts()["tuning"] if r["lang"] == "vi"]
    assert len(rows) >= 150
    differ = []
    for row in rows:
        verdicts = [judge(t, ld) for _, t, ld in _forms(row["title"], row["text"])]
        if len({v.relevant for v in verdicts}) > 1 or \
                max(v.score for v in verdicts) - min(v.score for v in verdicts) > 0.15:
            differ.append((row["id"], [round(v.score, 2) for v in verdicts]))
    assert differ == []


@pytest.mark.parametrize(("title", "relevant"), [
    ("Mỹ thuật Việt Nam tại triển lãm quốc tế", False),      # a look-alike at a sentence start
    ("Mỹ thành lập quỹ hỗ trợ Việt Nam khắc phục hậu quả chiến tranh", True),  # not "Mỹ Thành"
    ("Chính phủ Mỹ tài trợ đào tạo kỹ sư bán dẫn Việt Nam", True),  # not "Phú Mỹ"
])
def test_look_alikes_at_a_sentence_start(title: str, relevant: bool) -> None:
    for form, t, ld in _forms(title, ""):
        assert judge(t, ld).relevant is relevant, form


def test_vietnamese_without_diacritics_is_told_from_english() -> None:
    topic = default_topic()
    rows = [r for part in labelled_parts().values() for r in part]
    english = [r["id"] for r in rows if r["lang"] == "en"
               and topic.bare_vietnamese(r["title"], r["text"].split("\n")[0])]
    assert english == []  # Vietnamese names in English ("Nguyen Quoc Dung") do not count
    bare = [r for r in rows if r.get("form") == "no-diacritics"]
    found = sum(topic.bare_vietnamese(r["title"], r["text"].split("\n")[0]) for r in bare)
    assert found >= 0.9 * len(bare)
    # "My" is "Mỹ" only there: in English it stays a possessive
    english = judge("My Vietnam trip: notes from Hanoi", "My family visited Hanoi.")
    assert not english.relevant and not any(r["group"] == "partner" for r in english.reasons)
    assert judge("My ban giao tau tuan tra cho Canh sat bien Viet Nam",
                 "Le ban giao tau tuan tra dien ra tai Hai Phong voi su chung kien cua "
                 "Tuy vien Quoc phong Hoa Ky.").relevant


# -- kinds of the second round: lists, US proxies, other pairs, aid in a storm ------------
LISTED = [
    ("Xuất khẩu thủy sản 10 tháng đạt 9 tỷ USD", "Trung Quốc, Mỹ, Nhật Bản và Hàn Quốc "
     "là các thị trường lớn nhất của thủy sản Việt Nam."),
    ("Kiều hối về Đà Nẵng tăng 10%", "Kiều hối chủ yếu đến từ Mỹ, Úc và Canada, theo Ngân "
     "hàng Nhà nước."),
    ("Vietnam's cashew exports top 4 billion USD", "China, the Netherlands, the US and "
     "Germany remained the largest buyers of Vietnamese cashew."),
    ("Vietnamese doctors perform first robotic heart surgery", "The team trained in South "
     "Korea and the US before the operation in Hanoi."),
]


@pytest.mark.parametrize(("title", "lead"), LISTED)
def test_partner_in_a_list_of_countries_counts_less(title: str, lead: str) -> None:
    for form, t, ld in _forms(title, lead):
        verdict = judge(t, ld)
        assert not verdict.relevant, (form, verdict.reasons)
        listed = [r for r in verdict.reasons if r["group"] == "list"]
        assert listed and "in a list of countries" in listed[0]["note"], form
        partner = [r for r in verdict.reasons if r["group"] == "partner" and "points" in r]
        assert partner and "in a list" in partner[0]["points_note"], form


@pytest.mark.parametrize(("title", "lead"), [
    ("Mỹ tiếp tục là thị trường xuất khẩu lớn nhất của Việt Nam",
     "Kim ngạch xuất khẩu sang Mỹ 11 tháng đạt 125 tỷ USD, tăng 26%."),
    ("US remains Vietnam's largest export market",
     "Vietnam shipped goods worth 125 billion USD to the US in eleven months."),
])
def test_partner_as_the_subject_is_no_list(title: str, lead: str) -> None:
    for form, t, ld in _forms(title, lead):
        verdict = judge(t, ld)
        assert verdict.relevant, (form, verdict.reasons)
        assert not any(r["group"] == "list" for r in verdict.reasons), form


def test_a_phrase_with_mỹ_counts_once() -> None:
    for form, t, ld in _forms("Gỗ Việt Nam sang thị trường Mỹ", ""):
        partner = next(r for r in judge(t, ld).reasons if r["group"] == "partner")
        assert partner["count"] == 1, (form, partner)


PROXIES = [  # (title, lead, relevant): a US company, state or university
    ("Thủ tướng tiếp Chủ tịch Tập đoàn Boeing", "Thủ tướng đề nghị Boeing mở rộng chuỗi "
     "cung ứng và hỗ trợ đào tạo phi công.", True),
    ("Deputy PM receives Nvidia vice president", "He asked Nvidia to set up an AI research "
     "centre and train engineers.", True),
    ("Bộ Giáo dục ký kết hợp tác với Đại học Harvard", "Chương trình đào tạo cán bộ quản lý "
     "giáo dục kéo dài 3 năm.", True),
    ("Khanh Hoa, Oregon sign sister-state agreement", "The province and the US state will "
     "cooperate in tourism, education and fisheries.", True),
    ("Quảng Ninh hợp tác với bang Texas về logistics", "Hai địa phương ký biên bản ghi nhớ "
     "về cảng biển và năng lượng.", True),
    ("Boeing shares fall after 737 Max incident", "The planemaker's stock dropped 4 percent "
     "on Wall Street; Vietnamese airlines have orders pending.", False),
    ("Nvidia vượt mốc 5.000 tỷ USD vốn hóa", "Cổ phiếu Nvidia tăng trên sàn Nasdaq, nhiều "
     "nhà đầu tư Việt Nam quan tâm.", False),
    ("Vietnamese student wins scholarship to Harvard", "The Hanoi high school student will "
     "study economics from September.", False),
    ("Vietnamese tourist injured in Florida boat accident", "The 30-year-old from Hanoi was "
     "taken to hospital in Miami.", False),  # a state, but people: no office, no cooperation
    ("Du khách Việt bị thương trong tai nạn ở bang Florida", "Người đàn ông 30 tuổi đến từ "
     "Hà Nội được đưa vào bệnh viện ở Miami.", False),
]


@pytest.mark.parametrize(("title", "lead", "relevant"), PROXIES)
def test_us_companies_states_universities(title: str, lead: str, relevant: bool) -> None:
    for form, t, ld in _forms(title, lead):
        verdict = judge(t, ld)
        assert verdict.relevant is relevant, (form, verdict.reasons)
        proxies = [r for r in verdict.reasons if r["group"] in ("us_proxy", "us_states")]
        if not relevant:
            assert proxies and all(r["note"].startswith("not counted: needs a match of")
                                   for r in proxies), (form, verdict.reasons)
        else:
            assert any(r.get("points_note", "").startswith("counted with") for r in proxies), form


def test_us_independence_day_is_not_khanh_hoa() -> None:
    for form, t, ld in _forms("Phó Thủ tướng dự lễ kỷ niệm Quốc khánh Hoa Kỳ",
                              "Phó Thủ tướng chúc mừng nhân dịp Quốc khánh Hoa Kỳ."):
        verdict = judge(t, ld)
        assert verdict.relevant, (form, verdict.reasons)
        assert not any("khanh hoa" in r["terms"] for r in verdict.reasons), form


@pytest.mark.parametrize(("title", "lead"), [
    ("Japan, US finalise tariff deal", "Tokyo will invest 550 billion USD; Vietnam and "
     "Thailand watch closely."),
    ("Mỹ và Hàn Quốc tập trận chung", "Cuộc tập trận diễn ra khi Việt Nam và các nước "
     "ASEAN theo dõi tình hình bán đảo."),
    ("Blinken visits Manila, reaffirms US commitment", "Vietnam was not part of the talks."),
])
def test_another_pair_in_the_title(title: str, lead: str) -> None:
    for form, t, ld in _forms(title, lead):
        verdict = judge(t, ld)
        assert not verdict.relevant, (form, verdict.reasons)
        assert any("pairs the partner with another country" in r.get("note", "")
                   for r in verdict.reasons), form


@pytest.mark.parametrize(("title", "lead"), [
    ("Mỹ viện trợ khẩn cấp cho Việt Nam khắc phục hậu quả bão", "Cơ quan USAID công bố "
     "khoản hỗ trợ 1 triệu USD cho các tỉnh miền Trung."),
    ("US provides emergency aid to Vietnam after typhoon", "USAID will fund shelter and "
     "clean water in the worst-hit provinces."),
])
def test_aid_lifts_the_weather_penalty(title: str, lead: str) -> None:
    for form, t, ld in _forms(title, lead):
        verdict = judge(t, ld)
        assert verdict.relevant, (form, verdict.reasons)
        weather = [r for r in verdict.reasons if r["group"] == "weather"]
        assert form == "bare" or weather, form  # "bao" without its marks is no storm
        assert all("not counted: partnership" in r["note"] for r in weather), form


# -- the third set and the blind part ------------------------------------------------------
def test_more_items_split_by_salted_hash_and_reported(tmp_path) -> None:
    import importlib.util

    from monitor.judge.eval import MORE, read_jsonl
    spec = importlib.util.spec_from_file_location(
        "make_more", MORE.parents[2] / "bench" / "make_relevance_more.py")
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    rows, keys = read_jsonl(MORE), split_keys(SPLIT_DIR)
    assert len(rows) >= 200 and sum(not r["relevant"] for r in rows) >= 0.4 * len(rows)
    assert {r["lang"] for r in rows} == {"en", "vi"}
    for row in rows:  # every key where its salted hash puts it, forever
        assert row["id"] in keys[make.split_of(row["id"])], row["id"]
    # a blind file, when present, is a third part printed beside the others
    blind = tmp_path / "blind.jsonl"
    blind.write_text('{"id": "b-1", "title": "Vietnam, US hold talks", "text": "The two '
                     'sides met in Hanoi.", "relevant": true}\n', encoding="utf-8")
    parts = labelled_parts(blind=blind)
    assert [r["id"] for r in parts["blind"]] == ["b-1"]
    assert "blind" not in labelled_parts(blind=tmp_path / "absent.jsonl")


def test_show_errors_never_lists_checking_items(capsys) -> None:
    from monitor.judge.eval import main
    assert main(["--show-errors"]) == 0
    out = capsys.readouterr().out
    checking = split_keys(SPLIT_DIR)["checking"]
    listed = [line.split()[2] for line in out.splitlines() if line.startswith("  tuning")]
    assert not set(listed) & checking
    assert "checking: errors not listed" in out


# -- the learned scorer: a near-miss is asked, and the reasons say what it answered -----------
def test_learned_scorer_speaks_in_the_reasons() -> None:
    import dataclasses

    topic = default_topic()
    assert topic.learned_model  # shipped, next to the topics file
    title, lead = ("Phó Thủ tướng tiếp lãnh đạo doanh nghiệp", "Phó Thủ tướng đề nghị các "
                   "doanh nghiệp Hoa Kỳ mở rộng đầu tư vào năng lượng sạch.")
    rules_only = judge(title, lead, topic=dataclasses.replace(topic, learned_model=""))
    assert not any(r["group"] == "learned" for r in rules_only.reasons)
    for high, relevant in ((0.0, True), (1.01, False)):  # any probability; none
        asked = dataclasses.replace(topic, learned_low=0.0, learned_high=high)
        verdict = judge(title, lead, topic=asked)
        if not all(r["met"] for r in verdict.reasons if r["group"] == "requirement"):
            pytest.fail(f"requirements not met: {verdict.reasons}")
        learned = next(r for r in verdict.reasons if r["group"] == "learned")
        assert 0 <= learned["probability"] <= 1 and learned["note"].startswith("near-miss")
        assert verdict.relevant is (relevant or rules_only.relevant)
        if relevant and not rules_only.relevant:
            assert "but relevant: learned scorer p" in verdict.reasons[-1]["note"]
            assert learned["terms"]  # the n-grams that pushed it most


def test_learned_scorer_is_the_tuning_part_model() -> None:
    """The shipped file is what scikit-learn fits on the tuning part, applied the same way."""
    pytest.importorskip("sklearn")
    import importlib.util

    from monitor.judge.eval import MORE
    from monitor.judge.learned import load_scorer
    spec = importlib.util.spec_from_file_location(
        "learned_bench", MORE.parents[2] / "bench" / "relevance_learned.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    tuning = labelled_parts()["tuning"]
    fitted = bench.model().fit([bench.text(r) for r in tuning],
                               [bool(r["relevant"]) for r in tuning])
    scorer = load_scorer(default_topic().learned_model)
    probs = fitted.predict_proba([bench.text(r) for r in tuning[:150]])[:, 1]
    for row, expected in zip(tuning[:150], probs, strict=True):
        got, _ = scorer.probability(row["title"], row["text"].split("\n")[0])
        assert abs(got - expected) < 1e-4, row["id"]


# -- the blind set: split once into blind-tuning and blind-checking ----------------------------
def _blind_split_module():
    import importlib.util

    from monitor.judge.eval import MORE
    spec = importlib.util.spec_from_file_location(
        "split_blind", MORE.parents[2] / "bench" / "split_relevance_blind.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_blind_split_is_by_salted_hash_and_keeps_derived_items_with_their_original() -> None:
    from monitor.judge.eval import BLIND, blind_split_keys, read_jsonl
    if not BLIND.exists():
        pytest.skip("no blind set")
    split = _blind_split_module()
    rows, keys = read_jsonl(BLIND), blind_split_keys(SPLIT_DIR)
    assert not keys["blind-tuning"] & keys["blind-checking"]
    assert keys["blind-tuning"] | keys["blind-checking"] == {r["id"] for r in rows}
    by_id = {r["id"]: r for r in rows}
    for row in rows:  # every key where its salted hash puts it, forever
        assert row["id"] in keys[split.part_of(row)], row["id"]
        if row.get("derived_from"):  # the same real article never in both parts
            original = by_id[row["derived_from"]]["id"]
            assert (row["id"] in keys["blind-tuning"]) == (original in keys["blind-tuning"])
    assert 0.4 <= len(keys["blind-tuning"]) / len(rows) <= 0.6
    parts = labelled_parts()
    assert {"blind-tuning", "blind-checking"} <= parts.keys() and "blind" not in parts


def test_show_errors_never_lists_blind_checking_items(capsys) -> None:
    from monitor.judge.eval import BLIND, blind_split_keys, main
    if not BLIND.exists():
        pytest.skip("no blind set")
    assert main(["--show-errors"]) == 0
    out = capsys.readouterr().out
    for part in ("tuning", "checking", "blind-tuning", "blind-checking", "blind-all"):
        assert any(line.startswith(part + " ") for line in out.splitlines()), part
    hidden = blind_split_keys(SPLIT_DIR)["blind-checking"] | split_keys(SPLIT_DIR)["checking"]
    listed = {line.split()[2] for line in out.splitlines() if line.startswith("  ")
              and not line.split()[1].startswith("errors")}
    assert not listed & hidden
    assert "blind-checking: errors not listed" in out and "blind-all: errors not" in out


# -- kinds of the blind round (real articles): own inputs of each kind --------------------------
SHIPS = [  # a US Navy ship named "USS ...", or the Seventh Fleet, visiting a Vietnamese port
    ("Tàu khu trục USS Mustin cập cảng Cam Ranh", "Sáng 5/3, tàu khu trục mang tên lửa của "
     "Hải quân Hoa Kỳ bắt đầu chuyến thăm 5 ngày tới tỉnh Khánh Hòa."),
    ("Cận cảnh tàu USS Blue Ridge ở cảng Tiên Sa", "Soái hạm của Hạm đội 7 neo đậu tại "
     "Đà Nẵng trong chuyến thăm 4 ngày."),
    ("USS Blue Ridge docks in Da Nang for five-day visit", "The Seventh Fleet's flagship "
     "arrived at Tien Sa port on Monday morning."),
]


@pytest.mark.parametrize(("title", "lead"), SHIPS)
def test_us_navy_ship_by_name_is_the_partner(title: str, lead: str) -> None:
    for form, t, ld in _forms(title, lead):
        verdict = judge(t, ld)
        assert verdict.relevant, (form, verdict.reasons)
        partner = next(r for r in verdict.reasons if r["group"] == "partner")
        assert partner["field"] == "title" and "uss" in partner["terms"], form


def test_us_navy_ship_without_vietnam_is_no_relations() -> None:
    for title, lead in (("USS Nimitz tập trận ở Biển Philippines", "Nhóm tác chiến tàu sân "
                         "bay diễn tập cùng hải quân Nhật Bản."),
                        ("USS Nimitz drills in the Philippine Sea", "The carrier group "
                         "exercised with the Japanese navy.")):
        for form, t, ld in _forms(title, lead):
            assert not judge(t, ld).relevant, form


PAIRS = [  # another country paired with the US by a dash, or two leaders
    ("Điện Kremlin: Hội nghị thượng đỉnh Nga - Mỹ vẫn đang được chuẩn bị",
     "Thủ tướng Slovakia tuyên bố không dự cuộc họp của liên minh, trong khi Ngoại trưởng "
     "Mỹ điện đàm với người đồng cấp."),
    ("Quan hệ Mỹ - Nhật trước sức ép thuế quan", "Thủ tướng Nhật Bản sẽ tới Washington gặp "
     "Tổng thống Mỹ vào tuần tới."),
    ("Putin - Trump call ends without a ceasefire deal", "The prime minister of Hungary "
     "offered Budapest as a venue for the next US-Russia meeting."),
    ("US-India trade talks stall over farm goods", "India's trade minister said the two "
     "sides would meet again in New Delhi."),
]


@pytest.mark.parametrize(("title", "lead"), PAIRS)
def test_another_country_paired_with_the_us(title: str, lead: str) -> None:
    for form, t, ld in _forms(title, lead):
        verdict = judge(t, ld)
        assert not verdict.relevant, (form, verdict.reasons)
        notes = [r["note"] for r in verdict.reasons if "note" in r]
        assert any("other_pairs" in n for n in notes), (form, notes)


def test_an_office_of_a_country_not_listed_before_is_foreign() -> None:
    for title in ("Thủ tướng Slovakia gặp Tổng thống Mỹ", "Slovakia's prime minister "
                  "meets US President"):
        for form, t, _ in _forms(title, ""):
            verdict = judge(t, "")
            assert not verdict.relevant, (form, verdict.reasons)
            assert any(r["group"] == "foreign" for r in verdict.reasons), form


def test_a_vietnam_us_dash_pair_is_still_bilateral() -> None:
    for title in ("Quan hệ Việt Nam - Mỹ trước sức ép thuế quan", "Vietnam-US ties under "
                  "tariff pressure"):
        for form, t, _ in _forms(title, "Hai bên nhất trí tiếp tục đàm phán."):
            assert judge(t, _).relevant, form


PEOPLE = [  # a private person named by nationality: a tourist, a vlogger, not the state
    ("Du khách Mỹ kể chuyện 2 tuần đạp xe xuyên Việt", "Anh Mark, 34 tuổi, đi từ Hà Nội "
     "vào TP HCM và ăn phở mỗi sáng."),
    ("Chàng trai Mỹ mê bánh mì Sài Gòn", "Sau ba năm sống ở Việt Nam, anh mở tiệm bánh mì "
     "riêng tại quận 1."),
    ("American vlogger falls for Hanoi street food", "His videos of Vietnamese noodle "
     "stalls have drawn two million views."),
    ("US tourists return to Vietnam's beaches", "Visitors from the US rose 20 percent in "
     "the first half, Vietnam's tourism authority said."),
]


@pytest.mark.parametrize(("title", "lead"), PEOPLE)
def test_a_person_by_nationality_is_no_relations(title: str, lead: str) -> None:
    for form, t, ld in _forms(title, lead):
        verdict = judge(t, ld)
        assert not verdict.relevant, (form, verdict.reasons)
        assert any(r["group"] == "people" for r in verdict.reasons), form


ELECTIONS = [  # the partner's election: home affairs, unless a message on the result
    ("Người Việt theo dõi sát cuộc bầu cử Mỹ", "Nhiều người dân Việt Nam thức khuya xem "
     "kết quả kiểm phiếu bầu cử tổng thống Mỹ.", False),
    ("Vietnamese students follow the US presidential election", "Students in Hanoi watched "
     "the results on election day.", False),
    ("Lãnh đạo Việt Nam điện mừng Tổng thống đắc cử Hoa Kỳ", "Chủ tịch nước gửi điện chúc "
     "mừng sau kết quả bầu cử tổng thống Mỹ.", True),
    ("Vietnam's leaders congratulate US president-elect", "The President sent a message "
     "after the US presidential election results were announced.", True),
]


@pytest.mark.parametrize(("title", "lead", "relevant"), ELECTIONS)
def test_the_partners_election_is_home_affairs(title: str, lead: str, relevant: bool) -> None:
    for form, t, ld in _forms(title, lead):
        verdict = judge(t, ld)
        assert verdict.relevant is relevant, (form, verdict.reasons)
        domestic = [r for r in verdict.reasons if r["group"] == "us_domestic"]
        assert domestic, form
        if relevant:
            assert "not counted: congratulation" in domestic[0]["note"], form


SENSES = [  # an entertainment word in another sense, and the same word as entertainment
    ("Embassy marks 30 years of Vietnam-US ties with a series of events", "The US Embassy "
     "and Vietnam's Foreign Ministry opened a photo exhibition in Hanoi.", True),
    ("Album ảnh: Chủ tịch nước tiếp Đại sứ Hoa Kỳ", "Chủ tịch nước tiếp Đại sứ Hoa Kỳ "
     "đến chào từ biệt, hai bên nhất trí thúc đẩy quan hệ Việt Nam - Hoa Kỳ.", True),
    ("Vietnamese actor lands role in US series", "The Hanoi-born actor will play a "
     "detective in the American crime drama.", False),
    ("Ca sĩ Việt ra mắt album tại Mỹ", "Nữ ca sĩ Việt Nam biểu diễn ở Los Angeles nhân dịp "
     "phát hành album mới.", False),
]


@pytest.mark.parametrize(("title", "lead", "relevant"), SENSES)
def test_entertainment_words_in_another_sense(title: str, lead: str, relevant: bool) -> None:
    for form, t, ld in _forms(title, lead):
        verdict = judge(t, ld)
        assert verdict.relevant is relevant, (form, verdict.reasons)
        penalised = any(r["group"] == "entertainment" for r in verdict.reasons)
        assert penalised is not relevant, (form, verdict.reasons)


def test_blind_parts_precision_and_recall() -> None:
    """Real articles labelled without the rules: the blind-checking part was never read
    item by item; floors a little under the figures in BENCHMARKS.md."""
    from monitor.judge.eval import BLIND
    if not BLIND.exists():
        pytest.skip("no blind set")
    parts = labelled_parts()
    tuning, checking = evaluate(parts["blind-tuning"]), evaluate(parts["blind-checking"])
    print(f"blind-tuning P {tuning['precision']:.3f} R {tuning['recall']:.3f}; "
          f"blind-checking P {checking['precision']:.3f} R {checking['recall']:.3f}")
    assert tuning["precision"] >= 0.97 and tuning["recall"] >= 0.97, tuning["errors"]
    assert checking["precision"] >= 0.95 and checking["recall"] >= 0.97, "see the figures"


# -- negative-context names that are also ordinary words (found by the soak's farm story
# "Vietnam and US open talks on semiconductor supply chains", sunk by "US Open") --------
@pytest.mark.parametrize(("title", "lead", "relevant"), [
    ("Vietnam and US open talks on semiconductor supply chains",
     "Vietnamese and American officials opened two days of talks in Hanoi on chips.", True),
    ("Vietnam, US open new consulate in Da Nang",
     "The US Embassy and Vietnam's Ministry of Foreign Affairs opened the consulate.", True),
    ("Việt Nam và Mỹ mở đàm phán về chuỗi cung ứng bán dẫn, US open door to chip firms",
     "Bộ trưởng Ngoại giao Việt Nam và Đại sứ Mỹ nhất trí mở rộng hợp tác bán dẫn.", True),
    ("Vietnam's central bank watches the US economy as Fed holds rates",
     "The State Bank of Vietnam kept rates unchanged after the Fed decision in Washington.",
     False),
    ("Vietnamese tennis player reaches US Open second round",
     "Ly Hoang Nam beat an American qualifier at the US Open in New York.", False),
    ("Tay vợt Việt Nam vào vòng hai US Open",
     "Lý Hoàng Nam thắng tay vợt Mỹ tại giải US Open ở New York.", False),
])
def test_capitalised_names_in_negative_context_match_as_written(
        title: str, lead: str, relevant: bool) -> None:
    """"US Open" (tennis) and "Fed" are negative context only as written: "US open talks"
    is the two states opening talks; a tennis match at the US Open is still sports."""
    for form in ("NFC", "NFD"):
        verdict = judge(unicodedata.normalize(form, title), unicodedata.normalize(form, lead))
        assert verdict.relevant is relevant, (form, title, verdict.reasons)


def test_the_soak_stories_are_judged_as_labelled() -> None:
    """bench/soak.py's stories (relevant / other) are articles the rules were not written
    from; the soak counts on each relevant one being alerted."""
    from pathlib import Path

    import yaml

    stories = yaml.safe_load((Path(__file__).resolve().parents[1] / "bench" /
                              "soak_stories.yaml").read_text(encoding="utf-8"))
    wrong = [story["title"] for kind in ("relevant", "other") for story in stories[kind]
             if judge(story["title"], "\n".join(story["paragraphs"])).relevant
             is not (kind == "relevant")]
    assert wrong == []
