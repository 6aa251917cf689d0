"""Build tests/data/edits_labelled.jsonl: edits of farm articles, each labelled by hand
with its kinds (the labels below are written, not computed), EN and VI.

    python bench/make_edits_labelled.py

Each edit is a list of operations on one farm corpus article (title, lead, author,
published, paragraphs); the JSON line holds the article before and after (title, lead,
author, published, text = lead + paragraphs, one per line, as extraction stores it), the
labelled kinds, and the split (tuning or checking, fixed by a hash of the key).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.farm.content import FarmArticle, load_corpus  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "edits_labelled.jsonl"
EN1 = "us-funds-10-million-usd-for-uxo-clearance-in-quang-tri"
EN2 = "vietnam-exports-to-us-hit-record-in-11-months"
EN3 = "vietnam-repatriates-possible-remains-of-us-servicemen"
VI1 = "hoa-ky-tai-tro-ra-pha-bom-min-quang-tri"
VI2 = "dai-su-knapper-thuong-mai-viet-my-dat-ky-luc"
VI3 = "hoa-ky-ban-giao-dat-sach-dioxin-san-bay-bien-hoa"

# (key, article slug, operations, kinds). Operations: ("title"|"lead"|"author"|
# "published", value), ("sub", paragraph index, old, new), ("insert", index, text),
# ("delete", index), ("lead_sub", old, new), ("title_sub", old, new).
EDITS: list[tuple[str, str, list[tuple[Any, ...]], list[str]]] = [
    # headline
    ("en-headline-1", EN1, [("title", "US commits 10 million USD to clear bombs and mines in "
                                      "Quang Tri")], ["headline"]),
    ("en-headline-2", EN2, [("title_sub", "reach record", "hit all-time high of")],
     ["headline"]),
    ("vi-headline-1", VI1, [("title", "Mỹ tài trợ 10 triệu USD giúp Quảng Trị rà phá bom mìn")],
     ["headline"]),
    ("vi-headline-2", VI2, [("title_sub", "có thể lập kỷ lục mới", "sẽ lập kỷ lục")],
     ["headline"]),
    ("en-headline-numbers", EN2, [("title_sub", "108 billion", "110 billion")],
     ["headline", "numbers"]),
    ("vi-headline-numbers", VI1, [("title_sub", "10 triệu", "12 triệu")], ["headline", "numbers"]),
    # lead
    ("en-lead-1", EN1, [("lead_sub", "announced a three-year", "launched a three-year")],
     ["lead"]),
    ("en-lead-2", EN3, [("lead_sub", "was held at", "took place at")], ["lead"]),
    ("vi-lead-1", VI1, [("lead_sub", "đã công bố", "chính thức khởi động")], ["lead"]),
    ("vi-lead-2", VI3, [("lead_sub", "đã tổ chức lễ bàn giao", "chính thức bàn giao")], ["lead"]),
    ("en-lead-numbers", EN2, [("lead_sub", "up 24 percent", "up 26 percent")],
     ["lead", "numbers"]),
    ("vi-lead-numbers", VI2, [("lead_sub", "130 tỷ USD", "135 tỷ USD")], ["lead", "numbers"]),
    # numbers in the body
    ("en-numbers-1", EN1, [("sub", 0, "2,500 hectares", "2,800 hectares")], ["numbers"]),
    ("en-numbers-2", EN2, [("sub", 1, "USD 13.9 billion", "USD 14.2 billion")], ["numbers"]),
    ("en-numbers-3", EN1, [("sub", 3, "Around 30,000", "Around 35,000")], ["numbers"]),
    ("vi-numbers-1", VI1, [("sub", 0, "2.500 ha", "2.800 ha")], ["numbers"]),
    ("vi-numbers-2", VI2, [("sub", 4, "12 thỏa thuận", "15 thỏa thuận")], ["numbers"]),
    ("vi-numbers-3", VI1, [("sub", 1, "hơn 80%", "hơn 85%")], ["numbers"]),
    # quotes
    ("en-quote-1", EN1, [("sub", 2, "between the two countries.",
                          'between the two countries. "We will stay the course until the '
                          'land is safe," the representative said.')], ["quote"]),
    ("en-quote-2", EN2, [("sub", 3, "to reduce risks.", 'to reduce risks. "Exporters cannot '
                          'rely on one market forever," he warned.')], ["quote"]),
    ("vi-quote-1", VI1, [("sub", 2, "giữa hai nước.", "giữa hai nước. “Chúng tôi sẽ đồng "
                          "hành cho đến khi đất đai an toàn”, vị đại diện nói.")], ["quote"]),
    ("vi-quote-2", VI2, [("sub", 2, "trong thời gian tới.", "trong thời gian tới. “Minh bạch "
                          "là chìa khóa của tăng trưởng bền vững”, ông nhấn mạnh.")], ["quote"]),
    # paragraphs added
    ("en-para-added-1", EN1, [("insert", 5, "The project will be carried out by the Mines "
                               "Advisory Group together with provincial engineering units, "
                               "which have cleared more than a thousand sites since 2015.")],
     ["paragraph_added"]),
    ("en-para-added-2", EN3, [("insert", 2, "Officials from both countries attended the "
                               "repatriation ceremony held at Da Nang International Airport, "
                               "where honour guards carried the cases to the aircraft.")],
     ["paragraph_added"]),
    ("vi-para-added-1", VI1, [("insert", 5, "Dự án sẽ do Tổ chức MAG phối hợp với lực lượng "
                               "công binh của tỉnh thực hiện, đơn vị đã xử lý hơn một nghìn "
                               "điểm ô nhiễm từ năm 2015.")], ["paragraph_added"]),
    ("vi-para-added-2", VI3, [("insert", 3, "Người dân các phường xung quanh sân bay bày tỏ "
                               "vui mừng khi diện tích đất sạch được bàn giao, mở ra cơ hội "
                               "phát triển hạ tầng đô thị.")], ["paragraph_added"]),
    # paragraphs removed
    ("en-para-removed-1", EN1, [("delete", 3)], ["paragraph_removed"]),
    ("en-para-removed-2", EN2, [("delete", 5)], ["paragraph_removed"]),
    ("vi-para-removed-1", VI1, [("delete", 4)], ["paragraph_removed"]),
    ("vi-para-removed-2", VI2, [("delete", 3)], ["paragraph_removed"]),
    ("en-para-replaced", EN2, [("delete", 5), ("insert", 5, "Analysts expect the trend to "
                                "continue into the first quarter as retailers restock.")],
     ["paragraph_added", "paragraph_removed"]),
    ("vi-para-replaced", VI2, [("delete", 4), ("insert", 4, "Giới phân tích dự báo xu hướng "
                               "này sẽ tiếp tục trong quý đầu năm tới.")],
     ["paragraph_added", "paragraph_removed"]),
    # corrections
    ("en-correction-1", EN1, [("insert", 5, "Correction: An earlier version of this article "
                               "misstated the name of one of the districts.")],
     ["correction"]),
    ("en-correction-2", EN2, [("insert", 6, "Editor's note: This story has been updated with "
                               "customs data released on December 10.")], ["correction"]),
    ("vi-correction-1", VI1, [("insert", 5, "Đính chính: Bài viết trước đó ghi nhầm tên một "
                               "huyện thực hiện dự án.")], ["correction"]),
    ("vi-correction-2", VI2, [("insert", 5, "Cập nhật: Bộ Công Thương đã xác nhận số liệu "
                               "thương mại 10 tháng.")], ["correction"]),
    ("en-correction-numbers", EN1, [("sub", 0, "2,500 hectares", "2,300 hectares"),
                                    ("insert", 5, "Correction: This article has been "
                                     "corrected to give the area to be cleared.")],
     ["numbers", "correction"]),
    ("vi-correction-numbers", VI1, [("sub", 3, "30.000 học sinh", "20.000 học sinh"),
                                    ("insert", 5, "Đính chính: Số học sinh tham gia là "
                                     "20.000, không phải 30.000 như đã đưa.")],
     ["numbers", "correction"]),
    # byline
    ("en-byline-1", EN1, [("author", "Hung Tho and Minh Chau")], ["byline"]),
    ("en-byline-2", EN2, [("author", "Thanh Ha")], ["byline"]),
    ("vi-byline-1", VI1, [("author", "Hưng Thơ - Minh Châu")], ["byline"]),
    ("vi-byline-2", VI2, [("author", "Vân Anh")], ["byline"]),
    # date (re-dated story, with a body change: a wording edit too)
    ("en-date-1", EN1, [("published", "2024-08-21T09:00:00+07:00"),
                        ("sub", 0, "farming and", "farming, housing and")],
     ["date", "paragraph_edited"]),
    ("vi-date-1", VI1, [("published", "2024-08-21T09:00:00+07:00"),
                        ("sub", 4, "hiện đại", "hiện đại nhất")],
     ["date", "paragraph_edited"]),
    # cosmetic
    ("en-cosmetic-comma", EN1, [("sub", 0, "Gio Linh, Cam Lo", "Gio Linh,Cam Lo")],
     ["cosmetic"]),
    ("en-cosmetic-typo", EN2, [("sub", 3, "diversify", "diversfy")], ["cosmetic"]),
    ("en-cosmetic-typo-fix", EN1, [("sub", 1, "Specialised", "Specialized")], ["cosmetic"]),
    ("en-cosmetic-case", EN3, [("sub", 0, "the", "The")], ["cosmetic"]),
    ("vi-cosmetic-comma", VI1, [("sub", 0, "Gio Linh, Cam Lộ", "Gio Linh,Cam Lộ")],
     ["cosmetic"]),
    ("vi-cosmetic-typo", VI2, [("sub", 1, "năng lượng", "năng lương")], ["cosmetic"]),
    ("vi-cosmetic-hyphen", VI2, [("title_sub", "Việt - Mỹ", "Việt-Mỹ")], ["cosmetic"]),
    ("vi-cosmetic-space", VI3, [("sub", 0, "năm 2019,", "năm 2019 ,")], ["cosmetic"]),
    # wording changed in the body (none of the kinds above but paragraph_edited)
    ("en-wording-1", EN1, [("sub", 4, "agreed to step up", "pledged to expand")],
     ["paragraph_edited"]),
    ("vi-wording-1", VI1, [("sub", 4, "nhất trí tăng cường", "cam kết đẩy mạnh")],
     ["paragraph_edited"]),
    # several at once
    ("en-mixed-1", EN2, [("title_sub", "108 billion", "109 billion"),
                         ("sub", 0, "USD 108.4 billion", "USD 109.1 billion"),
                         ("delete", 5)], ["headline", "numbers", "paragraph_removed"]),
    ("vi-mixed-1", VI2, [("author", "Hoàng Anh - Vân Anh"),
                         ("insert", 5, "“Doanh nghiệp Mỹ luôn coi Việt Nam là điểm đến tin "
                          "cậy”, ông Knapper nói thêm tại cuộc gặp báo chí sau diễn đàn.")],
     ["byline", "paragraph_added", "quote"]),
]
SPLIT_SALT = "edits-v1"


def split_of(key: str) -> str:
    """tuning or checking, fixed by a hash of the key (never re-drawn)."""
    digest = hashlib.sha256(f"{SPLIT_SALT}:{key}".encode()).digest()
    return "tuning" if digest[0] % 2 == 0 else "checking"


def _apply(article: FarmArticle, ops: list[tuple[Any, ...]]) -> FarmArticle:
    paragraphs = list(article.paragraphs)
    changed = article
    for op in ops:
        name = op[0]
        if name in ("title", "lead", "author"):
            changed = replace(changed, **{name: op[1]})
        elif name == "published":
            from datetime import datetime
            changed = replace(changed, published=datetime.fromisoformat(op[1]))
        elif name == "title_sub":
            assert op[1] in changed.title, (article.slug, op)
            changed = replace(changed, title=changed.title.replace(op[1], op[2], 1))
        elif name == "lead_sub":
            assert op[1] in (changed.lead or ""), (article.slug, op)
            changed = replace(changed, lead=(changed.lead or "").replace(op[1], op[2], 1))
        elif name == "sub":
            assert op[2] in paragraphs[op[1]], (article.slug, op)
            paragraphs[op[1]] = paragraphs[op[1]].replace(op[2], op[3], 1)
        elif name == "insert":
            paragraphs.insert(op[1], op[2])
        elif name == "delete":
            del paragraphs[op[1]]
        else:
            raise ValueError(op)
    return replace(changed, paragraphs=paragraphs)


def _doc(article: FarmArticle) -> dict[str, Any]:
    lines = [article.lead, *article.paragraphs] if article.lead else article.paragraphs
    return {"title": article.title, "lead": article.lead, "author": article.author,
            "published": article.published.isoformat(),
            "text": "\n".join(re.sub(r"\s+", " ", p).strip() for p in lines)}


def build() -> list[dict[str, Any]]:
    """Every labelled edit as a JSON-ready dict."""
    corpus = {a.slug: a for a in load_corpus()}
    rows = []
    for key, slug, ops, kinds in EDITS:
        before = corpus[slug]
        rows.append({"key": key, "lang": before.lang, "site": before.site, "slug": slug,
                     "split": split_of(key), "kinds": sorted(kinds),
                     "before": _doc(before), "after": _doc(_apply(before, ops))})
    return rows


def main() -> None:
    rows = build()
    with OUT.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    halves = {s: sum(r["split"] == s for r in rows) for s in ("tuning", "checking")}
    print(f"{len(rows)} edits -> {OUT} ({halves})")


if __name__ == "__main__":
    main()
