"""A hostile site: one loopback HTTP server whose pages misbehave, one way per path.

Started and stopped like ``Farm`` (context manager or ``start()``/``stop()``), on its own
host (``127.0.0.16`` by default, a random port). ``/news`` links to one normal article and
to every hostile case; feeds and sitemaps for the feed and sitemap cases are listed in
``FEEDS`` and ``SITEMAPS``. Every case is cheap: bodies are a few MB at most (the 50 MB
page is generated as it is sent, and stops when the client hangs up), drips and loops are
bounded, so nothing can hang a test for more than a few seconds.
Requests are logged in ``HostileSite.requests`` (paths, in order), and the body bytes
written for each path in ``HostileSite.sent``.

``DiscoveryFlood`` (``127.0.0.18`` by default) is the other kind: discovery documents each
within the size cap but holding hundreds of thousands of links (issue 34), generated per
request; ``tests/security/test_bounded_discovery.py`` crawls it.
"""

from __future__ import annotations

import gzip
import logging
import socket
import struct
import sys
import threading
import time
import unicodedata
import zlib
from collections import Counter
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from monitor.farm import render
from monitor.farm.content import FarmArticle
from monitor.farm.sites import SITES

log = logging.getLogger(__name__)

HOST = "127.0.0.16"
OFFSITE_HOST = "127.0.0.17"  # redirect target outside the source's domains (nothing listens)
ARTICLE_PATTERN = r"/a/[a-z0-9-]+$"
SPEC = SITES["mofa_en"]  # pages are rendered in the ministry theme (profile: mofa)
PUBLISHED = datetime.fromisoformat("2024-05-06T09:30:00+07:00")

# article-looking paths linked from /news, and what each one does
CASES: dict[str, str] = {
    "/a/http-500": "HTTP 500",
    "/a/http-503": "HTTP 503 with Retry-After",
    "/a/http-429": "HTTP 429 with Retry-After",
    "/a/redirect-chain": "301 → 302 → an article",
    "/a/redirect-loop": "302 loop between two paths",
    "/a/redirect-spiral": "302 to a new URL each time (endless redirects)",
    "/a/redirect-offsite": "302 to another host, not in the source's domains",
    "/a/reset-mid-body": "connection reset after part of the body",
    "/a/truncated": "Content-Length larger than the body, then close",
    "/a/slow-drip": "one byte per second",
    "/a/big-page": "3 MB page",
    "/a/huge-page": "50 MB page, streamed (chunked) without a Content-Length",
    "/a/gzip-bomb": "Content-Encoding: gzip, 10 MB of zeros in ~10 KB",
    "/a/binary-as-html": "PNG bytes served as text/html",
    "/a/pdf-as-html": "PDF bytes served as text/html",
    "/a/empty": "empty 200",
    "/a/tag-page": "a tag page: links, no article",
    "/a/malformed": "unclosed tags and NUL bytes around real article text",
    "/a/canonical-elsewhere": "rel=canonical to another host",
    "/a/cp1258-undeclared": "Vietnamese in windows-1258, no charset in header or page",
    "/a/charset-lies": "windows-1258 bytes; the header says iso-8859-1, the page utf-8",
    "/a/mixed-forms": "UTF-8 with NFC and NFD (decomposed) paragraphs and an NFD title",
    "/a/disallowed": "disallowed by robots.txt",
}
FEEDS = {
    "/feed/missing.rss": "404 feed",
    "/feed/bad-dates.rss": "RSS with invalid dates and entries without links",
    "/feed/xml-bomb.rss": "billion laughs in a feed",
    "/feed/xxe.rss": "external entity (file:///etc/passwd) in a feed",
}
SITEMAPS = {
    "/sitemap/xml-bomb.xml": "billion laughs in a sitemap",
    "/sitemap/index-10000.xml": "a sitemap index listing 10,000 (empty) sitemaps",
}
REDIRECT_TARGET = "/a/chain-end"  # reached only through /a/redirect-chain
FEED_ARTICLE = "/a/from-feed"  # linked only from /feed/bad-dates.rss

BIG_PAGE = 3 * 1024 * 1024
HUGE_PAGE = 50 * 1024 * 1024  # streamed in HUGE_CHUNK pieces, never held whole
HUGE_CHUNK = 64 * 1024
INDEX_SITEMAPS = 10_000  # child sitemaps listed by /sitemap/index-10000.xml
CHILD_SITEMAP = "/sitemap/child/"  # + n.xml: an empty urlset
BOMB_SIZE = 10 * 1024 * 1024
DRIP_BYTES = 8  # the drip stops after this many seconds whatever the client does

_BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol0 "lol">\n'
    + "".join(f'<!ENTITY lol{i} "{"".join([f"&lol{i - 1};"] * 10)}">\n'
              for i in range(1, 10))
    + "]>\n"
)


def _article(slug: str, title: str, paragraphs: list[str], lang: str = "en") -> FarmArticle:
    return FarmArticle(site="mofa_en", slug=slug, lang=lang, title=title,
                       published=PUBLISHED, paragraphs=paragraphs, author="Hostile Desk")


ARTICLES: dict[str, FarmArticle] = {
    "/a/normal": _article("normal", "Viet Nam and US review trade ties", [
        "Trade officials from Viet Nam and the United States reviewed bilateral commerce "
        "in Ha Noi on Monday, noting that two-way trade passed 120 billion USD last year.",
        "The delegations discussed tariffs on seafood and steel, market access for "
        "farm produce and the protection of intellectual property.",
        "They agreed to set up a working group on supply chains for semiconductors.",
    ]),
    REDIRECT_TARGET: _article("chain-end", "Viet Nam and US discuss clean energy", [
        "Energy ministers met in Da Nang to plan offshore wind farms along the central coast, "
        "with financing from the Just Energy Transition Partnership.",
        "American engineers will train Vietnamese grid operators in storage technology, "
        "and three pilot solar parks are to open in Ninh Thuan next spring.",
        "Coal plants in the north will be retired gradually under the agreed timetable.",
    ]),
    "/a/malformed": _article("malformed", "Viet Nam and US talk about education", [
        "Fulbright University Vietnam will welcome two hundred new scholars this autumn, "
        "the rector told visiting congressmen in Ho Chi Minh City.",
        "Exchange programmes for high-school teachers of English and mathematics will "
        "double, and four American colleges plan joint degrees in engineering.",
        "Students praised the libraries and laboratories donated by alumni.",
    ]),
    "/a/canonical-elsewhere": _article("canonical-elsewhere",
                                       "Viet Nam and US expand health cooperation", [
        "Doctors from the Centers for Disease Control trained nurses in Can Tho to detect "
        "dengue and tuberculosis earlier, using portable laboratory kits.",
        "A new vaccine warehouse in Hai Phong, funded by USAID, keeps five million doses "
        "at the right temperature for the northern provinces.",
        "Hospitals will share anonymised records to study antibiotic resistance.",
    ]),
    FEED_ARTICLE: _article("from-feed", "Viet Nam and US hold maritime dialogue", [
        "Coast guard commanders exchanged views on search and rescue in the East Sea and "
        "on stopping illegal, unreported and unregulated fishing.",
        "A decommissioned cutter handed over last year now patrols the Gulf of Tonkin, "
        "and crews will practise boarding drills together in July.",
        "Both sides called for freedom of navigation under international law.",
    ]),
    "/a/disallowed": _article("disallowed", "Viet Nam and US sign a forbidden deal", [
        "This page is disallowed by robots.txt and must never be fetched or stored.",
        "Any crawler that stores it ignored the site's instructions about this path.",
    ]),
    # Vietnamese, served with charset trouble (CHARSET_CASES)
    "/a/cp1258-undeclared": _article("cp1258-undeclared",
                                     "Việt Nam và Hoa Kỳ thúc đẩy hợp tác thương mại", [
        "Bộ trưởng Bộ Công Thương tiếp đoàn doanh nghiệp Hoa Kỳ tại Hà Nội ngày 6 tháng 5, "
        "trao đổi về chuỗi cung ứng chất bán dẫn và năng lượng sạch.",
        "Hai bên nhất trí tăng cường kết nối giữa các địa phương của Việt Nam với các bang "
        "của Hoa Kỳ, nhất là trong lĩnh vực nông nghiệp và giáo dục.",
        "Kim ngạch thương mại song phương năm ngoái đạt hơn 120 tỷ đô la Mỹ.",
    ], lang="vi"),
    "/a/charset-lies": _article("charset-lies",
                                "Thủ tướng tiếp Đại sứ Hoa Kỳ tại trụ sở Chính phủ", [
        "Chiều 6 tháng 5, tại Hà Nội, Thủ tướng Chính phủ tiếp Đại sứ Hoa Kỳ nhân dịp "
        "kết thúc nhiệm kỳ công tác tại Việt Nam.",
        "Thủ tướng đánh giá cao những đóng góp của Đại sứ đối với quan hệ Đối tác Chiến lược "
        "Toàn diện giữa hai nước, đặc biệt về khắc phục hậu quả chiến tranh.",
        "Đại sứ khẳng định sẽ tiếp tục ủng hộ hợp tác trong y tế, giáo dục và khoa học.",
    ], lang="vi"),
    "/a/mixed-forms": _article("mixed-forms", "Đà Nẵng đón tàu Hải quân Hoa Kỳ thăm hữu nghị", [
        "Sáng 6 tháng 5, tàu Hải quân Hoa Kỳ cập cảng Tiên Sa, Đà Nẵng, bắt đầu chuyến thăm "
        "hữu nghị Việt Nam kéo dài năm ngày.",
        "Thủy thủ hai nước sẽ giao lưu thể thao, khám chữa bệnh miễn phí cho người dân và "
        "trao đổi kinh nghiệm tìm kiếm cứu nạn trên biển.",
        "Đoàn cũng đến thăm Hà Nội và gặp lãnh đạo Bộ Quốc phòng.",
    ], lang="vi"),
}
# path: (encoding of the bytes, charset in the Content-Type header or None, charset in
# <meta> or None, Unicode form of the text: nfc or mixed)
CHARSET_CASES: dict[str, tuple[str, str | None, str | None, str]] = {
    "/a/cp1258-undeclared": ("windows-1258", None, None, "nfc"),
    "/a/charset-lies": ("windows-1258", "iso-8859-1", "utf-8", "nfc"),
    "/a/mixed-forms": ("utf-8", "utf-8", "utf-8", "mixed"),
}
STORED = ("/a/normal", REDIRECT_TARGET, "/a/malformed", "/a/canonical-elsewhere",
          FEED_ARTICLE, *CHARSET_CASES)
"""Paths whose article must be stored (under that path); every other case stores none."""


def _png(size: int = 4096) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    width = 64
    rows = b"".join(b"\x00" + b"\x80" * width * 3 for _ in range(size // (width * 3) + 1))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width,
                                                             size // (width * 3) + 1,
                                                             8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def _pdf() -> bytes:
    """A small but real-looking PDF file."""
    return (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
            b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
            b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>\nendobj\n"
            + b"% Viet Nam and US review trade ties\n" * 100
            + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")


class _LoopbackSite:
    """A server on one loopback address, on a thread: ``start``/``stop`` or ``with``;
    ``base_url`` once started. Subclasses set ``host`` and ``port`` and name their
    request handler (``_handler``)."""

    host: str
    port: int = 0
    _server: ThreadingHTTPServer | None = None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def start(self) -> Self:
        server = _Server((self.host, self.port), self._handler())
        server.site = self  # type: ignore[attr-defined]
        self._server = server
        threading.Thread(target=server.serve_forever, name=f"farm-{type(self).__name__}",
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"


class HostileSite(_LoopbackSite):
    """The hostile site on ``HOST``; use as a context manager or start()/stop()."""

    def __init__(self, host: str = HOST, port: int = 0) -> None:
        self.host = host
        self.port = port
        self.requests: list[str] = []
        self.sent: Counter[str] = Counter()  # body bytes written per path (streamed cases)
        self.times: list[tuple[float, str]] = []  # (monotonic time, path) of each request
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()
        self._bomb = gzip.compress(b"\0" * BOMB_SIZE, compresslevel=9)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return _Handler

    def url(self, path: str) -> str:
        return self.base_url + path

    def hits(self, path: str) -> int:
        """How many requests were made for ``path``."""
        with self._lock:
            return sum(1 for p in self.requests if p.split("?")[0] == path)

    def _log(self, path: str) -> None:
        with self._lock:
            self.requests.append(path)
            self.times.append((time.monotonic(), path))

    # -- bodies ------------------------------------------------------------------------------
    def article_html(self, path: str, canonical: str | None = None) -> str:
        article = ARTICLES[path]
        html = render.render_article(SPEC, article, self.url(path), [], 42)
        if canonical:
            html = html.replace("</head>", f'<link rel="canonical" href="{canonical}"></head>', 1)
        return html

    def encoded_article(self, path: str) -> tuple[bytes, str]:
        """Body and Content-Type of a ``CHARSET_CASES`` page."""
        encoding, header, meta, form = CHARSET_CASES[path]
        html = self.article_html(path)
        if form == "mixed":  # the title decomposed too, where it is shown
            title = ARTICLES[path].title
            html = html.replace(title, unicodedata.normalize("NFD", title))
        body = render.encode_page(html, encoding, meta, form)
        return body, "text/html" + (f"; charset={header}" if header else "")

    def listing_html(self) -> str:
        links = "".join(f'<li><a href="{p}">{p}</a></li>'
                        for p in ["/a/normal", *CASES])
        return (f"<!DOCTYPE html><html><head><title>News</title></head><body><ul>{links}"
                "</ul></body></html>")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up mid-body (the size cap, a timeout) is what these pages are
        for: no traceback on stderr for it."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            log.debug("hostile: %s hung up: %s", client_address, error)
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "newswatch-hostile/1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("hostile %s", format % args)

    @property
    def site(self) -> HostileSite:
        return self.server.site  # type: ignore[attr-defined]

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?")[0]
        self.site._log(path)
        try:
            self._route(path)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up: fine
            self.close_connection = True

    def _send(self, status: int, body: bytes = b"", content_type: str = "text/html; "
              "charset=utf-8", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _html(self, text: str) -> None:
        self._send(200, text.encode("utf-8"))

    def _redirect(self, status: int, location: str) -> None:
        self._send(status, b"", headers={"Location": location})

    def _route(self, path: str) -> None:  # noqa: C901  (one branch per case, on purpose)
        site = self.site
        if path == "/robots.txt":
            self._send(200, b"User-agent: *\nDisallow: /a/disallowed\n", "text/plain")
        elif path == "/news":
            self._html(site.listing_html())
        elif path in ("/a/normal", REDIRECT_TARGET, FEED_ARTICLE, "/a/disallowed"):
            self._html(site.article_html(path))
        elif path in CHARSET_CASES:
            self._send(200, *site.encoded_article(path))
        elif path == "/a/canonical-elsewhere":
            self._html(site.article_html(path, canonical="http://evil.example/a/stolen"))
        elif path == "/a/malformed":
            html = site.article_html(path)
            html = (html.replace("</p>", "\0", 3).replace("</div>", "", 4)
                    .replace("<body>", "<body><div><span><b>\0\0<table><tr><td>", 1)
                    .replace("</html>", "<p><i>unclosed"))
            self._html(html)
        elif path == "/a/http-500":
            self._send(500, b"<h1>Internal Server Error</h1>")
        elif path == "/a/http-503":
            self._send(503, b"<h1>Service Unavailable</h1>", headers={"Retry-After": "1"})
        elif path == "/a/http-429":
            self._send(429, b"<h1>Too Many Requests</h1>", headers={"Retry-After": "1"})
        elif path == "/a/redirect-chain":
            self._redirect(301, "/r/chain-2")
        elif path == "/r/chain-2":
            self._redirect(302, REDIRECT_TARGET)
        elif path == "/a/redirect-loop":
            self._redirect(302, "/r/loop")
        elif path == "/r/loop":
            self._redirect(302, "/a/redirect-loop")
        elif path == "/a/redirect-offsite":
            self._redirect(302, f"http://{OFFSITE_HOST}:{self.server.server_address[1]}/a/x")
        elif path in ("/a/redirect-spiral", "/r/spiral"):
            step = int(self.path.partition("?n=")[2] or 0)
            if step < 100:  # bounded, whatever the client does
                self._redirect(302, f"/r/spiral?n={step + 1}")
            else:
                self._send(404, b"<h1>404</h1>")
        elif path in ("/a/reset-mid-body", "/a/truncated"):
            self._cut(path == "/a/reset-mid-body")
        elif path == "/a/slow-drip":
            self._drip()
        elif path == "/a/big-page":
            filler = b"<p>" + b"x" * 1000 + b"</p>\n"
            body = b"<html><body>" + filler * (BIG_PAGE // len(filler)) + b"</body></html>"
            self._send(200, body)
        elif path == "/a/huge-page":
            self._stream(path, HUGE_PAGE)
        elif path == "/a/gzip-bomb":
            self._send(200, site._bomb, headers={"Content-Encoding": "gzip"})
        elif path == "/a/binary-as-html":
            self._send(200, _png())
        elif path == "/a/pdf-as-html":
            self._send(200, _pdf())
        elif path == "/a/empty":
            self._send(200, b"")
        elif path == "/a/tag-page":
            items = "".join(f'<li><a href="/tag/us-{i}">US relations {i}</a></li>'
                            for i in range(30))
            self._html(f"<html><head><title>Tag: US</title></head><body><h1>Tag: US</h1>"
                       f"<ul>{items}</ul></body></html>")
        elif path.startswith("/feed/") and path in FEEDS and path != "/feed/missing.rss":
            self._send(200, _feed(site, path).encode("utf-8"), "application/rss+xml")
        elif path == "/sitemap/xml-bomb.xml":
            body = (_BILLION_LAUGHS.replace("lolz", "urlset")
                    + '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                    f"<url><loc>{site.url('/a/')}&lol9;</loc></url></urlset>")
            self._send(200, body.encode("utf-8"), "application/xml")
        elif path == "/sitemap/index-10000.xml":
            base = site.base_url
            body = ('<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex '
                    'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                    + "".join(f"<sitemap><loc>{base}{CHILD_SITEMAP}{n}.xml</loc></sitemap>"
                              for n in range(INDEX_SITEMAPS))
                    + "</sitemapindex>")
            self._send(200, body.encode("utf-8"), "application/xml")
        elif path.startswith(CHILD_SITEMAP) and path.endswith(".xml"):
            self._send(200, b'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns='
                       b'"http://www.sitemaps.org/schemas/sitemap/0.9"></urlset>',
                       "application/xml")
        else:
            self._send(404, b"<h1>404</h1>")

    def _cut(self, reset: bool) -> None:
        """Promise 20,000 bytes, send 5,000, then close (with a RST if ``reset``)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", "20000")
        self.end_headers()
        self.wfile.write(b"<html><body><p>" + b"partial " * 625)
        self.wfile.flush()
        if reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _stream(self, path: str, size: int) -> None:
        """``size`` bytes of HTML, chunked (no Content-Length), made as they are sent; stops
        when the client hangs up. ``site.sent[path]`` counts the body bytes written.

        The send buffer is kept small, so the count stays close to what the client read
        (the kernel would otherwise accept a few MB ahead of it)."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, HUGE_CHUNK)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        line = b"<p>" + b"y" * 1000 + b"</p>\n"
        chunk = b"<html><body>" + line * (HUGE_CHUNK // len(line))
        sent = 0
        while sent < size:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
            with self.site._lock:
                self.site.sent[path] += len(chunk)
            chunk = line * (HUGE_CHUNK // len(line))
        self.wfile.write(b"0\r\n\r\n")
        self.close_connection = True

    def _drip(self) -> None:
        """One byte a second, ``DRIP_BYTES`` at most, then close."""
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.flush()
        for _ in range(DRIP_BYTES):
            self.wfile.write(b"<")
            self.wfile.flush()
            time.sleep(1)
        self.close_connection = True


def _feed(site: HostileSite, path: str) -> str:
    channel = ("<channel><title>Hostile</title><link>{base}/</link>"
               "<description>hostile feed</description>{items}</channel>")
    base = site.base_url
    if path == "/feed/bad-dates.rss":
        items = (
            f"<item><title>Good link, bad date</title><link>{base}{FEED_ARTICLE}</link>"
            "<pubDate>Someday, 45 Foo 20X4 99:99:99 +9999</pubDate></item>"
            "<item><title>No link at all</title><pubDate>not a date</pubDate></item>"
            "<item><title>Empty link</title><link></link><pubDate></pubDate></item>"
        )
        head = '<?xml version="1.0" encoding="utf-8"?>\n'
    elif path == "/feed/xml-bomb.rss":
        items = f"<item><title>&lol9;</title><link>{base}/a/&lol9;</link></item>"
        head = _BILLION_LAUGHS.replace("lolz", "rss")
    else:  # xxe
        items = (f"<item><title>&xxe;</title><link>{base}/a/&xxe;</link>"
                 "<description>&xxe;</description></item>")
        head = ('<?xml version="1.0"?>\n<!DOCTYPE rss [\n'
                '<!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n')
    return head + '<rss version="2.0">' + channel.format(base=base, items=items) + "</rss>"


# -- discovery floods (issue 34): sitemaps and feeds far larger than any real one ------------
FLOOD_HOST = "127.0.0.18"
FLOOD_CHILDREN = 200  # child sitemaps listed by /flood/index.xml
FLOOD_URLS = 250_000  # URLs in each child sitemap: ~8.5 MB, under the 10 MiB cap
FLOOD_FEED_ITEMS = 270_000  # items in /flood/feed.rss: ~10 MB, under the 10 MiB cap
FLOOD_INDEX = "/flood/index.xml"
FLOOD_FEED = "/flood/feed.rss"
FLOOD_CHILD = "/flood/child-"  # + n.xml; its URLs are /a/<n>-<k> (not pages: not_text)


class DiscoveryFlood(_LoopbackSite):
    """A site whose discovery documents are each within the size cap but hold hundreds of
    thousands of links: a sitemap index of ``children`` children of ``urls`` URLs each
    (``FLOOD_INDEX``; child n's ``<lastmod>`` is 2024-01-01 plus n days, so the last
    listed is the newest), and a feed of ``feed_items`` links (``FLOOD_FEED``). Bodies
    are generated per request, never kept. Article URLs answer at once with a few bytes
    that are not a page (nothing to extract). Requests are logged in ``requests`` (paths,
    in order)."""

    def __init__(self, host: str = FLOOD_HOST, children: int = FLOOD_CHILDREN,
                 urls: int = FLOOD_URLS, feed_items: int = FLOOD_FEED_ITEMS) -> None:
        self.host, self.children, self.urls, self.feed_items = host, children, urls, feed_items
        self.requests: list[str] = []
        self.sent: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return _FloodHandler

    def child(self, n: int) -> str:
        """The path of child sitemap ``n`` (0: the oldest)."""
        return f"{FLOOD_CHILD}{n}.xml"

    def body(self, path: str) -> bytes | None:
        """The document at ``path``, generated now; None for any other path."""
        head = b"<?xml version='1.0' encoding='UTF-8'?>\n"
        ns = b" xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'"
        if path == FLOOD_INDEX:
            return head + b"<sitemapindex" + ns + b">" + b"".join(
                f"<sitemap><loc>{self.child(n)}</loc><lastmod>{_day(n)}</lastmod></sitemap>"
                .encode() for n in range(self.children)) + b"</sitemapindex>"
        if path.startswith(FLOOD_CHILD) and path.endswith(".xml"):
            n = path[len(FLOOD_CHILD):-4]
            return head + b"<urlset" + ns + b">" + b"".join(
                f"<url><loc>/a/{n}-{k}</loc></url>".encode()
                for k in range(self.urls)) + b"</urlset>"
        if path == FLOOD_FEED:
            return head + b"<rss version='2.0'><channel><title>Flood</title>" + b"".join(
                f"<item><link>/a/f-{k}</link></item>".encode()
                for k in range(self.feed_items)) + b"</channel></rss>"
        return None


def _day(n: int) -> str:
    return datetime.fromordinal(datetime(2024, 1, 1).toordinal() + n).date().isoformat()


class _FloodHandler(_Handler):
    @property
    def flood(self) -> DiscoveryFlood:
        return self.server.site  # type: ignore[attr-defined]

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?")[0]
        flood = self.flood
        with flood._lock:
            flood.requests.append(path)
        try:
            if path == "/robots.txt":
                self._send(200, b"User-agent: *\nAllow: /\n", "text/plain")
                return
            body = flood.body(path)
            if body is None:  # an article URL: a few bytes that are not a page, at once
                self._send(200, b"\0" * 16, "application/octet-stream")
                return
            self._send(200, body, "application/xml")
            with flood._lock:
                flood.sent[path] += len(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
