"""Data for cross-language story linking (``monitor.changes.dedupe``): how dates are written, and
capitalised words that are titles or sentence openers rather than parts of names."""

from __future__ import annotations

from datetime import timedelta, timezone

DEFAULT_TZ = timezone(timedelta(hours=7))  # when a stored date has no zone

MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
_MONTH = (r"(January|February|March|April|May|June|July|August|September|October|November|"
          r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?")
EN_DATE = _MONTH + r" (\d{1,2})(?:st|nd|rd|th)?\b"          # September 25
EN_DATE_DAY_FIRST = r"\b(\d{1,2}) " + _MONTH                # 25 September
VI_DATE_SHORT = r"\b(\d{1,2})[./](\d{1,2})\b(?![./,]\d)"     # 25.9, 25/9
VI_DATE_LONG = r"(?i)ngày (\d{1,2}) tháng (\d{1,2})"             # ngày 25 tháng 9

# Folded words that start capitalised runs without being names: titles, offices, openers.
NAME_STOPWORDS = {
    "the", "a", "an", "on", "in", "at", "for", "of", "and", "with", "during", "after", "mr",
    "mrs", "ms", "dr", "deputy", "prime", "minister", "president", "general", "secretary",
    "state", "foreign", "affairs", "ambassador", "advisor", "adviser", "national", "security",
    "senator", "vice", "chairman", "chairwoman", "party", "chief", "ministry", "government",
    "us", "u.s", "vietnam", "viet", "nam", "vietnamese", "american", "former", "head",
    "director", "governor", "mayor", "politburo", "member", "permanent", "lieutenant",
    "colonel", "major", "defense", "defence", "trade", "representative", "standing", "pho",
    "thu", "tuong", "bo", "truong", "chu", "tich", "nuoc", "tong", "bi", "dai", "su", "ong",
    "ba", "ngoai", "giao", "co", "van", "ninh", "quoc", "gia", "thuong", "nghi", "si", "hoa",
    "ky", "my", "hoi", "dong", "uy", "vien", "chinh", "phu", "ngay", "tai", "trong", "theo",
    "sau", "khi", "cac", "nhung", "hai", "ben", "doan", "dang", "cong", "san", "thanh", "tinh",
    "lanh", "dao",
}
