"""Articles served by the replica site farm: the seed articles, the written corpus,
and deterministic synthetic articles for benchmarks."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from monitor.sources import PROJECT_ROOT

CONTENT_DIR = Path(__file__).resolve().parent / "content"
SEEDS_FILE = PROJECT_ROOT / "seeds" / "seeds.yaml"


@dataclass
class RelatedItem:
    """A headline in a "related news" block (clutter on the page that shows it)."""

    title: str
    teaser: str = ""
    author: str = ""


@dataclass
class FarmArticle:
    """One article as the farm knows it; the page is rendered from this."""

    site: str
    slug: str
    lang: str
    title: str
    published: datetime
    paragraphs: list[str]
    topic: str = "other"
    author: str | None = None
    lead: str | None = None
    captions: list[str] = field(default_factory=list)
    related: list[RelatedItem] = field(default_factory=list)
    republished_from: dict[str, str] | None = None
    source_name: str | None = None
    pair: str | None = None
    seed: str | None = None
    modified: datetime | None = None
    revision: int = 0
    comments: int = 0  # the page's "Comment (N)" counter
    views: int | None = None  # the page's view counter (None: derived from the id)

    @property
    def article_id(self) -> int:
        """A stable numeric id, as the real CMSs put in their URLs."""
        digest = hashlib.sha1(f"{self.site}/{self.slug}".encode()).hexdigest()
        return int(digest[:12], 16) % 10**7 + 1_000_000

    @property
    def last_modified(self) -> datetime:
        """When the article last changed (publication or edit)."""
        return self.modified or self.published

    def edited(self, paragraphs: list[str], when: datetime) -> FarmArticle:
        """A copy with a new body, one revision later."""
        return replace(self, paragraphs=list(paragraphs), modified=when,
                       revision=self.revision + 1)


def _parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError(f"published time without a zone: {value!r}")
    return parsed


def article_from_dict(site: str, raw: dict[str, Any]) -> FarmArticle:
    """Build a FarmArticle from one YAML/JSON record."""
    related = [RelatedItem(**item) if isinstance(item, dict) else RelatedItem(title=str(item))
               for item in raw.get("related") or []]
    return FarmArticle(
        site=raw.get("site", site),
        slug=raw["slug"],
        lang=raw.get("lang", "en"),
        title=raw["title"],
        published=_parse_time(raw["published"]),
        paragraphs=[str(p) for p in raw["paragraphs"]],
        topic=raw.get("topic", "other"),
        author=raw.get("author"),
        lead=raw.get("lead"),
        captions=list(raw.get("captions") or []),
        related=related,
        republished_from=raw.get("republished_from"),
        source_name=raw.get("source_name"),
        pair=raw.get("pair"),
        seed=raw.get("seed"),
    )


def load_yaml_articles(path: Path) -> list[FarmArticle]:
    """Articles of one content file (``site:`` + ``articles:``)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    site = data.get("site", "")
    return [article_from_dict(site, raw) for raw in data["articles"]]


def load_seed_articles(path: Path = SEEDS_FILE) -> list[FarmArticle]:
    """The five seed articles, placed at their sites."""
    return load_yaml_articles(path)


def load_corpus(include_seeds: bool = True) -> list[FarmArticle]:
    """Seeds plus every content file shipped with the farm."""
    articles = load_seed_articles() if include_seeds else []
    for path in sorted(CONTENT_DIR.glob("*.yaml")):
        articles.extend(load_yaml_articles(path))
    return articles


def synthetic_articles(corpus: list[FarmArticle], count: int, sites: list[str],
                       seed: int = 7) -> list[FarmArticle]:
    """``count`` deterministic articles built by recombining corpus paragraphs.

    Used to grow the farm to thousands of pages for benchmarks; each article has
    its own title and a unique opening paragraph, so no two are duplicates.
    """
    rng = random.Random(seed)
    by_lang: dict[str, list[FarmArticle]] = {}
    for article in corpus:
        by_lang.setdefault(article.lang, []).append(article)
    base = datetime.fromisoformat("2024-01-01T06:00:00+07:00")
    out: list[FarmArticle] = []
    for i in range(count):
        site = sites[i % len(sites)]
        lang = "vi" if site.endswith("_vi") else "en"
        pool = by_lang.get(lang) or corpus
        donor = pool[rng.randrange(len(pool))]
        paragraphs = [p for a in rng.sample(pool, min(3, len(pool))) for p in a.paragraphs]
        rng.shuffle(paragraphs)
        opener = (f"Bản tin số {i + 1}: " if lang == "vi" else f"Bulletin {i + 1}: ") + donor.lead \
            if donor.lead else f"Bulletin {i + 1}."
        out.append(FarmArticle(
            site=site, slug=f"bulletin-{i + 1}-{donor.slug}"[:80], lang=lang,
            title=f"{donor.title} ({i + 1})", published=base + timedelta(minutes=37 * i),
            paragraphs=[opener, *paragraphs[:7]], topic=donor.topic, author=donor.author,
            lead=None, captions=donor.captions[:1],
        ))
    return out
