"""A small learned scorer beside the rules: logistic regression on word 1-2-grams (tf-idf)
of an article's title and lead, trained on the tuning part of the labelled sets only.

The model is a JSON file (``config/relevance_model.json``, written by
``python bench/relevance_learned.py --export``; scikit-learn is needed only there). It is
applied here in plain Python, the way scikit-learn's ``TfidfVectorizer(ngram_range=(1, 2),
sublinear_tf=True)`` and ``LogisticRegression`` would: tokens are runs of two or more
word characters of the folded text, each n-gram in the vocabulary weighs
``(1 + ln(count)) * idf``, the vector is scaled to unit length, and the probability is
``1 / (1 + exp(-(intercept + sum(coef * weight))))``.

The judge asks it only about near-misses (requirements met, score under the threshold
but not far, see ``learned:`` in ``config/topics.yaml``), and says so in the reasons.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from monitor.judge.folding import fold
from monitor.sources import CONFIG_DIR, ConfigError

MODEL_FILE = CONFIG_DIR / "relevance_model.json"
# scikit-learn's default token pattern is r"(?u)\b\w\w+\b"; a greedy run of two or more
# word characters starts and ends at word boundaries anyway, and is faster without them
_TOKEN = re.compile(r"\w\w+")


def model_text(title: str, lead: str) -> str:
    """What the model reads: the title twice and the lead, folded (lower case, no
    diacritics)."""
    folded = fold(title)  # fold works letter by letter: the same as folding the whole
    return f"{folded}\n{folded}\n{fold(lead)}"


def ngrams(text: str) -> list[str]:
    """Word unigrams and bigrams of ``text`` (already folded), as scikit-learn makes them."""
    tokens = _TOKEN.findall(text)
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]


@dataclass(frozen=True)
class LearnedScorer:
    """A linear model over tf-idf n-grams: ``weights[ngram] = (idf, coef)``."""

    weights: dict[str, tuple[float, float]]
    intercept: float
    trained_on: str = ""

    def probability(self, title: str, lead: str) -> tuple[float, list[str]]:
        """Probability that the article is relevant, and the n-grams that pushed it most
        towards relevant (at most three, for the reasons)."""
        weights = self.weights
        tokens = _TOKEN.findall(model_text(title, lead))
        counts: dict[str, int] = {}
        for gram in (*tokens, *map(" ".join, zip(tokens, tokens[1:], strict=False))):
            if gram in weights:
                counts[gram] = counts.get(gram, 0) + 1
        if not counts:
            return 1 / (1 + math.exp(-self.intercept)), []
        values = {g: (1 + math.log(n)) * weights[g][0] for g, n in counts.items()}
        norm = math.sqrt(sum(v * v for v in values.values())) or 1.0
        parts = {g: v / norm * weights[g][1] for g, v in values.items()}
        decision = self.intercept + sum(parts.values())
        top = [g for g, c in sorted(parts.items(), key=lambda kv: -kv[1])[:3] if c > 0]
        return 1 / (1 + math.exp(-decision)), top


@lru_cache(maxsize=4)
def load_scorer(path: str | Path = MODEL_FILE) -> LearnedScorer:
    """The scorer in a model file. ConfigError when it cannot be read."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return LearnedScorer(
            weights={g: (float(i), float(c)) for g, (i, c) in data["weights"].items()},
            intercept=float(data["intercept"]), trained_on=str(data.get("trained_on", "")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: cannot load the learned scorer: {exc}") from exc
