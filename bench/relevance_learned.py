"""Would a small learned scorer help the rules? The experiment behind BENCHMARKS.md, and
the export of the model the judge ships (``config/relevance_model.json``).

    pip install 'newswatch[learn]'   # scikit-learn: only to re-train, not to judge
    python bench/relevance_learned.py [--folds 5] [--seeds 0,1] [--features word]
    python bench/relevance_learned.py --export config/relevance_model.json

A logistic regression on word 1-2-grams (``--features word``, what ships: plain-Python
inference in ``monitor.judge.learned``) or word 1-2-grams and character 2-5-grams
(``word+char``; tf-idf, diacritics folded) of the title and lead, trained on the *tuning*
part only. It is used as one more
signal: a "rescue" turns a near-miss (requirements met, score >= LO, under the threshold)
relevant when the model's probability is >= HI. LO and HI are chosen by cross-validation
on the tuning part; then the model is trained on the whole tuning part and the checking
part is scored once, rules alone against rules + rescue (figures only: checking items
are never listed). Also prints the model's size as it would ship (joblib, compressed) and
its time per article. Exits 0 with a note when scikit-learn is not installed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.judge import default_topic, judge  # noqa: E402
from monitor.judge.eval import labelled_parts  # noqa: E402
from monitor.judge.learned import model_text  # noqa: E402

GRID = [(lo, hi) for lo in (0.3, 0.35, 0.4) for hi in (0.7, 0.8, 0.9)]


def text(row: dict[str, Any]) -> str:
    """What the model reads: the title twice and the lead, folded."""
    return model_text(row.get("title") or "", row.get("lead") or row["text"].split("\n")[0])


FEATURES = "word"


def model(c: float = 16.0) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union
    if FEATURES == "word":
        return make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                             LogisticRegression(C=c, max_iter=3000, class_weight="balanced"))
    return make_pipeline(
        make_union(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                   TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2,
                                   sublinear_tf=True, max_features=20000)),
        LogisticRegression(C=c, max_iter=3000, class_weight="balanced"))


def figures(pred: list[bool], gold: list[bool]) -> str:
    """Precision, recall, false positives, false negatives, printed."""
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(g and not p for p, g in zip(pred, gold, strict=True))
    return (f"P {tp / max(tp + fp, 1):.3f} R {tp / max(tp + fn, 1):.3f} "
            f"(fp {fp}, fn {fn})")


def combine(verdicts: list[Any], probs: list[float], lo: float, hi: float) -> list[bool]:
    """Rules, with near-misses the model is sure about turned relevant."""
    out = []
    for verdict, prob in zip(verdicts, probs, strict=True):
        met = all(r["met"] for r in verdict.reasons if r["group"] == "requirement")
        out.append(verdict.relevant or (met and verdict.score >= lo and prob >= hi))
    return out


def export(fitted: Any, path: str, items: int) -> int:
    """Write the fitted word model as ``{"weights": {ngram: [idf, coef]}, "intercept"}``."""
    import json
    vectorizer, regression = fitted[0], fitted[-1]
    coef = regression.coef_[0]
    weights = {g: [float(f"{vectorizer.idf_[i]:.5g}"), float(f"{coef[i]:.5g}")]
               for g, i in sorted(vectorizer.vocabulary_.items())}
    Path(path).write_text(json.dumps({
        "model": "logistic regression on tf-idf word 1-2-grams of title x2 + lead, folded",
        "trained_on": f"tuning part, {items} items (tests/data/relevance_split/tuning.txt)",
        "intercept": float(f"{regression.intercept_[0]:.6g}"), "weights": weights},
        ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{path}: {len(weights)} n-grams, {Path(path).stat().st_size / 1024:.0f} kB")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--features", choices=("word", "word+char"), default="word")
    parser.add_argument("--export", help="write the word model trained on the tuning part "
                        "to this JSON file and stop")
    args = parser.parse_args()
    global FEATURES
    FEATURES = "word" if args.export else args.features
    try:
        from sklearn.model_selection import StratifiedKFold, cross_val_predict
    except ImportError:
        print("scikit-learn is not installed: pip install scikit-learn")
        return 0
    parts = labelled_parts()
    tuning, checking = parts["tuning"], parts["checking"]
    gold = [bool(r["relevant"]) for r in tuning]
    if args.export:
        return export(model().fit([text(r) for r in tuning], gold), args.export, len(tuning))
    probs: list[float]
    import dataclasses
    rules_only = dataclasses.replace(default_topic(), learned_model="")  # without the model
    rules = [judge(r.get("title"), r["text"], r.get("lead"), rules_only) for r in tuning]
    totals = {key: 0 for key in GRID}
    print("cross-validation on the tuning part:")
    print(f"  rules alone            {figures([v.relevant for v in rules], gold)}")
    for seed in (int(s) for s in args.seeds.split(",")):
        folds = StratifiedKFold(args.folds, shuffle=True, random_state=seed)
        probs = list(cross_val_predict(model(), [text(r) for r in tuning], gold, cv=folds,
                                       method="predict_proba")[:, 1])
        print(f"  seed {seed} model alone    {figures([p >= 0.5 for p in probs], gold)}")
        for lo, hi in GRID:
            combined = combine(rules, probs, lo, hi)
            totals[(lo, hi)] += sum(c != g for c, g in zip(combined, gold, strict=True))
            print(f"  seed {seed} rescue lo {lo} hi {hi}  {figures(combined, gold)}")
    lo, hi = min(GRID, key=lambda key: (totals[key], -key[1], -key[0]))
    fitted = model().fit([text(r) for r in tuning], gold)
    gold_c = [bool(r["relevant"]) for r in checking]
    probs_c = list(fitted.predict_proba([text(r) for r in checking])[:, 1])
    rules_c = [judge(r.get("title"), r["text"], r.get("lead"), rules_only) for r in checking]
    print(f"checking part, rescue lo {lo} hi {hi} chosen on the tuning part:")
    print(f"  model alone   {figures([p >= 0.5 for p in probs_c], gold_c)}")
    print(f"  rules alone   {figures([v.relevant for v in rules_c], gold_c)}")
    print(f"  rules+rescue  {figures(combine(rules_c, probs_c, lo, hi), gold_c)}")
    import io
    import time

    import joblib
    buffer = io.BytesIO()
    joblib.dump(fitted, buffer, compress=3)
    texts = [text(r) for r in checking]
    start = time.perf_counter()
    for item in texts:
        fitted.predict_proba([item])
    per = (time.perf_counter() - start) / len(texts)
    print(f"  model file {len(buffer.getvalue()) / 1024:.0f} kB (joblib, compress=3); "
          f"{per * 1e6:.0f} us per article, one at a time")
    changed = sum(new != verdict.relevant for verdict, new in
                  zip(rules_c, combine(rules_c, probs_c, lo, hi), strict=True))
    print(f"  verdicts the rescue changed on the checking part: {changed} "
          "(counted, never listed: the checking part is not read item by item)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
