"""bench/peer_bench.py in its tiny mode: the farm's one source, one round of the trafilatura
command line and of ``newswatch crawl``; both tools' figures printed, the same article
set, each command's CPU counted (BENCHMARKS.md, "newswatch against the trafilatura
command line")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "bench/peer_bench.py", "--extra", "0", "--rounds",
                           "1", "--sources", "baochinhphu_en", *args], cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True,
                          text=True, timeout=180)


def test_peer_bench_prints_both_tools_figures_on_the_same_articles() -> None:
    proc = _bench()
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    for tool in ("trafilatura", "newswatch"):
        round_line = next(line for line in lines if line.strip().startswith(tool))
        assert "articles/s" in round_line and "ms/article" in round_line and "exit 0" in round_line
        summary = [line for line in lines if line.strip().startswith(f"{tool} ")
                   and "CPU-ms per article" in line]
        assert summary, proc.stdout
    assert any("same article set" in line for line in lines), proc.stdout
    assert any(line.strip().startswith("newswatch / trafilatura: articles/s") for line in lines)
    assert any("CPU counted by:" in line for line in lines)
    assert not any("left running" in line for line in lines)  # every process ended with its command
