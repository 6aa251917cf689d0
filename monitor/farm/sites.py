"""The replica sites: what each one is called, where its pages live, and its chrome.

Data only; ``monitor.farm.render`` turns it into HTML, feeds and sitemaps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PROVINCES = [
    "An Giang", "Binh Duong", "Binh Phuoc", "Binh Thuan", "Binh Dinh", "Bac Lieu", "Bac Giang",
    "Bac Kan", "Bac Ninh", "Ben Tre", "Cao Bang", "Ca Mau", "Can Tho", "Dien Bien", "Da Nang",
    "Da Lat", "Dak Lak", "Dak Nong", "Dong Nai", "Dong Thap", "Gia Lai", "Ha Noi", "Ho Chi Minh",
    "Ha Giang", "Ha Nam", "Ha Tinh", "Hoa Binh", "Hung Yen", "Hai Duong", "Hai Phong", "Hau Giang",
    "Khanh Hoa", "Kien Giang", "Kon Tum", "Lai Chau", "Long An", "Lao Cai", "Lam Dong", "Lang Son",
    "Nam Dinh", "Nghe An", "Ninh Binh", "Ninh Thuan", "Phu Tho", "Phu Yen", "Quang Binh",
    "Quang Nam", "Quang Ngai", "Quang Ninh", "Quang Tri", "Soc Trang", "Son La", "Thanh Hoa",
    "Thai Binh", "Thai Nguyen", "Thua Thien Hue", "Tien Giang", "Tra Vinh", "Tuyen Quang",
    "Tay Ninh", "Vinh Long", "Vinh Phuc", "Vung Tau", "Yen Bai",
]


@dataclass(frozen=True)
class SiteSpec:
    """One replica site."""

    name: str
    title: str
    real_host: str
    lang: str
    host_index: int  # the site listens on 127.0.0.<host_index>
    theme: str  # which page template renders it
    article_path: str  # format string with {slug}, {id}, {lang}
    feed_kind: str | None  # "rss", "atom" or None
    feed_path: str = "/rss/home.rss"
    sitemap_index: bool = False
    listing_path: str = "/news"
    page_size: int = 10
    menu: tuple[str, ...] = field(default_factory=tuple)
    agency: str = ""  # the agency tag this site puts before its sapo ("TTO - ", "VOV.VN - ")
    address: str = ""  # the loopback address it listens on ("": 127.0.0.<host_index>)


SITES: dict[str, SiteSpec] = {
    spec.name: spec
    for spec in [
        SiteSpec(
            name="baochinhphu_en", title="VGP News", real_host="en.baochinhphu.vn", lang="en",
            host_index=11, theme="vgp", article_path="/{slug}-{id}.htm", feed_kind="rss",
            sitemap_index=True, listing_path="/politics.htm",
            menu=("Politics", "Business", "Society", "Culture", "Travel", "Special Reports"),
        ),
        SiteSpec(
            name="laodong_en", title="Lao Dong Newspaper", real_host="en.laodong.vn", lang="en",
            host_index=12, theme="laodong", article_path="/politics/{slug}-{id}.ldo",
            feed_kind="rss", listing_path="/politics",
            menu=("Politics", "Society", "Economy", "World", "Travel", "Sports", "Video"),
        ),
        SiteSpec(
            name="laodong_vi", title="Báo Lao Động", real_host="laodong.vn", lang="vi",
            host_index=13, theme="laodong", article_path="/thoi-su/{slug}-{id}.ldo",
            feed_kind="rss", listing_path="/thoi-su",
            menu=("Thời sự", "Công đoàn", "Xã hội", "Thế giới", "Kinh tế", "Pháp luật",
                  "Thể thao"),
        ),
        SiteSpec(
            name="vietnam_vn", title="Vietnam.vn", real_host="www.vietnam.vn", lang="en",
            host_index=14, theme="portal", article_path="/{lang}/{slug}-post{id}.html",
            feed_kind="atom", feed_path="/feed.atom", listing_path="/latest",
            menu=("Politics", "Economy", "Culture", "Travel", "Vietnam Today"),
        ),
        SiteSpec(
            name="mofa_en", title="Ministry of Foreign Affairs", real_host="mofa.gov.vn",
            lang="en", host_index=15, theme="ministry",
            article_path="/en/foreign-relation-news/{slug}-{id}", feed_kind=None,
            listing_path="/en/foreign-relation-news",
            menu=("Home", "About the Ministry", "Foreign Relation News", "Press Briefings",
                  "Consular Affairs"),
        ),
    ]
}

# Words each theme prints around an article, per language.
LABELS = {
    "en": {
        "comment": "Comment", "related": "RELATED NEWS", "source": "Source", "home": "Home",
        "more": "Next page", "read_more": "Read more", "most_read": "MOST READ",
        "photo": "Ảnh", "share": "Share", "print": "Print",
    },
    "vi": {
        "comment": "Bình luận", "related": "TIN LIÊN QUAN", "source": "Nguồn", "home": "Trang chủ",
        "more": "Trang sau", "read_more": "Xem thêm", "most_read": "ĐỌC NHIỀU",
        "photo": "Ảnh", "share": "Chia sẻ", "print": "In bài",
    },
}


# --------------------------------------------------------------------------- the outlets
# Replicas of the outlets added by issue 16, rendered by ``render._outlet`` from the markup
# below: the class names, nesting, widgets, agency tags, byline and dateline shapes of the
# real sites where they are known (see each profile's ``checked_against`` / ``markup_from``
# in config/profiles.yaml). A theme here is the name of the profile that reads it.
#   wrap:     classes of the nested containers around the article
#   title/sapo/body: (tag, class) of the headline, the lead and the body container
#   body_attrs: extra attributes of the body container
#   p_class:  class of every body paragraph
#   dateline: (tag, class, shape) of the visible time; shapes in ``render.DATELINES``
#   byline:   "top" (a name link near the dateline, in ``byline_box``), "right" (a
#             right-aligned bold line closing the body, ``right_style``) or "" (none)
#   figure:   (figure class, caption class): one photo with its caption in the body
#   inner_related / outer_related: class of a related-news box inside / after the body
#   chrome:   extra page chrome (a weather widget, a share bar) before the article
MARKUP: dict[str, dict] = {
    "vnexpress": {
        "wrap": ["section page-detail top-detail", "container", "sidebar-1"],
        "dateline": ("span", "date", "weekday_comma"), "title": ("h1", "title-detail"),
        "sapo": ("p", "description"), "body": ("article", "fck_detail "), "p_class": "Normal",
        "byline": "right", "right_style": "text-align:right;",
        "figure": ("tplCaption", "Image"), "inner_related": "",
        "body_tail": '<div data-component="true" data-component-type="tin_xemthem" '
                     'data-component-value="4799508,4927811" data-thumb="1"></div>',
        "outer_related": "box-tinlienquanv2",
    },
    "dantri": {
        "wrap": ["singular-wrap", "singular-container"],
        "title": ("h1", "title-page detail"), "dateline": ("time", "author-time", "weekday_dash"),
        "byline": "top", "byline_box": ("author-wrap", "author-name"),
        "sapo": ("h2", "singular-sapo"), "body": ("div", "singular-content"),
        "figure": ("image align-center", ""), "outer_related": "article-related",
        "meta_author": "Dân Trí",  # the real pages name the outlet in meta author
    },
    "tuoitre": {
        "wrap": ["detail-container", "detail-cmain"],
        "title": ("h1", "detail-title"), "dateline": ("div", "detail-time", "dmy_gmt"),
        "byline": "top", "byline_box": ("author-info", "name"),
        "sapo": ("h2", "detail-sapo"), "body": ("div", "detail-content afcbc-body"),
        "body_attrs": ' data-role="content" itemprop="articleBody"',
        "figure": ("VCSortableInPreviewMode", "PhotoCMS_Caption"),
        "inner_related": "VCSortableInPreviewMode", "outer_related": "detail__related",
    },
    "thanhnien": {
        "wrap": ["detail__cmain", "detail__main"],
        "title": ("h1", "detail-title"), "dateline": ("div", "detail-time", "dmy_gmt_role"),
        "byline": "top", "byline_box": ("detail-author", "name"),
        "sapo": ("h2", "detail-sapo"), "body": ("div", "detail-content afcbc-body"),
        "body_attrs": ' data-role="content"', "figure": ("picture", "PhotoCMS_Caption"),
        "body_tail": '<div class="seo-suggest-link"><a href="/">Xem thêm: tin thời sự mới nhất'
                     "</a></div>",
        "outer_related": "detail__related",
    },
    "vietnamnet": {
        "wrap": ["content-detail", "container"],
        "dateline": ("div", "bread-crumb-detail__time", "weekday_dash"),
        "title": ("h1", "content-detail-title"), "sapo": ("h2", "content-detail-sapo"),
        "body": ("div", "maincontent main-content"), "byline": "right",
        "right_style": "text-align: right;", "figure": ("image vnn-content-image", ""),
        "inner_related": "vnn-related", "outer_related": "article-relate",
    },
    "zce": {
        "wrap": ["article", "main-col content-col"],
        "title": ("h1", "article__title cms-title"),
        "dateline": ("time", "time", "weekday_space"), "byline": "top",
        "byline_box": ("article__author", "author cms-author"),
        "sapo": ("div", "article__sapo cms-desc"),
        "body": ("div", "article__body zce-content-body cms-body"),
        "body_attrs": ' itemprop="articleBody"', "figure": ("picture", "caption"),
        "inner_related": "article-relate",
        "body_tail": '<div class="notebox align-center cms-note"><p>TTXVN</p></div>',
        "outer_related": "box-related",
    },
    "vietnamnews": {
        "wrap": ["vnnews-detail", "detail"],
        "title": ("h1", "headline"), "dateline": ("div", "datetime", "en_long"),
        "byline": "top", "byline_box": ("detail__author", "name"),
        "sapo": ("div", "detail__summary"), "body": ("div", "detail__content"),
        "figure": ("image", "caption"), "outer_related": "related-news",
    },
    "vov": {
        "wrap": ["article-page", "container"],
        "title": ("h1", "article-title mb-0"), "dateline": ("div", "article-date", "weekday_space"),
        "sapo": ("div", "article__sapo"), "body": ("div", "article-content detail--normal"),
        "byline": "right", "right_style": "text-align:right;",
        "figure": ("image", "caption"), "inner_related": "related", "outer_related": "news-related",
    },
    "qdnd": {
        "wrap": ["post-detail", "container"],
        "title": ("h1", "post-title"), "dateline": ("span", "post-subinfo", "weekday_pipe"),
        "sapo": ("div", "post-summary"), "body": ("div", "post-content article-detail"),
        "byline": "right", "right_style": "text-align: right;",
        "figure": ("image", "caption"), "outer_related": "post-related",
    },
    "baoquocte": {
        "wrap": ["article-detail", "container"],
        "title": ("h1", "article-title"), "dateline": ("div", "article-date", "dmy_gmt"),
        "sapo": ("div", "article-sapo"), "body": ("div", "article-body"),
        "byline": "right", "right_style": "text-align: right;",
        "figure": ("image", "caption"), "inner_related": "box-related",
        "outer_related": "related-news",
    },
    "baochinhphu_vi": {
        "wrap": ["detail", "container", "detail__content"], "chrome": "weather",
        "title": ("h1", "detail-title"), "title_attrs": ' data-role="title"',
        "sapo": ("h2", "detail-sapo"), "sapo_attrs": ' data-role="sapo"',
        "dateline": ("div", "detail-time", "dmy_role"),
        "body": ("div", "detail-content afcbc-body"), "body_attrs": ' data-role="content"',
        "byline": "right", "right_style": "text-align:right;",
        "figure": ("VCSortableInPreviewMode", "PhotoCMS_Caption"),
        "inner_related": "VCSortableInPreviewMode", "outer_related": "related-news",
    },
    "usgov": {
        "wrap": ["site-content", "entry"],
        "title": ("h1", "featured-stories__headline"),
        "dateline": ("p", "article-meta__publish-date", "en_date"), "byline": "office",
        "body": ("div", "entry-content"), "figure": ("wp-block-image", "wp-element-caption"),
        "body_tail": '<div class="sharedaddy sd-sharing-enabled"><h3 class="sd-title">'
                     "Share this:</h3><ul><li>Facebook</li><li>X</li></ul></div>",
        "outer_related": "related-posts",
    },
}

_VI_MENU = ("Thời sự", "Thế giới", "Kinh tế", "Xã hội", "Pháp luật")
_EN_MENU = ("Politics", "World", "Business", "Society", "Travel")


def _outlet(name: str, title: str, host: str, lang: str, index: int, theme: str, path: str,
            listing: str, feed: str | None = "/rss/home.rss", agency: str = "") -> SiteSpec:
    return SiteSpec(
        name=name, title=title, real_host=host, lang=lang, host_index=index, theme=theme,
        article_path=path, feed_kind="rss" if feed else None, feed_path=feed or "/rss/home.rss",
        listing_path=listing, menu=_VI_MENU if lang == "vi" else _EN_MENU, agency=agency,
    )


OUTLETS: dict[str, SiteSpec] = {
    spec.name: spec
    for spec in [
        _outlet("vnexpress_vi", "VnExpress", "vnexpress.net", "vi", 20, "vnexpress",
                "/the-gioi/{slug}-{id}.html", "/the-gioi", "/rss/the-gioi.rss"),
        _outlet("vnexpress_en", "VnExpress International", "e.vnexpress.net", "en", 21,
                "vnexpress", "/news/news/{slug}-{id}.html", "/news/news", "/rss/news.rss"),
        _outlet("tuoitre_vi", "Tuổi Trẻ Online", "tuoitre.vn", "vi", 22, "tuoitre",
                "/{slug}-2024{id}.htm", "/the-gioi.htm", "/rss/the-gioi.rss", "TTO - "),
        _outlet("tuoitre_en", "Tuoi Tre News", "tuoitrenews.vn", "en", 23, "tuoitre",
                "/news/politics/20240325/{slug}/{id}.html", "/news/politics", "/rss/news.rss",
                "TTO - "),
        _outlet("thanhnien_vi", "Báo Thanh Niên", "thanhnien.vn", "vi", 24, "thanhnien",
                "/{slug}-18524{id}.htm", "/thoi-su.htm", "/rss/thoi-su.rss"),
        _outlet("dantri_vi", "Báo Dân trí", "dantri.com.vn", "vi", 25, "dantri",
                "/the-gioi/{slug}-2024{id}.htm", "/the-gioi.htm", "/rss/the-gioi.rss",
                "(Dân trí) - "),
        _outlet("vietnamnet_vi", "Báo VietNamNet", "vietnamnet.vn", "vi", 26, "vietnamnet",
                "/thoi-su/{slug}-{id}.html", "/thoi-su", "/rss/thoi-su.rss"),
        _outlet("vietnamnet_en", "VietNamNet Global", "vietnamnet.vn", "en", 27, "vietnamnet",
                "/en/politics/{slug}-{id}.html", "/en/politics", None),
        _outlet("vietnamplus_vi", "VietnamPlus", "www.vietnamplus.vn", "vi", 28, "zce",
                "/{slug}-post{id}.vnp", "/chinh-tri/", "/rss/chinhtri-1.rss"),
        _outlet("vietnamplus_en", "VietnamPlus", "en.vietnamplus.vn", "en", 29, "zce",
                "/{slug}-post{id}.vnp", "/politics/", "/rss/politics.rss", "Hanoi (VNA) – "),
        _outlet("vietnamnews_en", "Viet Nam News", "vietnamnews.vn", "en", 30, "vietnamnews",
                "/politics-laws/{id}/{slug}.html", "/politics-laws", "/rss/politics-laws.rss"),
        _outlet("nhandan_vi", "Báo Nhân Dân", "nhandan.vn", "vi", 31, "zce",
                "/{slug}-post{id}.html", "/chinhtri/", "/rss/chinhtri-1171.rss", "NDO - "),
        _outlet("nhandan_en", "Nhan Dan Online", "en.nhandan.vn", "en", 32, "zce",
                "/{slug}-post{id}.html", "/politics/", "/rss/politics.rss", "NDO - "),
        _outlet("vov_vi", "VOV.VN", "vov.vn", "vi", 33, "vov", "/chinh-tri/{slug}-post{id}.vov",
                "/chinh-tri", "/rss/chinh-tri.rss", "VOV.VN - "),
        _outlet("vov_en", "VOV - Voice of Vietnam", "english.vov.vn", "en", 34, "vov",
                "/politics/{slug}-post{id}.vov", "/politics", "/rss/politics.rss", "(VOV) - "),
        _outlet("qdnd_vi", "Báo Quân đội nhân dân", "www.qdnd.vn", "vi", 35, "qdnd",
                "/chinh-tri/{slug}-{id}", "/chinh-tri", None, "QĐND Online - "),
        _outlet("qdnd_en", "People's Army Newspaper", "en.qdnd.vn", "en", 36, "qdnd",
                "/politics/{slug}-{id}", "/politics", None, "QDND - "),
        _outlet("baoquocte_vi", "Báo Thế giới & Việt Nam", "baoquocte.vn", "vi", 37,
                "baoquocte", "/{slug}-{id}.html", "/thoi-su", "/rss/thoi-su.rss", "TG&VN. "),
        _outlet("baoquocte_en", "World & Vietnam Report", "en.baoquocte.vn", "en", 38,
                "baoquocte", "/{slug}-{id}.html", "/politics", None, "WVR - "),
        _outlet("baochinhphu_vi", "Báo Điện tử Chính phủ", "baochinhphu.vn", "vi", 39,
                "baochinhphu_vi", "/{slug}-10224{id}.htm", "/chinh-tri.htm", "/rss/home.rss",
                "(Chinhphu.vn) - "),
        _outlet("mofa_vi", "Bộ Ngoại giao", "mofa.gov.vn", "vi", 40, "ministry",
                "/tin-hoat-dong/{slug}-{id}", "/tin-hoat-dong", None),
        _outlet("usembassy_en", "U.S. Embassy & Consulate in Vietnam", "vn.usembassy.gov", "en",
                41, "usgov", "/{slug}/", "/news-events/", "/feed/"),
        _outlet("usembassy_vi", "Đại sứ quán Hoa Kỳ tại Việt Nam", "vn.usembassy.gov", "vi", 42,
                "usgov", "/vi/{slug}/", "/vi/news-events-vi/", "/vi/feed/"),
        _outlet("state_en", "U.S. Department of State", "www.state.gov", "en", 43, "usgov",
                "/releases/office-of-the-spokesperson/2024/03/{slug}", "/countries-areas/vietnam/",
                "/rss-feed/east-asia-and-the-pacific/feed/"),
    ]
}
SITES.update(OUTLETS)  # the default farm serves every source of config/demo.yaml
