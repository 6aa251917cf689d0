"""Sources files load, and bad ones are reported with file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.sources import DEFAULT_CONFIG, DEMO_CONFIG, ConfigError, load_settings

GOOD = """\
sources:
  - name: example
    title: Example
    language: en
    domains: [example.org]
    feeds: [https://example.org/rss]
    article_pattern: '/news/\\d+$'
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_configs_are_valid() -> None:
    real = load_settings(DEFAULT_CONFIG)
    assert {"baochinhphu_en", "laodong_en", "laodong_vi", "vietnam_vn", "mofa_en"} <= {
        s.name for s in real.sources}
    assert len(real.sources) >= 20
    assert all(s.profile.clutter for s in real.sources)
    variables = {f"FARM_{n.upper()}{suffix}": "http://127.0.0.1:1" if not suffix else "127.0.0.1"
                 for n in [s.name for s in real.sources] for suffix in ("", "_HOST")}
    demo = load_settings(DEMO_CONFIG, variables)
    assert [s.name for s in demo.sources] == [s.name for s in real.sources]


def test_article_url_recognition() -> None:
    source = load_settings(DEFAULT_CONFIG).source("laodong_en")
    assert source.is_article_url("https://en.laodong.vn/politics/some-story-1403357.ldo")
    assert not source.is_article_url("https://en.laodong.vn/politics")
    assert not source.is_article_url("https://evil.example/politics/some-story-1403357.ldo")
    assert not source.is_article_url("http://[/politics/some-story-1403357.ldo")


@pytest.mark.parametrize(("replace", "by", "expected"), [
    ("language: en", "language: fr", r"sources\.yaml:4: sources\[0\]\.language"),
    ("    feeds: [https://example.org/rss]\n", "    feeds: [ftp://example.org/rss]\n",
     r":6: sources\[0\]\.feeds: .*not an http"),
    ("'/news/\\d+$'", "'/news/(\\d+$'", r":7: sources\[0\]\.article_pattern: .*invalid regex"),
    ("    title: Example\n", "", r":2: sources\[0\]\.title: Field required"),
    ("    domains: [example.org]\n", "    domains: [example.org]\n    colour: red\n",
     r":6: sources\[0\]\.colour: Extra inputs"),
])
def test_bad_field_reported_with_line(tmp_path: Path, replace: str, by: str,
                                      expected: str) -> None:
    path = _write(tmp_path, GOOD.replace(replace, by))
    with pytest.raises(ConfigError, match=expected) as info:
        load_settings(path)
    assert str(path) in str(info.value)


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("language: en", "language: en: x"))
    with pytest.raises(ConfigError, match=r":4: YAML syntax error: mapping values"):
        load_settings(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "nope.yaml")


def test_unset_variable_and_unknown_profile(tmp_path: Path) -> None:
    unset = '["${NOT_SET_ANYWHERE}/rss"]'
    path = _write(tmp_path, GOOD.replace("[https://example.org/rss]", unset))
    with pytest.raises(ConfigError, match=r":6: sources\[0\]\.feeds\[0\]: variable"):
        load_settings(path)
    path = _write(tmp_path, GOOD + "    profile: nosuchsite\n")
    with pytest.raises(ConfigError, match=r":8: sources\[0\]\.profile: unknown profile"):
        load_settings(path)


def test_duplicate_and_unknown_source(tmp_path: Path) -> None:
    body = GOOD.split("sources:\n")[1]
    with pytest.raises(ConfigError, match="duplicate source name 'example'"):
        load_settings(_write(tmp_path, "sources:\n" + body + body))
    with pytest.raises(ConfigError, match=r"unknown source 'other' \(known: example\)"):
        load_settings(_write(tmp_path, GOOD)).source("other")
