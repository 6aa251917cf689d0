"""Load and validate source configuration (config/sources.yaml, config/demo.yaml).

Every source is data: its domains, feeds, sitemaps, listing pages, the regex that
recognises an article URL, and a *site profile* (clutter selectors, date rules) that
the extractor applies. A bad file is reported as ``path:line: field: problem``.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from monitor.sources.cron import DEFAULT_TIMEZONE, parse_crontab, zone

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = PROJECT_ROOT / "config"
DEFAULT_CONFIG = CONFIG_DIR / "sources.yaml"
DEMO_CONFIG = CONFIG_DIR / "demo.yaml"
PROFILES_FILE = CONFIG_DIR / "profiles.yaml"

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_DURATION = re.compile(r"\d+[smh]")  # a whole number and a unit: seconds() reads it
_LONG_DURATION = re.compile(r"\d+[smhd]")  # days too: the re-check bounds (``Recheck``)


class ConfigError(ValueError):
    """A configuration file is missing, unreadable or invalid."""


MAX_YAML_NODES = 100_000  # values in a config file with its aliases expanded


class YamlTooLarge(yaml.YAMLError):
    """A YAML document whose anchors and aliases expand past :data:`MAX_YAML_NODES`
    values (an "alias bomb": a few hundred bytes that expand to billions), or that
    refers to itself. One line, with the line of the offending alias."""

    def __init__(self, problem: str, mark: yaml.Mark | None) -> None:
        super().__init__(problem)
        self.problem, self.problem_mark = problem, mark

    def __str__(self) -> str:
        where = f"line {self.problem_mark.line + 1}: " if self.problem_mark else ""
        return where + self.problem


class BoundedLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader that refuses a document whose aliases would expand it past
    :data:`MAX_YAML_NODES` values, or a recursive one, before anything walks it: the
    check counts each node once (linear in the file's size), so a 484-byte alias bomb
    is refused in milliseconds. Anchors and aliases that stay small (``<<: *defaults``)
    load as before."""

    def compose_document(self) -> yaml.Node | None:
        node = super().compose_document()
        if node is not None:
            _expanded_size(node)
        return node


def _expanded_size(root: yaml.Node) -> int:
    """How many values ``root`` holds with every alias expanded; YamlTooLarge past
    :data:`MAX_YAML_NODES` or on a node that contains itself."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        if done:
            active.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[key] > MAX_YAML_NODES:
                raise YamlTooLarge(
                    f"anchors and aliases expand this document past {MAX_YAML_NODES:,} "
                    "values (an alias bomb?); refused", node.start_mark)
            continue
        if key in sizes:
            continue
        if key in active:
            raise YamlTooLarge("an alias refers to a value that contains it; refused",
                               node.start_mark)
        active.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DateRule(_Model):
    """Where a site prints its publication date, and how to read it."""

    xpath: str
    pattern: str | None = None  # regex with one group capturing the date text
    formats: list[str] = Field(min_length=1)

    @field_validator("pattern")
    @classmethod
    def _regex_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regex: {exc}") from exc
        return value


class SiteProfile(_Model):
    """Site-specific extraction rules: data, applied by ``monitor.extract.article``."""

    body: str | None = None  # XPath of the article container: extraction looks only inside
    clutter: list[str] = Field(default_factory=list)  # XPath of nodes to drop before extraction
    clutter_lines: list[str] = Field(default_factory=list)  # regexes of whole lines to drop
    strip_prefixes: list[str] = Field(default_factory=list)  # e.g. "VGP - " before the lead
    title: str | None = None  # XPath of the headline when the page's metadata lacks it
    lead: str | None = None  # XPath of the lead (sapo) when the extractor misses it
    author: str | None = None  # XPath of the byline when metadata lacks it
    date: DateRule | None = None
    # regexes of text that changes by itself on this site (counters, clocks): masked on
    # every line before versions are decided and diffed (monitor.changes.volatile)
    volatile: list[str] = Field(default_factory=list)
    # What the profile was checked against: real pages (``../shared/realpages`` ids or
    # ``owner/repo:path`` of a public repository); ``[]`` plainly when no real page was seen.
    checked_against: list[str] = Field(default_factory=list)
    # Where the markup facts came from when no page could be checked (public scrapers'
    # selectors, per-publisher parsers): facts, not proof.
    markup_from: list[str] = Field(default_factory=list)
    # The outlet's own shapes, as data (see docs/SOURCES.md). ``strip_prefixes`` and
    # ``date`` are what the extractor consumes; these document and test the shapes.
    agency_tags: list[str] = Field(default_factory=list)  # "TTO - ", "(VOV) - ", "VNA - "
    bylines: list[str] = Field(default_factory=list)  # regexes of the outlet's byline lines
    datelines: list[str] = Field(default_factory=list)  # examples the ``date`` rule must read
    outlet_names: list[str] = Field(default_factory=list)  # never an author ("VnExpress")

    @field_validator("clutter_lines", "volatile", "bylines")
    @classmethod
    def _regexes_compile(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regex {value!r}: {exc}") from exc
        return values


class Recheck(_Model):
    """How a source's stored articles are looked at again for edits and removals (the
    re-check schedule, ``monitor.changes.recheck``; docs/SOURCES.md "Re-checks").

    Each article's next check comes from its age and its own history, kept between
    ``min`` and ``max``; a crawl re-checks at most ``budget`` articles per hour (the
    most valuable first), after the new articles discovery found. Every field may be
    left out: the file's top-level ``recheck:`` fills it in, then these defaults."""

    # the shortest time between two checks of one article ("0s": as often as the source
    # is crawled, the right thing for articles a few hours old)
    min: str = "0s"
    # the longest: every stored article is looked at again at least this often (as the
    # budget allows)
    max: str = "7d"
    # re-check requests per hour (a sliding hour); unset: a tenth of what the source's
    # download_delay allows (at least 0.5 s between requests: 720 an hour)
    budget: int | None = Field(default=None, ge=0, le=1_000_000)

    @field_validator("min", "max")
    @classmethod
    def _duration(cls, value: str, info: ValidationInfo) -> str:
        if not _LONG_DURATION.fullmatch(value):
            raise ValueError(f"{value!r} is not a duration: a whole number and s, m, h or d "
                             "(0s, 30m, 2h, 7d)")
        if info.field_name == "max" and seconds(value) < 1:
            raise ValueError(f"{value!r}: must be at least 1s")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Recheck:
        if seconds(self.min) > seconds(self.max):
            raise ValueError(f"min {self.min} is longer than max {self.max}")
        return self


class Source(_Model):
    """One news site that newswatch watches."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    language: str = Field(pattern=r"^(en|vi|mixed)$")
    domains: list[str] = Field(min_length=1)
    feeds: list[str] = Field(default_factory=list)
    sitemaps: list[str] = Field(default_factory=list)
    listings: list[str] = Field(default_factory=list)
    article_pattern: str
    max_listing_pages: int = Field(default=5, ge=1, le=1000)
    download_delay: float = Field(default=0.5, ge=0)
    concurrency: int = Field(default=4, ge=1, le=64)
    # requests in flight AutoThrottle aims at on this site (at most `concurrency`); unset:
    # the AUTOTHROTTLE_TARGET_CONCURRENCY setting (1). crawler/politeness.py
    target_concurrency: float | None = Field(default=None, gt=0, le=64)
    timezone: str = Field(default="+07:00", pattern=r"^[+-]\d\d:\d\d$")
    # non-public addresses (127/8, 10/8, 192.168/16, ...) this source's own hosts may
    # resolve to: an intranet site says `true`, or lists its networks; otherwise the SSRF
    # guard refuses them, the source's own domains included (crawler/ssrf.py)
    allow_private: bool | list[str] = False
    # article links taken per crawl from the source's sitemaps and feeds, newest first
    # where dates are known; the rest are counted `over_cap` (crawler.ledger) and left for
    # `newswatch backfill` (crawler/spiders/news.py, docs/SOURCES.md)
    max_urls_per_round: int = Field(default=1000, ge=1, le=1_000_000)
    # durations: a whole number and s, m or h ("90s", "30m", "2h"; ``seconds``)
    interval: str = "30m"  # daemon: crawl every ... (at least 1s)
    cron: str | None = None  # daemon: crontab schedule instead of the interval
    jitter: str = "60s"  # daemon: random delay up to (0s: none)
    crawl_timeout: str = "30m"  # daemon: kill after (at least 1s)
    recheck: Recheck = Field(default_factory=Recheck)  # the re-check schedule's bounds, budget
    profile: SiteProfile = Field(default_factory=SiteProfile)
    profile_name: str | None = None  # the name in profiles.yaml (filled in by the loader)
    # The source of the same outlet's other-language edition. A hint, not a reference the
    # file must resolve: a file of some sources only (a test's, a daemon's) may name one
    # it does not hold.
    edition: str | None = None
    # Real pages of *this* source its profile was checked on, when that differs from the
    # profile's own list (None: the profile's ``checked_against``; []: none of this site's
    # pages, e.g. an edition that shares a CMS with a checked one).
    checked_against: list[str] | None = None

    @field_validator("article_pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regex: {exc}") from exc
        return value

    @field_validator("feeds", "sitemaps", "listings")
    @classmethod
    def _http_urls(cls, values: list[str]) -> list[str]:
        for value in values:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"not an http(s) URL: {value!r}")
        return values

    @field_validator("allow_private")
    @classmethod
    def _networks(cls, value: bool | list[str]) -> bool | list[str]:
        if isinstance(value, list):
            for entry in value:
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    raise ValueError(f"{entry!r} is not a network or an address "
                                     "(10.8.0.0/16, 192.168.1.20)") from None
        return value

    @field_validator("interval", "jitter", "crawl_timeout")
    @classmethod
    def _duration(cls, value: str, info: ValidationInfo) -> str:
        if not _DURATION.fullmatch(value):
            raise ValueError(f"{value!r} is not a duration: a whole number and s, m or h "
                             "(90s, 30m, 2h)")
        if info.field_name != "jitter" and seconds(value) < 1:
            raise ValueError(f"{value!r}: must be at least 1s")
        return value

    @field_validator("cron")
    @classmethod
    def _cron_parses(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_crontab(value)  # crontab(5)'s fields and weekdays (monitor.sources.cron)
            except ValueError as exc:
                raise ValueError(f"invalid crontab {value!r}: {exc}") from None
        return value

    @cached_property
    def article_regex(self) -> re.Pattern[str]:
        """The compiled ``article_pattern``."""
        return re.compile(self.article_pattern)

    @property
    def start_urls(self) -> list[str]:
        """Every discovery entry point: feeds, sitemaps, listing pages."""
        return [*self.feeds, *self.sitemaps, *self.listings]

    def is_article_url(self, url: str) -> bool:
        """True when ``url`` is on one of the source's domains and looks like an article."""
        try:
            host = (urlsplit(url).hostname or "").lower()
        except ValueError:  # a malformed link ("http://[/"): not an article
            return False
        return self.owns_host(host) and bool(self.article_regex.search(url))

    def owns_host(self, host: str) -> bool:
        """True when ``host`` is one of the source's domains or a subdomain of one."""
        host = host.lower()
        return any(host == d or host.endswith("." + d) for d in self.domains)


class Settings(_Model):
    """Whole-file settings: the list of sources."""

    sources: list[Source] = Field(min_length=1)
    # the environment variables its ${NAME} placeholders may use, besides NEWSWATCH_*
    # (NAME, or PREFIX_*): load_settings refuses any other (docs/SOURCES.md)
    variables: list[str] = Field(default_factory=list)
    # how a site's operator reaches whoever runs this newswatch (a URL or an e-mail
    # address); it goes into the User-Agent of every request (crawler.politeness)
    contact: str | None = Field(default=None, pattern=r"^[^\s()\\;]+$")
    # the daemon: at most this many crawls (one process tree each: the crawl process, its
    # forkserver, extraction workers and writer, 300-500 MB together) run at once; a due
    # crawl waits for a slot, its time limit starts when it starts (docs/DAEMON.md)
    max_parallel_crawls: int = Field(default=4, ge=1, le=64)
    # the daemon's crawls: "warm" runs them as jobs of one long-lived crawl process
    # (monitor.run.service: reactor, extraction pool and writer kept warm), "process"
    # starts a crawl process tree per crawl (monitor.run.crawl); docs/DAEMON.md
    crawl_service: Literal["warm", "process"] = "warm"
    # the zone the daemon reads every source's `cron:` in (an IANA name; docs/DAEMON.md),
    # whatever the machine's TZ; a source's own `timezone:` is the offset of its pages' dates
    timezone: str = DEFAULT_TIMEZONE
    # the re-check schedule's defaults for every source (a source's own `recheck:` fields
    # win, field by field)
    recheck: Recheck | None = None

    @model_validator(mode="before")
    @classmethod
    def _recheck_defaults(cls, data: Any) -> Any:
        """The top-level ``recheck:`` fields fill in each source's missing ones."""
        if not isinstance(data, dict) or not isinstance(data.get("recheck"), dict):
            return data
        defaults = {k: v for k, v in data["recheck"].items() if v is not None}
        sources = data.get("sources")
        if not isinstance(sources, list):
            return data
        merged = []
        for source in sources:
            if isinstance(source, dict):
                own = source.get("recheck")
                own = dict(own) if isinstance(own, dict) else ({} if own is None else own)
                if isinstance(own, dict):
                    # a field the source left out (model_dump writes it None)
                    own = {**defaults, **{k: v for k, v in own.items()
                                          if v is not None or k not in defaults}}
                source = {**source, "recheck": own}
            merged.append(source)
        return {**data, "sources": merged}

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: list[Source]) -> list[Source]:
        seen: set[str] = set()
        for source in sources:
            if source.name in seen:
                raise ValueError(f"duplicate source name {source.name!r}")
            seen.add(source.name)
        return sources

    def source(self, name: str) -> Source:
        """The source called ``name``; ConfigError listing the known names if absent."""
        for source in self.sources:
            if source.name == name:
                return source
        import difflib

        names = [s.name for s in self.sources]
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown source {name!r}{hint} (known: {', '.join(names)})")


def with_recheck(settings: Settings, overrides: Mapping[str, Any] | None) -> Settings:
    """``settings`` with ``overrides`` (``min``, ``max``: durations; ``budget``: re-checks
    per hour; None or absent: keep the file's) over every source's ``recheck:``: what
    ``newswatch crawl|run --recheck-*`` give. Raises ConfigError naming the source when a
    result is invalid (a ``min`` longer than its ``max``)."""
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    if not given:
        return settings
    unknown = sorted(set(given) - set(Recheck.model_fields))
    if unknown:
        raise ConfigError(f"unknown re-check setting(s): {', '.join(unknown)} "
                          "(known: min, max, budget)")
    sources = []
    for source in settings.sources:
        try:
            recheck = Recheck.model_validate({**source.recheck.model_dump(), **given})
        except ValidationError as exc:
            problem = "; ".join(_message(err) for err in exc.errors())
            raise ConfigError(f"re-check settings for source {source.name}: {problem}") from None
        sources.append(source.model_copy(update={"recheck": recheck}))
    return settings.model_copy(update={"sources": sources})


def _message(error: Any) -> str:
    """A pydantic error's message, without pydantic's "Value error, " before our own."""
    message = str(error["msg"])
    if error.get("type") == "value_error":
        return message.removeprefix("Value error, ")
    return message


def seconds(duration: str) -> int:
    """ "90s", "30m", "2h", "7d" -> seconds."""
    return int(duration[:-1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[duration[-1]]


def _line_index(node: yaml.Node, path: tuple[Any, ...], index: dict[tuple[Any, ...], int]) -> None:
    """Record the 1-based line of every mapping key and sequence item under ``node``."""
    index.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key_path = (*path, key_node.value)
            index[key_path] = key_node.start_mark.line + 1
            _line_index(value_node, key_path, index)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, (*path, i), index)


def _interpolate(data: Any, variables: Mapping[str, str], path: tuple[Any, ...],
                 allowed: Callable[[str], bool] = lambda _: True) -> Any:
    """Replace ``${NAME}`` in every string with ``variables[NAME]``; a name that
    ``allowed`` refuses is a _ForbiddenVariable (whatever the environment holds)."""
    if isinstance(data, str):
        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if not allowed(name):
                raise _ForbiddenVariable(path, name)
            if name not in variables:
                raise _MissingVariable(path, name)
            return variables[name]

        return _VAR.sub(sub, data)
    if isinstance(data, list):
        return [_interpolate(v, variables, (*path, i), allowed) for i, v in enumerate(data)]
    if isinstance(data, dict):
        return {k: _interpolate(v, variables, (*path, k), allowed) for k, v in data.items()}
    return data


VARIABLE_PREFIX = "NEWSWATCH_"  # ${NEWSWATCH_...} is always allowed in a sources file
_VARIABLE_ENTRY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\*?")


def variable_allowed(name: str, listed: Sequence[str]) -> bool:
    """Whether a sources file may use ``${name}``: names starting ``NEWSWATCH_``, and
    those its ``variables:`` list names (an entry ending in ``*`` is a prefix:
    ``FARM_*``). Anything else (an alert channel's token, a cloud key) never reaches a
    crawled URL or header, even when the environment holds it."""
    if name.startswith(VARIABLE_PREFIX):
        return True
    return any(name.startswith(entry[:-1]) if entry.endswith("*") else name == entry
               for entry in listed)


class _ForbiddenVariable(Exception):
    def __init__(self, path: tuple[Any, ...], name: str) -> None:
        super().__init__(name)
        self.path = path
        self.name = name


class _MissingVariable(Exception):
    def __init__(self, path: tuple[Any, ...], name: str) -> None:
        super().__init__(name)
        self.path = path
        self.name = name


def _where(path: Path, index: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> str:
    """``file:line: a.b[0].c`` for a location in the document."""
    probe = tuple(loc)
    while probe and probe not in index:
        probe = probe[:-1]
    line = index.get(probe, 1)
    field = ""
    for part in loc:
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
    return f"{path}:{line}: {field or '(top level)'}"


class _UnknownProfile(Exception):
    def __init__(self, loc: tuple[Any, ...], name: str, known: Mapping[str, Any]) -> None:
        super().__init__(name)
        self.loc, self.name, self.known = loc, name, known


def load_profiles(path: Path = PROFILES_FILE) -> dict[str, Any]:
    """Named site profiles shared by every sources file (config/profiles.yaml)."""
    if not path.exists():
        return {}
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=BoundedLoader) or {}
    return dict(data.get("profiles") or {})


def _resolve_profiles(data: dict[str, Any], path: Path,
                      index: dict[tuple[Any, ...], int]) -> Any:
    """Replace ``profile: NAME`` by the named profile (file's own ``profiles:`` first)."""
    known = load_profiles()
    extra = data.pop("profiles_file", None)  # another profiles file, relative to this one
    if isinstance(extra, str):
        other = (path.parent / extra).resolve()
        if not other.exists():
            raise ConfigError(f"{_where(path, index, ('profiles_file',))}: {extra}: no such "
                              "file")
        known.update(load_profiles(other))
    known.update(data.pop("profiles", None) or {})
    sources = data.get("sources")
    if not isinstance(sources, list):
        return sources
    for i, source in enumerate(sources):
        if isinstance(source, dict) and isinstance(source.get("profile"), str):
            name = source["profile"]
            if name not in known:
                raise _UnknownProfile(("sources", i, "profile"), name, known)
            source["profile"] = known[name]
            source.setdefault("profile_name", name)
    return sources


def read_utf8(path: Path) -> str:
    """A config file's text; ConfigError (with the line) if unreadable or not UTF-8."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                          "save the file as UTF-8") from None


def load_settings(path: str | Path = DEFAULT_CONFIG,
                  variables: Mapping[str, str] | None = None) -> Settings:
    """Read, interpolate and validate a sources file.

    ``${NAME}`` placeholders take their value from ``variables``, then the environment;
    from the environment only ``NEWSWATCH_*`` and the names the file lists under
    ``variables:`` (:func:`variable_allowed`). Raises ConfigError naming the file, line
    and field of the first problems found.
    """
    path = Path(path)
    text = read_utf8(path)
    try:
        root = yaml.compose(text, Loader=BoundedLoader)
        data = yaml.load(text, Loader=BoundedLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"{mark.line + 1}" if mark else "?"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}:{line}: YAML syntax error: {problem}") from exc
    index: dict[tuple[Any, ...], int] = {}
    if root is not None:
        _line_index(root, (), index)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: (top level): expected a mapping with a 'sources' list")
    try:
        data["sources"] = _resolve_profiles(data, path, index)
    except _UnknownProfile as unknown:
        raise ConfigError(
            f"{_where(path, index, unknown.loc)}: unknown profile {unknown.name!r} "
            f"(known: {', '.join(sorted(unknown.known))})"
        ) from None
    listed = data.get("variables")
    if listed is None:
        listed = []
    if not isinstance(listed, list) or not all(
            isinstance(entry, str) and _VARIABLE_ENTRY.fullmatch(entry) for entry in listed):
        raise ConfigError(f"{_where(path, index, ('variables',))}: expected a list of "
                          "variable names (NAME, or PREFIX_* for every name it starts)")
    # each source's site as the file writes it (a placeholder, `${FARM_X_HOST}`, is a site
    # of its own: what it stands for is the caller's, a farm's or a test's choice)
    written = [_written_site(entry) for entry in data.get("sources") or []]
    given = dict(variables or {})  # the caller's own values (the farm's): always allowed
    merged = {**os.environ, **given}
    try:
        data = _interpolate(data, merged, (),
                            lambda name: name in given or variable_allowed(name, listed))
    except _ForbiddenVariable as forbidden:
        raise ConfigError(
            f"{_where(path, index, forbidden.path)}: variable ${{{forbidden.name}}} is not "
            f"allowed: a sources file takes ${{{VARIABLE_PREFIX}...}} and the names listed "
            "under its `variables:` (docs/SOURCES.md)") from None
    except _MissingVariable as missing:
        hint = (" (the site farm's address: start `newswatch farm` in another shell and "
                "run the export lines it prints)" if missing.name.startswith("FARM_") else "")
        raise ConfigError(
            f"{_where(path, index, missing.path)}: variable ${{{missing.name}}} is not set"
            + hint) from None
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_where(path, index, err['loc'])}: {_message(err)}"
                    for err in exc.errors()]
        shown = "\n".join(problems[:10])
        more = f"\n(and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise ConfigError(shown + more) from None
    conflict = politeness_conflict(settings, written)
    if conflict is not None:
        number, field, message = conflict
        loc: tuple[Any, ...] = ("sources", number, field)
        if loc not in index:  # the default: said at the source's own line
            loc = ("sources", number)
            message = f"{field}: {message}"
        raise ConfigError(f"{_where(path, index, loc)}: {message}")
    return settings


# what sources on one site must agree on: the site's one politeness budget
SITE_LIMITS = ("download_delay", "concurrency", "target_concurrency")


def _written_site(entry: Any) -> str | None:
    """The site of a source entry as the file writes it: the registered domain of its
    first domain, or the domain itself while it holds a ``${...}`` placeholder."""
    from monitor.sources.urls import registered_domain

    domains = entry.get("domains") if isinstance(entry, dict) else None
    if not isinstance(domains, list) or not domains or not isinstance(domains[0], str):
        return None
    return domains[0] if "${" in domains[0] else registered_domain(domains[0])


def politeness_conflict(settings: Settings, sites: Sequence[str | None] | None = None
                        ) -> tuple[int, str, str] | None:
    """The first source whose politeness differs from an earlier source on the same site,
    as (its index, the field, a message), or None. Sources on one site take turns, each
    with its own limits, so two limits would be two promises to one operator: the file
    must state one (``SITE_LIMITS``; ``crawler.politeness``). ``sites``: each source's
    site as its file writes it (``load_settings``: a placeholder is a site of its own);
    default ``monitor.sources.urls.site_of`` (the registered domain)."""
    from monitor.sources.urls import site_of

    first: dict[str, Source] = {}
    for number, source in enumerate(settings.sources):
        site = (sites[number] if sites is not None and number < len(sites) else None) \
            or site_of(source)
        other = first.setdefault(site, source)
        for field in SITE_LIMITS:
            mine, theirs = getattr(source, field), getattr(other, field)
            if mine != theirs:
                return number, field, (
                    f"{mine} differs from {theirs} of {other.name!r}, on the same site "
                    f"({site}): sources on one site share one politeness budget, so give "
                    f"them the same {', '.join(SITE_LIMITS)}")
    return None
