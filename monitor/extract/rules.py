"""Extraction rules that hold on every page, kept as data apart from the code that
applies them (``monitor.extract.article``). Site-specific rules live in the source's profile
in ``config/sources.yaml``."""

from __future__ import annotations

# Nodes dropped before text extraction on every page: photo captions are metadata,
# never body text.
PRUNE_XPATHS: list[str] = [
    "//figcaption",
]

# Reader comments inside a profile's body container (``monitor.extract.blocks.drop_comments``):
# what trafilatura's comment exclusion does on the generic path, for the profile path,
# which reads its container block by block. By kind: a regex matched against each class
# token and the id of an element (case-insensitive, the whole token). "commentary" (an
# opinion column) never matches.
COMMENT_MARKS: dict[str, str] = {
    # WordPress and most CMSs: #comments, .comments-area, ol.commentlist, li.comment,
    # .comment-list, .comment-respond, #respond, .article-comments, .CommentBox
    "comment_block": r"(?:[a-z0-9]+[-_])*comments?(?:[-_]?(?:list|section|area|box|wrap|"
                     r"wrapper|form|container|block|thread|respond|items?|body|content|"
                     r"widget|zone|panel|holder|inner|main|s))*(?:[-_][a-z0-9]+)*",
    "comment_list": r"commentlist|commentbox|commentlists|comment[-_]?respond|respond",
    # Disqus and Facebook comment plugins
    "plugin": r"disqus(?:[-_]thread)?|dsq[-_]comments|fb[-_]comments?|"
              r"(?:fb|facebook)[-_]?comment[\w-]*",
    # Vietnamese CMSs: box-binh-luan, binhluan, ykien-bandoc
    "vietnamese": r"(?:[a-z0-9]+[-_])*(?:binh[-_]?luan|y[-_]?kien[-_]?ban[-_]?doc|"
                  r"ykien[-_]?bandoc)(?:[-_][a-z0-9]+)*",
}
# Cookie consent banners inside a body container, removed with the comment sections: a
# class token or id naming one (cookie-banner, cookie-consent, cookie-notice, gdpr-…).
CONSENT_MARKS: dict[str, str] = {
    "cookie_consent": r"(?:[a-z0-9]+[-_])*(?:cookies?|consent|gdpr|cmp)(?:[-_]?(?:banner|"
                      r"consent|notice|bar|popup|box|wall|dialog|modal|message|law|"
                      r"container|wrapper))+(?:[-_][a-z0-9]+)*",
}
# Words one of those marks holds (a cheap test before the regexes).
MARK_WORDS = ("comment", "binh", "luan", "kien", "disqus", "dsq", "respond", "cookie",
              "consent", "gdpr", "cmp")
# A heading that opens a comment section (anchored, case-insensitive): the block it
# heads is comments even without a marked class.
COMMENT_HEADINGS = (r"^(?:bình luận|ý kiến bạn đọc|ý kiến độc giả|comments?|reader comments|"
                    r"\d+\s+(?:comments?|bình luận|ý kiến)|(?:bình luận|ý kiến|comments?)"
                    r"\s*\(\d+\)|leave a (?:comment|reply)|gửi bình luận|viết bình luận)$")
COMMENT_HEADING_TAGS = ("h2", "h3", "h4", "h5", "h6", "summary")
# ... or an element classed as a title (first in its block, its whole text the heading).
COMMENT_HEADING_CLASSES = ("title", "heading", "header")
# On a whole page (the generic path), a block holding this share of the page's paragraph
# text or more is not taken for comments (it may be the article in a marked wrapper).
COMMENT_MAX_PAGE_SHARE = 0.5
# Elements whose marks never make a comment block: the text itself.
COMMENT_NEVER_TAGS = {"p", "a", "span", "strong", "em", "b", "i", "h1", "img", "time",
                      "article", "main", "body", "html"}

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
    # an ad slot's label left in the body (thomastuts/article-extractor#1)
    "ad_label": r"(?i:^(?:advertisement|advertising|ads?|sponsored|quảng cáo|tài trợ|"
                r"scroll to continue(?: with content)?|(?:story|article) continues below"
                r"(?: (?:this )?advertisement)?|continue reading below|"
                r"nội dung tiếp theo bên dưới quảng cáo)\W*$)",
    # a cookie consent notice (adbar/trafilatura#569, firecrawl/firecrawl#78)
    "cookie_notice": r"(?i:^(?=.{0,400}$)(?:we use cookies|we and our partners use cookies|"
                     r"this (?:web)?site uses cookies|by (?:continuing|using) (?:to use )?"
                     r"(?:this|our) (?:web)?site,? you (?:agree|consent) to (?:our|the) use "
                     r"of cookies|chúng tôi sử dụng cookie|trang (?:web|này) sử dụng cookie|"
                     r"cookie settings|cài đặt cookie)\b)",
}

# Below this many characters of body text a page holds no article (a tag or menu page).
MIN_ARTICLE_CHARS = 100
# ... unless the page says it is one item (a video page, a paywalled teaser, a photo
# story): its og:type or JSON-LD @type is one of these; then MIN_ITEM_CHARS is enough.
MIN_ITEM_CHARS = 30
ITEM_OG_TYPES = ("article", "video.movie", "video.episode", "video.other", "music.song")
ITEM_JSON_LD_TYPES = {"VideoObject", "ImageGallery", "MediaObject", "AudioObject"}
ITEM_OG_TYPE_XPATH = "//meta[@property='og:type']/@content"

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
# A headline's own dashes are not separators: a title read from og:title, twitter:title
# or <title> loses a part at its start or end only when that part is the site's name
# (``monitor.extract.pagemeta.strip_site_name``: outlet_names, og:site_name,
# application-name, the JSON-LD publisher, the host name; at the start, not the host),
# or when the page's <h1> shows the headline without it. A title read from the <h1> is
# never cut.
TITLE_SEPARATORS = r"(\s[|–—·»]\s|\s-\s|:\s)"
TITLE_HEADING_XPATH = "(//h1)[1]"
# A part of at most this many words is the site's name when a site name of 4 letters or
# more is inside it ("Tuổi Trẻ Online") or it is inside a site name and covers this share
# of it.
TITLE_SITE_PART_MAX_WORDS = 4
TITLE_SITE_NAME_SHARE = 0.75
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

# --------------------------------------------------------------------------- generic pages
# Signals ``monitor.extract.fusion`` uses on pages without a site profile body container.

# Where a page names its title: an extracted first line equal to (or nearly) one of these
# is the title echoed, not body text. Looked for in the first TITLE_ECHO_LINES lines.
TITLE_ECHO_XPATHS: list[str] = [
    "//meta[@property='og:title']/@content",
    "//meta[@name='twitter:title']/@content",
    "//h1",
    "//head/title",
]
TITLE_ECHO_LINES = 3

# schema.org types whose ``articleBody`` is the article text.
JSON_LD_ARTICLE_TYPES = {
    "Article", "NewsArticle", "BlogPosting", "ReportageNewsArticle", "AnalysisNewsArticle",
    "OpinionNewsArticle", "BackgroundNewsArticle", "TechArticle", "ScholarlyArticle",
}

# "Read more: <headline>" and the like: dropped when the rest of the line is a link.
SEE_ALSO_PREFIX = (
    r"\W*(?:(?:read more|read also|also read|see more|see also|more|related(?: post| posts| "
    r"articles?| stories| news| content| reading)?|recommended|don'?t miss|watch|listen|"
    r"xem thêm|đọc thêm|tin liên quan|bài liên quan)\s*[:|\-–—]|also on [\w.]+\s)"
)

# A line this long (in words) or longer that is wholly a link's text and does not end
# like a sentence is a headline from a list of other articles.
LINK_HEADLINE_MIN_WORDS = 4

# A line that is only a see-also heading ("DON'T MISS", "You may also like..."): dropped,
# with the run of link lines under it.
SEE_ALSO_HEADING = (
    r"\W*(?:read more|read also|also read|see more|see also|more stories|more news|"
    r"related(?: posts?| articles?| stories| news| content| reading| coverage)?|recommended(?: "
    r"for you| stories| articles)?|don'?t miss|you may also like|you might also like|"
    r"most read|most popular|trending|popular stories|top stories|latest news|"
    r"xem thêm|đọc thêm|tin liên quan|bài liên quan|tin cùng chuyên mục|tin khác|"
    r"bài viết liên quan|có thể bạn quan tâm|đọc nhiều)\W*"
)

# A teaser of another article: a long excerpt cut off with an ellipsis, in a small card
# (at most TEASER_CARD_MAX_PARAGRAPHS paragraphs, found within TEASER_CARD_MAX_DEPTH
# levels up) with a headline link of its own. Two or more bound a block, dropped whole.
TEASER_END = r"\w\s*(?:…|\.\.\.|\[…\]|\[\.\.\.\])$"
TEASER_MIN_WORDS = 15
TEASER_HEADLINE_MIN_WORDS = 3
TEASER_CARD_MAX_PARAGRAPHS = 2
TEASER_CARD_MAX_DEPTH = 4
TEASER_MAX_CHECKS = 50

# A list of teaser cards (other stories under "Video khác", "Most read"): at least
# CARD_LIST_MIN_CARDS sibling blocks with the same tag and first class, each with a
# headline link (TEASER_HEADLINE_MIN_WORDS words or more) and a summary of
# CARD_SUMMARY_MIN_WORDS words or more besides its links. An extracted line that is a
# card's summary is dropped, ellipsis or not, when the list does not hold the article's
# first line (a listicle's items, under its intro, are the article).
CARD_LIST_MIN_CARDS = 2
CARD_MAX_NODES = 60
CARD_TAGS = ("div", "li", "article", "section")
CARD_SUMMARY_MIN_WORDS = 8

# Prompts and notices around an article, by kind (generic pages). Anchored like
# CLUTTER_LINES: a line must *be* the prompt.
PROMPT_LINES: dict[str, str] = {
    "copyright": r"^(?:©|\(c\)\s|copyright\b|bản quyền\b)",
    "follow_us": r"^(?:follow|like|join)\b.{0,120}\b(?:twitter|facebook|instagram|youtube|"
                 r"linkedin|tiktok|telegram|zalo)\b",
    "newsletter": r"^(?=.{0,300}$)(?=.*\b(?:sign up|subscribe|signup|register)\b)"
                  r"(?=.*\b(?:newsletters?|inbox|e-?mail updates)\b)",
    "newsletter_vi": r"^đăng ký (?:nhận )?bản tin",
    "share_prompt": r"^(?:share (?:this|on)\b|like this (?:story|article)|"
                    r"(?:click|tap) (?:here )?to share)",
    "comment_prompt": r"^(?:\d+\s+)?comments?$|^(?:tell us what you think|"
                      r"leave a (?:comment|reply)|join the (?:discussion|conversation)|"
                      r"post a comment)\b",
}

# --------------------------------------------------------------------------- charsets
# Used by ``monitor.extract.charset`` on pages whose bytes are not UTF-8.

# Codecs charset detection may choose from: the legacy code pages of the languages the
# sources publish in (Vietnamese, English), plus the common ones of neighbouring scripts.
DETECT_CHARSETS: list[str] = [
    "cp1258", "cp1252", "latin_1", "iso8859_15", "cp1250", "cp1251", "koi8_r",
    "gb18030", "big5", "shift_jis", "euc_jp", "euc_kr", "utf_16",
]
# Decoded as windows-1258, at least this many tone marks composing into letters mark
# the page as Vietnamese windows-1258.
CP1258_MIN_COMPOSED = 3
# Charset labels Python does not know under that name.
CHARSET_ALIASES: dict[str, str] = {
    "windows-1258": "cp1258", "x-cp1258": "cp1258", "vn-1258": "cp1258",
    "iso-8859-8-i": "iso8859-8", "x-sjis": "shift_jis", "x-euc-jp": "euc_jp",
    "unicode": "utf-16", "ks_c_5601-1987": "euc_kr",
}

# --------------------------------------------------------------------------- metadata
# Where a page gives its last modification time, most trusted first.
MODIFIED_META_XPATHS: list[str] = [
    "//meta[@property='article:modified_time']/@content",
    "//meta[@property='og:updated_time']/@content",
    "//meta[@itemprop='dateModified']/@content",
    "//meta[@name='lastmod']/@content",
    "//meta[@name='last-modified']/@content",
    "//time[@itemprop='dateModified']/@datetime",
]
JSON_LD_MODIFIED_KEYS: list[str] = ["dateModified"]

# Photos kept as metadata: every image inside a profile's body container; on a whole
# page, images in <figure> or in a small photo table, and the page's og:image.
IMAGE_XPATH_CONTAINER = ".//img"
IMAGE_XPATH_PAGE = "//figure//img | //table[contains(@class, 'image')]//img"
OG_IMAGE_XPATH = "//meta[@property='og:image']/@content"
IMAGE_TABLE_MAX_ROWS = 3
# Where an <img> keeps its address, in order (lazy loaders: a placeholder in src).
IMAGE_SRC_ATTRIBUTES = ("src", "data-src", "data-original", "data-lazy-src")
MAX_IMAGES = 30

# schema.org articleBody as a vote: it agrees with the extraction when it holds at least
# this share of the extraction's 4-word shingles; then extracted lines of this many words
# or more that share no shingle with it are dropped.
ARTICLE_BODY_AGREEMENT = 0.8
ARTICLE_BODY_MIN_WORDS = 4

# --------------------------------------------------------------------------- vote
# ``monitor.extract.vote``: on pages without a profile body container, trafilatura's and
# readability-lxml's bodies are candidates; the one agreeing best with the consensus of
# the voters wins. Below VOTE_MIN_VOTERS voices (voters missing or failing) trafilatura
# wins; a challenger must beat it by VOTE_MARGIN of mean shingle F1.
VOTE_MIN_VOTERS = 3
VOTE_MARGIN = 0.0
# Block elements that start a new line when a voter's HTML is turned into text.
VOTE_BLOCK_TAGS = ("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td",
                   "th", "blockquote", "pre", "section", "article", "ul", "ol", "table",
                   "dd", "dt", "figure", "header", "footer")
# ISO 639-1 code (``<html lang>``) → jusText stoplist name; other languages use
# jusText's language-independent mode.
JUSTEXT_LANGUAGES: dict[str, str] = {
    "en": "English", "vi": "Vietnamese", "fr": "French", "de": "German", "es": "Spanish",
    "it": "Italian", "pt": "Portuguese", "nl": "Dutch", "ru": "Russian", "pl": "Polish",
    "cs": "Czech", "sv": "Swedish", "da": "Danish", "fi": "Finnish", "no": "Norwegian_Bokmal",
    "nb": "Norwegian_Bokmal", "tr": "Turkish", "uk": "Ukrainian", "id": "Indonesian",
    "ms": "Malay", "ro": "Romanian", "hu": "Hungarian", "el": "Greek", "ko": "Korean",
    "bg": "Bulgarian", "hr": "Croatian", "sk": "Slovak", "sl": "Slovenian", "ca": "Catalan",
}

# --------------------------------------------------------------------------- structure
# ``monitor.extract.blocks``: the text of a profile's body container, one block per line.
BLOCK_TAGS = ("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "blockquote",
              "pre", "section", "article", "ul", "ol", "table", "dd", "dt", "header",
              "footer", "figure", "center")
SKIP_TAGS = ("script", "style", "noscript", "iframe", "svg", "form", "button", "select",
             "template", "figcaption", "video", "audio", "object", "embed")
# Generic pages: list items and sub-headings trafilatura dropped between the paragraphs it
# kept (located by their exact text, at least GAP_MIN_ANCHOR_CHARS long) are put back,
# unless mostly link text or inside these tags / classes.
GAP_PARAGRAPH_TAGS = ("p", "li", "h2", "h3", "h4", "blockquote", "td")
GAP_FILL_TAGS = ("li", "h2", "h3", "h4", "h5", "h6")
# Blocks read from the later parts of a split body.
SPLIT_BODY_TAGS = ("p", "li", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre")
GAP_MIN_ANCHOR_CHARS = 40
# A paragraph that is wholly a link (mozilla/readability#878), between two kept
# paragraphs, is put back when it reads as a sentence.
LINKED_PARAGRAPH_MIN_WORDS = 12
LINKED_PARAGRAPH_ENDS = (".", "!", "?", "…", '"', "”", ".)")
LINKED_PARAGRAPH_MIN_LINK_SHARE = 0.9
GAP_MAX_CHARS = 600
GAP_MAX_LINK_SHARE = 0.5
GAP_EXCLUDED_TAGS = {"nav", "aside", "figure", "form", "footer", "header", "menu", "select"}
GAP_EXCLUDED_CLASSES = ("related", "share", "social", "tags", "breadcrumb", "comment",
                        "sidebar", "menu", "nav", "footer", "newsletter", "promo", "advert",
                        "toc", "table-of-contents", "caption")
# Photo captions outside <figure>: an inline element right after the image, or a short
# block after the image's block that carries a photo credit.
CAPTION_INLINE_TAGS = {"em", "i", "small", "span", "cite"}
CAPTION_MAX_CHARS = 400
# ... or an element after the image (in the image's block, or the block right after it)
# whose class token names a caption: div.caption, p.image-caption, span.photo-desc,
# div.chu-thich (whole token, case-insensitive).
CAPTION_CLASS = (r"(?:[a-z0-9]+[-_])*(?:caption|captions|figcaption|chu[-_]?thich|chuthich)"
                 r"(?:[-_][a-z0-9]+)*|(?:[a-z0-9]+[-_])*(?:img|image|photo|pic|picture|anh)"
                 r"[-_]?(?:desc|description|cap|text|note|legend)(?:[-_][a-z0-9]+)*")
CAPTION_BLOCK_DEPTH = 3
CAPTION_CREDIT = (r"(?:\(?\s*(?:Ảnh|Nguồn ảnh|Photo|Image|Picture|Credit|Photograph)\s*:\s*"
                  r"[^\s].{0,80}\)?\s*\.?$)")

# --------------------------------------------------------------------------- dates & bylines
# ``monitor.extract.pagemeta``.
# "…T02:30-500" / "+0700" / "+7:00": an offset written short, repaired to ±HH:MM.
SHORT_OFFSET = r"(\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s?([+-])(\d{1,2}):?(\d{2})$"
# A free-form value must look like a date (a year, or day/month numbers) before dateparser.
DATE_LIKE = r"\b(?:19|20)\d{2}\b|\b\d{1,2}[/.-]\d{1,2}\b"
RELATIVE_TIME = (r"\b(?:\d+|một|an?|one)\s+(?:giây|phút|giờ|tiếng|ngày|tuần|tháng|năm|"
                 r"seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)\s+"
                 r"(?:trước|ago)\b|\b(?:hôm qua|yesterday|vừa xong|just now)\b")
DATE_LANGUAGES = ("vi", "en")
# Words around a dateline that dateparser should not see.
DATELINE_NOISE = (r"\b(?:cập nhật|updated?|published|posted|đăng(?: lúc| ngày)?|ngày đăng|"
                  r"lúc)\b:?|\||\s-\s")
DATE_MAX_CHARS = 80
# A day-first date with a two-digit year ("26/03/24 09:05"): the year is put in the century
# nearest the fetch time before dateparser reads it (dateparser, preferring the past, made
# a time minutes after the fetch 1924: scrapinghub/dateparser#218).
TWO_DIGIT_YEAR = r"(?<![\d/.-])(\d{1,2})([/.-])(\d{1,2})\2(\d{2})(?![\d/.-])"
# Vietnamese a.m./p.m. after a time ("12:05 SA" is five past midnight, "02:30 CH" half past
# two in the afternoon), folded to AM/PM before dateparser (which reads SA as nothing).
MERIDIEM_WORDS: dict[str, str] = {"sa": "AM", "sáng": "AM", "ch": "PM", "chiều": "PM",
                                  "tối": "PM"}
MERIDIEM = r"(\d{1,2}[:h]\d{2}(?::\d{2})?)\s*(sa|sáng|ch|chiều|tối)(?!\w)"
# Hours written with an "h" ("14h30", "9h05": Vietnamese and French datelines), read as
# 14:30 (dateparser reads no time in them: scrapinghub/dateparser#528).
HOUR_H = r"(?<![\w:])(\d{1,2})h(\d{2})(?![\w:])"
# The window a publication date must fall in (the floor and the skew after the fetch time)
# is shared with feed and sitemap dates: ``date_floor`` and ``future_skew_minutes`` in
# config/discovery.yaml (``monitor.sources.discovery.plausible``).
# Elements that hold a visible dateline on pages without a profile date rule.
DATELINE_XPATH = (
    "//time | //*[@itemprop='datePublished' or @itemprop='dateCreated']"
    " | //*[not(self::html or self::body or self::script or self::style)]"
    "[contains(translate(@class,'DATEPUBLISHTIM','datepublishtim'),'date')"
    " or contains(translate(@class,'DATEPUBLISHTIM','datepublishtim'),'time')"
    " or contains(translate(@class,'DATEPUBLISHTIM','datepublishtim'),'publish')"
    " or contains(@class,'posted') or contains(@class,'dateline') or contains(@id,'date')]"
)
DATELINE_MAX_CANDIDATES = 12
VIETNAM_HOST_SUFFIXES = (".vn",)
# Dates in an article's own URL: a Dân trí-style id "-20221224190411575.htm"
# (yyyymmddHHMMSS + ms) and the common /yyyy/mm/dd/ path.
URL_TIMESTAMP = r"[-_/](20\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})\d{0,3}\.html?$"
URL_DATE = r"/(20\d{2})[/-](\d{1,2})[/-](\d{1,2})(?:/|$)"
# Bylines: the site's own name is never the author.
SITE_NAME_XPATH = ("//meta[@property='og:site_name']/@content"
                   " | //meta[@name='application-name']/@content"
                   " | //meta[@name='copyright']/@content")
HOST_NOISE_LABELS = {"www", "m", "en", "vi", "com", "vn", "net", "org", "gov", "edu", "co",
                     "amp", "news", "mobile"}
AUTHOR_MAX_WORDS = 8
BYLINE_PREFIX = r"^(?:by|bởi|tác giả|author)\s*:?\s+"
# Visible bylines (after the profile's author rule and JSON-LD Person, before meta author).
BYLINE_XPATHS: list[str] = [
    "//*[@rel='author']",
    "//*[@itemprop='author']//*[@itemprop='name']",
    "//*[contains(@class,'author-name') or contains(@class,'byline__name')]",
]
# Agency tags opening an article's lead: removed from it ("VGP – The Prime Minister…").
AGENCY_TAGS: list[str] = [
    r"VGP", r"TTO", r"VNA", r"TTXVN", r"VOV", r"PLO", r"NDO", r"SGGP", r"VTV", r"QĐND",
    r"\(Dân trí\)", r"\(Dân Trí\)", r"\(VOV\)", r"\(Chinhphu\.vn\)", r"\(TTXVN\)", r"\(VTV\)",
    r"\(PLO\)", r"\(NLĐO\)", r"\(VietnamPlus\)", r"\(Reuters\)", r"\(AP\)", r"\(AFP\)",
    r"\(Baoquocte\.vn\)", r"\(VnExpress\)", r"\(CAND\)", r"\(VNA\)",
]
AGENCY_TAG = r"^\s*(?:" + "|".join(AGENCY_TAGS) + r")\s*[-–—]\s+"
# Stripped from the ends of titles and leads: soft hyphen, zero-width characters, BOM.
INVISIBLE_CHARACTERS = ("\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")
# A list is put back only after a kept paragraph that announces it; lists laid out in the
# cells of a table (no header cells, at most LAYOUT_TABLE_MAX_ROWS rows) are announced
# by the paragraph before the table.
LAYOUT_TABLE_MAX_ROWS = 3
GAP_LIST_INTRO_ENDS = (":", "：")
# Labels read by Python's names rather than the WHATWG table: "unicode" is UTF-16 with
# its byte-order mark, not the table's UTF-16LE.
CHARSET_NOT_WHATWG = {"unicode", "utf-16"}
# --------------------------------------------------------------------------- profile learning
# monitor.extract.learn: the visible date shapes a learned `date` rule may use (a regex
# with one group, the strptime formats that read it), most specific first.
LEARN_DATE_SHAPES: list[tuple[str, list[str]]] = [
    (r"(\d{1,2}/\d{1,2}/\d{4} \| \d{1,2}:\d\d [AP]M)", ["%d/%m/%Y | %I:%M %p"]),
    (r"(\d{1,2}/\d{1,2}/\d{4} \| \d{1,2}:\d\d)", ["%d/%m/%Y | %H:%M"]),
    (r"(\d{1,2}/\d{1,2}/\d{4}, \d{1,2}:\d\d)", ["%d/%m/%Y, %H:%M"]),
    (r"(\d{1,2}/\d{1,2}/\d{4} - \d{1,2}:\d\d)", ["%d/%m/%Y - %H:%M"]),
    (r"(\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d\d)", ["%d/%m/%Y %H:%M"]),
    (r"(\d{1,2}:\d\d,? \d{1,2}/\d{1,2}/\d{4})", ["%H:%M %d/%m/%Y", "%H:%M, %d/%m/%Y"]),
    (r"(\d{4}-\d\d-\d\d[ T]\d\d:\d\d)", ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"]),
    (r"([A-Z][a-z]+ \d{1,2}, \d{4},? \d{1,2}:\d\d [AP]M)",
     ["%B %d, %Y %I:%M %p", "%B %d, %Y, %I:%M %p", "%b %d, %Y %I:%M %p"]),
    (r"([A-Z][a-z]+ \d{1,2}, \d{4} - \d{1,2}:\d\d)", ["%B %d, %Y - %H:%M", "%b %d, %Y - %H:%M"]),
    (r"(\d{1,2}/\d{1,2}/\d{4})", ["%d/%m/%Y"]),
    (r"([A-Z][a-z]+ \d{1,2}, \d{4})", ["%B %d, %Y", "%b %d, %Y"]),
]
# A zone written beside a visible date ("GMT+7", "(GMT+07:00)", "UTC+7").
LEARN_ZONE = r"(?:GMT|UTC)\s*([+-])\s*(\d{1,2})(?::?(\d\d))?"
# A byline's text: one to five capitalised words, no digits (names, not labels or dates).
LEARN_NAME = r"^[^\W\d_][^\s\d]*(?: [^\W\d_][^\s\d]*){0,4}$"
LEARN_NAME_MAX_CHARS = 40
# A lead is at least this long; a block is link-dense (a related box, a widget) when
# links hold at least this share of its text.
LEARN_LEAD_MIN_CHARS = 40
# Words in a block's class, id or data-role that say it is the lead (on pages without a
# summary to compare it with).
LEARN_LEAD_MARKS = ("sapo", "lead", "summary", "description", "chapeau", "chappeau",
                    "intro", "excerpt", "standfirst", "teaser")
LEARN_LINK_DENSE = 0.5
# Attributes that identify a container besides id and class, in preference order.
LEARN_ATTRIBUTES = ("data-role", "itemprop", "type", "role", "data-component-type")
# An agency tag before the lead: the pages' common prefix, cut after one of these.
LEARN_PREFIX_END = r"(?:[-–—:|]|\.|\))\s+"
LEARN_PREFIX_MAX_CHARS = 30
# monitor.extract.onboard: where sites keep feeds they do not announce on the home page,
# the share of the feed/sitemap URLs a proposed article pattern must match, and how many
# article links make the home page a listing worth crawling.
ONBOARD_FEED_PATHS: list[str] = [
    "/feed", "/feed/", "/rss", "/rss.xml", "/feed.xml", "/atom.xml", "/feed.atom",
    "/index.xml", "/rss/home.rss", "/rss/tin-moi-nhat.rss",
]
ONBOARD_PATTERN_SHARE = 0.9
ONBOARD_LISTING_MIN_LINKS = 3
