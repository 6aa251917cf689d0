"""Site chrome of the outlet replicas: the weight real outlet pages carry around the article.

Real article pages of the watched outlets (``../shared/realpages``: 34–248 KB raw, median
115 KB, about 400–480 elements and 45–150 links) are mostly not the article: inline CSS
(dantri: ~78 KB of ``<style>``; VnExpress: 150–180 KB of styles and ~40 KB of scripts),
configuration and ad scripts, JSON-LD, mega-menus, "latest" and "most read" lists, ad
slots, share-icon SVGs and a footer site map. The replicas of ``sites.MARKUP`` carry the
same kinds of blocks, sized by :data:`WEIGHT` (calibration figures in BENCHMARKS.md,
"Farm fidelity"), so that a benchmark on the farm pays what a crawl of the real sites
pays per page. All of it lies outside the article's body container, in ``<head>``,
``<nav>``, ``<aside>`` and ``<footer>``: clutter the profiles and the generic path drop.

Deterministic per site (seeded by its name) and the same on every page of a site, as
real site chrome is; :func:`site_chrome` is cached per site name.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from html import escape

from monitor.farm.sites import LABELS, PROVINCES, SiteSpec

# How much chrome an outlet page carries (calibrated against ../shared/realpages, not
# against the crawl benchmark's ratio): CSS rules in the inline stylesheet, sub-sections
# per menu section, headlines per list box, ad slots, footer links.
WEIGHT = {"css_rules": 800, "sub_menu": 6, "list_items": 8, "list_boxes": 3, "ad_slots": 6,
          "footer_links": 24, "icons": 6}

_WORDS = {
    "en": ["minister", "province", "investors", "highway", "exports", "rice", "festival",
           "students", "flooding", "airport", "startup", "hospital", "tourism", "bridge",
           "police", "market", "coffee", "football", "teachers", "housing", "power grid",
           "bank", "farmers", "port", "railway", "museum", "drought", "factory"],
    "vi": ["bộ trưởng", "tỉnh", "nhà đầu tư", "cao tốc", "xuất khẩu", "lúa gạo", "lễ hội",
           "học sinh", "mưa lũ", "sân bay", "khởi nghiệp", "bệnh viện", "du lịch", "cây cầu",
           "công an", "chợ", "cà phê", "bóng đá", "giáo viên", "nhà ở", "lưới điện",
           "ngân hàng", "nông dân", "cảng biển", "đường sắt", "bảo tàng", "hạn hán", "nhà máy"],
}
_VERBS = {
    "en": ["opens", "plans", "warns of", "expands", "reports", "approves", "delays", "boosts"],
    "vi": ["khởi công", "đề xuất", "cảnh báo", "mở rộng", "công bố", "phê duyệt", "lùi",
           "thúc đẩy"],
}
_BOXES = {"en": ["LATEST", "MOST READ", "EDITOR'S PICKS", "PHOTOS", "VIDEOS"],
          "vi": ["TIN MỚI", "ĐỌC NHIỀU", "TIÊU ĐIỂM", "ẢNH", "VIDEO"]}
_ICON = ('<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24">'
         '<path d="M{a} 2C6.48 2 2 6.48 2 12s4.48 10 10 10 10-4.48 10-10S17.52 2 12 2zm{b}.5 '
         '14.5h-3v-5h-2v-3h2V7.41C8.5 5.9 9.4 5 11.1 5H13v3h-1.3c-.5 0-.7.2-.7.7V8.5h2l-.3 3H11v5z'
         '"/></svg>')


@dataclass(frozen=True)
class Chrome:
    """The chrome of one site's article pages: HTML fragments in page order."""

    head: str  # inline CSS, config and ad scripts, JSON-LD (WebSite, Organization)
    nav: str  # the mega-menu, inside the page header
    aside: str  # list boxes and ad slots after the article
    footer: str  # site map, apps, social icons; before the site's own footer


_CACHE: dict[str, Chrome] = {}


def _headline(rng: random.Random, lang: str) -> str:
    words, verbs = _WORDS[lang], _VERBS[lang]
    place = rng.choice(PROVINCES)
    return (f"{place} {rng.choice(verbs)} {rng.choice(words)} {rng.choice(words)}"
            f" {rng.randint(2, 95)}").capitalize()


def _slug(text: str) -> str:
    return "-".join(text.lower().split())


def _stylesheet(rng: random.Random, rules: int) -> str:
    props = ["display:flex", "margin:0 4px", "padding:2px 8px", "color:#222", "font-size:14px",
             "line-height:1.5", "position:relative", "background:#f7f7f7", "border:0",
             "text-decoration:none", "font-weight:700", "overflow:hidden", "width:100%"]
    blocks = ["header", "menu", "item", "box", "card", "thumb", "title", "footer", "ads",
              "share", "tag", "list"]
    css = "".join(
        f".{rng.choice(blocks)}__{rng.choice(blocks)}-{n}"
        f"{{{';'.join(rng.sample(props, rng.randint(3, 6)))}}}"
        + (f"@media (max-width:{rng.choice((480, 768, 1024))}px){{.{rng.choice(blocks)}-{n}"
           f"{{display:none}}}}" if n % 7 == 0 else "")
        for n in range(rules))
    return f"<style>{css}</style>"


def _scripts(site: SiteSpec, rng: random.Random, slots: int) -> str:
    config = {"site": site.name, "host": site.real_host, "lang": site.lang,
              "sections": [_slug(m) for m in site.menu],
              "ads": {"network": "/21" + str(rng.randint(10**6, 10**7)),
                      "slots": [f"div-gpt-ad-{rng.randint(10**9, 10**10)}-{n}"
                                for n in range(slots)]},
              "features": {name: rng.random() < 0.5 for name in
                           ("comments", "lazyload", "dark_mode", "push", "video_autoplay",
                            "infinite_scroll", "paywall", "polls")},
              "build": f"{rng.getrandbits(64):016x}"}
    ads = "".join(
        f"googletag.defineSlot('{config['ads']['network']}/{site.name}_{n}',"
        f"[[300,250],[300,600],[728,90]],'{slot}').addService(googletag.pubads());"
        for n, slot in enumerate(config["ads"]["slots"]))
    ld = [{"@context": "https://schema.org", "@type": "WebSite", "name": site.title,
           "url": f"https://{site.real_host}/", "potentialAction": {
               "@type": "SearchAction", "target": f"https://{site.real_host}/search?q={{q}}",
               "query-input": "required name=q"}},
          {"@context": "https://schema.org", "@type": "Organization", "name": site.title,
           "url": f"https://{site.real_host}/",
           "logo": f"https://{site.real_host}/static/logo.png",
           "sameAs": [f"https://www.facebook.com/{site.name}",
                      f"https://www.youtube.com/@{site.name}"]}]
    return (f"<script>window.__SITE_CONFIG__={json.dumps(config)};</script>"
            "<script async src=\"/static/gpt.js\"></script>"
            f"<script>window.googletag=window.googletag||{{cmd:[]}};googletag.cmd.push("
            f"function(){{{ads}googletag.pubads().enableSingleRequest();"
            "googletag.enableServices();});</script>"
            + "".join(f'<script type="application/ld+json">{json.dumps(obj)}</script>'
                      for obj in ld))


def _list_box(name: str, rng: random.Random, lang: str, items: int) -> str:
    rows = []
    for n in range(items):
        title = _headline(rng, lang)
        rows.append(f'<li class="list__item"><a class="list__thumb" href="/{_slug(title)}-'
                    f'{rng.randint(10**5, 10**6)}.htm"><img src="/img/l{n}.jpg" alt="" '
                    f'loading="lazy"></a><h3 class="list__title"><a href="/{_slug(title)}-'
                    f'{rng.randint(10**5, 10**6)}.htm">{escape(title)}</a></h3></li>')
    return (f'<section class="box box--list"><div class="box__title">{escape(name)}</div>'
            f'<ul class="list">{"".join(rows)}</ul></section>')


def _ad_slot(slot: str) -> str:
    return (f'<div class="ads ads--banner"><div id="{slot}" style="min-height:250px">'
            f"<script>googletag.cmd.push(function(){{googletag.display('{slot}');}});</script>"
            "</div></div>")


def site_chrome(site: SiteSpec) -> Chrome:
    """The chrome of ``site``'s article pages (the same on each of its pages)."""
    if site.name not in _CACHE:
        _CACHE[site.name] = _build(site)
    return _CACHE[site.name]


def _build(site: SiteSpec) -> Chrome:
    rng = random.Random(f"chrome:{site.name}")
    lang = "vi" if site.lang == "vi" else "en"
    labels = LABELS[lang]
    menu = "".join(
        f'<li class="mega__item"><a href="/{_slug(section)}.htm">{escape(section)}</a>'
        '<ul class="mega__sub">'
        + "".join(f'<li><a href="/{_slug(section)}/{_slug(word)}.htm">{escape(word)}</a></li>'
                  for word in rng.sample(_WORDS[lang], WEIGHT["sub_menu"]))
        + "</ul></li>"
        for section in site.menu)
    nav = (f'<nav class="mega-menu"><ul class="mega">{menu}</ul><form class="search" '
           f'action="/search"><input name="q" placeholder="{labels["read_more"]}"></form></nav>')
    slots = [f"div-gpt-ad-{site.name}-{n}" for n in range(WEIGHT["ad_slots"])]
    boxes = []
    for n, name in enumerate(_BOXES[lang][:WEIGHT["list_boxes"]]):
        boxes.append(_list_box(name, rng, lang, WEIGHT["list_items"]))
        boxes.append(_ad_slot(slots[n % len(slots)]))
    aside = f'<aside class="sidebar">{"".join(boxes)}</aside>'
    sitemap = "".join(
        f'<li><a href="/{_slug(word)}-{n}.htm">{escape(word.capitalize())}</a></li>'
        for n, word in enumerate(rng.choices(_WORDS[lang], k=WEIGHT["footer_links"])))
    icons = "".join(f'<a class="social" href="#">{_ICON.format(a=n + 10, b=n)}</a>'
                    for n in range(WEIGHT["icons"]))
    footer = (f'<footer class="site-footer"><ul class="site-map">{sitemap}</ul>'
              f'<div class="apps">{icons}</div>'
              + "".join(_ad_slot(slot) for slot in slots[WEIGHT["list_boxes"]:])
              + "</footer>")
    head = _stylesheet(rng, WEIGHT["css_rules"]) + _scripts(site, rng, WEIGHT["ad_slots"])
    return Chrome(head=head, nav=nav, aside=aside, footer=footer)
