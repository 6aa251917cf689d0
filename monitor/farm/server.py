"""The replica site farm: one small HTTP server per site on its own loopback address.

Each site listens on ``127.0.0.<n>`` so that sites have distinct hosts, as the real
outlets do (the crawler's domain scoping is exercised for real). Pages carry ETag and
Last-Modified and answer conditional requests. While running, the farm can publish a
new article or edit one, from Python or over HTTP (``POST /__farm__/publish|edit``).
Any article page can also be served in another encoding with a wrong or missing charset
declaration, through query parameters (``ENCODING_PARAMS``, ``Farm.encoded_url``).
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import replace as with_changes
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from monitor.farm import render
from monitor.farm.archive import Archive
from monitor.farm.content import (
    FarmArticle,
    RelatedItem,
    article_from_dict,
    load_corpus,
    synthetic_articles,
)
from monitor.farm.sites import SITES, SiteSpec

log = logging.getLogger(__name__)

FEED_SIZE = 20
SITEMAP_CHUNK = 500
TRACKING = "utm_source=rss&utm_medium=feed&utm_campaign=home"


@dataclass
class Page:
    """A rendered response body with its validators."""

    body: bytes
    content_type: str
    last_modified: datetime
    etag: str


class FarmError(ValueError):
    """A publish or edit request the farm cannot honour."""


class _SiteState:
    """The articles of one site, newest first, and their paths."""

    def __init__(self, spec: SiteSpec) -> None:
        self.spec = spec
        self.articles: list[FarmArticle] = []
        self.by_path: dict[str, FarmArticle] = {}
        self.by_slug: dict[str, FarmArticle] = {}

    def add(self, article: FarmArticle) -> None:
        if article.slug in self.by_slug:
            raise FarmError(f"{self.spec.name}: slug {article.slug!r} already published")
        self.by_slug[article.slug] = article
        self.by_path[render.article_path(self.spec, article)] = article
        self.articles.append(article)
        self.articles.sort(key=lambda a: a.published, reverse=True)

    def replace(self, old: FarmArticle, new: FarmArticle) -> None:
        self.by_slug[new.slug] = new
        self.by_path[render.article_path(self.spec, new)] = new
        self.articles[self.articles.index(old)] = new


class Farm:
    """Replica news sites on 127.0.0.x; use as a context manager or start()/stop()."""

    def __init__(self, articles: Iterable[FarmArticle] | None = None, extra: int = 0,
                 port: int = 0, sites: Iterable[str] | None = None, archive: int = 0,
                 archive_site: str = "baochinhphu_en") -> None:
        """``archive``: that many older articles on ``archive_site``, generated lazily
        (``monitor.farm.archive``), for backfills."""
        names = list(sites) if sites is not None else list(SITES)
        self.sites = {name: _SiteState(SITES[name]) for name in names}
        corpus = list(articles) if articles is not None else load_corpus()
        if extra:
            corpus += synthetic_articles(corpus, extra, names)
        for article in corpus:
            if article.site in self.sites:
                self.sites[article.site].add(article)
        self.archive: Archive | None = None
        if archive:
            if archive_site not in self.sites:
                raise FarmError(f"archive site {archive_site!r} is not served")
            self.archive = Archive(archive, archive_site, corpus)
        self.port = port
        self._servers: dict[str, ThreadingHTTPServer] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.RLock()
        self._cache: dict[tuple[str, str], Page] = {}
        self._encodings: dict[tuple[str, str], dict[str, list[str]]] = {}
        self._faults: dict[tuple[str, str], list[int]] = {}  # (site, path): [status, left]
        self._redirects: dict[tuple[str, str], str] = {}  # (site, path): Location
        self._notices: dict[tuple[str, str], str] = {}  # (site, path): language
        self.volatile = False  # counters, relative times, related blocks change per request
        self.served: dict[tuple[str, str], int] = {}  # volatile mode: requests per page
        self.requests = 0
        # per site: requests answered, in flight now, the most ever in flight at once,
        # and each request's start (monotonic seconds): ``load`` (politeness, counted here)
        self._load: dict[str, dict[str, Any]] = {}
        self.redesigned: set[str] = set()  # sites serving their articles in a new layout
        self.forbidden: set[str] = set()  # sites answering 403 to every request

    @classmethod
    def many(cls, count: int, base: str = "laodong_en", articles: int = 3,
             port: int = 0) -> Farm:
        """A farm of ``count`` synthetic sites (benchmarks: a daemon watching hundreds of
        sources): clones of the site ``base`` named ``w0000``, ``w0001``, ..., each on
        its own loopback address (127.1.<i // 200>.<i % 200 + 1>: distinct hosts, so
        distinct sites and politeness budgets) with the first ``articles`` of
        ``base``'s corpus. ``source_entries`` gives their sources."""
        if not 0 < count <= 50_000:
            raise FarmError(f"many: {count} sites (1 to 50,000)")
        farm = cls(articles=[], sites=[], port=port)
        spec = SITES[base]
        corpus = [a for a in load_corpus() if a.site == base][:articles]
        for i in range(count):
            name = f"w{i:04d}"
            clone = with_changes(spec, name=name, address=f"127.1.{i // 200}.{i % 200 + 1}")
            state = _SiteState(clone)
            for article in corpus:
                state.add(with_changes(article, site=name))
            farm.sites[name] = state
        farm.base = base  # type: ignore[attr-defined]
        return farm

    def source_entries(self, template: dict[str, Any]) -> list[dict[str, Any]]:
        """One source per served site, from ``template`` (a source of config/demo.yaml
        for the clones' base site, its ``${FARM_...}`` placeholders unresolved): the
        base site's URLs and host replaced by each site's."""
        base = getattr(self, "base", None)
        if base is None:
            raise FarmError("source_entries: not a Farm.many farm")
        url_var, host_var = f"${{FARM_{base.upper()}}}", f"${{FARM_{base.upper()}_HOST}}"
        entries = []
        for name in self.sites:
            text = json.dumps(template).replace(url_var, self.base_url(name)).replace(
                host_var, urlsplit(self.base_url(name)).hostname or "")
            entries.append({**json.loads(text), "name": name, "edition": None})
        return entries

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Farm:
        """Bind every site and serve in background threads."""
        port = self.port
        for name, state in self.sites.items():
            host = state.spec.address or f"127.0.0.{state.spec.host_index}"
            server = _bind(host, port)
            port = port or server.server_address[1]  # same port on every host when free
            server.farm = self  # type: ignore[attr-defined]
            server.site = name  # type: ignore[attr-defined]
            self._servers[name] = server
            thread = threading.Thread(target=server.serve_forever, name=f"farm-{name}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def prerender(self) -> int:
        """Render every article page now (benchmarks: the farm then only serves bytes)."""
        count = 0
        for name, state in self.sites.items():
            for article in list(state.articles):
                self.page(name, render.article_path(state.spec, article))
                count += 1
        return count

    def stop(self) -> None:
        """Stop serving and close the sockets (every site at once: each ``shutdown`` waits
        for its serving loop's next poll, up to half a second)."""
        stopping = [threading.Thread(target=server.shutdown, daemon=True)
                    for server in self._servers.values()]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()
        for server in self._servers.values():
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> Farm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------------
    def base_url(self, site: str) -> str:
        """``http://127.0.0.n:port`` of a running site."""
        host, port = self._servers[site].server_address[:2]
        return f"http://{host}:{port}"

    @property
    def variables(self) -> dict[str, str]:
        """``FARM_<SITE>`` (base URL) and ``FARM_<SITE>_HOST`` for config interpolation."""
        out = {}
        for name in self._servers:
            base = self.base_url(name)
            out[f"FARM_{name.upper()}"] = base
            out[f"FARM_{name.upper()}_HOST"] = urlsplit(base).hostname or ""
        return out

    def config_variables(self) -> dict[str, str]:
        """``variables``, plus stand-ins (the discard port of 127.0.0.1) for the sites this
        farm does not serve, so that config/demo.yaml loads whole. Crawl only the sources
        of the sites it serves (``crawl(..., sources=[...])``)."""
        out: dict[str, str] = {}
        for name in SITES:
            out[f"FARM_{name.upper()}"] = "http://127.0.0.1:9"
            out[f"FARM_{name.upper()}_HOST"] = "127.0.0.1"
        return {**out, **self.variables}

    def url_of(self, site: str, slug: str) -> str:
        """The canonical URL of an article."""
        state = self.sites[site]
        return self.base_url(site) + render.article_path(state.spec, state.by_slug[slug])

    def article(self, site: str, slug: str) -> FarmArticle:
        """The current state of an article."""
        return self.sites[site].by_slug[slug]

    def encoded_url(self, site: str, slug: str, encoding: str = "utf-8",
                    header: str | None = "same", meta: str | None = "same",
                    form: str = "nfc") -> str:
        """The URL of an article page served in ``encoding`` with the given declarations.

        ``header`` is the charset the Content-Type header names and ``meta`` the one the
        page's ``<meta charset>`` names: ``"same"`` for ``encoding`` itself, None for no
        declaration, any other label for a wrong one. ``form`` is the Unicode form of
        the text: nfc, nfd or mixed (see ``render.encode_page``).
        """
        def label(value: str | None) -> str:
            return "none" if value is None else (encoding if value == "same" else value)

        query = urlencode({"__encoding": encoding, "__header": label(header),
                           "__meta": label(meta), "__form": form})
        return f"{self.url_of(site, slug)}?{query}"

    def set_encoding(self, site: str, slug: str, encoding: str = "utf-8",
                     header: str | None = "same", meta: str | None = "same",
                     form: str = "nfc") -> None:
        """Serve an article at its own URL as ``encoded_url`` would (same arguments)."""
        query = urlsplit(self.encoded_url(site, slug, encoding, header, meta, form)).query
        with self._lock:
            self._encodings[(site, slug)] = parse_qs(query)
            self._cache.clear()

    def all_articles(self) -> list[FarmArticle]:
        """Every article on every site."""
        return [a for state in self.sites.values() for a in state.articles]

    # -- breakage (source health) -----------------------------------------------------------
    def redesign(self, site: str, on: bool = True) -> None:
        """Serve ``site``'s article pages in a new layout (its body container renamed, as
        a site redesign does: the profile's body rule stops matching), or back."""
        with self._lock:
            (self.redesigned.add if on else self.redesigned.discard)(site)
            self._cache.clear()

    def forbid(self, site: str, on: bool = True) -> None:
        """Make ``site`` answer 403 Forbidden to every request (a crawler block), or not."""
        with self._lock:
            (self.forbidden.add if on else self.forbidden.discard)(site)

    # -- changes -----------------------------------------------------------------------------
    def publish(self, article: FarmArticle | dict[str, Any]) -> str:
        """Publish a new article now; returns its URL."""
        if isinstance(article, dict):
            article = article_from_dict(article.get("site", ""), article)
        if article.site not in self.sites:
            raise FarmError(f"unknown site {article.site!r}")
        with self._lock:
            self.sites[article.site].add(article)
            self._cache.clear()
        return self.url_of(article.site, article.slug)

    def count(self, site: str, slug: str, comments: int | None = None,
              views: int | None = None) -> None:
        """Change an article's counters only: the page changes, the article does not."""
        with self._lock:
            state = self.sites[site]
            old = state.by_slug[slug]
            state.replace(old, with_changes(old, comments=old.comments if comments is None
                                       else comments, views=old.views if views is None else views))
            self._cache.clear()

    def edit(self, site: str, slug: str, paragraphs: list[str] | None = None,
             replace: dict[int, str] | None = None) -> str:
        """Change an article's body (whole, or some paragraphs by index); returns its URL."""
        with self._lock:
            state = self.sites[site]
            if slug not in state.by_slug:
                raise FarmError(f"{site}: no article {slug!r}")
            old = state.by_slug[slug]
            new_paragraphs = list(paragraphs if paragraphs is not None else old.paragraphs)
            for index, text in (replace or {}).items():
                new_paragraphs[index] = text
            when = max(datetime.now().astimezone(), old.last_modified + timedelta(seconds=1))
            state.replace(old, old.edited(new_paragraphs, when))
            self._cache.clear()
        return self.url_of(site, slug)

    def unpublish(self, site: str, slug: str, how: str = "delete") -> str:
        """Take an article down; returns its URL. ``how``: "delete" (404, and gone from
        feeds, sitemaps and listings), "notice" (its URL shows a removal notice) or
        "redirect" (its URL redirects to the site's section page)."""
        with self._lock:
            state = self.sites[site]
            if slug not in state.by_slug:
                raise FarmError(f"{site}: no article {slug!r}")
            article = state.by_slug.pop(slug)
            path = render.article_path(state.spec, article)
            url = self.base_url(site) + path
            state.by_path.pop(path, None)
            state.articles.remove(article)
            if how == "notice":
                self._notices[(site, path)] = article.lang
            elif how == "redirect":
                self._redirects[(site, path)] = state.spec.listing_path
            elif how != "delete":
                raise FarmError(f"unknown way to unpublish {how!r}")
            self._cache.clear()
        return url

    def fail(self, site: str, slug: str, status: int = 503, requests: int = 1) -> None:
        """Answer ``status`` to the next ``requests`` requests of an article's page."""
        state = self.sites[site]
        path = render.article_path(state.spec, state.by_slug[slug])
        with self._lock:
            self._faults[(site, path)] = [status, requests]

    def _started(self, site: str) -> None:
        with self._lock:
            load = self._load.setdefault(site, {"requests": 0, "in_flight": 0,
                                                "most_in_flight": 0, "starts": []})
            load["requests"] += 1
            load["in_flight"] += 1
            load["most_in_flight"] = max(load["most_in_flight"], load["in_flight"])
            load["starts"].append(time.monotonic())

    def _ended(self, site: str) -> None:
        with self._lock:
            load = self._load.get(site)
            if load is not None:  # (None: a reset while it was in flight)
                load["in_flight"] = max(0, load["in_flight"] - 1)

    def load(self, reset: bool = False) -> dict[str, dict[str, Any]]:
        """What each site saw of its crawlers, counted by the server (politeness across
        processes and machines): ``{site: {"requests": n, "most_in_flight": n (the most
        requests it was answering at once), "most_per_second": n (the most requests
        that started within any one second), "min_gap": seconds (the shortest time
        between two starts; None below two requests)}}``. ``reset``: forget it after
        (the next measure starts afresh)."""
        with self._lock:
            out = {}
            for site, load in self._load.items():
                starts = sorted(load["starts"])
                most, first = 0, 0
                for last, at in enumerate(starts):
                    while at - starts[first] >= 1.0:
                        first += 1
                    most = max(most, last - first + 1)
                gaps = [b - a for a, b in itertools.pairwise(starts)]
                out[site] = {"requests": load["requests"],
                             "most_in_flight": load["most_in_flight"],
                             "most_per_second": most,
                             "min_gap": round(min(gaps), 4) if gaps else None}
            if reset:
                self._load = {}
            return out

    def _fault(self, site: str, target: str) -> tuple[int, str | None] | None:
        """(status, Location) to answer instead of the page, if one is set."""
        path = urlsplit(target).path
        with self._lock:
            fault = self._faults.get((site, path))
            if fault and fault[1] > 0:
                fault[1] -= 1
                return fault[0], None
            if (site, path) in self._redirects:
                return 301, self._redirects[(site, path)]
        return None

    # -- pages -------------------------------------------------------------------------------
    def page(self, site: str, target: str) -> Page | None:
        """The page at ``target`` (path and query) on ``site``, or None for 404."""
        key = (site, target)
        if self.archive is not None and site == self.archive.site:  # never cached
            index = self.archive.index_of(urlsplit(target).path)
            if index is not None:
                self.archive.served_page(index)
                return _html(self.archive.html(index, self.base_url(site)),
                             self.archive.published(index))
        with self._lock:
            if self.volatile and urlsplit(target).path in self.sites[site].by_path:
                served = (site, urlsplit(target).path)
                self.served[served] = self.served.get(served, 0) + 1
                return self._render(site, target)  # a new page at every request
            cached = self._cache.get(key)
            if cached is None:
                cached = self._render(site, target)
                if cached is not None:
                    self._cache[key] = cached
            return cached

    def _render(self, site: str, target: str) -> Page | None:
        state = self.sites[site]
        spec = state.spec
        base = self.base_url(site)
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        if path in state.by_path:
            article = state.by_path[path]
            html = self._article_html(state, article, base + path)
            if site in self.redesigned:
                html = render.redesign(spec, html)
            query = query or self._encodings.get((site, article.slug), {})
            if any(name in query for name in ENCODING_PARAMS):
                return _encoded(html, query, article.last_modified)
            return _html(html, article.last_modified)
        if (site, path) in self._notices:
            return _html(render.render_notice(spec, self._notices[(site, path)]),
                         self._newest(state))
        if path == "/robots.txt":
            return _page(render.render_robots(base), "text/plain; charset=utf-8",
                         self._newest(state))
        if path in ("/", spec.listing_path):
            try:
                number = max(1, int(query.get("page", ["1"])[0]))
            except ValueError:
                number = 1
            size = spec.page_size
            chunk = state.articles[(number - 1) * size: number * size]
            if not chunk and number > 1:
                return None
            cards = [(render.article_path(spec, a), a) for a in chunk]
            has_next = number * size < len(state.articles)
            body = render.render_listing(spec, cards, number, has_next, spec.listing_path)
            return _html(body, self._newest(state))
        if spec.feed_kind and path == spec.feed_path:
            return self._feed(state, base)
        if path == "/sitemap.xml":
            return self._sitemap(state, base, None)
        if path.startswith("/sitemaps/sitemap-") and path.endswith(".xml"):
            return self._sitemap(state, base, path[len("/sitemaps/sitemap-"):-4])
        if self.archive is not None and site == self.archive.site:
            body = self.archive.urlset(path, base)
            if body is not None:
                return _page(body, "application/xml", self._newest(state))
        return None

    def _article_html(self, state: _SiteState, article: FarmArticle, url: str) -> str:
        related = article.related or [
            RelatedItem(title=a.title, teaser=a.lead or "", author=a.author or "")
            for a in state.articles if a.slug != article.slug
        ][:4 if not self.volatile else None]  # volatile: rotated over all, 4 shown
        source_url = None
        origin = article.republished_from
        if origin and origin.get("site") in self.sites:
            other = self.sites[origin["site"]]
            if origin.get("slug") in other.by_slug:
                source_url = self.url_of(origin["site"], origin["slug"])
        if source_url is None and article.source_name:
            source_url = self.base_url(next(iter(self._servers))) + "/"
        views = article.views if article.views is not None else 3 + article.article_id % 97
        if self.volatile:
            count = self.served.get((state.spec.name, urlsplit(url).path), 0)
            article, related = render.volatile_variant(article, related, count)
            views += 137 * count
        return render.render_article(state.spec, article, url, related, views, source_url)

    def _feed(self, state: _SiteState, base: str) -> Page:
        spec = state.spec
        newest = state.articles[:FEED_SIZE]
        links = []
        for a in newest:
            link = base + render.article_path(spec, a)
            if spec.theme == "laodong":
                link += "?" + TRACKING  # as the real feeds do: tracking parameters on links
            links.append((link, a))
        if spec.feed_kind == "atom":
            body, kind = render.render_atom(spec, base, links), "application/atom+xml"
        else:
            body, kind = render.render_rss(spec, base, links), "application/rss+xml"
        return _page(body, f"{kind}; charset=utf-8", self._newest(state))

    def _sitemap(self, state: _SiteState, base: str, month: str | None) -> Page | None:
        spec = state.spec
        entries = [(base + render.article_path(spec, a), a) for a in state.articles]
        if spec.sitemap_index and month is None:
            months = sorted({a.published.strftime("%Y-%m") for _, a in entries}, reverse=True)
            locs = [f"{base}/sitemaps/sitemap-{m}.xml" for m in months]
            lastmods = {}
            if self.archive is not None and self.archive.site == spec.name:
                lastmods = dict(self.archive.children(base))  # after the others, oldest first
                locs += list(lastmods)
            return _page(render.render_sitemap_index(locs, lastmods), "application/xml",
                         self._newest(state))
        if month is not None:
            if not spec.sitemap_index:
                return None
            entries = [(u, a) for u, a in entries if a.published.strftime("%Y-%m") == month]
            if not entries:
                return None
        body = render.render_urlset([(u, a.last_modified) for u, a in entries])
        return _page(body, "application/xml", max((a.last_modified for _, a in entries),
                                                  default=self._newest(state)))

    @staticmethod
    def _newest(state: _SiteState) -> datetime:
        return max((a.last_modified for a in state.articles),
                   default=datetime.fromisoformat("2024-01-01T00:00:00+07:00"))


def _page(text: str, content_type: str, last_modified: datetime) -> Page:
    body = text.encode("utf-8")
    etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
    return Page(body, content_type, last_modified, etag)


ENCODING_PARAMS = ("__encoding", "__header", "__meta", "__form")
"""Query parameters of an article URL that serve the page in another encoding:
``__encoding`` (default utf-8), ``__header`` and ``__meta`` (the charset the
Content-Type header and the ``<meta charset>`` declare; default: the encoding itself,
``none``: no declaration) and ``__form`` (nfc, nfd or mixed). ``Farm.encoded_url``
builds them. Example: ``/a-1.ldo?__encoding=windows-1258&__header=none&__meta=utf-8``
is windows-1258 bytes whose page claims UTF-8, with no charset in the header."""


def _encoded(html: str, query: dict[str, list[str]], last_modified: datetime) -> Page | None:
    def param(name: str, default: str) -> str:
        return query.get(name, [default])[0]

    encoding = param("__encoding", "utf-8")
    header, meta = param("__header", encoding), param("__meta", encoding)
    try:
        body = render.encode_page(html, encoding, None if meta == "none" else meta,
                                  param("__form", "nfc"))
    except (LookupError, ValueError):
        return None
    content_type = "text/html" if header == "none" else f"text/html; charset={header}"
    etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
    return Page(body, content_type, last_modified, etag)


def _html(text: str, last_modified: datetime) -> Page:
    return _page(text, "text/html; charset=utf-8", last_modified)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default backlog of 5 drops SYNs under crawler concurrency


def _bind(host: str, port: int) -> ThreadingHTTPServer:
    try:
        return _Server((host, port), _Handler)
    except OSError:
        if not port:
            raise
        return _Server((host, 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms ACK stalls
    server_version = "newswatch-farm/1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("%s %s", self.server.site, format % args)  # type: ignore[attr-defined]

    @property
    def farm(self) -> Farm:
        return self.server.farm  # type: ignore[attr-defined]

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._serve(head=False)

    def do_POST(self) -> None:  # noqa: N802
        site = self.server.site  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        try:
            payload = json.loads(self.rfile.read(length) or b"{}")
            if self.path == "/__farm__/publish":
                url = self.farm.publish({"site": site, **payload})
            elif self.path == "/__farm__/edit":
                replace = {int(k): v for k, v in (payload.get("replace") or {}).items()}
                url = self.farm.edit(site, payload["slug"], payload.get("paragraphs"), replace)
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")
                return
        except (FarmError, KeyError, ValueError, TypeError) as exc:
            self._send(HTTPStatus.BAD_REQUEST, f"{exc}\n".encode(), "text/plain")
            return
        self._send(HTTPStatus.OK, json.dumps({"url": url}).encode(), "application/json")

    def _serve(self, head: bool) -> None:
        site = self.server.site  # type: ignore[attr-defined]
        self.farm._started(site)
        try:
            self._answer(head)
        finally:
            self.farm._ended(site)

    def _answer(self, head: bool) -> None:
        self.farm.requests += 1
        if self.server.site in self.farm.forbidden:  # type: ignore[attr-defined]
            self._send(HTTPStatus.FORBIDDEN, b"<html><body><h1>403 Forbidden</h1></body></html>",
                       "text/html; charset=utf-8", head=head)
            return
        fault = self.farm._fault(self.server.site, self.path)  # type: ignore[attr-defined]
        if fault is not None:
            status, location = fault
            self._send(HTTPStatus(status), b"<html><body>unavailable</body></html>",
                       "text/html; charset=utf-8", head=head,
                       headers={"Location": location} if location else None)
            return
        page = self.farm.page(self.server.site, self.path)  # type: ignore[attr-defined]
        if page is None:
            self._send(HTTPStatus.NOT_FOUND, b"<html><body><h1>404</h1></body></html>",
                       "text/html; charset=utf-8", head=head)
            return
        if self._not_modified(page):
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.send_header("ETag", page.etag)
            self.send_header("Last-Modified", _http_date(page.last_modified))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = page.body
        extra = {"ETag": page.etag,
                 "Last-Modified": _http_date(page.last_modified),
                 "Cache-Control": "max-age=60"}
        if "gzip" in (self.headers.get("Accept-Encoding") or "") and len(body) > 1024:
            body = gzip.compress(body, compresslevel=1)
            extra["Content-Encoding"] = "gzip"
            extra["Vary"] = "Accept-Encoding"
        self._send(HTTPStatus.OK, body, page.content_type, head=head, headers=extra)

    def _not_modified(self, page: Page) -> bool:
        match = self.headers.get("If-None-Match")
        if match is not None:
            return page.etag in [tag.strip() for tag in match.split(",")] or match.strip() == "*"
        since = self.headers.get("If-Modified-Since")
        if since:
            try:
                return page.last_modified.replace(microsecond=0) <= parsedate_to_datetime(since)
            except (TypeError, ValueError):
                return False
        return False

    def _send(self, status: HTTPStatus, body: bytes, content_type: str, head: bool = False,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)


def _http_date(when: datetime) -> str:
    return format_datetime(when.astimezone(UTC), usegmt=True)
