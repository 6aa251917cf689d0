"""Article metadata beyond ISO 8601 and beyond a site profile: dates in the forms pages
really write them, the author as a person (never the site), agency tags and stray
invisible characters.

Dates: a value from a meta tag or JSON-LD is read as ISO 8601 first, then as RFC 822
(``Mon, 25 Mar 2024 07:30:00 GMT``), then with a short offset repaired
(``2024-03-25T02:30-500``), then by dateparser (day-first slashes, Vietnamese and
English month and weekday names, relative times resolved against the fetch time). A
visible dateline is looked for in the page's date-like elements when meta and JSON-LD
have nothing; a date embedded in the article's own URL (``-20221224100422289.htm``,
``/2024/03/25/``) is a hint taken before dates found in links inside the page.
A time without a zone gets the source's zone (``+07:00`` on a ``.vn`` host).
Before reading: Vietnamese a.m./p.m. ("12:05 SA", "2:30 CH") become AM/PM, "14h30" a
clock time, a two-digit
year ("26/03/24") goes to the century nearest the fetch time. After: a date outside the
window ``monitor.sources.discovery.plausible`` gives (not before 1990, not more than an
hour after the fetch time: config/discovery.yaml) is no date at all (a CMS typo, a
misread year), so the next candidate (a visible dateline) is taken.

Patterns and word lists are data in ``monitor.extract.rules``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from monitor.extract import rules
from monitor.sources import discovery

_TWO_DIGIT_YEAR = re.compile(rules.TWO_DIGIT_YEAR)
_MERIDIEM = re.compile(rules.MERIDIEM, re.IGNORECASE)
_HOUR_H = re.compile(rules.HOUR_H)
_SHORT_OFFSET = re.compile(rules.SHORT_OFFSET)
_HAS_TIME = re.compile(r"\d{1,2}[:h]\d{2}")
_DATE_LIKE = re.compile(rules.DATE_LIKE, re.IGNORECASE)
_INVISIBLE = "".join(rules.INVISIBLE_CHARACTERS)


def zone_for(url: str | None, tz: timezone) -> timezone:
    """The zone of naive times on ``url``'s pages: +07:00 on a Vietnamese host, else ``tz``."""
    host = (urlsplit(url or "").hostname or "").lower()
    if host.endswith(rules.VIETNAM_HOST_SUFFIXES):
        return timezone(timedelta(hours=7))
    return tz


# --------------------------------------------------------------------------- dates


def _aware(parsed: datetime, tz: timezone) -> str:
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.isoformat()


def _iso(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@lru_cache(maxsize=1)
def _dateparser() -> Any:
    try:
        import dateparser
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    return dateparser


def plausible(found: str | None, tz: timezone, fetched: datetime | None) -> str | None:
    """``found`` (ISO 8601) when it falls in the publication window seen at ``fetched``
    (aware; default now), else None. A date without a time is its midnight in ``tz``."""
    if not found:
        return None
    try:
        when = datetime.fromisoformat(found)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    return found if discovery.plausible(when, fetched or datetime.now(UTC)) else None


def full_year(value: str, fetched: datetime) -> str:
    """``value`` with a day-first date's two-digit year written in full, in the century
    nearest ``fetched`` ("26/03/24" fetched in 2024 → "26/03/2024")."""
    def widen(match: re.Match[str]) -> str:
        day, sep, month, short = match.groups()
        year = min((century + int(short) for century in
                    (fetched.year // 100 * 100 + step for step in (-100, 0, 100))),
                   key=lambda y: abs(y - fetched.year))
        return f"{day}{sep}{month}{sep}{year}"
    return _TWO_DIGIT_YEAR.sub(widen, value)


def meridiem(value: str) -> str:
    """Vietnamese a.m./p.m. words after a time as AM/PM ("12:05 SA" → "12:05 AM"), an
    hour written with an "h" as a clock time ("14h30" → "14:30")."""
    value = _HOUR_H.sub(r"\1:\2", value)
    return _MERIDIEM.sub(
        lambda m: f"{m.group(1)} {rules.MERIDIEM_WORDS[m.group(2).lower()]}", value)


def parse_date(value: str, tz: timezone, fetched: datetime | None = None,
               relative: bool = True) -> str | None:
    """ISO 8601 (with zone) of a date written in any common form; None if unreadable
    or outside the publication window (``plausible``).

    ``tz`` is given to naive times; ``fetched`` (aware) resolves relative times
    ("2 giờ trước", "3 hours ago") and two-digit years, and bounds the window (default
    now); ``relative=False`` refuses relative times (meta values). A value without a
    time stays a date (``2024-03-25``)."""
    value = " ".join(unicodedata.normalize("NFC", value).split())
    if not value or len(value) > rules.DATE_MAX_CHARS:
        return None
    value = full_year(meridiem(value), fetched or datetime.now(UTC))
    return plausible(_parse(value, tz, fetched, relative), tz, fetched)


def _parse(value: str, tz: timezone, fetched: datetime | None, relative: bool) -> str | None:
    parsed = _iso(value)
    if parsed is None:
        repaired = _SHORT_OFFSET.sub(
            lambda m: f"{m.group(1)}{m.group(2)}{int(m.group(3)):02d}:{m.group(4)}", value)
        parsed = _iso(repaired) if repaired != value else None
    if parsed is None and "," in value[:5]:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            parsed = None
        if parsed is not None and parsed.tzinfo is None and value.endswith("-0000"):
            parsed = parsed.replace(tzinfo=UTC)  # RFC 5322: UTC, not the site's
    if parsed is not None:
        if len(value) <= 10 and "T" not in value:
            return parsed.date().isoformat()
        return _aware(parsed, tz)
    return _parse_free(value, tz, fetched, relative)


def _parse_free(value: str, tz: timezone, fetched: datetime | None,
                relative: bool) -> str | None:
    dateparser = _dateparser()
    if dateparser is None:
        return None
    is_relative = bool(re.search(rules.RELATIVE_TIME, value, re.IGNORECASE))
    if is_relative and (not relative or fetched is None):
        return None
    if not is_relative and not _DATE_LIKE.search(value):
        return None
    settings: dict[str, Any] = {"DATE_ORDER": "DMY", "PREFER_DATES_FROM": "past",
                                "STRICT_PARSING": not is_relative}
    if fetched is not None:
        settings["RELATIVE_BASE"] = fetched.astimezone(tz).replace(tzinfo=None)
    cleaned = re.sub(rules.DATELINE_NOISE, " ", value, flags=re.IGNORECASE)
    try:
        parsed = dateparser.parse(cleaned, languages=list(rules.DATE_LANGUAGES),
                                  settings=settings)
    except (ValueError, OverflowError, TypeError):
        return None
    if parsed is None:
        return None
    if not is_relative and not _HAS_TIME.search(value):
        return parsed.date().isoformat()
    return _aware(parsed, tz)


def meta_date(values: list[str], tz: timezone, fetched: datetime | None = None) -> str | None:
    """The first readable date among meta / JSON-LD values (no relative times) in the
    publication window seen at ``fetched`` (default now)."""
    for value in values:
        found = parse_date(str(value), tz, fetched, relative=False)
        if found:
            return found
    return None


def dateline(tree: Any, tz: timezone, fetched: datetime | None) -> tuple[str | None, str | None]:
    """The publication time a page prints in a date-like element (no profile needed):
    "Thứ hai, 25/3/2024, 14:30 (GMT+7)", "25/03/2024 14:30", "March 25, 2024 2:30 PM
    GMT+7". Returns ``(absolute, relative)``: the first written date (one with a time
    preferred), and a relative time ("2 giờ trước") resolved against ``fetched`` only
    when the page shows exactly one (several are a list of other articles)."""
    date_only = None
    relatives: set[str] = set()
    for node in tree.xpath(rules.DATELINE_XPATH)[: rules.DATELINE_MAX_CANDIDATES]:
        text = " ".join(" ".join(node.itertext()).split()) if not isinstance(node, str) else node
        if not text or len(text) > rules.DATE_MAX_CHARS:
            continue
        if re.search(rules.RELATIVE_TIME, text, re.IGNORECASE):
            found = parse_date(text, tz, fetched)
            if found:
                relatives.add(found)
            continue
        if not any(c.isdigit() for c in text):
            continue
        found = parse_date(text, tz, fetched)
        if found and "T" in found:
            return found, None
        date_only = date_only or found
    return date_only, (next(iter(relatives)) if len(relatives) == 1 else None)


def url_date(url: str | None, tz: timezone, fetched: datetime | None = None) -> str | None:
    """The date the article's own URL carries (``-20221224100422289.htm`` with its
    time, ``/2024/03/25/`` a date), None when it carries none or an impossible one
    (outside the window seen at ``fetched``, default now)."""
    path = urlsplit(url or "").path
    match = re.search(rules.URL_TIMESTAMP, path)
    if match:
        try:
            return plausible(datetime(*(int(g) for g in match.groups()), tzinfo=tz)
                             .isoformat(), tz, fetched)
        except ValueError:
            pass
    match = re.search(rules.URL_DATE, path)
    if match:
        try:
            return plausible(datetime(*(int(g) for g in match.groups())).date().isoformat(),
                             tz, fetched)
        except ValueError:
            return None
    return None


# --------------------------------------------------------------------------- author


def fold(text: str) -> str:
    """Lower-case letters and digits only, without diacritics (đ → d)."""
    text = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in text.lower() if c.isalnum() and not unicodedata.combining(c))


def site_names(tree: Any, url: str | None, json_ld: list[dict[str, Any]]) -> set[str]:
    """Folded names the site goes by: its host, og:site_name, application-name, the
    JSON-LD publisher's and Organization's names."""
    names = set()
    host = (urlsplit(url or "").hostname or "").lower()
    if host:
        names.add(fold(host))
        labels = [part for part in host.split(".") if part not in rules.HOST_NOISE_LABELS]
        names.update(fold(part) for part in labels if len(part) >= 3)
    for value in tree.xpath(rules.SITE_NAME_XPATH):
        names.add(fold(str(value)))
    for obj in json_ld:
        publisher = obj.get("publisher")
        if isinstance(publisher, dict) and isinstance(publisher.get("name"), str):
            names.add(fold(publisher["name"]))
        if obj.get("@type") == "Organization" and isinstance(obj.get("name"), str):
            names.add(fold(obj["name"]))
    return {name for name in names if name}


_TITLE_SEPARATORS = re.compile(rules.TITLE_SEPARATORS)


def _site_part(part: str, sites: set[str]) -> bool:
    """Is this part of a title the site's name ("VnExpress", "Tuổi Trẻ Online",
    "Sportsnet.ca")?"""
    folded = fold(part)
    if not folded:
        return False
    if folded in sites:
        return True
    if len(part.split()) > rules.TITLE_SITE_PART_MAX_WORDS:
        return False
    return any((len(site) >= 4 and site in folded)
               or (len(folded) >= 4 and folded in site
                   and len(folded) >= rules.TITLE_SITE_NAME_SHARE * len(site))
               for site in sites)


def strip_site_name(title: str, sites: set[str], named: set[str],
                    headings: Iterable[str] = ()) -> str:
    """``title`` without the site's name around it: "Headline | VnExpress" →
    "Headline", "Dân trí - Headline" → "Headline". A part goes only when it is the
    site's name: at the end, one of ``sites`` (folded names, host names included); at the
    start, one of ``named`` (names the page or the profile gives, never the host: "Việt
    Nam – Hoa Kỳ ký…" keeps its first part on vietnam.vn). Else, when one of
    ``headings`` (the page's <h1>) is the title less a part at its start or end, that
    heading. A headline's own dashes ("Vietnam - US trade talks - what comes next")
    stay."""
    pieces = _TITLE_SEPARATORS.split(title)  # text, separator, text, ...
    texts, seps = [p.strip() for p in pieces[0::2]], pieces[1::2]
    if len(texts) < 2 or not all(texts):
        return title
    start, end = 0, len(texts)
    while end - start > 1 and _site_part(texts[end - 1], sites):
        end -= 1
    while end - start > 1 and fold(texts[start]) in named:
        start += 1
    if (start, end) != (0, len(texts)):
        out = texts[start]
        for sep, text in zip(seps[start:end - 1], texts[start + 1:end], strict=True):
            out += sep + text
        return out
    whole = " ".join(title.split())
    for heading in headings:
        heading = " ".join(heading.split())
        if heading and heading != whole and _beside(whole, heading):
            return heading
    return title


def _beside(whole: str, heading: str) -> bool:
    """Does ``whole`` hold ``heading`` and, past a separator at its start or end, more?"""
    if whole.startswith(heading):
        match = _TITLE_SEPARATORS.match(whole[len(heading):])
        if match and whole[len(heading) + match.end():].strip():
            return True
    if whole.endswith(heading):
        rest = whole[: len(whole) - len(heading)]
        return any(m.end() == len(rest) and rest[: m.start()].strip()
                   for m in _TITLE_SEPARATORS.finditer(rest))
    return False


def is_site(name: str, sites: set[str]) -> bool:
    """Is this "author" the site itself ("VnExpress", "Dân Trí", "en.baochinhphu.vn")?"""
    folded = fold(name)
    if not folded:
        return True
    return any(folded == site or (len(folded) >= 4 and (folded in site or site in folded))
               for site in sites)


def person(value: Any) -> str | None:
    """A person's name from a JSON-LD ``author`` (string, Person, or a list of them);
    Organizations do not count."""
    if isinstance(value, list):
        names = [n for n in (person(v) for v in value) if n]
        return ", ".join(names) if names else None
    if isinstance(value, dict):
        kind = value.get("@type")
        if kind and kind != "Person" and not (isinstance(kind, list) and "Person" in kind):
            return None
        value = value.get("name")
    if isinstance(value, str) and value.strip():
        return " ".join(value.split())
    return None


def pick_author(candidates: Iterable[str | None],
                sites: set[str] | Callable[[], set[str]]) -> str | None:
    """The first candidate that reads as a byline: not a URL, not the site's name, not
    longer than a byline. ``sites`` may be a function, called once a candidate needs it."""
    known: set[str] | None = sites if isinstance(sites, set) else None
    for candidate in candidates:
        if not candidate:
            continue
        name = clean_text(candidate).strip(" |–-:")
        name = re.sub(rules.BYLINE_PREFIX, "", name, flags=re.IGNORECASE).strip()
        if not name or "://" in name or name.startswith("/") or len(
                name.split()) > rules.AUTHOR_MAX_WORDS:
            continue
        if known is None:
            known = sites() if callable(sites) else set(sites)
        # "Thu Hằng/VOV.VN", "Minh Anh/TTXVN": a person signing for the outlet; the part
        # before the slash decides
        if is_site(name.split("/")[0].strip(), known):
            continue
        return name
    return None


# --------------------------------------------------------------------------- text


def clean_text(text: str) -> str:
    """Without soft hyphens and zero-width characters at its ends, spaces collapsed."""
    return " ".join(text.strip(_INVISIBLE + " \t\r\n").split()).strip(_INVISIBLE)


_AGENCY = re.compile(rules.AGENCY_TAG)


def strip_agency_tag(line: str) -> str:
    """"VGP – The Prime Minister…" → "The Prime Minister…" (tags in ``rules.AGENCY_TAGS``)."""
    return _AGENCY.sub("", line, count=1)
