"""Render replica pages the way the real sites' CMSs write them: nested divs, menus,
widgets, counters and related-news blocks around the article."""

from __future__ import annotations

import codecs
import json
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from email.utils import format_datetime
from html import escape
from xml.sax.saxutils import escape as xml_escape

from monitor.farm.chrome import site_chrome
from monitor.farm.content import FarmArticle, RelatedItem
from monitor.farm.sites import LABELS, MARKUP, PROVINCES, SiteSpec


def article_path(site: SiteSpec, article: FarmArticle) -> str:
    """The path of an article on its site."""
    return site.article_path.format(slug=article.slug, id=article.article_id, lang=article.lang)


def _menu(site: SiteSpec) -> str:
    items = "".join(
        f'<li class="menu-item"><a href="/{escape(m.lower().replace(" ", "-"))}">{escape(m)}</a>'
        f'<ul class="sub-menu"><li><a href="/{escape(m.lower().replace(" ", "-"))}/latest">'
        f'{escape(m)} · {LABELS[site.lang]["read_more"]}</a></li></ul></li>'
        for m in site.menu
    )
    return f'<div class="main-menu"><ul class="menu">{items}</ul></div>'


def _head(site: SiteSpec, title: str, extra: str = "", lang: str | None = None) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{lang or site.lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} | {escape(site.title)}</title>"
        f'<link rel="stylesheet" href="/static/main.css">{extra}'
        f'<script>window.dataLayer=window.dataLayer||[];function gtag(){{dataLayer.push('
        f"arguments);}}gtag('js',new Date());</script></head>"
    )


def _footer(site: SiteSpec) -> str:
    return (
        '<div class="footer"><div class="container"><div class="footer-menu">'
        + _menu(site)
        + f'</div><div class="copyright"><p>© {escape(site.title)}. All rights reserved.</p>'
        "<p>Licence No. 123/GP-BTTTT. Editor-in-chief: Nguyen Van A.</p>"
        "<p>Address: 6 Pham Van Bach, Cau Giay, Ha Noi. Tel: (024) 3825 2441</p></div>"
        "</div></div></body></html>"
    )


def _related_block(site: SiteSpec, items: Sequence[RelatedItem], lang: str) -> str:
    labels = LABELS[lang]
    rows = []
    for item in items:
        byline = (f'<div class="author-name"><span>{escape(item.author)}</span> |</div>'
                  if item.author else '<span class="sep">|</span>')
        teaser = f'<div class="chappeau"><p>{escape(item.teaser)}</p></div>' if item.teaser else ""
        rows.append(
            f'<div class="item"><div class="thumb"><a href="#"><img src="/img/t.jpg" alt=""></a>'
            f'</div><div class="info"><h3 class="title"><a href="#">{escape(item.title)}</a></h3>'
            f"{byline}{teaser}</div></div>"
        )
    return (f'<div class="related-news box"><div class="box-title"><span>{labels["related"]}'
            f'</span></div><div class="list">{"".join(rows)}</div></div>')


def _figure(article: FarmArticle, caption: str, n: int) -> str:
    return (
        f'<figure class="VCSortableInPreviewMode" type="Photo"><div>'
        f'<img src="/img/{article.article_id}-{n}.jpg" alt="{escape(article.title)}- Ảnh {n}." '
        f'title="{escape(article.title)}- Ảnh {n}."></div>'
        f'<figcaption class="PhotoCMS_Caption"><p>{escape(caption)}</p></figcaption></figure>'
    )


def _paragraphs_with_figures(article: FarmArticle, figure_at: int = 1) -> str:
    """Body paragraphs with each caption's photo placed after paragraph ``figure_at``."""
    parts = []
    for i, para in enumerate(article.paragraphs):
        parts.append(f"<p>{escape(para)}</p>")
        if i + 1 == figure_at:
            for n, caption in enumerate(article.captions, start=1):
                parts.append(_figure(article, caption, n))
    return "".join(parts)


def _time_vn(when: datetime) -> str:
    return when.strftime("%d/%m/%Y %H:%M") + " (GMT+7)"


def render_article(site: SiteSpec, article: FarmArticle, url: str,
                   related: Sequence[RelatedItem], views: int,
                   source_url: str | None = None) -> str:
    """The full HTML page of one article, in its site's theme."""
    theme = {"laodong": _laodong, "vgp": _vgp, "portal": _portal, "ministry": _ministry}
    if site.theme in MARKUP:
        return _outlet(site, article, url, related, views, source_url)
    return theme[site.theme](site, article, url, related, views, source_url)


def _laodong(site: SiteSpec, a: FarmArticle, url: str, related: Sequence[RelatedItem],
             views: int, source_url: str | None) -> str:
    labels = LABELS[a.lang]
    meta = (
        f'<link rel="canonical" href="{escape(url)}">'
        f'<meta name="description" content="{escape(a.lead or "")}">'
        f'<meta property="og:title" content="{escape(a.title)}">'
        f'<meta property="og:type" content="article">'
        f'<meta property="og:url" content="{escape(url)}">'
        f'<meta property="article:published_time" content="{a.published.isoformat()}">'
        f'<meta property="article:modified_time" content="{a.last_modified.isoformat()}">'
        f'<meta name="author" content="{escape(a.author or "")}">'
    )
    byline = (f'<div class="author"><a href="/author/x"><span>{escape(a.author)}</span></a> |</div>'
              if a.author else "")
    sign = (f'<p style="text-align:right;" class="author-bottom">'
            f"<strong>{escape(a.author)}</strong></p>" if a.author else "")
    lead = f'<div class="chappeau"><p>{escape(a.lead)}</p></div>' if a.lead else ""
    return (
        _head(site, a.title, meta, a.lang)
        + '<body class="detail-page"><div class="header"><div class="container">'
        f'<a class="logo" href="/"><img src="/img/logo.png" alt="{escape(site.title)}"></a>'
        f'<div class="search"><form action="/search"><input name="q"></form></div>{_menu(site)}'
        '</div></div><div class="main"><div class="container"><div class="row">'
        '<div class="col-8 main-col"><div class="breadcrumb"><a href="/">'
        f'{labels["home"]}</a> / <a href="{site.listing_path}">{escape(site.menu[0])}</a></div>'
        f'<div class="article-detail"><h1 class="title">{escape(a.title)}</h1>'
        f'<div class="meta">{byline}<span class="time">{_time_vn(a.published)}</span>'
        f'<div class="social"><a href="#">{labels["share"]}</a> <a href="#">{labels["print"]}</a>'
        f"</div></div>{lead}"
        f'<div class="art-body">{_paragraphs_with_figures(a)}{sign}</div>'
        f'<div class="comment-count"><a href="#comments">{labels["comment"]} ({a.comments})'
        "</a></div>"
        f'<div class="tags"><span>Tags:</span> <a href="/tag/x">{escape(site.menu[0])}</a></div>'
        f"</div>{_related_block(site, related, a.lang)}</div>"
        f'<div class="col-4 sidebar"><div class="box most-read"><div class="box-title">'
        f'{labels["most_read"]}</div><ul><li><a href="/">{escape(site.title)}</a></li></ul></div>'
        "</div></div></div></div>" + _footer(site)
    )


def _province_widget() -> str:
    items = "".join(f'<li class="item"><a href="javascript:;" data-id="{i}">{escape(p)}</a></li>'
                    for i, p in enumerate(PROVINCES))
    return (
        '<div class="header__weather"><div class="weather-box"><span class="weather-location">'
        'Ha Noi</span><span class="weather-temp">28°C</span></div>'
        f'<div class="weather-province"><ul class="list-province">{items}</ul></div></div>'
    )


def _vgp(site: SiteSpec, a: FarmArticle, url: str, related: Sequence[RelatedItem],
         views: int, source_url: str | None) -> str:
    when = a.published
    hour = when.strftime("%I").lstrip("0")
    shown = f"{when.strftime('%B')} {when.day}, {when.year} {hour}:{when.strftime('%M %p')} GMT+7"
    meta = f'<link rel="canonical" href="{escape(url)}">' \
           f'<meta property="og:title" content="{escape(a.title)}">'
    figures = "".join(_figure(a, c, n) for n, c in enumerate(a.captions, start=1))
    body = "".join(f"<p>{escape(p)}</p>" for p in a.paragraphs)
    return (
        _head(site, a.title, meta, a.lang)
        + '<body><div class="header"><div class="header__top"><div class="container">'
        f"{_province_widget()}"
        '<div class="header__lang"><a href="#">Tiếng Việt</a> | <a href="#">English</a></div>'
        f'</div></div><div class="header__nav">{_menu(site)}</div></div>'
        '<div class="detail"><div class="container"><div class="detail__content">'
        f'<h1 class="detail-title" data-role="title">{escape(a.title)}</h1>'
        f'<h2 class="detail-sapo" data-role="sapo">VGP - {escape(a.lead or "")}</h2>'
        f'<div class="detail-time"><div data-role="publishdate">{shown}</div></div>'
        f'<div class="detail-content afcbc-body" data-role="content">{figures}{body}</div>'
        f"</div>{_related_block(site, related, a.lang)}</div></div>" + _footer(site)
    )


def _portal(site: SiteSpec, a: FarmArticle, url: str, related: Sequence[RelatedItem],
            views: int, source_url: str | None) -> str:
    labels = LABELS[a.lang]
    ld = {
        "@context": "https://schema.org", "@type": "NewsArticle", "headline": a.title,
        "datePublished": a.published.isoformat(), "dateModified": a.last_modified.isoformat(),
        "inLanguage": a.lang, "mainEntityOfPage": url,
    }
    if a.author:
        ld["author"] = {"@type": "Person", "name": a.author}
    meta = (f'<link rel="canonical" href="{escape(url)}">'
            f'<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>')
    source = (f'<div class="post-source"><a href="{escape(source_url or "/")}" target="_blank" '
              f'rel="nofollow">{labels["source"]}</a></div>')
    links = "".join(f'<li><a href="#">{escape(r.title)}</a></li>' for r in related[:3])
    lead = f'<p class="post-sapo"><strong>{escape(a.lead)}</strong></p>' if a.lead else ""
    return (
        _head(site, a.title, meta, a.lang)
        + f'<body><header id="site-header"><div class="wrap">{_menu(site)}</div></header>'
        '<main><div class="wrap"><article class="post"><div class="post-header">'
        f'<h1 class="post-title">{escape(a.title)}</h1></div>'
        f'<div class="post-content">{lead}{_paragraphs_with_figures(a, figure_at=2)}'
        f'<ul class="related-inline">{links}</ul>{source}</div>'
        f'<div class="post-comments"><h3 class="comments-title">{labels["comment"]} '
        f"({a.comments})</h3>"
        '<form class="comment-form"><textarea></textarea><button>Send</button></form></div>'
        "</article></div></main>" + _footer(site)
    )


def _ministry(site: SiteSpec, a: FarmArticle, url: str, related: Sequence[RelatedItem],
              views: int, source_url: str | None) -> str:
    when = a.published
    shown = when.strftime("%d/%m/%Y | %I:%M %p")
    figures = []
    for caption in a.captions:
        figures.append(
            '<table class="image center"><tbody><tr><td><img src="/img/x.jpg" alt=""></td></tr>'
            f'<tr><td class="image_caption">{escape(caption)}</td></tr></tbody></table>'
        )
    parts = []
    for i, para in enumerate(a.paragraphs):
        parts.append(f'<p style="text-align: justify;">{escape(para)}</p>')
        if i in (0, 4) and figures:
            parts.append(figures.pop(0))
    parts.extend(figures)
    sign = (f'<p style="text-align: right;"><strong>{escape(a.author)}</strong></p>'
            if a.author else "")
    more = "".join(f'<li><a href="#">{escape(r.title)}</a></li>' for r in related[:5])
    return (
        _head(site, a.title, "", a.lang)
        + f'<body><div id="header"><div class="banner"></div>{_menu(site)}</div>'
        '<div id="content"><div class="left-col"><div class="section-title">'
        '<span>FOREIGN RELATION NEWS</span></div><div class="news-detail">'
        f'<div class="news-title"><h3>{escape(a.title)}</h3></div>'
        f'<div class="news-date">Ngày đăng {shown}&nbsp; | View count: {views}</div>'
        f'<div class="news-sapo"><p><strong>{escape(a.lead or "")}</strong></p></div>'
        f'<div class="news-content">{"".join(parts)}{sign}</div></div>'
        f'<div class="other-news"><div class="title">Other news</div><ul>{more}</ul></div>'
        "</div></div>" + _footer(site)
    )


# A redesign: each theme's article container renamed (old markup -> new markup).
REDESIGN = {
    "laodong": ('<div class="art-body">', '<div class="story-content">'),
    "vgp": ('data-role="content"', 'data-role="story"'),
    "portal": ('<div class="post-content">', '<div class="entry-text">'),
    "ministry": ('<div class="news-content">', '<div class="detail-text">'),
}


def redesign(site: SiteSpec, html: str) -> str:
    """An article page after a redesign of its site: the body container renamed."""
    if site.theme in REDESIGN:
        old, new = REDESIGN[site.theme]
    else:  # an outlet of sites.MARKUP: its body container's class renamed
        body_tag, body_cls = MARKUP[site.theme]["body"]
        old, new = f'<{body_tag} class="{body_cls}"', f'<{body_tag} class="redesigned-body"'
    return html.replace(old, new)


_WEEKDAYS = {"vi": ["Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy", "Chủ nhật"],
             "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                    "Sunday"]}


def dateline(when: datetime, shape: str, lang: str) -> str:
    """The visible time of an article in one of the outlets' shapes (``sites.MARKUP``)."""
    day = _WEEKDAYS["vi" if lang == "vi" else "en"][when.weekday()]
    dmy, hm = when.strftime("%d/%m/%Y"), when.strftime("%H:%M")
    month = when.strftime("%B")
    shapes = {
        "weekday_comma": f"{day}, {when.day}/{when.month}/{when.year}, {hm} (GMT+7)",
        "weekday_dash": f"{day}, {dmy} - {hm}",
        "weekday_space": f"{day}, {dmy} {hm}",
        "weekday_pipe": f"{day}, {dmy} | {hm}",
        "dmy_gmt": f"{dmy} {hm} GMT+7",
        "dmy_gmt_role": f"{dmy} {hm} GMT+7",
        "dmy_role": f"{dmy} {hm}",
        "en_long": f"{month} {when.day}, {when.year} - {hm}",
        "en_date": f"{month} {when.day}, {when.year}",
    }
    return shapes[shape]


def _outlet(site: SiteSpec, a: FarmArticle, url: str, related: Sequence[RelatedItem],
            views: int, source_url: str | None) -> str:
    """An article page of one of the outlets of ``sites.MARKUP`` (issue 16)."""
    m = MARKUP[site.theme]
    labels = LABELS[a.lang]
    meta = (
        f'<link rel="canonical" href="{escape(url)}">'
        f'<meta name="description" content="{escape(a.lead or a.paragraphs[0][:160])}">'
        f'<meta property="og:title" content="{escape(a.title)}">'
        f'<meta property="og:type" content="article">'
        f'<meta property="og:site_name" content="{escape(site.title)}">'
        f'<meta property="article:published_time" content="{a.published.isoformat()}">'
        f'<meta property="article:modified_time" content="{a.last_modified.isoformat()}">'
    )
    if m.get("meta_author"):
        meta += f'<meta name="author" content="{escape(m["meta_author"])}">'
    tag, cls, shape = m["dateline"]
    shown = escape(dateline(a.published, shape, a.lang))
    if shape.endswith("_role"):
        time_html = f'<{tag} class="{cls}"><div data-role="publishdate">{shown}</div></{tag}>'
    else:
        time_html = f'<{tag} class="{cls}">{shown}</{tag}>'
    byline = ""
    if m["byline"] == "top" and a.author:
        box, name, *name_tag = m["byline_box"]
        ntag = name_tag[0] if name_tag else ("span" if "cms-author" in name else
                                             "div" if name == "author-name" else "a")
        href = ' href="/tac-gia/x"' if ntag == "a" else ""
        byline = (f'<div class="{box}"><{ntag} class="{name}"{href}>{escape(a.author)}'
                  f"</{ntag}></div>")
    elif m["byline"] == "office":
        byline = f'<p class="article-meta__author-bureau">{escape(site.title)}</p>'
    title_tag, title_cls = m["title"]
    title = (f'<{title_tag} class="{title_cls}"{m.get("title_attrs", "")}>{escape(a.title)}'
             f"</{title_tag}>")
    sapo = ""
    if a.lead and m.get("sapo"):
        sapo_tag, sapo_cls = m["sapo"]
        sapo = (f'<{sapo_tag} class="{sapo_cls}"{m.get("sapo_attrs", "")}>'
                f"{escape(site.agency)}{escape(a.lead)}</{sapo_tag}>")
    p_open = f'<p class="{m["p_class"]}">' if m.get("p_class") else "<p>"
    fig_cls, cap_cls = m["figure"]
    parts = []
    for i, para in enumerate(a.paragraphs):
        parts.append(f"{p_open}{escape(para)}</p>")
        if i == 0:
            for n, caption in enumerate(a.captions, start=1):
                inner = (f'<p class="{cap_cls}">{escape(caption)}</p>' if fig_cls == "tplCaption"
                         else escape(caption))
                cap_attr = f' class="{cap_cls}"' if cap_cls and fig_cls != "tplCaption" else ""
                parts.append(f'<figure class="{fig_cls}" type="Photo"><div class="fig-picture">'
                             f'<img src="/img/{a.article_id}-{n}.jpg" alt="{escape(a.title)}">'
                             f"</div><figcaption{cap_attr}>{inner}</figcaption></figure>")
        if i == 1 and m.get("inner_related") and related:
            links = "".join(f'<li><a href="#">{escape(r.title)}</a></li>' for r in related[:2])
            parts.append(f'<div class="{m["inner_related"]}" type="RelatedNewsBox">'
                         f'<div class="box-title">{labels["related"]}</div><ul>{links}</ul></div>')
    if m["byline"] == "right" and a.author:
        style = m.get("right_style", "text-align:right;")
        parts.append(f'{p_open[:-1]} style="{style}"><strong>{escape(a.author)}</strong></p>')
    parts.append(m.get("body_tail", ""))
    body_tag, body_cls = m["body"]
    body = (f'<{body_tag} class="{body_cls}"{m.get("body_attrs", "")}>{"".join(parts)}'
            f"</{body_tag}>")
    outer = "".join(
        f'<div class="item"><h3><a href="#">{escape(r.title)}</a></h3></div>' for r in related[:4])
    chrome = ""
    if m.get("chrome") == "weather":
        chrome = ('<div class="layout__ht-weather"><span class="weather-location">Hà Nội</span>'
                  '<span class="weather-temp">28°C</span><ul class="list-province">'
                  + "".join(f"<li>{escape(p)}</li>" for p in PROVINCES[:12]) + "</ul></div>")
    article = f"{title}{time_html}{byline}{sapo}{body}"
    if shape.startswith("weekday_comma"):
        article = f"{time_html}{title}{byline}{sapo}{body}"  # VnExpress: date above the title
    for cls_name in reversed(m["wrap"]):
        article = f'<div class="{cls_name}">{article}</div>'
    weight = site_chrome(site)  # what real pages carry around the article (farm.chrome)
    return (
        _head(site, a.title, meta + weight.head, a.lang)
        + f'<body><header class="header">{chrome}{_menu(site)}{weight.nav}</header>'
        f'<main class="main"><div class="breadcrumb"><a href="/">{labels["home"]}</a> / '
        f'<a href="{site.listing_path}">{escape(site.menu[0])}</a></div>{article}'
        f'<div class="{m["outer_related"]}"><div class="box-title">{labels["related"]}</div>'
        f'{outer}</div>{weight.aside}</main>' + weight.footer + _footer(site)
    )


def render_listing(site: SiteSpec, cards: Sequence[tuple[str, FarmArticle]], page: int,
                   has_next: bool, base_path: str) -> str:
    """A listing page: article cards and pagination links."""
    labels = LABELS[site.lang]
    items = "".join(
        f'<div class="story"><h2 class="story__title"><a href="{escape(path)}">{escape(a.title)}'
        f'</a></h2><div class="story__meta">{_time_vn(a.published)}</div>'
        f'<p class="story__summary">{escape(a.lead or a.paragraphs[0][:160])}</p></div>'
        for path, a in cards
    )
    nav = []
    if page > 1:
        nav.append(f'<a rel="prev" href="{base_path}?page={page - 1}">«</a>')
    nav.append(f'<span class="current">{page}</span>')
    if has_next:
        nav.append(f'<a rel="next" class="next" href="{base_path}?page={page + 1}">'
                   f'{labels["more"]}</a>')
    return (
        _head(site, site.menu[0])
        + f'<body><div class="header">{_menu(site)}</div><div class="list-news">{items}</div>'
        f'<div class="pagination">{"".join(nav)}</div>' + _footer(site)
    )


def render_rss(site: SiteSpec, base: str, entries: Sequence[tuple[str, FarmArticle]]) -> str:
    """An RSS 2.0 feed of the newest articles."""
    items = "".join(
        f"<item><title>{xml_escape(a.title)}</title><link>{xml_escape(link)}</link>"
        f"<guid isPermaLink=\"false\">{a.article_id}</guid>"
        f"<description>{xml_escape(a.lead or '')}</description>"
        f"<pubDate>{format_datetime(a.published)}</pubDate></item>"
        for link, a in entries
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>{xml_escape(site.title)}</title><link>{base}/</link>"
        f"<description>{xml_escape(site.title)}</description>{items}</channel></rss>"
    )


def render_atom(site: SiteSpec, base: str, entries: Sequence[tuple[str, FarmArticle]]) -> str:
    """An Atom 1.0 feed of the newest articles."""
    updated = max((a.last_modified for _, a in entries), default=datetime.now().astimezone())
    items = "".join(
        f"<entry><title>{xml_escape(a.title)}</title>"
        f'<link rel="alternate" href="{xml_escape(link)}"/><id>urn:vietnam-vn:{a.article_id}</id>'
        f"<published>{a.published.isoformat()}</published>"
        f"<updated>{a.last_modified.isoformat()}</updated>"
        f"<summary>{xml_escape(a.lead or '')}</summary></entry>"
        for link, a in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{xml_escape(site.title)}</title><id>{base}/</id>"
        f'<link rel="self" href="{base}{site.feed_path}"/><updated>{updated.isoformat()}</updated>'
        f"{items}</feed>"
    )


def render_urlset(entries: Sequence[tuple[str, datetime]]) -> str:
    """A sitemap ``urlset``."""
    urls = "".join(f"<url><loc>{xml_escape(loc)}</loc><lastmod>{when.isoformat()}</lastmod></url>"
                   for loc, when in entries)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>')


def render_sitemap_index(locs: Sequence[str],
                         lastmods: dict[str, datetime] | None = None) -> str:
    """A sitemap index pointing at child sitemaps (with a ``<lastmod>`` for those in
    ``lastmods``)."""
    lastmods = lastmods or {}
    items = "".join(f"<sitemap><loc>{xml_escape(loc)}</loc>"
                    + (f"<lastmod>{lastmods[loc].isoformat()}</lastmod>" if loc in lastmods
                       else "") + "</sitemap>" for loc in locs)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}'
            "</sitemapindex>")


def render_robots(base: str) -> str:
    """robots.txt: search and admin are off limits; sitemaps are announced."""
    return ("User-agent: *\nDisallow: /search\nDisallow: /admin/\n\n"
            f"Sitemap: {base}/sitemap.xml\n")


# --------------------------------------------------------------------------- charsets
# Article pages can be served in another encoding, with a wrong or missing declaration
# (see ``monitor.farm.server``: the ``__encoding`` query parameters). These helpers
# build such bodies.

_META_UTF8 = '<meta charset="utf-8">'


def _encode_cp1258(text: str) -> bytes:
    """windows-1258 the way Vietnamese legacy pages have it: letters the code page lacks
    (``ạ``, ``ộ``, ``ữ``...) written as a base letter it has plus combining tone marks."""
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        decomposed = unicodedata.normalize("NFD", char)
        base, marks = decomposed[0], list(decomposed[1:])
        merged = True
        while merged:  # fold into the base every mark the code page has a letter for
            merged = False
            for mark in marks:
                combined = unicodedata.normalize("NFC", base + mark)
                if len(combined) == 1 and _in_cp1258(combined):
                    base, merged = combined, True
                    marks.remove(mark)
                    break
        out += (base + "".join(marks)).encode("cp1258", errors="xmlcharrefreplace")
    return bytes(out)


def _in_cp1258(char: str) -> bool:
    try:
        char.encode("cp1258")
    except UnicodeEncodeError:
        return False
    return True


def _decompose_alternate_paragraphs(html: str) -> str:
    parts = html.split("<p")
    return "<p".join(unicodedata.normalize("NFD", part) if i % 2 else part
                     for i, part in enumerate(parts))


def encode_page(html: str, encoding: str = "utf-8", meta_charset: str | None = "utf-8",
                form: str = "nfc") -> bytes:
    """Bytes of a rendered page in ``encoding``, declaring ``meta_charset`` in its
    ``<meta charset>`` (None: no declaration), with its text in Unicode ``form``:
    ``nfc`` (as rendered), ``nfd`` (all decomposed) or ``mixed`` (every other paragraph
    decomposed, as pages pasted together from several editors are)."""
    declaration = f'<meta charset="{escape(meta_charset)}">' if meta_charset else ""
    html = html.replace(_META_UTF8, declaration, 1)
    if form == "nfd":
        html = unicodedata.normalize("NFD", html)
    elif form == "mixed":
        html = _decompose_alternate_paragraphs(html)
    elif form != "nfc":
        raise ValueError(f"unknown Unicode form {form!r} (nfc, nfd or mixed)")
    codec = codecs.lookup("cp1258" if encoding.lower() == "windows-1258" else encoding).name
    if codec == "cp1258":
        return _encode_cp1258(html)
    return html.encode(codec, errors="xmlcharrefreplace")


# --------------------------------------------------------------------------- change monitoring
NOTICES = {
    "en": ("Article removed", "This article has been removed."),
    "vi": ("Bài viết không tồn tại", "Bài viết này đã bị gỡ bỏ."),
}


def render_notice(site: SiteSpec, lang: str) -> str:
    """The page a CMS shows at the URL of an article it took down (in the site's chrome)."""
    title, text = NOTICES.get(lang, NOTICES["en"])
    return (_head(site, title, "", lang) + f'<body><div class="header">{_menu(site)}</div>'
            f'<div class="main"><div class="notice"><h1>{escape(title)}</h1>'
            f"<p>{escape(text)}</p></div></div>" + _footer(site))


def _thousands(number: int, lang: str) -> str:
    return f"{number:,}".replace(",", "." if lang == "vi" else ",")


def volatile_variant(article: FarmArticle, related: Sequence[RelatedItem],
                     count: int) -> tuple[FarmArticle, list[RelatedItem]]:
    """The article as its ``count``-th request shows it in volatile mode: a relative time
    above the text, a counter strip below, an "Updated hh:mm" strip inside the last
    paragraph, a live clock line, and the related block rotated. None of it is news."""
    from dataclasses import replace as with_changes

    vi = article.lang == "vi"
    now = datetime.now()
    clock = f"{now.hour:02d}:{now.minute:02d}:{now.second:02d}"
    hours, views = 1 + count % 23, 1204 + 2673 * count
    top = f"{hours} giờ trước" if vi else f"Posted {hours} hours ago"
    counters = (f"{_thousands(views, 'vi')} lượt xem · {count % 50} bình luận" if vi
                else f"{_thousands(views, 'en')} views · {count % 50} comments")
    stamp = (f"Cập nhật {now.hour:02d}:{now.minute:02d}" if vi
             else f"Updated {now.hour:02d}:{now.minute:02d}")
    paragraphs = list(article.paragraphs)
    if paragraphs:
        paragraphs[-1] = f"{paragraphs[-1]} {stamp} · {counters}"
    live = f"Trực tiếp {clock}" if vi else f"Live · {clock}"
    shifted = list(related)
    if shifted:
        k = count % len(shifted)
        shifted = shifted[k:] + shifted[:k]
    return (with_changes(article, paragraphs=[top, live, *paragraphs, counters],
                         comments=count % 50), shifted[:4])
