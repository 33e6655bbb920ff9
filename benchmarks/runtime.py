"""Time and peak RSS of allocation-heavy workloads under each allocator.

C: ``c/alloc_bench.c`` (1 and N threads, small and mixed sizes, a live working
set). Python: ``workloads/threaded.py`` with ``PYTHONMALLOC=malloc`` so every
object goes to the allocator under test (pymalloc would otherwise serve the
small ones), with objects freed by other threads than the ones that made them.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import contenders, measure
from .libraries import compile_c


@dataclass(frozen=True, kw_only=True)
class Case:
    name: str
    args: tuple[str, ...]
    """threads, ops per thread, min size, max size, working set"""


def _run_with(cmd: list[str], envs: dict[str, dict[str, str]], name: str) -> measure.Run:
    return measure.run(cmd, env=envs[name])


def c_cases(quick: bool, threads: int) -> list[Case]:
    """Operation counts sized for about 0.1-2 s of CPU each under glibc; ``quick`` divides them by 4."""
    scale = 4 if quick else 1

    def n(ops: int) -> str:
        return str(ops // scale)

    return [
        Case(name="C, 1 thread, 16-256 B", args=("1", n(8_000_000), "16", "256", "20000")),
        Case(name="C, 1 thread, 16 B-32 KiB", args=("1", n(2_000_000), "16", "32768", "20000")),
        Case(name=f"C, {threads} threads, 16-256 B", args=(str(threads), n(2_000_000), "16", "256", "20000")),
        Case(name=f"C, {threads} threads, 16 B-32 KiB", args=(str(threads), n(500_000), "16", "32768", "20000")),
    ]


@dataclass(kw_only=True)
class Table:
    title: str
    rows: list[str]
    """contender names, in table order"""
    cases: list[str]
    results: dict[str, dict[str, measure.Series]]
    """case -> contender -> series"""
    baseline: str


def run_c(cache_dir: Path, work: Path, *, quick: bool, rounds: int, threads: int,
          progress: Callable[[str], None]) -> Table:
    exe = compile_c("alloc_bench", work)
    who = contenders.runtime_contenders(cache_dir, python_malloc=False, with_dlopen=True)
    by_name = {c.name: c for c in who}
    results: dict[str, dict[str, measure.Series]] = {}
    for case in c_cases(quick, threads):
        progress(f"  {case.name}")
        cmd = [str(exe), *case.args]
        results[case.name] = measure.interleaved(
            list(by_name), rounds, functools.partial(_run_with, cmd, {n: c.env for n, c in by_name.items()}), progress)
    return Table(title="C microbenchmark", rows=list(by_name), cases=list(results), results=results,
                 baseline=contenders.GLIBC)


def run_python(cache_dir: Path, *, quick: bool, rounds: int, threads: int, progress: Callable[[str], None]) -> Table:
    script = Path(__file__).parent / "workloads" / "threaded.py"
    ops = "40000" if quick else "120000"
    who = contenders.runtime_contenders(cache_dir, python_malloc=True, with_dlopen=False)
    by_name = {c.name: c for c in who}
    case = f"Python, {threads} threads, PYTHONMALLOC=malloc"
    progress(f"  {case}")
    results = {case: measure.interleaved(
        list(by_name), rounds,
        lambda name: measure.run([sys.executable, str(script), str(threads), ops], env=by_name[name].env), progress)}
    return Table(title="Python threaded workload", rows=list(by_name), cases=[case], results=results,
                 baseline=contenders.GLIBC)
