"""Politeness, measured by the site: real Scrapy crawls (monitor.run.crawl, the project's crawl
path) of real HTTP servers that record every request's start and end and the most
requests they ever had in flight (tests/politeness_server.py)."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from crawler.politeness import registered_domain, site_key, user_agent
from monitor.run import crawl
from monitor.sources import Settings

from .politeness_server import Site

pytestmark = pytest.mark.timing  # CI runs it with CPU burners beside it (tests/burners.py)

QUIET = {"NEWSWATCH_EXTRACT_WORKERS": -1}  # tiny pages: extract in the crawl process
NO_THROTTLE = {**QUIET, "AUTOTHROTTLE_ENABLED": False}  # the configured limits alone


def _crawl(tmp_path: Path, sources: list[dict[str, Any]], name: str = "p.db",
           **settings: Any) -> Any:
    config = Settings.model_validate({"sources": sources, **settings.pop("config", {})})
    return crawl(config, tmp_path / name, alerts=None,
                 scrapy_settings=settings.pop("scrapy", QUIET), timeout=120)


def _mean_in_flight(hits: list[Any]) -> float:
    """Requests in flight on average between the first start and the last end."""
    span = max(h.end for h in hits) - min(h.start for h in hits)
    return sum(h.end - h.start for h in hits) / span


# -- sites and slots ------------------------------------------------------------------------
def test_www_and_bare_and_sister_hosts_are_one_site() -> None:
    assert registered_domain("www.vietnam.vn") == registered_domain("vietnam.vn") == (
        "vietnam.vn")
    assert registered_domain("en.laodong.vn") == registered_domain("laodong.vn")
    assert registered_domain("mofa.gov.vn") == "mofa.gov.vn"  # gov.vn is a public suffix
    assert registered_domain("a.blogspot.com") != registered_domain("b.blogspot.com")
    assert registered_domain("127.0.0.21") == "127.0.0.21"

    class Source:
        domains = ["127.0.0.21", "127.0.0.22"]

        def owns_host(self, host: str) -> bool:
            return host in self.domains

    assert site_key("127.0.0.22", Source()) == site_key("127.0.0.21", Source())
    assert site_key("127.0.0.23", Source()) == "127.0.0.23"


def test_user_agent_contact_is_checked_and_sent() -> None:
    source = {"name": "s", "title": "S", "language": "en", "domains": ["example.org"],
              "article_pattern": "x"}
    with pytest.raises(ValueError):  # parentheses would end the User-Agent's comment
        Settings.model_validate({"sources": [source], "contact": "me (at) example.org"})
    assert Settings.model_validate({"sources": [source]}).contact is None
    assert user_agent(None).startswith("newswatch/") and "+" not in user_agent(None)
    assert user_agent("https://ops.example.org/bot").endswith(
        "(news monitor; +https://ops.example.org/bot)")


@pytest.mark.parametrize("scrapy", [NO_THROTTLE, QUIET], ids=["limits-alone", "defaults"])
def test_limits_held_for_every_delay_and_concurrency(tmp_path: Path,
                                                     scrapy: dict[str, Any]) -> None:
    """One crawl, five sites: concurrency 1/2/4 with no delay, delay 0.2/0.5 s with
    concurrency 1. Never more in flight than configured; never two starts closer than
    half the delay (Scrapy randomises it ±50 %)."""
    combos = [(1, 0.0), (2, 0.0), (4, 0.0), (1, 0.2), (1, 0.5)]
    sites = [Site([f"127.0.0.{31 + i}"], pages=12 if delay == 0 else 8,
                  latency=lambda k: 0.15) for i, (_, delay) in enumerate(combos)]
    for site in sites:
        site.__enter__()
    try:
        sources = [site.source(f"s{i}", concurrency=conc, download_delay=delay)
                   for i, (site, (conc, delay)) in enumerate(zip(sites, combos, strict=True))]
        result = _crawl(tmp_path, sources, scrapy=scrapy)
    finally:
        for site in sites:
            site.__exit__(None, None, None)
    assert result.ok
    for site, (conc, delay) in zip(sites, combos, strict=True):
        assert len(site.article_hits()) == site.pages  # the crawl did reach every page
        assert site.max_in_flight <= conc, (conc, delay, site.max_in_flight)
        if delay:
            assert site.min_gap() >= delay / 2, (conc, delay, site.min_gap())
        elif scrapy is NO_THROTTLE:  # the limit is what held it: it was reached
            assert site.max_in_flight == conc, (conc, site.max_in_flight)


def test_two_hosts_of_one_source_share_the_budget(tmp_path: Path) -> None:
    """127.0.0.21 and 127.0.0.22, both hosts of one source (concurrency 2): the site never
    has more than 2 requests in flight over both; the User-Agent names the operator."""
    with Site(["127.0.0.21", "127.0.0.22"], pages=16, latency=lambda k: 0.15) as site:
        result = _crawl(tmp_path, [site.source("two", concurrency=2, download_delay=0)],
                        config={"contact": "mailto:news-ops@example.org"},
                        scrapy=NO_THROTTLE)
    assert result.ok
    hits = site.article_hits()
    assert {h.host for h in hits} == {"127.0.0.21", "127.0.0.22"}
    assert len(hits) == 16
    assert site.max_in_flight == 2
    agents = {h.user_agent for h in site.hits}
    assert agents == {user_agent("mailto:news-ops@example.org")}
    assert agents.pop().startswith("newswatch/")


def test_two_sources_on_one_site_share_the_budget(tmp_path: Path) -> None:
    """Two sources on one site, each with concurrency 2, crawled in one run: they take
    turns, so the site never sees more than 2 in flight (it saw 4 when both ran at once)."""
    with Site(["127.0.0.23"], pages=10, latency=lambda k: 0.15) as site:
        sources = [site.source(name, concurrency=2, download_delay=0)
                   for name in ("first", "second")]
        result = _crawl(tmp_path, sources, scrapy=NO_THROTTLE)
    assert result.ok and len(result.runs) == 2
    assert len(site.article_hits()) == 20  # each source fetched every page
    assert site.max_in_flight == 2


# -- robots.txt ------------------------------------------------------------------------------
def test_robots_crawl_delay_slows_the_site_and_robots_is_revalidated(tmp_path: Path) -> None:
    """robots.txt ``Crawl-delay: 2`` with ``download_delay: 0`` in config: two starts are
    never closer than 2 s. The next crawl asks for robots.txt with If-None-Match, gets a
    304, and still keeps the Crawl-delay (read from the cached copy)."""
    robots = "User-agent: *\nCrawl-delay: 2\nAllow: /\n"
    with Site(["127.0.0.41"], pages=2, robots=robots, latency=lambda k: 0.02) as site:
        source = site.source("slow", concurrency=4, download_delay=0)
        first = _crawl(tmp_path, [source])
        first_hits = len(site.hits)
        gap_first = site.min_gap()
        again = {**QUIET, "NEWSWATCH_SKIP_STORED": False}
        second = _crawl(tmp_path, [source], scrapy=again)
        later = site.hits[first_hits:]
    assert first.ok and second.ok
    assert gap_first >= 2.0, gap_first
    robots_hits = [h for h in later if h.path == "/robots.txt"]
    assert [(h.status, h.conditional) for h in robots_hits] == [(304, True)]
    starts = sorted(h.start for h in later if h.path != "/robots.txt")
    assert len(starts) >= 3
    assert min(b - a for a, b in pairwise(starts)) >= 2.0


# -- load adapted to the site ----------------------------------------------------------------
def test_slower_and_slower_site_gets_fewer_requests(tmp_path: Path) -> None:
    """Concurrency 4, no delay, a site whose answers take longer and longer: AutoThrottle
    (on by default) asks less and less often; at the slow end it keeps about one request
    in flight (its target), not the four the config would allow."""
    with Site(["127.0.0.42"], pages=24, latency=lambda k: 0.02 + 0.03 * k) as site:
        # extraction off the reactor, as in production: a first extraction in the crawl
        # process (trafilatura warming up) would stall the reactor and inflate latencies
        result = _crawl(tmp_path, [site.source("slowing", concurrency=4, download_delay=0)],
                        scrapy={"NEWSWATCH_EXTRACT_WORKERS": 1})
    assert result.ok
    hits = site.article_hits()
    assert len(hits) == 24
    third = len(hits) // 3
    # what AutoThrottle controls is the requests in flight, whatever the machine's load;
    # the request rate (which this test compared before) also falls when a busy machine
    # slows the crawler at the fast start: with two CPU burners, 1.5/s at the start
    assert site.max_in_flight <= 4
    assert _mean_in_flight(hits[-third:]) < 2.0  # 4 in flight without AutoThrottle


def test_429_storm_backs_the_whole_site_off_and_recovers(tmp_path: Path) -> None:
    """Three 429 answers (no Retry-After) in a burst: the whole site slows down (the
    other requests too, not only the retries of those three), then speeds up again and
    every page is fetched."""
    storm = range(6, 9)
    with Site(["127.0.0.43"], pages=20, latency=lambda k: 0.03,
              status=lambda k: 429 if k in storm else 200) as site:
        result = _crawl(tmp_path, [site.source("storm", concurrency=4, download_delay=0)])
    assert result.ok
    hits = site.article_hits()
    assert [h.status for h in hits].count(429) == len(storm)
    assert {h.path for h in hits if h.status == 200} == {f"/a/{n}.html" for n in range(20)}
    first_429 = min(h.end for h in hits if h.status == 429)
    after = [h.start for h in hits if h.start > first_429]
    gaps = [b - a for a, b in pairwise(after)]
    # backed off: the site waited at least the 1 s back-off (±50 %) more than once ...
    assert sum(1 for g in gaps if g >= 0.5) >= 3, gaps
    assert after[-1] - first_429 >= 3.0
    # ... and recovered: the last requests come quicker than the slowest of the back-off
    assert max(gaps[-3:]) < max(gaps) / 2, gaps


def test_daemon_crawls_sources_of_one_site_in_turn(tmp_path: Path) -> None:
    """The daemon runs each source's crawl in its own process; two sources on one site
    (127.0.0.24, two servers on two ports) due at the same moment take turns: the site
    never sees both crawls at once."""
    import threading

    import yaml

    from monitor.run import Daemon

    with Site(["127.0.0.24"], pages=6) as one, Site(["127.0.0.24"], pages=6) as two:
        config = tmp_path / "sources.yaml"
        config.write_text(yaml.safe_dump({"sources": [
            one.source("first", download_delay=0), two.source("second", download_delay=0)]}),
            encoding="utf-8")
        daemon = Daemon(config, tmp_path / "d.db", alerts=None)
        threads = [threading.Thread(target=daemon.crawl_source, args=(name,))
                   for name in ("first", "second")]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(120)
        finally:  # the daemon's warm crawl service, never started through daemon.start()
            if daemon.service is not None:
                daemon.service.close()
    spans = sorted((min(h.start for h in site.hits), max(h.end for h in site.hits))
                   for site in (one, two))
    assert all(len(site.article_hits()) == 6 for site in (one, two))
    assert spans[0][1] <= spans[1][0], spans  # the second began after the first ended


def test_sources_waiting_their_turn_do_not_start_after_sigterm(tmp_path: Path) -> None:
    """A crawl stopped (SIGTERM at its time limit) while the first of two sources on one
    site runs: the second, still waiting its turn, never starts."""
    from monitor.run import CrawlError

    # the first source takes 90 s; the limit (25 s) leaves a loaded machine time to
    # start the crawl and reach its articles (6 s did not, with two CPU burners)
    with Site(["127.0.0.25"], pages=300, latency=lambda k: 0.3) as one, \
            Site(["127.0.0.25"], pages=4) as two:
        config = Settings.model_validate({"sources": [
            one.source("first", concurrency=1, download_delay=0),
            two.source("second", concurrency=1, download_delay=0)]})
        with pytest.raises(CrawlError, match="killed after"):
            crawl(config, tmp_path / "t.db", alerts=None, scrapy_settings=QUIET, timeout=25)
    assert one.article_hits() and len(one.article_hits()) < 300
    assert two.hits == []


def test_429_with_retry_after_holds_the_whole_site(tmp_path: Path) -> None:
    """One 429 with ``Retry-After: 1``: not only its retry waits, the whole site does
    (its delay becomes 1 s, randomised ±50 %, so some two starts of the other pages are
    at least 0.5 s apart); without the site back-off the other pages go on at once
    (every gap under 0.1 s)."""
    with Site(["127.0.0.44"], pages=16, latency=lambda k: 0.03,
              status=lambda k: 429 if k == 2 else 200,
              headers=lambda k: {"Retry-After": "1"} if k == 2 else {}) as site:
        # extraction off the reactor: a first in-process extraction stalls it for ~1 s
        result = _crawl(tmp_path, [site.source("once", concurrency=4, download_delay=0)],
                        scrapy={"NEWSWATCH_EXTRACT_WORKERS": 1})
    assert result.ok
    hits = site.article_hits()
    refused = next(h for h in hits if h.status == 429)
    others = [h.start for h in hits if h.start >= refused.start and h.path != refused.path]
    assert len(others) > 4  # pages were left to fetch when the 429 came
    assert max(b - a for a, b in pairwise(others)) >= 0.45, others
    assert {h.path for h in hits if h.status == 200} == {f"/a/{n}.html" for n in range(16)}
