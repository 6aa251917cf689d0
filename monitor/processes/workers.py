"""A process pool for CPU-bound extraction, shared by every crawler in a process."""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from monitor.processes.lifecycle import PARENT_ENV, die_with_parent
from monitor.sources import SiteProfile

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()
_warming: list[Future[None]] = []  # the workers' warm-ups (start_pool)


def _warm_up() -> None:
    import trafilatura  # noqa: F401  (import once per worker, before the first page)

    import monitor.extract  # noqa: F401
    from monitor.changes import signature
    from monitor.judge import default_topic

    signature("warm up")  # imports datasketch (and scipy): half a second, before the crawl
    default_topic()  # loads and compiles the topic's terms


def _worker_init() -> None:
    """Pool worker initializer: die with the forkserver (which dies with the crawl
    process, see ``monitor.processes.lifecycle``), ignore the terminal's Ctrl-C (the crawl process
    decides how to stop), then warm up."""
    import signal

    from monitor.processes import _forkserver_guard

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(_forkserver_guard.FORKSERVER_PID)
    _warm_up()


def forkserver_context() -> Any:
    """The ``forkserver`` multiprocessing context every process of a crawl is started
    from (extraction workers, the writer: ``monitor.processes.writer``). Forking a process that
    runs Twisted's reactor and threads is unsafe; the forkserver is a clean process that
    imports the extractor once (``monitor.processes._worker_preload``) and dies with this process,
    even when it is killed with SIGKILL (``monitor.processes.lifecycle``)."""
    os.environ[PARENT_ENV] = str(os.getpid())  # read by the forkserver's guard
    context = multiprocessing.get_context("forkserver")
    # the guard first (the forkserver dies with this process), then the warm-up: the
    # workers fork from a forkserver that has imported the extractor already
    context.set_forkserver_preload(["monitor.processes._forkserver_guard",
                                    "monitor.processes._worker_preload"])
    return context


def shared_pool(workers: int = 0) -> ProcessPoolExecutor:
    """The process's extraction pool (``workers`` processes; 0 = one per CPU core),
    started from ``forkserver_context()``. The forkserver and every worker die with this
    process. Safe to call from any thread: one pool per process. A pool broken by a
    worker that died abruptly (killed, out of memory, a crash in a C library) is replaced
    by a new one; the pages it held fail with BrokenProcessPool."""
    global _pool
    with _pool_lock:
        if _pool is not None and _pool._broken:  # noqa: SLF001 - a worker died abruptly
            _pool.shutdown(wait=False, cancel_futures=True)  # (its pages: counted errors)
            _pool = None
        if _pool is None:
            count = workers or os.cpu_count() or 1
            _pool = ProcessPoolExecutor(max_workers=count, mp_context=forkserver_context(),
                                        initializer=_worker_init)
            atexit.register(shutdown_pool)
        return _pool


def start_pool(workers: int = 0) -> threading.Thread:
    """Create the pool and start every worker now, from a thread of its own, so that the
    workers fork while the crawler starts up rather than when the first page arrives.
    Starting a worker waits for the forkserver to finish its preload (about 0.8 s of
    imports, ``monitor.processes._worker_preload``): on the caller's thread that wait held up
    Scrapy's start. Returns the thread (joining it is optional)."""

    # the forkserver is started here, on the caller's thread: Linux sends the parent-death
    # signal (monitor.processes.lifecycle) when the thread that started a process ends, so started
    # from the short-lived thread below it would be killed as soon as that thread ends
    forkserver_context()
    from multiprocessing import forkserver

    forkserver.ensure_running()

    def start() -> None:
        try:
            pool = shared_pool(workers)
            count = pool._max_workers  # noqa: SLF001 (the count shared_pool resolved)
            for future in [pool.submit(_warm_up) for _ in range(count)]:
                # (a cancelled warm-up, at a stop: f.exception() would raise in the
                # callback, a traceback in the crawl's log)
                future.add_done_callback(lambda f: f.cancelled() or f.exception())
                _warming.append(future)
        except (RuntimeError, BrokenProcessPool):
            pass  # the crawl ended (stopped at once) while its pool was starting

    thread = threading.Thread(target=start, name="newswatch-pool-start", daemon=True)
    thread.start()
    return thread


def pool_ready() -> bool:
    """Whether the pool ``start_pool`` started has every worker warmed up (False while
    the forkserver imports and the workers fork: seconds on a loaded machine; True when
    no pool was started, e.g. extraction in the crawl process)."""
    if _pool is None and not _warming:
        return True
    return bool(_warming) and all(future.done() for future in _warming)


def shutdown_pool() -> None:
    """Stop the pool's workers."""
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None


def extract_and_analyze(html: str | bytes, url: str, profile: SiteProfile, tz: str,
                        charset: str | None = None, domains: Sequence[str] = (),
                        on_tree: Callable[[Any], None] | None = None
                        ) -> dict[str, Any] | None:
    """Decoding, extraction, then relevance, signature and entities: all the CPU work of
    a page. ``charset`` is the response's Content-Type, checked rather than trusted;
    ``domains`` are the source's (a rel=canonical on any of them is trusted); ``on_tree``
    sees the parsed page first (``monitor.extract.article.extract``)."""
    from monitor.changes import analyze
    from monitor.extract import extract

    result = extract(html, url, profile, tz, charset_hint=charset, owned_domains=domains,
                     on_tree=on_tree)
    if not result:
        return None
    article = analyze(result.as_dict())
    if profile.volatile:  # the site's volatile-text rules, for the version decision
        article["volatile_rules"] = list(profile.volatile)
    return article


def _rules(profile: SiteProfile) -> list[tuple[str, str]]:
    """The profile's rules a page is checked against, with the signal each one's miss
    raises: ``(xpath, "body_miss" | "date_rule_miss")``."""
    return [(rule, key) for rule, key in
            ((profile.body, "body_miss"),
             (profile.date.xpath if profile.date else None, "date_rule_miss")) if rule]


def tree_rule_misses(tree: Any, profile: SiteProfile) -> list[str]:
    """``rule_misses`` on a parsed page (an lxml tree; None: unreadable, every rule
    misses)."""
    misses = []
    for rule, key in _rules(profile):
        try:
            matched = tree is not None and bool(tree.xpath(rule))
        except Exception:  # noqa: BLE001 - a rule lxml cannot run matches nothing
            matched = False
        if not matched:
            misses.append(key)
    return misses


def rule_misses(html: str, profile: SiteProfile) -> list[str]:
    """The health signals of a page the profile's rules missed: ``"body_miss"`` (its
    body container is not on the page), ``"date_rule_miss"`` (its date XPath matches
    nothing); [] when both match or the profile has neither. ``html`` is the decoded
    page, parsed here as lxml's HTML parser reads it (a page lxml cannot read matches
    nothing). The crawl checks the tree the extractor parses instead
    (``extract_checked``): one parse per page, not two."""
    if not _rules(profile):
        return []
    from lxml import etree
    from lxml import html as lxml_html

    try:
        parser = lxml_html.HTMLParser(recover=True, encoding="utf-8", huge_tree=True)
        body = html.strip().replace("\x00", "").encode("utf-8", "surrogatepass")
        tree = etree.fromstring(body or b"<html/>", parser)
    except Exception:  # noqa: BLE001 - unreadable: every rule misses
        tree = None
    return tree_rule_misses(tree, profile)


def extract_checked(html: str | bytes, url: str, profile: SiteProfile, tz: str,
                    charset: str | None = None, domains: Sequence[str] = (),
                    check_rules: bool = False) -> tuple[dict[str, Any] | None, list[str]]:
    """``extract_and_analyze``, and with ``check_rules`` the profile rules the page
    missed (``tree_rule_misses``), both in the worker: ``(article or None, misses)``.
    The rules are tried on the tree the extractor parses, before extraction changes it
    (a page the extractor cannot parse misses every rule): the page is decoded and
    parsed once, for both."""
    if not check_rules:
        return extract_and_analyze(html, url, profile, tz, charset, domains), []
    misses: list[str] = []
    parsed: list[bool] = []

    def check(tree: Any) -> None:
        parsed.append(True)
        misses.extend(tree_rule_misses(tree, profile))

    article = extract_and_analyze(html, url, profile, tz, charset, domains, on_tree=check)
    return article, misses if parsed else tree_rule_misses(None, profile)


def extract_in_pool(pool: ProcessPoolExecutor, html: str | bytes, url: str,
                    profile: SiteProfile, tz: str,
                    charset: str | None = None,
                    domains: Sequence[str] = ()) -> Future[dict[str, Any] | None]:
    """Submit one page for extraction; the future resolves to an article dict or None."""
    return pool.submit(extract_and_analyze, html, url, profile, tz, charset, tuple(domains))
