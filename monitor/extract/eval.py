"""Evaluate article-body extraction on an article-extraction-benchmark folder.

Usage::

    python -m monitor.extract.eval DIR [--predictions FILE] [--limit N] [--json]

DIR holds ``ground-truth.json`` (``{key: {"articleBody": ..., "url": ...}}``) and
``html/<key>.html.gz``, the layout of the public article-extraction-benchmark
(https://github.com/scrapinghub/article-extraction-benchmark).

Two extractors run over every page, one after the other in the same process:
newswatch's ``monitor.extract.article.extract_body`` and plain ``trafilatura.extract`` called
the way the benchmark's own runner calls it (default settings but
``include_comments=False``; see ``plain_trafilatura``). Each is scored with the
benchmark's metric and timed; the timing leaves out file loading and one untimed
warm-up call per extractor on a tiny page (lazy imports).

The metric reproduces the benchmark's ``evaluate.py``: texts are split into ``\\w+``
tokens (Unicode, case-sensitive), each text becomes a multiset of 4-token shingles,
and per page tp / fp / fn (shared / predicted-only / true-only shingles) are
normalised to sum to 1. Precision is the mean of tp / (tp + fp) over pages with
tp + fp > 0 (pages with an empty prediction are left out), recall the mean of
tp / (tp + fn) over pages with tp + fn > 0, and F1 = 2PR / (P + R), computed from
those means (not a mean of per-page F1).

Halves: a data set the rules are tuned on is split once into a tuning half and a
checking half by a hash of the key (``split_keys``); the two key lists are committed in
``tests/data/eval_split.json`` and every run reports both halves (``--split FILE``;
keys of the folder that are in neither list are reported as the rest). ``--per-page``
lists the pages where newswatch is below plain trafilatura. ``--profiles`` reads each
page with the site profile of its URL's host (``hosts:`` in config/profiles.yaml), as
newswatch reads the outlets it watches.

Exit codes: 0 on success, 2 on a bad benchmark folder or bad arguments.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TextIO

NGRAM_N = 4
"""Shingle length used by the benchmark."""

PROGRESS_EVERY = 20
"""Report progress on stderr every this many pages."""

_TOKEN_RE = re.compile(r"\w+")  # str patterns match Unicode word characters

Extractor = Callable[..., str | None]
"""``extractor(html, url=url) -> text``; None counts as an empty prediction."""

_WARMUP_HTML = (
    "<html><head><title>Warm-up</title></head><body><article>"
    "<h1>Warm-up page</h1>"
    "<p>This short page loads lazily imported parts of the extractor before timing.</p>"
    "<p>It is not part of the benchmark and its output is ignored.</p>"
    "</article></body></html>"
)


class BenchmarkError(Exception):
    """The benchmark folder is unusable; the message is one line for the user."""


@dataclass(frozen=True)
class Page:
    """One benchmark page: its html (decoded text, or raw bytes if not UTF-8)."""

    key: str
    url: str | None
    html: str | bytes
    article_body: str


class Scores(NamedTuple):
    """Benchmark figures for one extractor over a set of pages."""

    f1: float
    precision: float
    recall: float


@dataclass
class Result:
    """Outcome of running one extractor over the benchmark pages."""

    name: str
    scores: Scores
    seconds: float
    predictions: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        """Number of pages the extractor was run on."""
        return len(self.predictions)

    @property
    def pages_per_second(self) -> float:
        """Throughput over the timed extractor calls (0 if nothing was timed)."""
        return self.pages / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, object]:
        """The figures as a JSON-ready dict (predictions left out)."""
        return {
            "pages": self.pages,
            "f1": self.scores.f1,
            "precision": self.scores.precision,
            "recall": self.scores.recall,
            "seconds": self.seconds,
            "pages_per_second": self.pages_per_second,
            "errors": sorted(self.errors),
            "empty_predictions": sum(1 for text in self.predictions.values() if not text),
        }


# --------------------------------------------------------------------------- metric


def tokenize(text: str | None) -> list[str]:
    """Split text into word tokens with the benchmark's regex ``\\w+`` (Unicode).

    Punctuation and whitespace (including paragraph breaks) are dropped; case is kept.
    None counts as the empty string.
    """
    return _TOKEN_RE.findall(text or "")


def shingles(tokens: Sequence[str], n: int = NGRAM_N) -> Counter[tuple[str, ...]]:
    """Count the n-token shingles (n-grams) of a token list, as a multiset.

    Matches the original benchmark on short input: a text with 1 to n-1 tokens gives
    one shorter shingle made of all its tokens; no tokens give no shingles.
    """
    if isinstance(tokens, str):
        raise TypeError("shingles() takes a token list; call tokenize(text) first")
    tokens = list(tokens)
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens)


def page_scores(true: str | None, pred: str | None, n: int = NGRAM_N) -> tuple[float, float, float]:
    """Return (tp, fp, fn) over shingles of one page, normalised to sum to 1.

    tp counts shingles in both texts (multiset intersection), fp shingles only in the
    prediction, fn shingles only in the true text. When both texts have no tokens
    the result is (0, 0, 0) and the page counts towards neither precision nor recall.
    """
    true_shingles = shingles(tokenize(true), n)
    pred_shingles = shingles(tokenize(pred), n)
    tp = float(sum((true_shingles & pred_shingles).values()))
    fp = float(sum((pred_shingles - true_shingles).values()))
    fn = float(sum((true_shingles - pred_shingles).values()))
    total = tp + fp + fn
    if total > 0:
        return tp / total, fp / total, fn / total
    return tp, fp, fn


def aggregate(scores: Iterable[tuple[float, float, float]]) -> Scores:
    """Combine per-page (tp, fp, fn) into benchmark F1, precision and recall.

    Precision is the mean of tp / (tp + fp) over pages with tp + fp > 0, recall the
    mean of tp / (tp + fn) over pages with tp + fn > 0. Where the original script
    would crash (no page qualifies, or P + R = 0) the figure is 0.0 instead.
    """
    precisions: list[float] = []
    recalls: list[float] = []
    for tp, fp, fn in scores:
        if tp + fp > 0:
            precisions.append(tp / (tp + fp))
        if tp + fn > 0:
            recalls.append(tp / (tp + fn))
    precision = sum(precisions) / len(precisions) if precisions else 0.0
    recall = sum(recalls) / len(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return Scores(f1=f1, precision=precision, recall=recall)


# --------------------------------------------------------------------------- data


def _read_html(path: Path) -> str | bytes:
    """Decompress one page; decode it as UTF-8 like the benchmark, else keep bytes."""
    raw = gzip.decompress(path.read_bytes())
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw  # let the extractors detect the encoding


def load_benchmark(directory: str | Path, limit: int | None = None) -> dict[str, Page]:
    """Load a benchmark folder into ``{key: Page}``, keys in sorted order.

    Every key of ground-truth.json must have ``html/<key>.html.gz``. With ``limit``
    only the first ``limit`` keys (sorted) are loaded. Raises BenchmarkError with a
    one-line message when the folder is unusable.
    """
    root = Path(directory)
    if not root.is_dir():
        raise BenchmarkError(f"{root}: not a directory")
    truth_path = root / "ground-truth.json"
    html_dir = root / "html"
    if not truth_path.is_file():
        raise BenchmarkError(f"{root}: no ground-truth.json")
    if not html_dir.is_dir():
        raise BenchmarkError(f"{root}: no html/ folder")
    try:
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BenchmarkError(f"{truth_path}: cannot read: {exc}") from exc
    if not isinstance(truth, dict) or not all(isinstance(v, dict) for v in truth.values()):
        raise BenchmarkError(f"{truth_path}: expected an object of {{key: {{articleBody, url}}}}")
    if not truth:
        raise BenchmarkError(f"{truth_path}: no pages")

    keys = sorted(truth)
    missing = [key for key in keys if not (html_dir / f"{key}.html.gz").is_file()]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise BenchmarkError(f"{root}: no html file for key {missing[0]}{more}")

    pages: dict[str, Page] = {}
    for key in keys[:limit] if limit is not None else keys:
        path = html_dir / f"{key}.html.gz"
        try:
            html = _read_html(path)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise BenchmarkError(f"{path}: cannot decompress: {exc}") from exc
        entry = truth[key]
        pages[key] = Page(
            key=key,
            url=entry.get("url") or None,
            html=html,
            article_body=entry.get("articleBody") or "",
        )
    return pages


# --------------------------------------------------------------------------- halves

DEFAULT_SPLIT = Path(__file__).resolve().parents[2] / "tests" / "data" / "eval_split.json"
"""The committed tuning / checking key lists."""


def split_keys(keys: Iterable[str]) -> dict[str, list[str]]:
    """Split keys into ``{"tuning": [...], "checking": [...]}`` by the parity of the
    SHA-256 of each key (stable, independent of the other keys), each list sorted."""
    halves: dict[str, list[str]] = {"tuning": [], "checking": []}
    for key in sorted(keys):
        digest = int(hashlib.sha256(key.encode("utf-8")).hexdigest(), 16)
        halves["tuning" if digest % 2 == 0 else "checking"].append(key)
    return halves


def load_split(path: str | Path) -> dict[str, list[str]]:
    """The committed halves ``{name: [keys]}``; BenchmarkError when unreadable."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BenchmarkError(f"{path}: cannot read the split: {exc}") from exc
    if not isinstance(data, dict):
        raise BenchmarkError(f"{path}: expected {{half: [keys]}}")
    data = {name: keys for name, keys in data.items() if not name.startswith("_")}
    if not all(isinstance(v, list) and all(isinstance(k, str) for k in v)
               for v in data.values()):
        raise BenchmarkError(f"{path}: expected {{half: [keys]}}")
    return data


def per_page_f1(true: str | None, pred: str | None) -> float:
    """One page's F1 from its normalised (tp, fp, fn)."""
    tp, fp, fn = page_scores(true, pred)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def half_scores(result: Result, pages: Mapping[str, Page],
                halves: Mapping[str, Sequence[str]]) -> dict[str, Scores]:
    """Scores of a result over each half's keys present in ``pages`` (empty halves out),
    plus ``rest`` for the pages in no half."""
    out: dict[str, Scores] = {}
    seen: set[str] = set()
    for name, keys in halves.items():
        present = [k for k in keys if k in pages]
        seen.update(present)
        if present:
            out[name] = aggregate(page_scores(pages[k].article_body, result.predictions[k])
                                  for k in present)
    rest = [k for k in pages if k not in seen]
    if rest and len(rest) != len(pages):
        out["rest"] = aggregate(page_scores(pages[k].article_body, result.predictions[k])
                                for k in rest)
    return out


def profile_for(url: str, config: Path | None = None) -> Any:
    """The site profile (``monitor.sources.SiteProfile``) newswatch applies to ``url``: the
    profile of the first source in the sources file (``config``, default
    config/sources.yaml) that owns the URL's host (``Source.owns_host``: one of its
    ``domains`` or a subdomain of one; a leading ``www.`` is ignored); None when no
    source does (the generic path). Raises ``monitor.sources.ConfigError`` for a bad
    file."""
    return _owner_profile(_sources(config), url)


def _sources(config: Path | None) -> list[Any]:
    from monitor.sources import DEFAULT_CONFIG, load_settings

    return list(load_settings(config or DEFAULT_CONFIG).sources)


def _owner_profile(sources: Sequence[Any], url: str | None) -> Any:
    from urllib.parse import urlsplit

    host = (urlsplit(url or "").hostname or "").lower()
    for source in sources:
        if source.owns_host(host) or source.owns_host(host.removeprefix("www.")):
            return source.profile
    return None


def profile_extractor(config: Path | None = None) -> Extractor:
    """newswatch's ``extract`` with the site profile each page's host has in the sources
    file (``profile_for``), the generic path for hosts no source owns."""
    from monitor.extract.article import extract

    sources = _sources(config)

    def run(html: str | bytes, url: str | None = None) -> str:
        result = extract(html, url or "", _owner_profile(sources, url), metadata=False)
        return result.text if result else ""

    return run


# --------------------------------------------------------------------------- running


def plain_trafilatura(html: str | bytes, url: str | None = None) -> str | None:
    """The baseline: plain ``trafilatura.extract``, called as the benchmark calls it.

    Default settings except ``include_comments=False``, exactly as the benchmark's own
    ``extractors/run_trafilatura.py``: the ground truth never contains reader comments,
    and this is the set-up behind the published trafilatura figures (with the default
    ``include_comments=True``, trafilatura 2.3.1 scores F1 0.955 instead of 0.963 on the
    133-page split, through lower precision). ``url`` does not change the text.
    """
    import trafilatura

    return trafilatura.extract(html, url=url, include_comments=False)


def _warm_up(extractor: Extractor) -> None:
    """Call the extractor once on a tiny page so lazy imports are not timed."""
    try:
        extractor(_WARMUP_HTML, url="https://example.com/warm-up")
    except Exception:  # a failure shows again on the real pages
        pass


def evaluate(
    extractor: Extractor,
    pages: Mapping[str, Page],
    name: str = "extractor",
    progress: TextIO | None = sys.stderr,
    warm_up: bool = True,
) -> Result:
    """Run ``extractor(html, url=url)`` over the pages, time it and score it.

    Only the extractor calls are timed (time.perf_counter, summed over pages). An
    exception or a non-string result on a page counts as an empty prediction and is
    reported on ``progress`` with the page key; None counts as empty silently.
    """
    if warm_up and pages:
        _warm_up(extractor)
    predictions: dict[str, str] = {}
    errors: dict[str, str] = {}
    per_page: list[tuple[float, float, float]] = []
    seconds = 0.0
    total = len(pages)
    for done, (key, page) in enumerate(pages.items(), start=1):
        start = time.perf_counter()
        try:
            text = extractor(page.html, url=page.url)
        except Exception as exc:  # one bad page must not stop the run
            text = None
            errors[key] = f"{type(exc).__name__}: {exc}"
        seconds += time.perf_counter() - start
        if text is not None and not isinstance(text, str):
            errors[key] = f"returned {type(text).__name__}, not str"
            text = None
        if key in errors and progress is not None:
            message = " ".join(errors[key].split())  # keep it on one line
            print(f"{name}: error on {key}: {message}", file=progress)
        predictions[key] = text or ""
        per_page.append(page_scores(page.article_body, predictions[key]))
        if progress is not None and (done % PROGRESS_EVERY == 0 or done == total):
            print(f"{name}: {done}/{total} pages", file=progress, flush=True)
    return Result(
        name=name,
        scores=aggregate(per_page),
        seconds=seconds,
        predictions=predictions,
        errors=errors,
    )


def speed_ratio(newswatch: Result, plain: Result) -> float:
    """Pages/s of newswatch divided by pages/s of plain trafilatura (>1: faster)."""
    if plain.pages_per_second == 0:
        return 0.0
    return newswatch.pages_per_second / plain.pages_per_second


def format_table(results: Sequence[Result], ratio: float) -> str:
    """Format the results as a plain-text table followed by the speed ratio."""
    header = (
        f"{'extractor':<12} {'pages':>5} {'F1':>6} {'precision':>9} {'recall':>6} "
        f"{'pages/s':>8} {'errors':>6}"
    )
    lines = [header, "-" * len(header)]
    for result in results:
        s = result.scores
        lines.append(
            f"{result.name:<12} {result.pages:>5} {s.f1:>6.3f} {s.precision:>9.3f} "
            f"{s.recall:>6.3f} {result.pages_per_second:>8.1f} {len(result.errors):>6}"
        )
    lines.append(f"speed ratio newswatch/plain: {ratio:.2f} (pages/s; above 1 = newswatch faster)")
    return "\n".join(lines)


def write_predictions(path: str | Path, predictions: Mapping[str, str]) -> None:
    """Write ``{key: {"articleBody": text}}`` as UTF-8 JSON (the benchmark's format)."""
    data = {key: {"articleBody": text} for key, text in predictions.items()}
    Path(path).write_text(
        json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )


def _positive_int(value: str) -> int:
    """argparse type: an integer >= 1."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = argparse.ArgumentParser(
        prog="python -m monitor.extract.eval",
        description="Score newswatch's extractor and plain trafilatura on an "
        "article-extraction-benchmark folder.",
    )
    parser.add_argument("dir", type=Path, help="folder with ground-truth.json and html/")
    parser.add_argument(
        "--predictions",
        type=Path,
        metavar="FILE",
        help="write newswatch's output as JSON {key: {articleBody: text}}",
    )
    parser.add_argument(
        "--limit", type=_positive_int, metavar="N", help="only the first N pages (sorted keys)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--split", type=Path, metavar="FILE", default=DEFAULT_SPLIT,
        help="tuning/checking key lists to report halves of (default: the committed ones)")
    parser.add_argument("--per-page", action="store_true",
                        help="list pages where newswatch is below plain trafilatura")
    parser.add_argument("--profiles", action="store_true",
                        help="read each page with its host's site profile")
    parser.add_argument("--vote", action="store_true",
                        help="newswatch with the per-page extractor vote (monitor.extract.vote)")
    return parser


def _error(message: str) -> int:
    """Print a one-line error on stderr and return exit code 2."""
    print(f"monitor.extract.eval: error: {' '.join(message.split())}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    args = _parser().parse_args(argv)
    if args.predictions is not None and not args.predictions.parent.is_dir():
        return _error(f"cannot write predictions: no folder {args.predictions.parent}")
    try:
        pages = load_benchmark(args.dir, limit=args.limit)
    except BenchmarkError as exc:
        return _error(str(exc))
    halves: dict[str, list[str]] = {}
    if args.split is not None and args.split.is_file():
        try:
            halves = load_split(args.split)
        except BenchmarkError as exc:
            return _error(str(exc))
    try:
        from monitor.extract.article import extract_body
    except ImportError as exc:
        return _error(f"cannot import monitor.extract.article.extract_body: {exc}")
    ours = profile_extractor() if args.profiles else extract_body
    if args.vote and not args.profiles:
        def ours(html: str | bytes, url: str | None = None) -> str:
            return extract_body(html, url, vote=True)

    results = [
        evaluate(ours, pages, name="newswatch"),
        evaluate(plain_trafilatura, pages, name="trafilatura"),
    ]
    newswatch, plain = results
    ratio = speed_ratio(newswatch, plain)

    if args.predictions is not None:
        try:
            write_predictions(args.predictions, newswatch.predictions)
        except OSError as exc:
            return _error(f"cannot write predictions to {args.predictions}: {exc}")

    by_half = {r.name: half_scores(r, pages, halves) for r in results}
    below = sorted(
        ((per_page_f1(p.article_body, newswatch.predictions[k])
          - per_page_f1(p.article_body, plain.predictions[k]), k) for k, p in pages.items()))
    if args.json:
        report = {
            "benchmark": str(args.dir),
            "pages": len(pages),
            "extractors": {result.name: result.as_dict() for result in results},
            "speed_ratio": ratio,
            "halves": {name: {h: s._asdict() for h, s in found.items()}
                       for name, found in by_half.items()},
            "worst_page_vs_plain": below[0][0] if below else 0.0,
        }
        print(json.dumps(report, indent=2))
    else:
        print(f"benchmark: {args.dir} ({len(pages)} pages)")
        print(format_table(results, ratio))
        for half in by_half.get("newswatch", {}):
            ours_s, plain_s = by_half["newswatch"][half], by_half["trafilatura"][half]
            count = sum(1 for k in pages if k in set(halves.get(half, []))) or sum(
                1 for k in pages if not any(k in v for v in halves.values()))
            print(f"half {half:<9} ({count:>3} pages): newswatch F1 {ours_s.f1:.3f}  "
                  f"trafilatura F1 {plain_s.f1:.3f}  difference {ours_s.f1 - plain_s.f1:+.3f}")
        if below:
            print(f"worst page against plain trafilatura: {below[0][0]:+.3f} ({below[0][1]})")
        if args.per_page:
            for delta, key in below:
                if delta < 0:
                    print(f"  below plain: {delta:+.3f} {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
