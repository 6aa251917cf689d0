"""The watched outlets at a glance: language, edition pair, and what each site profile
was checked against (``newswatch sources``).

A profile in config/profiles.yaml records the real pages it was checked on
(``checked_against``: ids of ../shared/realpages pages, or ``owner/repo:path`` of a page
in a public repository) and where its markup facts came from when no page was at hand
(``markup_from``). This module only reports them; ``tests/test_outlets.py`` checks them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from monitor.sources.config import DEFAULT_CONFIG, Settings, Source, load_settings


@dataclass(frozen=True)
class OutletRow:
    """One source as ``newswatch sources`` shows it."""

    name: str
    title: str
    language: str  # en | vi | mixed
    edition: str | None  # the other-language edition's source name
    edition_language: str | None
    profile: str | None  # its name in profiles.yaml
    checked: int  # how many real pages the profile was checked against (0: none)
    checked_against: list[str]
    markup_from: list[str]

    def as_dict(self) -> dict[str, object]:
        """Plain dict (JSON output)."""
        return asdict(self)


def outlet_rows(settings: Settings) -> list[OutletRow]:
    """A row per source of ``settings``, in file order."""
    languages = {s.name: s.language for s in settings.sources}
    return [
        OutletRow(
            name=s.name, title=s.title, language=s.language, edition=s.edition,
            edition_language=languages.get(s.edition) if s.edition else None,
            profile=s.profile_name, checked=len(checked_pages(s)), checked_against=checked_pages(s),
            markup_from=list(s.profile.markup_from),
        )
        for s in settings.sources
    ]


def checked_pages(source: Source) -> list[str]:
    """The real pages this source's profile was checked on (see ``Source.checked_against``)."""
    if source.checked_against is not None:
        return list(source.checked_against)
    return list(source.profile.checked_against)


def load_outlets(config: str | Path = DEFAULT_CONFIG) -> list[OutletRow]:
    """``outlet_rows`` of a sources file. Raises ConfigError for a bad file."""
    return outlet_rows(load_settings(config, variables=_placeholders(config)))


def _placeholders(config: str | Path) -> dict[str, str]:
    """Stand-ins for ``${FARM_*}`` variables so that config/demo.yaml can be listed
    without a running farm (nothing is fetched)."""
    import re

    text = Path(config).read_text(encoding="utf-8") if Path(config).exists() else ""
    names = set(re.findall(r"\$\{(FARM_[A-Z0-9_]+)\}", text))
    return {n: "127.0.0.1" if n.endswith("_HOST") else "http://127.0.0.1" for n in names}
