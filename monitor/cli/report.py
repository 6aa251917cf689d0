"""A crawl's progress bars, summary table, problems and exit code, for ``crawl``,
``backfill`` and ``demo``."""

from __future__ import annotations

import sys
from typing import Any

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from monitor.cli.app import (
    EXIT_INTERRUPTED,
    cells,
    console,
    fail,
    narrow_table,
    out,
)
from monitor.run import CrawlResult, crawl
from monitor.store import COUNTS

# the progress words of a source whose crawl has ended (monitor.run.crawl: ENDED)
ENDED_WORDS = ("done", "interrupted", "failed", "unreachable", "stopped")


def run_with_progress(**kwargs: Any) -> CrawlResult:
    """Run a crawl with a live progress bar per source. Its last word is the run's
    status, as the summary says it: ``done`` (finished), ``unreachable``,
    ``interrupted`` (also a source that had not started), ``failed``..."""
    bar = Progress(TextColumn("[bold]{task.description:<14}"), BarColumn(bar_width=12),
                   MofNCompleteColumn(), TextColumn("{task.fields[errors]} err"),
                   TextColumn("{task.fields[requests]} req"), TimeElapsedColumn(),
                   TextColumn("{task.fields[step]}"), console=console, transient=False,
                   # redrawn 10 times a second on a terminal; elsewhere (a file, a pipe,
                   # cron) only the final state is printed, so it is not redrawn unseen
                   # (29 sources' bars built and thrown away: ~1.5 s of a crawl's CPU)
                   auto_refresh=console.is_terminal)
    tasks: dict[str, Any] = {}
    started: list[bool] = []

    def update(snapshot: dict[str, dict[str, int]]) -> None:
        if not started:  # started with the first report: a config error prints no bar
            started.append(True)
            bar.start()
        for name, counts in snapshot.items():
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=None, errors=0, requests=0,
                                           step="starting")
            found = counts["found"]
            # until pages are found the bar pulses (no total) and the step says what is
            # being fetched: robots.txt, feeds, sitemaps, listings
            step = counts.get("step", "")
            ended = step.split(":")[0] in ENDED_WORDS
            bar.update(tasks[name], total=found if found or ended else None,
                       completed=counts["done"],
                       errors=counts["errors"], requests=counts.get("requests", 0),
                       step=step)

    try:
        result = crawl(progress=update, **kwargs)
        statuses = {run["source"]: run["status"] for run in result.runs}
        for name, task in tasks.items():  # the last word says what the summary says
            status = statuses.get(name, "interrupted" if result.interrupted else None)
            if status is not None:
                word = "done" if status == "finished" else status
                bar.update(task, step=word)
        return result
    finally:
        if started:
            bar.stop()


# column headers short enough for a summary of every count to fit 80 columns
SHORT = {"found": "found", "new": "new", "updated": "upd", "duplicate": "dup",
         "irrelevant": "irrel", "unchanged": "unch", "skipped": "skip", "errors": "err",
         "requests": "req"}
LEGEND = ("upd updated, dup duplicate, irrel irrelevant, unch unchanged, skip skipped "
          "(not due), err errors, req requests")



def summary_table(result: CrawlResult) -> Table:
    """found / new / updated / duplicate / irrelevant / unchanged / skipped / errors /
    requests per source, with totals; abbreviated headers, explained in the caption."""
    table = narrow_table("crawl summary", caption=LEGEND, footer=True)
    keys = list(COUNTS)
    totals = result.totals
    table.add_column("source", footer="total", no_wrap=True)
    for key in keys:
        header = SHORT.get(key, key)
        table.add_column(header, justify="right", footer=str(totals[key]), no_wrap=True,
                         min_width=len(header))
    table.add_column("status", overflow="fold")
    for run in sorted(result.runs, key=lambda run: run["source"]):  # not the finish order
        table.add_row(*cells(run["source"], *(str(run[k]) for k in keys), run["status"]))
    return table


def report(result: CrawlResult) -> None:
    if result.interrupted and not any(result.totals.values()):
        # stopped while it started: one line, not a table of zeros
        out.print("crawl summary: stopped while starting; nothing was fetched",
                  highlight=False)
        return
    out.print(summary_table(result))
    report_ledger(result)
    report_problems(result)


def report_ledger(result: CrawlResult) -> None:
    """Where every discovered link and article request went (``crawler.ledger``): one
    line for the whole crawl, then one per source that lost inputs, naming why."""
    from crawler import ledger

    books = {run["source"]: ledger.load(run.get("ledger")) for run in result.runs}
    if not any(books.values()):
        return
    out.print(f"ledger: {ledger.summary(ledger.merge(books.values()))}", highlight=False)
    for source, book in sorted(books.items()):
        lost = ledger.dropped(book)
        if lost:
            out.print(f"  {source}: {lost}", highlight=False)
        deferred = ((book or {}).get("recheck") or {}).get("deferred")
        if deferred:  # due articles the budget left for later: never silent
            out.print(f"  {source}: recheck deferred {deferred} (over the budget of "
                      f"{book['recheck'].get('budget', 0)}; still due)", highlight=False)


def report_problems(result: CrawlResult) -> None:
    """One warning line per unreachable host, then each run's first error lines (an
    unreachable host's lines left out: summed up in its warning)."""
    for host, info in result.unreachable.items():  # one line per host, not per request
        sources = ", ".join(info.get("sources") or []) or "?"
        console.print(f"[yellow]warning:[/] {host} ({sources}) unreachable: "
                      f"{info['failures']} failures, e.g. {escape(info['reason'])}",
                      highlight=False, soft_wrap=True)
    from monitor.run import host_of

    for run in result.runs:
        lines = [line for line in (run.get("error_detail") or "").splitlines()
                 if host_of(line.split(": ", 1)[0]) not in result.unreachable]
        if lines:  # (an unreachable host's lines are summed up above)
            console.print(f"[yellow]{run['source']}[/] errors:", highlight=False)
            for line in lines[:5]:
                console.print(f"  {line}", highlight=False, soft_wrap=True, markup=False)


def exit_for(result: CrawlResult) -> None:
    """Exit code of a crawl: 130 interrupted, 1 some source did not finish, else 0."""
    if result.interrupted:
        console.print("interrupted: the crawl stopped early; what was extracted is stored, "
                      "its runs are marked interrupted", highlight=False, soft_wrap=True)
        sys.exit(EXIT_INTERRUPTED)
    if not result.ok:
        failed = result.failed_sources
        fail(f"{len(failed)} of {len(result.runs)} sources failed or were unreachable: "
              f"{', '.join(failed) or '?'}")
