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
