"""Change-monitoring rules, kept as data apart from the code that applies them
(``monitor.changes.volatile``, ``monitor.changes.edits``, ``monitor.changes.removals``).

Site-specific volatile patterns live in a source's profile (``volatile:`` in
``config/profiles.yaml``); these hold on every page.
"""

from __future__ import annotations

# --------------------------------------------------------------------------- volatile text
# A number as pages print counters: 7, 1,204, 1.204, 1 204, 3.8k.
_NUM = r"\d{1,3}(?:[.,\u00a0 ]\d{3})+|\d+(?:[.,]\d+)?\s?[kKmM]?"
_COUNTED = (r"views?|lượt xem|lượt đọc|reads?|comments?|bình luận|ý kiến|shares?|"
            r"lượt chia sẻ|likes?|lượt thích|lượt bình luận|followers?|người theo dõi|"
            r"lượt theo dõi|subscribers?|người đăng ký kênh|reactions?|lượt tương tác|"
            r"lượt nghe|plays?|listens?")
_LABELS = (r"view count|views?|lượt xem|lượt đọc|reads?|comments?|bình luận|ý kiến|shares?|"
           r"lượt chia sẻ|likes?|lượt thích|followers?|người theo dõi|theo dõi|"
           r"subscribers?|reactions?|total votes|votes|tổng số phiếu|tổng số lượt bình chọn|"
           r"số phiếu|lượt bình chọn")
_UNITS = r"seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|giây|phút|giờ|tiếng|ngày|tuần"
_CLOCK = r"\d{1,2}[:h]\d{2}(?::\d{2})?(?:\s?[AaPp]\.?[Mm]\.?)?"
_DATE = r"\d{1,2}[/.-]\d{1,2}(?:[/.-]\d{2,4})?"
_ZONE = r"(?:\s*\(?(?:GMT|UTC|ICT)\s?[+-]?\d{0,2}\)?)?"
# Emoji as reaction bars print them (with variation selector and joiners).
_EMOJI = r"(?:[\u2600-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff][\ufe0f\u200d]*)+"
_PERCENT = r"\d{1,3}(?:[.,]\d+)?\s?%"
_BALLOTS = r"votes?|phiếu|lượt bình chọn|lượt chọn"
_DURATION = r"(?:\d{1,2}:)?\d{1,2}:\d{2}"

# Text that changes by itself between two fetches of the same article, by kind. Applied
# (case-insensitive) to *meta lines* only: lines of at most VOLATILE_MAX_WORDS words (a
# counter or time line, a "Posted 2 hours ago · 1,204 views" strip), never inside a long
# sentence, where the same words are news ("the talks began 3 hours ago").
VOLATILE: dict[str, str] = {
    # "1,204 views", "1.204 lượt xem", "12 bình luận", "3 comments"
    "counter_number_first": rf"(?<!\w)(?:{_NUM})\s*(?:{_COUNTED})(?!\w)",
    # "Views: 1,204", "Lượt xem: 1.204", "Comment (0)", "Bình luận (12)"
    "counter_label_first": rf"(?<!\w)(?:{_LABELS})\s*[:(]?\s*(?:{_NUM})\s*\)?",
    # "Posted 2 hours ago", "5 giờ trước", "đăng 10 phút trước", "an hour ago"
    "relative_time": rf"(?:(?:posted|published|updated|đăng|cập nhật)\s+)?"
                     rf"(?:\d+|an?|one|vài|mấy)\s*(?:{_UNITS})\s*(?:ago|trước)(?!\w)",
    # "just now", "vừa xong", "moments ago", "hôm qua"
    "relative_word": r"(?<!\w)(?:just now|moments? ago|vừa xong|vừa mới đăng|mới đây)(?!\w)",
    # "Updated 14:32", "Last updated: 14:32 25/03/2024", "Cập nhật lúc 9h05"
    "updated_stamp": rf"(?:last\s+)?(?:updated|update|cập nhật)\s*(?:at|lúc)?\s*:?\s*"
                     rf"(?:lúc\s*)?{_CLOCK}(?:\s*,?\s*(?:ngày\s*)?{_DATE})?{_ZONE}",
    # live widgets inside the article body, whose only change is a number (field case
    # 24): a reaction bar "👍 1.204 ❤️ 87 😮 12"
    "reaction_bar": rf"^\s*(?:{_EMOJI}\s*(?:{_NUM})\s*[|·•,]?\s*)+$",
    # a reader poll's live results: "Rất tích cực: 1.234 phiếu (68%)", "62% (310 votes)"
    "poll_result": rf"(?<!\w)(?:(?:{_NUM})\s*(?:{_BALLOTS})\s*\(\s*{_PERCENT}\s*\)|"
                   rf"{_PERCENT}\s*\(\s*(?:{_NUM})\s*(?:{_BALLOTS})\s*\))",
    # an exchange-rate or index ticker: "USD/VND 25.245 ▲0,12%", "VN-Index: 1.254,3 điểm"
    "rate_ticker": rf"(?<!\w)(?:[A-Z]{{3}}/[A-Z]{{3}}|VN-?Index|HNX-?Index|UPCoM-?Index|"
                   rf"giá vàng SJC|vàng SJC|Dow Jones|Nasdaq|S&P 500)\s*:?\s*(?:{_NUM})(?:[.,]\d+)?"
                   rf"(?:\s*(?:đồng|VND|USD|điểm|points?))?"
                   rf"(?:\s*[▲▼↑↓+\-−]\s*(?:{_NUM})\s*%?)*(?:\s*\(\s*[+\-−]?{_PERCENT}\s*\))?",
    # an audio or video player's duration or position: "Thời lượng: 03:45", "01:12 / 03:45"
    "media_duration": rf"(?<!\w)(?:(?:duration|thời lượng|length)\s*:?\s*{_DURATION}|"
                      rf"{_DURATION}\s*/\s*{_DURATION}|[▶►⏵]\s*{_DURATION})",
    # an aggregate rating with its live count: "4,1/5 (123 lượt đánh giá)", "4.5 ★ (87)"
    "rating": rf"(?<!\w)\d(?:[.,]\d)?\s*(?:/\s*(?:5|10)|★|⭐)\s*\(\s*(?:{_NUM})\s*"
              rf"(?:ratings?|reviews?|votes?|lượt đánh giá|đánh giá|lượt)?\s*\)",
    # a live-blog clock or "as of" line: "14:32:10", "10:05 AM GMT+7", "Hà Nội, 14:32"
    "live_clock": rf"^(?:[\w ]{{0,20}},\s*)?(?:live|trực tiếp|as of|tính đến)?\s*[:|·-]?\s*"
                  rf"{_CLOCK}(?:\s*,?\s*{_DATE})?{_ZONE}$",
}
VOLATILE_MAX_WORDS = 12
# Characters a CMS adds or drops between two renderings of the same text (soft hyphens,
# zero-width spaces, word joiners, byte-order marks, direction marks): removed before two
# versions are compared, with Unicode NFC and every kind of space read as a space
# (dgtlmoon/changedetection.io#574, #133).
INVISIBLE = "\u00ad\u200b\u2060\ufeff\u200e\u200f\u180e"
# After masking, a meta line left with at most this many words (labels such as "Posted",
# "|") is dropped from the masked text altogether: its presence is volatile too.
VOLATILE_RESIDUE_WORDS = 2
# What a masked span becomes: one token for every kind, so that "just now" and "3 minutes
# ago" (two rules) mask alike.
MASK = "\u27e8volatile\u27e9"

# --------------------------------------------------------------------------- edit kinds
# An added sentence or paragraph opening with one of these is a correction or editor's
# note (case-insensitive, at the start).
CORRECTION_MARKERS: list[str] = [
    r"correction\s*[:.-]", r"corrections?\s+and\s+clarifications", r"clarification\s*[:.-]",
    r"editor'?s note\s*[:.-]?", r"update\s*[:.-]", r"updated\s*[:.-]",
    r"\(?(?:this (?:article|story|report) (?:has been|was) (?:corrected|updated|amended))",
    r"an earlier version of this (?:article|story)",
    r"đính chính\s*[:.-]?", r"cải chính\s*[:.-]?", r"cập nhật\s*[:.-]",
    r"ghi chú của (?:ban )?biên tập",
    r"\(?(?:bài viết|bài báo) (?:đã được|được) (?:cập nhật|chỉnh sửa|đính chính)",
    r"tòa soạn (?:xin )?(?:đính chính|cải chính)",
]
# Quotation marks whose content is a quote (straight, curly, guillemets).
QUOTE_SPANS: list[str] = [r"“([^”]{3,})”", r'"([^"]{3,})"', r"«([^»]{3,})»", r"‘([^’]{8,})’"]
# A figure: amounts, counts, percentages, dates and times written in digits.
NUMBER = r"\d+(?:[.,:/]\d+)*"
# Paragraphs at least this similar (difflib ratio) are one paragraph edited, not one
# removed and another added.
PARAGRAPH_SAME = 0.55
# The whole edit is cosmetic when, ignoring case, punctuation and whitespace, at most
# COSMETIC_MAX_CHARS characters change (typo scale) and no figure, quote, name of a
# headline or byline changes: it never alerts by default.
COSMETIC_MAX_CHARS = 6
# ... and each changed word stays this similar to the word it replaces (difflib ratio):
# "diversify"/"diversfy", "lượng"/"lương" are typos; "Thanh Ha"/"Minh Quan" is not.
COSMETIC_WORD_SIMILARITY = 0.7
# Which paragraph counts as the lead when the page gives none: the first.
LEAD_PARAGRAPHS = 1

# --------------------------------------------------------------------------- removals
# A page that answers one of these on a re-check of a known article: it is gone.
GONE_STATUSES = frozenset({404, 410})
# Consecutive checks that must find it gone before it is a removal (a 5xx, a timeout or a
# refused connection is no evidence either way: it neither counts nor resets).
REMOVAL_CONFIRMATIONS = 2
# A page whose title, heading or any whole line says the article is gone (anchored,
# case-insensitive).
REMOVAL_NOTICES: list[str] = [
    r"(?:this|the) (?:article|story|page|content) (?:has been|was|is) "
    r"(?:removed|deleted|unpublished|taken down|withdrawn)\.?",
    r"(?:this|the) (?:article|story|page) (?:you requested |you are looking for )?"
    r"(?:does not|doesn't|no longer) exists?\.?",
    r"(?:article|content) (?:removed|unavailable|not found)\.?",
    r"(?:bài viết|nội dung|tin bài|trang) (?:này )?(?:đã bị|đã được) "
    r"(?:gỡ|gỡ bỏ|xóa|xoá|thu hồi)\.?",
    r"(?:bài viết|nội dung|tin bài|trang) (?:này )?(?:không tồn tại|không còn tồn tại)\.?",
    r"(?:xin lỗi,?\s*)?(?:bài viết|nội dung) (?:bạn tìm )?không (?:tồn tại|còn)\.?",
]

# --------------------------------------------------------------------------- re-checks
# The re-check schedule of stored articles (monitor.changes.recheck, whose docstring gives
# the model and where each number comes from; bench/recheck_sim.py measures them).
# c: an article is looked at again after RECHECK_FACTOR x its age (counted from its last
# change seen, when it has one), divided by its own edit-rate multiplier.
RECHECK_FACTOR = 0.15
# After a change is seen the age clock restarts from a point before it: this share of the
# article's age at the change is kept (an edit makes it young again, not newborn).
RECHECK_AGE_KEPT = 0.1
# The prior edit hazard A / (age + tau): RECHECK_PRIOR_EDITS is A (edits per unit of
# log-age: ~0.5 edits over an article's first year), RECHECK_HAZARD_OFFSET is tau (s).
RECHECK_PRIOR_EDITS = 0.05
RECHECK_HAZARD_OFFSET = 3600.0
# Weight of the prior in the article's own rate multiplier (Gamma(a, a) prior, mean 1):
# rho = (a + changes seen) / (a + prior edits expected over the time watched).
RECHECK_PRIOR_WEIGHT = 0.5
# Value of a check = weight x probability the article changed since its last check.
RECHECK_RELEVANT_WEIGHT = 1.0
RECHECK_OTHER_WEIGHT = 0.25  # an irrelevant article: an edit rarely makes it relevant
# A check that failed (5xx, timeout) is tried again after this many seconds (within the
# bounds): no evidence either way, and a site in trouble is not hammered.
RECHECK_RETRY = 3600.0
# The default budget: this share of what the source's download_delay allows (requests per
# hour), the delay taken as at least RECHECK_BUDGET_MIN_DELAY seconds (0.5 s: 720 an hour).
RECHECK_BUDGET_SHARE = 0.1
RECHECK_BUDGET_MIN_DELAY = 0.5
# The budget is per sliding window of this many seconds.
RECHECK_BUDGET_WINDOW = 3600.0
