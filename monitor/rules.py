"""Extraction rules that hold on every page, kept as data apart from the code that
applies them (``monitor.extract``). Site-specific rules live in the source's profile
in ``config/sources.yaml``."""

from __future__ import annotations

# Nodes dropped before text extraction on every page: photo captions are metadata,
# never body text.
PRUNE_XPATHS: list[str] = [
    "//figcaption",
]

# Whole lines dropped from extracted text, by kind. Anchored: a line must *be* clutter,
# a sentence that merely mentions a comment or a source is kept.
CLUTTER_LINES: dict[str, str] = {
    "comment_counter": r"^(?:Comments?|Bình luận|Ý kiến)\s*\(\d+\)$",
    "view_counter": r"^(?:View count|Views|Lượt xem)\s*:?\s*[\d.,]+$",
    "photo_caption_marker": r"^.{0,300}- Ảnh \d+\.?$",
    "source_link": r"^(?:Source|Nguồn)\s*:?$",
    "related_heading": r"^(?:RELATED NEWS|Related news|Related articles|TIN LIÊN QUAN|"
                       r"Tin liên quan|Tin cùng chuyên mục|Xem thêm|Other news)$",
    "byline_pipe": r"^[^\W\d_][^\W\d_ .'-]*(?:[ .'-][^\W\d_]+){0,4}\s*\|$",
    "posted_on": r"^Ngày đăng\s+\d{1,2}/\d{1,2}/\d{4}",
    "lone_separator": r"^[|•·\-–—]$",
}

# Below this many characters of body text a page holds no article (a tag or menu page).
MIN_ARTICLE_CHARS = 100

# Meta tags and JSON-LD keys that carry the publication date, most trusted first.
DATE_META_XPATHS: list[str] = [
    "//meta[@property='article:published_time']/@content",
    "//meta[@itemprop='datePublished']/@content",
    "//meta[@name='pubdate']/@content",
    "//meta[@name='publishdate']/@content",
    "//time[@itemprop='datePublished']/@datetime",
]
JSON_LD_DATE_KEYS: list[str] = ["datePublished", "dateCreated"]

# Where a page names its title and author, most trusted first (cheap XPath look-ups; the
# site profile's own author XPath comes before these).
TITLE_XPATHS: list[str] = [
    "//meta[@property='og:title']/@content",
    "//meta[@name='twitter:title']/@content",
    "(//h1)[1]",
    "//head/title",
]
AUTHOR_XPATHS: list[str] = [
    "//meta[@name='author']/@content",
    "//meta[@property='article:author']/@content",
    "//*[@rel='author']",
]

# Letters that only Vietnamese uses among the languages we meet (language fallback when
# the page does not declare one).
VIETNAMESE_LETTERS = set(
    "ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"
)
