"""Judge whether an article is about a topic (by default Vietnam–US relations), and say why.

Topics are data (``config/topics.yaml``): groups of terms with weights. Matching folds
diacritics ("Bui Thanh Son" = "Bùi Thanh Sơn") except for terms that must match exactly
("Mỹ", "US"); known look-alikes ("Mỹ Tho", "Nam Mỹ") are removed first. Points add up
over title, lead and body (weighted per field, capped per group), and become a score in
[0, 1].
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from monitor.config import CONFIG_DIR, ConfigError

TOPICS_FILE = CONFIG_DIR / "topics.yaml"
FIELDS = ("title", "lead", "body")


def _strip_marks(char: str) -> str:
    base = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
    return base or char


# One translate table for every precomposed Latin letter (Vietnamese lives in U+1EA0-1EF9)
_FOLD = {cp: _strip_marks(chr(cp)) for block in ((0xC0, 0x250), (0x1E00, 0x1F00))
         for cp in range(*block) if _strip_marks(chr(cp)) != chr(cp)}
_FOLD.update({ord("đ"): "d", ord("Đ"): "D"})


def fold(text: str) -> str:
    """Lower-case, without diacritics (đ → d): the form folded terms are matched in."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text).translate(_FOLD)
        if not text.isascii():  # combining marks left over (decomposed input)
            text = "".join(c for c in unicodedata.normalize("NFD", text)
                           if not unicodedata.combining(c))
    return text.lower()


def _phrase_regex(phrases: list[str]) -> re.Pattern[str] | None:
    if not phrases:
        return None
    # longest first, so "vietnam-us" wins over "vietnam"; no word character on either side
    # phrases that start and end with a word character share one pair of boundary checks,
    # which keeps the alternation fast; the others get their own
    ordered = sorted(set(phrases), key=len, reverse=True)
    plain = [p for p in ordered if re.match(r"\w", p) and re.search(r"\w$", p)]
    parts = [rf"(?<!\w)(?:{'|'.join(re.escape(p) for p in plain)})(?!\w)"] if plain else []
    for phrase in ordered:
        if phrase not in plain:
            before = r"(?<!\w)" if re.match(r"\w", phrase) else ""
            after = r"(?!\w)" if re.search(r"\w$", phrase) else ""
            parts.append(before + re.escape(phrase) + after)
    return re.compile("|".join(parts))


@dataclass(frozen=True)
class TermGroup:
    """Terms that count the same (the topic matches all groups' terms in one pass)."""

    name: str
    weight: float


@dataclass(frozen=True)
class Topic:
    """One topic: its groups, the groups it requires, its threshold."""

    name: str
    title: str
    threshold: float
    required: tuple[str, ...]
    required_any: tuple[str, ...]
    dominance: float
    groups: tuple[TermGroup, ...]
    exclude: re.Pattern[str] | None
    fields: dict[str, float]
    caps: dict[str, int]
    scale: float
    folded_all: re.Pattern[str] | None = None  # every group's folded terms, one pass
    exact_all: re.Pattern[str] | None = None  # every group's exact terms, one pass
    # a term listed in two groups counts for the first; a span matches its longest term
    group_of: dict[str, str] = field(default_factory=dict)  # folded term -> its group

    def find(self, folded_text: str, text: str) -> dict[str, list[str]]:
        """Matched terms by group: one scan for folded terms, one for exact ones."""
        found: dict[str, list[str]] = {}
        hits = [m.group(0) for m in self.folded_all.finditer(folded_text)] \
            if self.folded_all else []
        if self.exact_all:
            hits += [fold(m.group(0)) for m in self.exact_all.finditer(text)]
        for term in hits:
            found.setdefault(self.group_of[term], []).append(term)
        return found


@dataclass
class Judgement:
    """A topic's verdict on one article."""

    score: float
    relevant: bool
    reasons: list[dict[str, Any]] = field(default_factory=list)
    topic: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"topic": self.topic, "score": round(self.score, 3), "relevant": self.relevant,
                "reasons": self.reasons}


def load_topics(path: str | Path = TOPICS_FILE) -> dict[str, Topic]:
    """Every topic in a topics file, compiled. ConfigError on a bad file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot load topics: {exc}") from exc
    try:
        fields = {k: float(v) for k, v in data.get("fields", {}).items()}
        caps = {k: int(v) for k, v in data.get("caps", {}).items()}
        topics = {}
        for name, raw in data["topics"].items():
            groups = tuple(TermGroup(group, float(spec.get("weight", 1.0)))
                           for group, spec in raw["groups"].items())
            exclude = [str(t) for spec in raw["groups"].values() for t in spec.get("exclude", [])]
            required = tuple(raw.get("required", []))
            required_any = tuple(raw.get("required_any", []))
            unknown = set(required + required_any) - {g.name for g in groups}
            if unknown:
                raise ValueError(f"required groups not defined: {sorted(unknown)}")
            group_of: dict[str, str] = {}
            for group, spec in raw["groups"].items():
                for term in [*spec.get("folded", []), *spec.get("exact", [])]:
                    group_of.setdefault(fold(str(term)), group)
            topics[name] = Topic(
                name=name, title=raw.get("title", name), threshold=float(raw["threshold"]),
                required=required, required_any=required_any,
                dominance=float(raw.get("dominance", 0)), groups=groups,
                exclude=_phrase_regex(exclude),
                fields={f: fields.get(f, 1.0) for f in FIELDS},
                caps={f: caps.get(f, 5) for f in FIELDS}, scale=float(data.get("scale", 6.0)),
                folded_all=_phrase_regex([fold(str(t)) for spec in raw["groups"].values()
                                          for t in spec.get("folded", [])]),
                exact_all=_phrase_regex([str(t) for spec in raw["groups"].values()
                                         for t in spec.get("exact", [])]),
                group_of=group_of,
            )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"{path}: invalid topics: {exc}") from exc
    return topics


@lru_cache(maxsize=4)
def default_topic(path: str = str(TOPICS_FILE)) -> Topic:
    """The topic named by ``default:`` in the topics file."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return load_topics(path)[data["default"]]


def judge(title: str | None, text: str | None, lead: str | None = None,
          topic: Topic | None = None) -> Judgement:
    """Score an article for ``topic`` (default: Vietnam–US relations), with reasons.

    ``lead`` defaults to the first paragraph of ``text``; the body is the rest.
    """
    topic = topic or default_topic()
    paragraphs = unicodedata.normalize("NFC", text or "").split("\n")
    if lead is None:
        lead, body = paragraphs[0], "\n".join(paragraphs[1:])
    else:
        body = "\n".join(p for p in paragraphs if p.strip() != lead.strip())
    parts = {"title": title or "", "lead": unicodedata.normalize("NFC", lead), "body": body}
    points = 0.0
    mentions: dict[str, int] = {}
    reasons: list[dict[str, Any]] = []
    for field_name, raw in parts.items():
        if topic.exclude:  # exact look-alikes out first ("Mỹ Tho")
            raw = topic.exclude.sub(" ", raw)
        by_group = topic.find(fold(raw), raw)
        for group in topic.groups:
            found = by_group.get(group.name)
            if not found:
                continue
            mentions[group.name] = mentions.get(group.name, 0) + len(found)
            counted = min(len(found), topic.caps[field_name])
            points += group.weight * topic.fields[field_name] * counted
            if group.weight:
                terms = sorted(set(found), key=found.index)
                reasons.append({"group": group.name, "field": field_name,
                                "terms": terms, "count": len(found)})
    partner = sum(mentions.get(name, 0) for name in topic.required_any)
    others = mentions.get("others", 0)
    in_title = any(r["field"] == "title" and r["group"] in topic.required_any for r in reasons)
    if topic.dominance and others > topic.dominance * max(partner, 1) and not in_title:
        points /= 2
        reasons.append({"group": "others", "field": "all", "terms": [],
                        "count": others, "note": "other countries dominate: points halved"})
    score = 1 - math.exp(-max(points, 0.0) / topic.scale)
    has_required = all(mentions.get(name) for name in topic.required) and (
        not topic.required_any or any(mentions.get(name) for name in topic.required_any))
    return Judgement(score=score, relevant=has_required and score >= topic.threshold,
                     reasons=reasons, topic=topic.name)


def parse_jsonl(lines: Iterable[str], where: str = "line ") -> Iterator[dict[str, Any]]:
    """Objects with a ``text`` string from JSON lines; ValueError names a bad line as
    ``{where}{number}`` (e.g. "line 3" or "file.jsonl:3")."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where}{number}: not JSON: {exc.msg}") from None
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise ValueError(f"{where}{number}: expected an object with a 'text' string")
        yield row


def judge_lines(lines: Iterable[str], topic: Topic | None = None) -> Iterator[dict[str, Any]]:
    """Judge JSON lines ``{"id", "title", "text"}``; yields ``{"id", "score", "relevant",
    "reasons"}`` per line. ValueError names the first bad line."""
    for row in parse_jsonl(lines):
        verdict = judge(row.get("title"), row["text"], row.get("lead"), topic)
        yield {"id": row.get("id"), "score": round(verdict.score, 3),
               "relevant": verdict.relevant, "reasons": verdict.reasons}
