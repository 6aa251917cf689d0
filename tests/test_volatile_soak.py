"""Issue 13: a farm whose pages change at every request (counters, relative times, live
clocks, rotating related blocks) crawled 20 times: no new version, no "updated" alert;
real edits published in the middle are each caught once, with the right kinds."""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.changes.volatile import mask
from monitor.extract import extract
from monitor.farm import Farm
from monitor.run import crawl
from monitor.sources import DEMO_CONFIG, load_settings

from .pages import alerts_file

CRAWLS = 20
SOURCES = ["laodong_en", "laodong_vi"]


def _now() -> str:
    return datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).isoformat(timespec="seconds")


EN = {
    "site": "laodong_en", "slug": "vietnam-us-minerals-talks", "lang": "en", "topic": "vn-us",
    "title": "Vietnam, US hold talks on critical minerals", "author": "Thanh Ha",
    "lead": "Vietnam and the United States held talks on rare earths and critical minerals "
            "in Hanoi on Tuesday.",
    "paragraphs": [
        "The talks were chaired by Minister Do Duc Duy and US Ambassador Marc Knapper, with "
        "24 officials from both sides taking part.",
        "The US will support Vietnam in surveying reserves, training geologists and building "
        "processing capacity that meets environmental standards.",
        "Ambassador Knapper said the cooperation reflects the Comprehensive Strategic "
        "Partnership between Vietnam and the United States.",
        "Both sides agreed to meet again in Washington later this year.",
    ],
}
VI = {
    "site": "laodong_vi", "slug": "viet-nam-hoa-ky-dam-phan-khoang-san", "lang": "vi",
    "topic": "vn-us", "title": "Việt Nam và Hoa Kỳ đàm phán hợp tác khoáng sản chiến lược",
    "author": "Thanh Hà",
    "lead": "Ngày 12/3, Việt Nam và Hoa Kỳ đã tổ chức phiên đàm phán về hợp tác đất hiếm và "
            "khoáng sản chiến lược tại Hà Nội.",
    "paragraphs": [
        "Phiên đàm phán do Bộ trưởng Đỗ Đức Duy và Đại sứ Hoa Kỳ Marc Knapper đồng chủ trì, "
        "với sự tham dự của 24 quan chức hai nước.",
        "Phía Hoa Kỳ sẽ hỗ trợ Việt Nam khảo sát trữ lượng, đào tạo chuyên gia địa chất và "
        "xây dựng năng lực chế biến đáp ứng tiêu chuẩn môi trường.",
        "Đại sứ Knapper cho biết hợp tác này thể hiện quan hệ Đối tác chiến lược toàn diện "
        "giữa Việt Nam và Hoa Kỳ.",
    ],
}
# crawl number -> (article, edit, the kinds it must get)
EDITS = {
    6: (EN, {"replace": {0: EN["paragraphs"][0].replace("24 officials", "31 officials")}},
        ["numbers"]),
    11: (VI, {"paragraphs": [*VI["paragraphs"], "Đính chính: Phiên đàm phán diễn ra ngày "
                             "12/3, không phải ngày 11/3 như đã đưa."]}, ["correction"]),
    15: (EN, {"paragraphs": [EN["paragraphs"][0].replace("24 officials", "31 officials"),
                             *EN["paragraphs"][1:3]]}, ["paragraph_removed"]),
}


@pytest.fixture
def volatile_farm() -> Iterator[Farm]:
    with Farm(articles=[]) as farm:
        farm.volatile = True
        for story in (EN, VI):
            farm.publish({**story, "published": _now()})
        yield farm


def test_volatile_mode_changes_the_page_but_not_the_masked_text(volatile_farm: Farm) -> None:
    url = volatile_farm.url_of("laodong_en", EN["slug"])
    profile = load_settings(DEMO_CONFIG, volatile_farm.variables).source("laodong_en").profile
    texts = []
    for _ in range(3):
        with urllib.request.urlopen(url) as response:
            texts.append(extract(response.read(), url, profile).text)
    assert len(set(texts)) == 3  # the stored text would change at every request ...
    assert len({mask(t) for t in texts}) == 1  # ... the masked text does not


def _count(db: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.mark.soak  # 20 crawls: `python -m pytest -m soak` (not in CI's run)
def test_twenty_crawls_of_a_volatile_farm(volatile_farm: Farm, tmp_path: Path) -> None:
    farm, db = volatile_farm, tmp_path / "soak.db"
    alerts = alerts_file(tmp_path / "alerts.yaml")
    updated = []
    for n in range(1, CRAWLS + 1):
        if n in EDITS:
            story, change, _ = EDITS[n]
            farm.edit(story["site"], story["slug"], change.get("paragraphs"),
                      change.get("replace"))
        result = crawl(DEMO_CONFIG, db, variables=farm.variables, sources=SOURCES,
                       alerts=alerts)
        assert result.ok and result.totals["errors"] == 0
        updated.append(result.totals["updated"])
    served = sum(farm.served.values())
    print(f"\nvolatile soak: {CRAWLS} crawls, {served} article pages served (each one "
          f"different), updated per crawl {updated}")
    assert served >= 2 * CRAWLS  # each article was fetched (and changed) at every crawl
    assert updated == [1 if n in EDITS else 0 for n in range(1, CRAWLS + 1)]
    versions = _count(db, "select article_id, kinds from versions where version > 1 "
                          "order by id")
    assert [json.loads(kinds) for _, kinds in versions] == [k for *_, k in EDITS.values()]
    assert _count(db, "select count(*) from alerts where kind = 'updated'") == [(3,)]
    # the EN and VI reports of one event are one story: one "new" alert
    assert _count(db, "select count(distinct story_id) from articles") == [(1,)]
    assert _count(db, "select count(*) from alerts where kind = 'new'") == [(1,)]
    changes = _count(db, "select changes from versions where version > 1 order by id")
    first = json.loads(changes[0][0])
    assert [c["op"] for c in first] == ["-", "+"] and "31 officials" in first[1]["text"]
