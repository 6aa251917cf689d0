"""Judge whether an article is about a topic (by default Vietnam–US relations), and say why.

Topics are data (``config/topics.yaml``): groups of terms with weights. Matching folds
diacritics ("Bui Thanh Son" = "Bùi Thanh Sơn") except for terms that must match exactly
("Mỹ", "US"); known look-alikes ("Mỹ Tho", "Nam Mỹ") are removed first. Points add up
over title, lead and body (weighted per field, capped per group), and become a score in
[0, 1].

Three more kinds of data steer the verdict (see ``config/topics.yaml``):

- ``satisfies``: a group whose terms name both countries ("Việt Nam - Hoa Kỳ") meets the
  requirements it lists (``vietnam``) as well as its own;
- ``sources`` + ``foreign_check``: offices and titles ("Phó Thủ tướng", "the Government",
  "Quốc hội") imply Vietnam on a source from Vietnam, unless a foreign country's name
  qualifies them ("Bộ trưởng Ngoại giao Trung Quốc", "Japanese Prime Minister");
- ``penalty``: negative context (sports, entertainment, markets, weather, diaspora
  culture, other countries' pairs) multiplies the points down.

Every verdict carries ``reasons``: the terms by group and field, which requirement was met
by what (or which was missing), what lowered the score, and the verdict against the
threshold.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from monitor.judge.folding import fold
from monitor.sources import CONFIG_DIR, ConfigError

TOPICS_FILE = CONFIG_DIR / "topics.yaml"
FIELDS = ("title", "lead", "body")


_WORD = re.compile(r"\w+")


def _trie_pattern(phrases: Iterable[str]) -> str:
    """One regex for many phrases as a character trie ("viet(?:nam(?:-us(?!\\w)|(?!\\w))"):
    the engine follows one branch per character instead of trying every phrase at every
    position. A phrase ending in a word character must not be followed by one. Longer
    phrases come first at every branch, and a longer one that fails backtracks to the
    shorter, as an alternation sorted by length does."""
    trie: dict[str, Any] = {}
    for phrase in phrases:
        node = trie
        for char in phrase:
            node = node.setdefault(char, {})
        node[""] = r"(?!\w)" if re.search(r"\w$", phrase) else ""

    def emit(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items())
                    if char]
        if "" in node:  # a phrase ends here: after the longer ones
            branches.append(node[""])
        if len(branches) == 1:
            return branches[0]
        return f"(?:{'|'.join(branches)})"

    return emit(trie)


def _phrase_regex(phrases: list[str], flags: int = 0) -> re.Pattern[str] | None:
    """One compiled regex for ``phrases``: no word character on either side of a phrase
    that starts/ends with one, the longest phrase at a position wins."""
    if not phrases:
        return None
    if flags & re.IGNORECASE:
        phrases = [p.lower() for p in phrases]
    unique = set(phrases)
    words = [p for p in unique if re.match(r"\w", p)]
    others = [p for p in unique if not re.match(r"\w", p)]
    parts = [rf"(?<!\w){_trie_pattern(words)}"] if words else []
    if others:
        parts.append(_trie_pattern(others))
    return re.compile("|".join(parts), flags)


@dataclass(frozen=True)
class TermGroup:
    """Terms that count the same (the topic matches all groups' terms in one pass).

    ``satisfies``: requirements (group names) a match of this group also meets;
    ``sources``: source countries on which the group counts at all (empty: every source);
    ``foreign_check``: a match qualified by a foreign country's name does not count;
    ``penalty``: negative context, points are multiplied by it when the group matches;
    ``unless``: groups whose match anywhere in the article lifts that penalty ("emergency
    aid" for typhoon victims is the two states' relations, not a weather report);
    ``needs``: groups of which one must match somewhere in the article for this group to
    count at all (a US company counts as the partner when a Vietnamese office meets it);
    ``in_list``: points of a match inside a list of other countries ("Mỹ, Nhật Bản và
    Trung Quốc") are multiplied by it (1: no list check);
    ``cap_with``: the group whose per-field cap this one shares (Vietnam's offices and
    leaders count within Vietnam's cap: one side's evidence cannot pile up alone).
    """

    name: str
    weight: float
    satisfies: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    foreign_check: bool = False
    penalty: float = 1.0
    unless: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    in_list: float = 1.0
    cap_with: str = ""


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
    ascii_all: re.Pattern[str] | None = None  # terms for text without diacritics ("tai my")
    bare_exact: re.Pattern[str] | None = None  # exact terms in Vietnamese without
    # diacritics ("My"): only when the title and lead read as such (``bare_markers``)
    bare_markers: frozenset[str] = frozenset()  # common Vietnamese words, folded, lower case
    bare_min: int = 3  # distinct markers in title + lead that make them Vietnamese
    # a term listed in two groups counts for the first; a span matches its longest term
    group_of: dict[str, str] = field(default_factory=dict)  # folded term -> its group
    source_country: str = ""  # the country of a source when the caller does not say
    checked: frozenset[str] = frozenset()  # groups whose matches get the foreign check
    foreign_after: re.Pattern[str] | None = None  # "… Trung Quốc", "… of Japan"
    foreign_before: re.Pattern[str] | None = None  # "Japanese …", "U.S. …"
    together: dict[str, float] = field(default_factory=dict)  # field -> bonus points when
    # it names both sides (a group meeting each requirement)
    context_min: dict[str, int] = field(default_factory=dict)  # field -> mentions of a
    # negative context group there that lower the score
    learned_model: str = ""  # model file of the learned scorer ("" = rules only)
    learned_low: float = 1.0  # near-misses from this score (requirements met) are asked
    learned_high: float = 1.0  # ... and relevant from this probability
    other_pair_title: float = 1.0  # points multiplied by it when the title names the
    # partner and another country but not every ``required`` group ("Japan, US finalise …")
    by_name: dict[str, TermGroup] = field(default_factory=dict)  # name -> group
    order: dict[str, int] = field(default_factory=dict)  # name -> place in ``groups``
    meeting: tuple[tuple[str, tuple[str, ...]], ...] = ()  # requirement -> groups meeting it
    sourced: tuple[TermGroup, ...] = ()  # groups that count only on some sources
    listed: frozenset[str] = frozenset()  # groups whose matches get the list check
    list_groups: frozenset[str] = frozenset()  # groups whose names make a list (``lists:``)
    list_joint: re.Pattern[str] | None = None  # what joins two names of a list: ", ", " và "

    def find(self, folded_text: str, text: str,
             dropped: list[tuple[str, str]] | None = None,
             bare_vietnamese: bool = False,
             in_lists: list[tuple[str, str]] | None = None) -> dict[str, list[str]]:
        """Matched terms by group: one scan for folded terms, one for exact ones.

        Matches of ``checked`` groups qualified by a foreign country's name are left out
        and, when ``dropped`` is given, appended to it as ``(term, qualifier)``.
        ``bare_vietnamese``: the text is Vietnamese without diacritics, so ``bare_exact``
        terms ("My" for "Mỹ") are matched too. An exact match inside a span another term
        already matched ("Mỹ" in "thị trường Mỹ") is not counted twice. Matches of
        ``listed`` groups next to another country's name in a list are appended to
        ``in_lists`` as ``(term, neighbour)`` as well as counted.
        """
        found: dict[str, list[str]] = {}
        group_of, checked = self.group_of, self.checked
        starts: list[int] = []  # spans of folded matches, in order (they never overlap)
        ends: list[int] = []
        same = len(folded_text) == len(text)  # positions agree (they do but for rare letters)
        check_lists = in_lists is not None and same and bool(self.listed)
        listed: list[tuple[str, int, int]] = []  # matches of ``listed`` groups
        names: list[tuple[int, int]] = []  # matches of the ``lists`` groups (countries)

        def record(group: str, term: str, start: int, end: int) -> None:
            found.setdefault(group, []).append(term)
            if check_lists:
                if group in self.listed:
                    listed.append((term, start, end))
                elif group in self.list_groups:
                    names.append((start, end))

        if self.folded_all:
            for match in self.folded_all.finditer(folded_text):
                term = match.group(0)
                group = group_of[term]
                if group in checked:
                    qualifier = self._foreign(folded_text, match.start(), match.end())
                    if qualifier:
                        if dropped is not None:
                            dropped.append((term, qualifier))
                        continue
                start, end = match.span()
                starts.append(start)
                ends.append(end)
                record(group, term, start, end)
        scans = [(self.exact_all, text)]
        if bare_vietnamese:
            scans.append((self.bare_exact, text))  # "My" as "Mỹ" would be: once
        elif text.isascii():
            scans.append((self.ascii_all, folded_text))  # a site without diacritics: "tai My"
        for pattern, where in scans:
            if not pattern:
                continue
            for match in pattern.finditer(where):
                start, end = match.span()
                if starts and same:  # inside a phrase already matched: counted once
                    at = bisect_right(starts, start) - 1
                    if (at >= 0 and ends[at] > start) or (
                            at + 1 < len(starts) and starts[at + 1] < end):
                        continue
                term = fold(match.group(0))
                record(group_of[term], term, start, end)
        if listed and names and self.list_joint:
            joint = self.list_joint.fullmatch
            names.sort()
            name_starts = [n for n, _ in names]
            for term, start, end in listed:  # a country's name next to it, joined as in a list
                at = bisect_right(name_starts, start)  # the nearest name after, then before
                for n_start, n_end in names[at:at + 1] + names[max(at - 1, 0):at]:
                    gap = (folded_text[n_end:start] if n_end <= start
                           else folded_text[end:n_start] if end <= n_start else None)
                    if gap is not None and len(gap) <= 12 and joint(gap):
                        in_lists.append((term, folded_text[n_start:n_end]))  # type: ignore[union-attr]
                        break
        return found

    def bare_vietnamese(self, title: str, lead: str) -> bool:
        """Whether title and lead are Vietnamese printed without diacritics."""
        if not self.bare_markers or not (title.isascii() and lead.isascii()):
            return False
        words = set(_WORD.findall(f"{title} {lead}"))  # lower-case words: names do not count
        return len(words & self.bare_markers) >= self.bare_min

    def _foreign(self, folded_text: str, start: int, end: int) -> str:
        """The foreign country's name right after or right before a match, or ""."""
        if self.foreign_after:
            after = self.foreign_after.match(folded_text, end)
            if after:
                return after.group(1)
        if self.foreign_before:
            before = self.foreign_before.search(folded_text, max(0, start - 40), start)
            if before:
                return before.group(1)
        return ""


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


def _sentence_starts(phrases: list[str]) -> list[str]:
    """Phrases written in lower case, and capitalised as at a sentence start ("mỹ thuật",
    "Mỹ thuật"); the others only as written ("Mỹ Thành" is a place, "Mỹ thành lập" is
    the US founding something)."""
    return [*phrases, *(p[0].upper() + p[1:] for p in phrases if p[:1].islower())]


def _group(name: str, spec: dict[str, Any]) -> TermGroup:
    return TermGroup(name, float(spec.get("weight", 1.0)),
                     satisfies=tuple(spec.get("satisfies", [])),
                     sources=tuple(str(c) for c in spec.get("sources", [])),
                     foreign_check=bool(spec.get("foreign_check", False)),
                     penalty=float(spec.get("penalty", 1.0)),
                     unless=tuple(spec.get("unless", [])),
                     needs=tuple(spec.get("needs", [])),
                     in_list=float(spec.get("in_list", 1.0)),
                     cap_with=str(spec.get("cap_with", "")))


def _foreign_patterns(raw: dict[str, Any]) -> tuple[re.Pattern[str] | None,
                                                     re.Pattern[str] | None]:
    """Regexes for a country's name right after a match ("Bộ trưởng Ngoại giao Trung
    Quốc", "Prime Minister of Japan") and right before it ("Japanese Prime Minister"),
    from the folded terms of the groups named by ``foreign:``."""
    names = sorted({fold(str(t)) for group in raw.get("foreign", [])
                    for key in ("folded", "exact") for t in raw["groups"][group].get(key, [])},
                   key=len, reverse=True)
    if not names:
        return None, None
    alternation = _trie_pattern(names)  # one branch per character, longest first
    after = re.compile(rf"[ \t]*,?[ \t]*(?:cua[ \t]+|of[ \t]+(?:the[ \t]+)?)?({alternation})(?!\w)")
    before = re.compile(rf"(?<!\w)({alternation})(?:['’]s)?[ \t]+$")
    return after, before


def _list_joint(raw: dict[str, Any]) -> tuple[frozenset[str], re.Pattern[str] | None]:
    """The groups named by ``lists:`` (their matches are countries' names) and a regex for
    what joins two names of a list: ", ", " và ", " and the ", "; "."""
    groups = frozenset(str(g) for g in raw.get("lists", []))
    if not groups:
        return groups, None
    return groups, re.compile(r"(?:[ \t]*[,;/][ \t]*|[ \t]+(?:va|and|or|hoac|cung)[ \t]+)"
                              r"(?:the[ \t]+)?")


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
            groups = tuple(_group(group, spec) for group, spec in raw["groups"].items())
            exclude = [str(t) for spec in raw["groups"].values() for t in spec.get("exclude", [])]
            required = tuple(raw.get("required", []))
            required_any = tuple(raw.get("required_any", []))
            named = {g.name for g in groups}
            unknown = (set(required + required_any) | set(raw.get("foreign", []))
                       | set(raw.get("lists", []))
                       | {s for g in groups for s in (*g.satisfies, *g.unless, *g.needs)}
                       ) - named
            if unknown:
                raise ValueError(f"groups not defined: {sorted(unknown)}")
            group_of: dict[str, str] = {}
            for group, spec in raw["groups"].items():
                for term in [*spec.get("folded", []), *spec.get("exact", []),
                             *spec.get("ascii", []), *spec.get("bare_exact", [])]:
                    group_of.setdefault(fold(str(term)), group)
            after, before = _foreign_patterns(raw)
            list_groups, list_joint = _list_joint(raw)
            topics[name] = Topic(
                name=name, title=raw.get("title", name), threshold=float(raw["threshold"]),
                required=required, required_any=required_any,
                dominance=float(raw.get("dominance", 0)), groups=groups,
                exclude=_phrase_regex(_sentence_starts(exclude)),
                fields={f: fields.get(f, 1.0) for f in FIELDS},
                caps={f: caps.get(f, 5) for f in FIELDS}, scale=float(data.get("scale", 6.0)),
                folded_all=_phrase_regex([fold(str(t)) for spec in raw["groups"].values()
                                          for t in spec.get("folded", [])]),
                exact_all=_phrase_regex([str(t) for spec in raw["groups"].values()
                                         for t in spec.get("exact", [])]),
                ascii_all=_phrase_regex([fold(str(t)) for spec in raw["groups"].values()
                                         for t in spec.get("ascii", [])]),
                bare_exact=_phrase_regex([str(t) for spec in raw["groups"].values()
                                          for t in spec.get("bare_exact", [])]),
                bare_markers=frozenset(fold(str(w)) for w in
                                       data.get("bare_vietnamese", {}).get("markers", [])),
                bare_min=int(data.get("bare_vietnamese", {}).get("min", 3)),
                group_of=group_of,
                source_country=str(raw.get("source_country", data.get("source_country", ""))),
                checked=frozenset(g.name for g in groups if g.foreign_check),
                foreign_after=after, foreign_before=before,
                together={str(k): float(v) for k, v in raw.get("together", {}).items()},
                context_min={str(k): int(v) for k, v in
                             raw.get("context_min", data.get("context_min", {})).items()},
                other_pair_title=float(raw.get("other_pair_title", 1.0)),
                learned_model=str(path.parent / raw["learned"]["model"])
                if raw.get("learned") else "",
                learned_low=float(raw.get("learned", {}).get("low", 1.0)),
                learned_high=float(raw.get("learned", {}).get("high", 1.0)),
                by_name={g.name: g for g in groups},
                order={g.name: i for i, g in enumerate(groups)},
                meeting=_meeting(groups, required, required_any),
                sourced=tuple(g for g in groups if g.sources),
                listed=frozenset(g.name for g in groups if g.in_list != 1.0),
                list_groups=list_groups, list_joint=list_joint,
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
          topic: Topic | None = None, *, source_country: str | None = None) -> Judgement:
    """Score an article for ``topic`` (default: Vietnam–US relations), with reasons.

    ``lead`` defaults to the first paragraph of ``text``; the body is the rest.
    ``source_country`` is the country of the outlet (ISO 3166 alpha-2, lower case, e.g.
    ``"vn"``); None means the topic's ``source_country`` (newswatch watches Vietnamese
    outlets). Groups with ``sources`` count only on sources of those countries.

    The reasons are dicts, each with a ``group``: per group and field ``{"group", "field",
    "terms", "count"}``; then ``{"group": "requirement", "requirement", "met", "by"}`` per
    requirement, ``{"group", "field", "terms", "note"}`` for negative context and foreign
    qualifiers, and last ``{"group": "verdict", "score", "threshold", "relevant", "note"}``.
    """
    topic = topic or default_topic()
    country = (source_country or topic.source_country or "").lower()
    paragraphs = unicodedata.normalize("NFC", text or "").split("\n")
    if lead is None:
        lead, body = paragraphs[0], "\n".join(paragraphs[1:])
    else:
        lead = unicodedata.normalize("NFC", lead)
        body = "\n".join(p for p in paragraphs if p.strip() != lead.strip())
    parts = {"title": unicodedata.normalize("NFC", title or ""), "lead": lead, "body": body}
    points = 0.0
    mentions: dict[str, int] = {}
    reasons: list[dict[str, Any]] = []
    negative: list[tuple[TermGroup, str, list[str]]] = []
    dropped: list[tuple[str, str]] = []
    bare = topic.bare_vietnamese(parts["title"], lead)
    scanned: list[tuple[str, dict[str, list[str]], list[dict[str, Any]]]] = []
    present: set[str] = set()  # groups matched anywhere (on this source), for ``needs``
    elsewhere = {g.name for g in topic.sourced if country not in g.sources}  # not counted here
    for field_name, raw in parts.items():
        if not raw:
            continue
        if topic.exclude:  # exact look-alikes out first ("Mỹ Tho")
            raw = topic.exclude.sub(" ", raw)
        in_lists: list[tuple[str, str]] = []
        by_group = topic.find(fold(raw), raw, dropped, bare, in_lists)
        notes: list[dict[str, Any]] = []
        if dropped:
            notes.append({"group": "foreign", "field": field_name,
                          "terms": [t for t, _ in dropped],
                          "note": "qualified by another country, not counted: "
                                  + ", ".join(f"{t} {q}" for t, q in dropped)})
            dropped = []
        if in_lists:
            by_group["_listed"] = [t for t, _ in in_lists]
            notes.append({"group": "list", "field": field_name,
                          "terms": [t for t, _ in in_lists],
                          "note": "in a list of countries: " + ", ".join(
                              f"{t} next to {n}" for t, n in in_lists)})
        scanned.append((field_name, by_group, notes))
        present.update(by_group)
    present -= elsewhere
    present.discard("_listed")
    title_sides: set[str] = set()
    for field_name, by_group, notes in scanned:
        reasons += notes
        in_field: list[TermGroup] = []
        used: dict[str, int] = {}  # mentions counted per cap (groups may share one)
        listed = by_group.get("_listed", [])
        order = topic.order
        for name in sorted((n for n in by_group if n in order), key=order.__getitem__):
            group = topic.by_name[name]  # the found groups, in the topic's order
            found = by_group[group.name]
            terms = sorted(set(found), key=found.index)
            if group.sources and country not in group.sources:
                reasons.append({"group": group.name, "field": field_name, "terms": terms,
                                "count": len(found), "note": f"counts only on sources from "
                                f"{', '.join(group.sources)}, not {country or 'unknown'}"})
                continue
            if group.needs and not present & set(group.needs):
                reasons.append({"group": group.name, "field": field_name, "terms": terms,
                                "count": len(found), "note": "not counted: needs a match of "
                                + " or ".join(group.needs) + " in the article"})
                continue
            mentions[group.name] = mentions.get(group.name, 0) + len(found)
            if group.penalty != 1.0:
                lifted = present & set(group.unless)
                if lifted:
                    reasons.append({"group": group.name, "field": field_name, "terms": terms,
                                    "count": len(found), "note": f"negative context "
                                    f"({group.name}) not counted: {', '.join(sorted(lifted))} "
                                    f"in the article"})
                elif len(found) >= topic.context_min.get(field_name, 1):
                    negative.append((group, field_name, terms))
                else:
                    reasons.append({"group": group.name, "field": field_name, "terms": terms,
                                    "count": len(found), "note": f"negative context "
                                    f"({group.name}) too rare in the {field_name} to count"})
                continue
            cap_name = group.cap_with or group.name
            counted = max(0, min(len(found), topic.caps[field_name] - used.get(cap_name, 0)))
            used[cap_name] = used.get(cap_name, 0) + counted
            in_list = [t for t in found if t in listed] if group.in_list != 1.0 else []
            factor = 1.0
            if in_list:  # mentions in a list count for less (all of them when all are)
                factor = (len(found) - len(in_list) + group.in_list * len(in_list)) / len(found)
            gained = group.weight * topic.fields[field_name] * counted * factor
            points += gained
            in_field.append(group)
            if field_name == "title":
                title_sides |= {group.name, *group.satisfies}
            if group.weight or group.satisfies:
                reason = {"group": group.name, "field": field_name, "terms": terms,
                          "count": len(found), "points": round(gained, 2)}
                if in_list:
                    reason["points_note"] = f"x{group.in_list:g} for {len(in_list)} in a list"
                if group.needs:
                    reason["points_note"] = "counted with " + ", ".join(
                        n for n in group.needs if n in present)
                reasons.append(reason)
        bonus = topic.together.get(field_name)
        if bonus and in_field and _both_sides(topic, in_field):
            points += bonus
            reasons.append({"group": "together", "field": field_name, "terms": [],
                            "note": f"both sides named in the {field_name}: +{bonus:g} points"})
    partner = sum(mentions.get(name, 0) for name in topic.required_any)
    others = mentions.get("others", 0)
    in_title = bool(title_sides & set(topic.required_any))
    if topic.dominance and others > topic.dominance * max(partner, 1) and not in_title:
        points /= 2
        reasons.append({"group": "others", "field": "all", "terms": [],
                        "count": others, "note": "other countries dominate: points halved"})
    if (topic.other_pair_title < 1 and in_title and "others" in title_sides
            and not set(topic.required) <= title_sides):
        points *= topic.other_pair_title
        reasons.append({"group": "others", "field": "title", "terms": [],
                        "note": "the title pairs the partner with another country, not "
                                f"with {', '.join(topic.required)}: "
                                f"points x{topic.other_pair_title:g}"})
    seen_penalty: set[str] = set()
    for group, field_name, terms in negative:
        first = group.name not in seen_penalty
        if first:
            points *= group.penalty
            seen_penalty.add(group.name)
        reasons.append({"group": group.name, "field": field_name, "terms": terms,
                        "note": f"negative context ({group.name}): points x{group.penalty:g}"
                        if first else f"negative context ({group.name}), already counted"})
    score = 1 - math.exp(-max(points, 0.0) / topic.scale)
    met_by = _requirements(topic, mentions, reasons)
    has_required = all(met_by[name] for name in topic.required) and (
        not topic.required_any or bool(met_by["|".join(topic.required_any)]))
    relevant = has_required and score >= topic.threshold
    rescued = ""
    if (not relevant and has_required and topic.learned_model
            and score >= topic.learned_low):  # a near-miss: ask the learned scorer
        from monitor.judge.learned import load_scorer
        probability, top = load_scorer(topic.learned_model).probability(parts["title"], lead)
        relevant = probability >= topic.learned_high
        sign = ">=" if relevant else "<"
        rescued = f"learned scorer p {probability:.2f} {sign} {topic.learned_high:g}"
        reasons.append({"group": "learned", "field": "title+lead", "terms": top,
                        "probability": round(probability, 3),
                        "note": f"near-miss (score {score:.2f} >= {topic.learned_low:g}, "
                                f"requirements met): {rescued}"
                                + (", relevant" if relevant else ", not enough")})
    if relevant and score < topic.threshold:
        note = (f"score {score:.2f} < threshold {topic.threshold:g} but relevant: "
                f"{rescued} (requirements met)")
    elif relevant:
        note = f"score {score:.2f} >= threshold {topic.threshold:g}, requirements met"
    elif score < topic.threshold:
        note = f"score {score:.2f} < threshold {topic.threshold:g}"
    else:
        missing = [name for name in (*topic.required, "|".join(topic.required_any))
                   if name and not met_by[name]]
        note = (f"score {score:.2f} >= threshold {topic.threshold:g} but not relevant: "
                f"no match for {', '.join(missing)}")
    reasons.append({"group": "verdict", "field": "all", "terms": [], "score": round(score, 3),
                    "threshold": topic.threshold, "relevant": relevant, "note": note})
    return Judgement(score=score, relevant=relevant, reasons=reasons, topic=topic.name)


def _both_sides(topic: Topic, groups: list[TermGroup]) -> bool:
    """Whether ``groups`` (found in one field) meet every requirement of ``topic``."""
    names = {g.name for g in groups} | {s for g in groups for s in g.satisfies}
    return all(name in names for name in topic.required) and (
        not topic.required_any or bool(names & set(topic.required_any)))


def _meeting(groups: tuple[TermGroup, ...], required: tuple[str, ...],
             required_any: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Per requirement key (``required`` one by one, ``required_any`` joined by "|"), the
    groups that can meet it, in the topic's order."""
    wanted = [(name, (name,)) for name in required]
    if required_any:
        wanted.append(("|".join(required_any), required_any))
    return tuple((key, tuple(g.name for g in groups
                             if g.name in names or set(names) & set(g.satisfies)))
                 for key, names in wanted)


def _requirements(topic: Topic, mentions: dict[str, int],
                  reasons: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Which groups met each requirement (``required`` one by one, ``required_any`` as
    one key joined by "|"); appends a reason per requirement."""
    met_by: dict[str, list[str]] = {}
    for key, able in topic.meeting:
        by = [name for name in able if mentions.get(name)]
        met_by[key] = by
        first: dict[str, str] = {}
        for reason in reasons if by else ():
            if reason["group"] in by and reason["terms"] and "note" not in reason:
                first.setdefault(reason["group"], f"{reason['group']}: {reason['terms'][0]} "
                                                  f"({reason['field']})")
        reasons.append({"group": "requirement", "field": "all", "terms": [],
                        "requirement": key, "met": bool(by),
                        "by": [first.get(g, g) for g in by]})
    return met_by


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
    """Judge JSON lines ``{"id", "title", "text"}`` (``lead`` and ``country``, the
    source's country, optional); yields ``{"id", "score", "relevant",
    "reasons"}`` per line. ValueError names the first bad line."""
    for row in parse_jsonl(lines):
        verdict = judge(row.get("title"), row["text"], row.get("lead"), topic,
                        source_country=row.get("country"))
        yield {"id": row.get("id"), "score": round(verdict.score, 3),
               "relevant": verdict.relevant, "reasons": verdict.reasons}


def explain_rows(reasons: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """Reasons as table rows ``(group, field, terms, what it did)`` for people to read."""
    rows = []
    for reason in reasons:
        group, where = reason["group"], reason.get("field", "all")
        terms = ", ".join(reason.get("terms") or [])
        if group == "requirement":
            met = ", ".join(reason["by"]) if reason["met"] else "NOT MET"
            rows.append(("requirement", "all", reason["requirement"], f"met by {met}"
                         if reason["met"] else met))
        elif group == "verdict":
            rows.append(("verdict", "all", "", reason["note"]))
        elif "note" in reason:
            rows.append((group, where, terms, reason["note"]))
        else:
            rows.append((group, where, terms, f"+{reason.get('points', 0):g} points "
                         f"({reason.get('count', 0)} mention(s)"
                         + (f", {reason['points_note']})" if "points_note" in reason else ")")))
    return rows
