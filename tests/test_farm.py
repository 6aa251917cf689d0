"""The replica farm serves real sites: feeds, sitemaps, robots, validators, changes."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import feedparser
import pytest
from scrapy.utils.sitemap import Sitemap

from monitor.farm import Farm
from monitor.farm.content import load_corpus


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_corpus_shape() -> None:
    corpus = load_corpus()
    assert len(corpus) >= 65
    assert {a.lang for a in corpus} == {"en", "vi"}
    topics = {a.topic for a in corpus}
    assert {"vn-us", "domestic"} <= topics and len(topics) >= 4
    assert any(a.republished_from for a in corpus)
    pairs: dict[str, set[str]] = {}
    for article in corpus:
        if article.pair:
            pairs.setdefault(article.pair, set()).add(article.lang)
    assert pairs and all(langs == {"en", "vi"} for langs in pairs.values())


def test_sites_on_distinct_hosts(farm: Farm) -> None:
    hosts = {v for k, v in farm.variables.items() if k.endswith("_HOST")}
    assert len(hosts) == len(farm.sites) == 29  # 5 sites, then 24 outlets of issue 16


def test_feeds_parse_and_carry_tracking_links(farm: Farm) -> None:
    rss = feedparser.parse(_get(farm.base_url("laodong_en") + "/rss/home.rss")[2])
    assert not rss.bozo and rss.version == "rss20" and rss.entries
    assert all("utm_source=rss" in e.link for e in rss.entries)
    atom = feedparser.parse(_get(farm.base_url("vietnam_vn") + "/feed.atom")[2])
    assert not atom.bozo and atom.version == "atom10" and atom.entries


def test_sitemap_index_and_urlset(farm: Farm) -> None:
    index = Sitemap(_get(farm.base_url("baochinhphu_en") + "/sitemap.xml")[2])
    assert index.type == "sitemapindex"
    children = [entry["loc"] for entry in index]
    urls = [e["loc"] for child in children for e in Sitemap(_get(child)[2])]
    assert len(urls) == len(farm.sites["baochinhphu_en"].articles)
    flat = Sitemap(_get(farm.base_url("mofa_en") + "/sitemap.xml")[2])
    assert flat.type == "urlset"


def test_robots_and_404(farm: Farm) -> None:
    status, _, body = _get(farm.base_url("laodong_vi") + "/robots.txt")
    assert status == 200 and b"Disallow: /search" in body and b"Sitemap:" in body
    assert _get(farm.base_url("laodong_vi") + "/no-such-page")[0] == 404


def test_listing_pagination(farm: Farm) -> None:
    base = farm.base_url("laodong_vi")
    status, _, body = _get(base + "/thoi-su")
    assert status == 200 and b'rel="next"' in body
    last = -(-len(farm.sites["laodong_vi"].articles) // 10)
    assert b'rel="next"' not in _get(f"{base}/thoi-su?page={last}")[2]


def test_conditional_get(farm: Farm) -> None:
    article = farm.sites["mofa_en"].articles[0]
    url = farm.url_of("mofa_en", article.slug)
    status, headers, _ = _get(url)
    assert status == 200 and headers["ETag"] and headers["Last-Modified"]
    assert _get(url, {"If-None-Match": headers["ETag"]})[0] == 304
    assert _get(url, {"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    assert _get(url, {"If-None-Match": '"other"'})[0] == 200


def test_publish_and_edit_over_http(fresh_farm: Farm) -> None:
    base = fresh_farm.base_url("laodong_en")
    payload = {"slug": "breaking-test-story", "title": "Breaking test story",
               "published": "2024-12-21T08:00:00+07:00", "lead": "A lead.",
               "paragraphs": ["First paragraph of the story.", "Second paragraph."]}
    request = urllib.request.Request(base + "/__farm__/publish", json.dumps(payload).encode(),
                                     {"Content-Type": "application/json"})
    url = json.loads(urllib.request.urlopen(request, timeout=10).read())["url"]
    status, headers, body = _get(url)
    assert status == 200 and b"First paragraph of the story." in body
    assert b"Breaking test story" in _get(base + "/rss/home.rss")[2]
    edit = {"slug": "breaking-test-story", "replace": {"1": "Second paragraph, corrected."}}
    request = urllib.request.Request(base + "/__farm__/edit", json.dumps(edit).encode())
    urllib.request.urlopen(request, timeout=10).read()
    status, new_headers, body = _get(url)
    assert b"Second paragraph, corrected." in body and new_headers["ETag"] != headers["ETag"]
    bad = urllib.request.Request(base + "/__farm__/edit", b'{"slug": "nope"}')
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(bad, timeout=10)
    assert info.value.code == 400


def test_synthetic_growth() -> None:
    with Farm(extra=300) as big:
        assert len(big.all_articles()) == len(load_corpus()) + 300
        slugs = [(a.site, a.slug) for a in big.all_articles()]
        assert len(slugs) == len(set(slugs))


def test_sigterm_while_the_farm_starts_is_an_orderly_stop() -> None:
    """`newswatch farm` stopped while it starts: its SIGTERM handler is now in place
    before it builds its archive and starts its servers, and from the moment it is (the
    process's signal mask in /proc says so) SIGTERM is an orderly stop, exit 0 and no
    traceback. (A SIGTERM that came while the farm was still starting, on a loaded
    machine, used to kill it with -15.)"""
    import signal
    import subprocess
    import sys
    import time

    from .conftest import REPO, in_signal_mask

    proc = subprocess.Popen([sys.executable, "-m", "monitor.cli", "farm", "--port", "0",
                             "--archive", "50000"], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    caught = False
    while not caught and time.monotonic() < deadline and proc.poll() is None:
        caught = in_signal_mask(proc.pid, "SigCgt", signal.SIGTERM)
        time.sleep(0.005)
    assert caught, "SIGTERM never handled"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "Traceback" not in err, err[-2000:]


def test_the_farm_counts_what_each_site_saw() -> None:
    """``Farm.load``: per site, requests, the most in flight at once, the most started in
    one second, the shortest gap between two starts (politeness counted by the server:
    issue 32's three workers). Four requests one after another to one site, one to
    another, none to a third."""
    with Farm(sites=["mofa_en", "laodong_en", "vov_en"]) as farm:
        for _ in range(4):
            assert _get(farm.base_url("mofa_en") + "/robots.txt")[0] == 200
        assert _get(farm.base_url("laodong_en") + "/robots.txt")[0] == 200
        load = farm.load()
    assert load["mofa_en"]["requests"] == 4 and load["mofa_en"]["most_in_flight"] == 1
    assert 1 <= load["mofa_en"]["most_per_second"] <= 4 and load["mofa_en"]["min_gap"] > 0
    assert load["laodong_en"] == {"requests": 1, "most_in_flight": 1, "most_per_second": 1,
                                  "min_gap": None}
    assert "vov_en" not in load
