"""Recognise one story seen many times: near-duplicate texts and cross-language editions.

- Near duplicates: MinHash (datasketch) over word shingles of folded text; LSH band keys
  are stored in SQLite (``monitor.store.db``), so lookups need no index in memory and the
  index survives restarts.
- Cross-language: the English and Vietnamese reports of one event share people's names
  (diacritics folded: "Bùi Thanh Sơn" = "Bui Thanh Son"), numbers and dates. Two reports
  are linked when they share names *and* a distinctive number or date, and were
  published within a few days of each other; the same officials at another event share
  names but not the event's dates and figures.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np

from monitor.changes import entity_rules as rules
from monitor.judge import fold

NUM_PERM = 64
SHINGLE = 5
NEAR_THRESHOLD = 0.6  # estimated Jaccard from which two texts are one story
# datasketch.lsh._optimal_param(0.6, 64, 0.5, 0.5) == (10, 6): LSH bands x rows that
# minimise false positives and negatives at the threshold (fixed: stored keys depend on it)
BANDS, ROWS = 10, 6
CROSS_LANGUAGE_WINDOW = timedelta(days=3)
CROSS_LANGUAGE_POINTS = 4

_WORD = re.compile(r"\w+")
_UPPER = "".join(chr(c) for block in ((0x41, 0x250), (0x1E00, 0x1F00)) for c in range(*block)
                 if chr(c).isupper())
_CAPITALISED_RUN = re.compile(rf"[{_UPPER}]\w*(?:[ -][{_UPPER}]\w*)+")
_NUMBER = re.compile(r"(?<![\w.,])\d{1,3}(?:[.,]\d{3})+(?![\w])|(?<![\w.,])\d+(?:[.,]\d+)?")


def shingles(text: str, size: int = SHINGLE) -> set[bytes]:
    """Word ``size``-grams of the folded text (the whole text when shorter)."""
    words = _WORD.findall(fold(text))
    if len(words) <= size:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i:i + size]).encode() for i in range(len(words) - size + 1)}


def _crc32(data: bytes) -> int:
    return zlib.crc32(data)


@lru_cache(maxsize=1)
def _template() -> Any:
    # datasketch (and the scipy it imports) loads only where signatures are made: the
    # extraction workers, not the crawl process. Permutations are drawn once, not per text.
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=1)


def signature(text: str) -> bytes:
    """MinHash signature of a text, as bytes for storage (CRC-32 of each shingle: stable
    across processes and runs, and much cheaper than SHA-1)."""
    template = _template()
    minhash = type(template)(num_perm=NUM_PERM, seed=1, hashfunc=_crc32,
                             permutations=template.permutations, scheme=template.scheme)
    minhash.update_batch(list(shingles(text)))
    return minhash.hashvalues.astype(np.uint64).tobytes()


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two signatures."""
    left, right = np.frombuffer(a, dtype=np.uint64), np.frombuffer(b, dtype=np.uint64)
    return float(np.count_nonzero(left == right)) / len(left)


def band_keys(sig: bytes) -> list[int]:
    """One 63-bit key per LSH band: texts sharing any key are near-duplicate candidates."""
    width = ROWS * 8
    keys = []
    for band in range(BANDS):
        digest = hashlib.blake2b(bytes([band]) + sig[band * width:(band + 1) * width],
                                 digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big") >> 1)
    return keys


# -- cross-language ------------------------------------------------------------------------
def _dates(text: str) -> set[str]:
    """Day-month mentions as "MM-DD", in English and Vietnamese spellings."""
    found = set()
    for month_name, day in re.findall(rules.EN_DATE, text):
        found.add(f"{rules.MONTHS[month_name.lower()[:3]]:02d}-{int(day):02d}")
    for day, month in re.findall(rules.EN_DATE_DAY_FIRST, text):
        found.add(f"{rules.MONTHS[month.lower()[:3]]:02d}-{int(day):02d}")
    vietnamese = re.findall(rules.VI_DATE_SHORT, text) + re.findall(rules.VI_DATE_LONG, text)
    for day, month in vietnamese:
        if 1 <= int(month) <= 12 and 1 <= int(day) <= 31:
            found.add(f"{int(month):02d}-{int(day):02d}")
    return found


def _numbers(text: str) -> set[str]:
    """Numbers worth comparing: at least two digits, not a year-like 19xx/20xx."""
    out = set()
    for raw in _NUMBER.findall(text):
        digits = re.sub(r"[.,](?=\d{3}\b)", "", raw).replace(",", ".")
        if len(digits.replace(".", "")) >= 2 and not re.fullmatch(r"(19|20)\d\d", digits):
            out.add(digits)
    return out


def _names(text: str) -> set[str]:
    """Folded runs of 2+ capitalised words, minus titles, offices and sentence openers."""
    out: set[str] = set()
    for match in _CAPITALISED_RUN.finditer(text):
        _add_name(re.split(r"[ -]", match.group(0)), out)
    return out


def _add_name(run: list[str], out: set[str]) -> None:
    words = [w for w in run if fold(w) not in rules.NAME_STOPWORDS]
    if len(words) >= 2:
        out.add(fold(" ".join(words)))


def entities(title: str | None, text: str) -> dict[str, list[str]]:
    """Names, numbers and day-month dates of an article (language independent)."""
    whole = f"{title or ''}\n{text}"
    return {"names": sorted(_names(whole)), "title_names": sorted(_names(title or "")),
            "numbers": sorted(_numbers(whole)), "dates": sorted(_dates(whole))}


def event_keys(found: dict[str, list[str]]) -> list[str]:
    """Index keys of an article's entities ("n:bui son", "d:09-25", "#:88")."""
    return ([f"n:{n}" for n in found["names"]] + [f"d:{d}" for d in found["dates"]]
            + [f"#:{n}" for n in found["numbers"]])


# Two editions of one event share at least this many keys: a date (2 points) and two
# more, or three numbers and a name; fewer can never reach CROSS_LANGUAGE_POINTS.
MIN_SHARED_KEYS = 3


def same_event(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two reports (in different languages) describe the same event.

    Each of ``a`` and ``b`` has ``entities`` (from :func:`entities`) and ``published``
    (ISO 8601). Shared names count 1 each (3 at most), a shared day-month 2, shared
    numbers 1 each (3 at most); 4 points make one event, provided the two share a date
    or three numbers. Names alone never do: the same officials meet often. And when each
    title names someone the other report never mentions (Finer here, Blinken there),
    they are two meetings, whatever else they share.
    """
    when_a, when_b = parse_time(a.get("published")), parse_time(b.get("published"))
    if when_a and when_b and abs(when_a - when_b) > CROSS_LANGUAGE_WINDOW:
        return False
    ea, eb = a["entities"], b["entities"]
    if (_unmatched(ea.get("title_names", []), eb["names"])
            and _unmatched(eb.get("title_names", []), ea["names"])):
        return False
    names = _shared_names(ea["names"], eb["names"])
    dates = len(set(ea["dates"]) & set(eb["dates"]))
    numbers = len(set(ea["numbers"]) & set(eb["numbers"]))
    points = min(names, 3) + 2 * min(dates, 1) + min(numbers, 3)
    return points >= CROSS_LANGUAGE_POINTS and (dates > 0 or numbers >= 3)


def _unmatched(names: Iterable[str], others: Iterable[str]) -> bool:
    others = list(others)
    return any(_shared_names([name], others) == 0 for name in names)


def _shared_names(left: Iterable[str], right: Iterable[str]) -> int:
    """Names in common; a name also matches a longer name that ends with it."""
    right = list(right)
    return sum(1 for name in left
               if any(name == other or other.endswith(" " + name) or name.endswith(" " + other)
                      for other in right))


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 time; a time without zone is Vietnam time; None when unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=rules.DEFAULT_TZ)
