"""A big archive on one replica site, generated lazily: what a backfill crawls.

``Archive(count, site)`` stands for ``count`` older articles of one site (default
``baochinhphu_en``, whose sitemap is an index), one every ``STEP`` ending just before the
farm's written corpus begins. Nothing is rendered or even built up front: article ``i``
(0 = oldest) is a deterministic function of ``i`` (its donor article, paragraphs, title,
date), built when its page or its month's sitemap is asked for. Memory stays flat whatever
``count`` is (50,000 articles cost a few hundred KB of counters).

The site's sitemap index lists one child per archive month, ``/sitemaps/archive-YYYY-MM.xml``
with a ``<lastmod>``, after its regular children and oldest first (as many CMSs do); each
child lists its articles oldest first. A backfill has to reorder both to go newest first.

Every archive page served is counted (``served[i]``) and logged in order (``order``):
the backfill tests and benchmark read them to check the order and count refetches.
"""

from __future__ import annotations

import random
import re
import threading
from array import array
from datetime import datetime, timedelta

from monitor.farm import render
from monitor.farm.content import FarmArticle, RelatedItem
from monitor.farm.sites import SITES

STEP = timedelta(hours=2)  # one archive article every two hours
NEWEST = datetime.fromisoformat("2023-12-31T22:00:00+07:00")  # the corpus begins in 2024
CHILD_PREFIX = "/sitemaps/archive-"
_INDEX = re.compile(r"/archive-(\d+)-")


class Archive:
    """``count`` lazily generated archive articles of ``site`` (see the module doc)."""

    def __init__(self, count: int, site: str, corpus: list[FarmArticle], seed: int = 17) -> None:
        if site not in SITES:
            raise ValueError(f"unknown site {site!r}")
        if not SITES[site].sitemap_index:
            raise ValueError(f"site {site!r} has no sitemap index to list an archive in")
        self.count = count
        self.site = site
        self.spec = SITES[site]
        self.seed = seed
        lang = self.spec.lang
        self.pool = [a for a in corpus if a.lang == lang] or list(corpus)
        self.served = array("H", bytes(2 * count))  # requests per article page (saturating)
        self.order = array("l")  # archive index of each page served, in serving order
        self._lock = threading.Lock()
        oldest = NEWEST - STEP * max(0, count - 1)
        self._first = oldest

    # -- articles -----------------------------------------------------------------------
    def published(self, i: int) -> datetime:
        """When archive article ``i`` was published (0 = the oldest)."""
        return self._first + STEP * i

    def article(self, i: int) -> FarmArticle:
        """Archive article ``i``, built from the corpus by a generator seeded with ``i``."""
        rng = random.Random(f"archive-{self.seed}-{i}")
        pool = self.pool
        donor = pool[rng.randrange(len(pool))]
        paragraphs = [p for a in rng.sample(pool, min(3, len(pool))) for p in a.paragraphs]
        rng.shuffle(paragraphs)
        opener = f"Archive bulletin {i + 1}: " + (donor.lead or donor.title)
        return FarmArticle(
            site=self.site, slug=f"archive-{i}-{donor.slug}"[:80], lang=donor.lang,
            title=f"{donor.title} (archive {i + 1})", published=self.published(i),
            paragraphs=[opener, *paragraphs[:7]], topic=donor.topic, author=donor.author,
            captions=donor.captions[:1],
        )

    def path(self, i: int) -> str:
        """The path of archive article ``i`` on its site."""
        return render.article_path(self.spec, self.article(i))

    def index_of(self, path: str) -> int | None:
        """The archive index of an article path, or None when it is not one."""
        match = _INDEX.search(path)
        if not match:
            return None
        i = int(match.group(1))
        if i >= self.count or self.path(i) != path:
            return None
        return i

    def html(self, i: int, base: str) -> str:
        """The page of archive article ``i``; its neighbours are its related news."""
        article = self.article(i)
        url = base + render.article_path(self.spec, article)
        related = [RelatedItem(title=self.article(j).title)
                   for j in (i - 1, i + 1, i - 2) if 0 <= j < self.count][:2]
        return render.render_article(self.spec, article, url, related, 3 + i % 97)

    def served_page(self, i: int) -> None:
        """Count one request of article ``i``'s page."""
        with self._lock:
            self.served[i] = min(65535, self.served[i] + 1)
            self.order.append(i)

    def reset_log(self) -> None:
        """Forget the pages served so far (between two crawls of a test)."""
        with self._lock:
            self.served = array("H", bytes(2 * self.count))
            self.order = array("l")

    # -- sitemaps -----------------------------------------------------------------------
    def months(self) -> list[str]:
        """Archive months (``YYYY-MM``), oldest first."""
        if not self.count:
            return []
        months, day = [], self.published(0).replace(day=1, hour=0, minute=0)
        last = self.published(self.count - 1)
        while day <= last:
            months.append(day.strftime("%Y-%m"))
            day = (day + timedelta(days=32)).replace(day=1)
        return months

    def _range(self, month: str) -> range:
        """Archive indices published in ``month`` (``YYYY-MM``, the site's time zone)."""
        start = datetime.fromisoformat(f"{month}-01T00:00:00").replace(
            tzinfo=self._first.tzinfo)
        end = (start + timedelta(days=32)).replace(day=1)
        lo = max(0, -(-(start - self._first) // STEP))
        hi = min(self.count, -(-(end - self._first) // STEP))
        return range(lo, max(lo, hi))

    def children(self, base: str) -> list[tuple[str, datetime]]:
        """(child sitemap URL, lastmod) per archive month, oldest first."""
        out = []
        for month in self.months():
            span = self._range(month)
            if span:
                out.append((f"{base}{CHILD_PREFIX}{month}.xml", self.published(span[-1])))
        return out

    def urlset(self, path: str, base: str) -> str | None:
        """The child sitemap at ``path`` (its articles oldest first), or None."""
        if not (path.startswith(CHILD_PREFIX) and path.endswith(".xml")):
            return None
        try:
            span = self._range(path[len(CHILD_PREFIX):-4])
        except ValueError:  # not a month
            return None
        if not span:
            return None
        return render.render_urlset([(base + self.path(i), self.published(i)) for i in span])
