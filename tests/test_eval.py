"""Tests for monitor.extract.eval, the article-extraction-benchmark evaluation script."""

from __future__ import annotations

import gzip
import importlib.util
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # plain `pytest` does not put the repo root on sys.path
    sys.path.insert(0, str(REPO_ROOT))

from monitor.extract.eval import (  # noqa: E402
    BenchmarkError,
    Page,
    Scores,
    aggregate,
    evaluate,
    load_benchmark,
    main,
    page_scores,
    plain_trafilatura,
    shingles,
    tokenize,
)

SAMPLE = REPO_ROOT / "tests" / "data" / "aeb"
FULL_BENCHMARK = REPO_ROOT.parent / "shared" / "eval" / "article-extraction-benchmark"


def _has_module(name: str) -> bool:
    """True if the module can be found (without importing it)."""
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


needs_extract = pytest.mark.skipif(
    not _has_module("monitor.extract.article"), reason="monitor.extract.article is not written yet"
)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m monitor.extract.eval ARGS`` from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "monitor.extract.eval", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=600,
    )


# --------------------------------------------------------------------------- tokens


def test_tokenize_is_unicode_and_drops_punctuation() -> None:
    assert tokenize("Quan hệ Việt–Mỹ, năm 2025!") == ["Quan", "hệ", "Việt", "Mỹ", "năm", "2025"]
    assert tokenize("Ein Tag\n\nfür Straßen.") == ["Ein", "Tag", "für", "Straßen"]
    assert tokenize("") == []
    assert tokenize(None) == []


def test_tokenize_clumps_unspaced_scripts() -> None:
    # \w+ has no word segmentation: Japanese runs of letters become one token.
    assert tokenize("今日は晴れです。明日は雨") == ["今日は晴れです", "明日は雨"]


def test_shingles_are_a_multiset_of_4_grams() -> None:
    counts = shingles(tokenize("a b c d a b c d"))
    assert counts == {
        ("a", "b", "c", "d"): 2,
        ("b", "c", "d", "a"): 1,
        ("c", "d", "a", "b"): 1,
        ("d", "a", "b", "c"): 1,
    }


def test_shingles_of_short_and_empty_texts() -> None:
    # Like the original: fewer than 4 tokens give one short shingle of all tokens.
    assert shingles(["hello", "world"]) == {("hello", "world"): 1}
    assert shingles(["a", "b", "c", "d"]) == {("a", "b", "c", "d"): 1}
    assert shingles([]) == {}


def test_shingles_rejects_a_plain_string() -> None:
    with pytest.raises(TypeError):
        shingles("a b c d")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- page scores


def test_identical_texts_score_one() -> None:
    text = "The minister met his counterpart in Hanoi on Monday to discuss trade."
    assert page_scores(text, text) == (1.0, 0.0, 0.0)
    assert aggregate([page_scores(text, text)]) == Scores(1.0, 1.0, 1.0)


def test_whitespace_punctuation_and_paragraphs_do_not_matter() -> None:
    true = "One two three four.\nFive six seven."
    pred = "One two, three four Five\n\n\nsix seven"
    assert page_scores(true, pred) == (1.0, 0.0, 0.0)


def test_disjoint_texts_score_zero() -> None:
    tp, fp, fn = page_scores("a b c d e", "v w x y z")
    assert (tp, fp, fn) == (0.0, 0.5, 0.5)
    assert aggregate([(tp, fp, fn)]) == Scores(0.0, 0.0, 0.0)


def test_partial_overlap_hand_computed() -> None:
    # true shingles: abcd bcde cdef; pred shingles: abcd bcde -> tp 2, fp 0, fn 1
    tp, fp, fn = page_scores("a b c d e f", "a b c d e")
    assert (tp, fp, fn) == pytest.approx((2 / 3, 0.0, 1 / 3))
    scores = aggregate([(tp, fp, fn)])
    assert scores.precision == pytest.approx(1.0)
    assert scores.recall == pytest.approx(2 / 3)
    assert scores.f1 == pytest.approx(0.8)


def test_partial_overlap_with_extra_text() -> None:
    # true: abcd bcde; pred: abcd bcdx -> tp 1, fp 1, fn 1
    assert page_scores("a b c d e", "a b c d x") == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert aggregate([page_scores("a b c d e", "a b c d x")]).f1 == pytest.approx(0.5)


def test_repeated_text_is_counted_as_a_multiset() -> None:
    # pred repeats the true text: abcd x2, bcda, cdab, dabc vs abcd -> tp 1, fp 4, fn 0
    assert page_scores("a b c d", "a b c d a b c d") == pytest.approx((0.2, 0.8, 0.0))


def test_tokens_are_case_sensitive() -> None:
    assert page_scores("Hello big wide world", "hello big wide world") == (0.0, 0.5, 0.5)


def test_empty_prediction() -> None:
    assert page_scores("a b c d e", "") == (0.0, 0.0, 1.0)
    assert page_scores("a b c d e", None) == (0.0, 0.0, 1.0)
    # An empty prediction is left out of precision and counts as recall 0.
    scores = aggregate([page_scores("a b c d", "a b c d"), page_scores("a b c d e", "")])
    assert scores.precision == pytest.approx(1.0)
    assert scores.recall == pytest.approx(0.5)
    assert scores.f1 == pytest.approx(2 / 3)


def test_empty_truth_and_empty_both() -> None:
    # Text predicted for a page with an empty body: precision 0, left out of recall.
    assert page_scores("", "a b c d e") == (0.0, 1.0, 0.0)
    # Both empty: (0, 0, 0), left out of both means.
    assert page_scores("", "") == (0.0, 0.0, 0.0)
    scores = aggregate([page_scores("", "a b c d e"), page_scores("", ""), (1.0, 0.0, 0.0)])
    assert scores.precision == pytest.approx(0.5)
    assert scores.recall == pytest.approx(1.0)


def test_short_texts_like_the_original() -> None:
    # Under 4 tokens the whole text is one shingle: it only matches an identical text.
    assert page_scores("Hello world", "hello, world") == (0.0, 0.5, 0.5)
    assert page_scores("Hello world", "Hello world!") == (1.0, 0.0, 0.0)
    assert page_scores("Hello world", "Hello world again") == (0.0, 0.5, 0.5)
    # A 2-token truth against a longer prediction that contains it still scores tp = 0.
    assert page_scores("Hello world", "Hello world and more words") == pytest.approx(
        (0.0, 2 / 3, 1 / 3)
    )


def test_aggregate_averages_pages_equally() -> None:
    long_true = " ".join(f"w{i}" for i in range(1000))
    pages = [
        page_scores(long_true, long_true),  # P 1, R 1, whatever the length
        page_scores("a b c d e f", "a b c d e"),  # P 1, R 2/3
    ]
    scores = aggregate(pages)
    assert scores.precision == pytest.approx(1.0)
    assert scores.recall == pytest.approx((1 + 2 / 3) / 2)


def test_aggregate_degenerate_cases_return_zero() -> None:
    assert aggregate([]) == Scores(0.0, 0.0, 0.0)
    # Every prediction empty: no page counts for precision; the original would crash.
    assert aggregate([page_scores("a b c d", ""), page_scores("e f g h", "")]) == Scores(
        0.0, 0.0, 0.0
    )


# --------------------------------------------------------------------------- loading


def test_load_benchmark_sample() -> None:
    pages = load_benchmark(SAMPLE)
    truth = json.loads((SAMPLE / "ground-truth.json").read_text(encoding="utf-8"))
    assert list(pages) == sorted(truth)
    assert len(pages) == 5
    for key, page in pages.items():
        assert page.key == key
        assert page.url == truth[key]["url"]
        assert page.article_body == truth[key]["articleBody"]
        assert isinstance(page.html, str) and "<html" in page.html.lower()


def test_load_benchmark_limit() -> None:
    pages = load_benchmark(SAMPLE, limit=2)
    assert list(pages) == sorted(load_benchmark(SAMPLE))[:2]


def test_sample_is_small() -> None:
    for path in (SAMPLE / "html").glob("*.html.gz"):
        assert len(gzip.decompress(path.read_bytes())) < 150_000, path.name
    assert (SAMPLE / "LICENSE.md").is_file()


def _copy_sample(tmp_path: Path) -> Path:
    """A writable copy of the sample benchmark."""
    folder = tmp_path / "aeb"
    shutil.copytree(SAMPLE, folder)
    return folder


def test_load_benchmark_errors(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match="not a directory"):
        load_benchmark(tmp_path / "nowhere")
    with pytest.raises(BenchmarkError, match="no ground-truth.json"):
        load_benchmark(tmp_path)

    folder = _copy_sample(tmp_path)
    key = sorted(load_benchmark(folder))[1]
    (folder / "html" / f"{key}.html.gz").unlink()
    with pytest.raises(BenchmarkError, match=f"no html file for key {key}"):
        load_benchmark(folder)
    shutil.rmtree(folder / "html")
    with pytest.raises(BenchmarkError, match="no html/ folder"):
        load_benchmark(folder)


def test_cli_bad_folder_exits_2(tmp_path: Path) -> None:
    proc = run_cli(str(tmp_path))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip() == f"monitor.extract.eval: error: {tmp_path}: no ground-truth.json"


def test_cli_missing_html_file_exits_2(tmp_path: Path) -> None:
    folder = _copy_sample(tmp_path)
    key = sorted(load_benchmark(folder))[0]
    (folder / "html" / f"{key}.html.gz").unlink()
    proc = run_cli(str(folder), "--json")
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"no html file for key {key}" in lines[0]


def test_main_bad_folder_returns_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ground-truth.json").write_text("{}", encoding="utf-8")
    assert main([str(tmp_path)]) == 2
    assert "no html/ folder" in capsys.readouterr().err


# --------------------------------------------------------------------------- running


def test_evaluate_survives_a_failing_page() -> None:
    pages = {
        "good": Page("good", None, "<p>x</p>", "alpha beta gamma delta"),
        "bad": Page("bad", "https://example.com/bad", "<p>y</p>", "one two three four"),
        "odd": Page("odd", None, "<p>z</p>", "five six seven eight"),
    }

    def extractor(html: str | bytes, url: str | None = None) -> str | None:
        if url is not None:
            raise ValueError("broken page\nsecond line")
        if html == "<p>z</p>":
            return b"not text"  # type: ignore[return-value]
        return "alpha beta gamma delta"

    stderr = io.StringIO()
    result = evaluate(extractor, pages, name="demo", progress=stderr, warm_up=False)
    assert result.predictions == {"good": "alpha beta gamma delta", "bad": "", "odd": ""}
    assert set(result.errors) == {"bad", "odd"}
    assert result.pages == 3
    assert result.scores.precision == pytest.approx(1.0)
    assert result.scores.recall == pytest.approx(1 / 3)
    log = stderr.getvalue()
    assert "demo: error on bad: ValueError: broken page second line" in log
    assert "demo: error on odd: returned bytes, not str" in log
    assert "demo: 3/3 pages" in log


def test_plain_trafilatura_on_sample() -> None:
    pages = load_benchmark(SAMPLE)
    result = evaluate(plain_trafilatura, pages, name="trafilatura", progress=None)
    assert result.pages == 5
    assert not result.errors
    assert result.seconds > 0 and result.pages_per_second > 0
    # Real pages, real extractor: should be a good score, proving decoding works.
    assert result.scores.f1 > 0.8


@needs_extract
def test_cli_json_with_predictions(tmp_path: Path) -> None:
    predictions = tmp_path / "pred.json"
    proc = run_cli(str(SAMPLE), "--predictions", str(predictions), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["pages"] == 5
    assert set(report["extractors"]) == {"newswatch", "trafilatura"}
    for figures in report["extractors"].values():
        assert figures["pages"] == 5
        for name in ("f1", "precision", "recall"):
            assert 0.0 <= figures[name] <= 1.0
        assert figures["pages_per_second"] > 0
    assert report["speed_ratio"] > 0
    assert "5/5 pages" in proc.stderr

    truth = json.loads((SAMPLE / "ground-truth.json").read_text(encoding="utf-8"))
    written = json.loads(predictions.read_text(encoding="utf-8"))
    assert set(written) == set(truth)
    assert all(isinstance(entry["articleBody"], str) for entry in written.values())
    # Non-ASCII text is written as is, not as \\u escapes.
    assert "\\u" not in predictions.read_text(encoding="utf-8")


@needs_extract
def test_main_table_and_limit(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(SAMPLE), "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert "(2 pages)" in out
    assert "newswatch" in out and "trafilatura" in out
    assert "speed ratio newswatch/plain" in out
    assert "F1" in out and "pages/s" in out


@pytest.mark.skipif(not FULL_BENCHMARK.is_dir(), reason="full benchmark folder not present")
def test_plain_trafilatura_reproduces_full_benchmark() -> None:
    pages = load_benchmark(FULL_BENCHMARK)
    result = evaluate(plain_trafilatura, pages, name="trafilatura", progress=None)
    assert result.pages == 133
    assert not result.errors
    import trafilatura

    if trafilatura.__version__ == "2.3.1":
        # The benchmark README: trafilatura 2.3.1 extract() scores F1 0.963 on this split.
        assert result.scores.f1 == pytest.approx(0.963, abs=0.002)
    else:
        assert result.scores.f1 > 0.9
