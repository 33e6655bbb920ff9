"""CPU time and peak RSS of allocation-heavy workloads under each allocator, ours from the wheelhouse.

C: ``c/alloc_bench.c`` (1 and N threads, small and mixed sizes, a live working
set). Python: ``workloads/threaded.py`` with ``PYTHONMALLOC=malloc`` so every
object goes to the allocator under test (pymalloc would otherwise serve the
small ones), with objects freed by other threads than the ones that made them.
These helpers also serve the toolchain section, which runs the same workloads
with other contenders.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from . import libraries, measure, programs, report, sites
from .shipped import Installed

GLIBC = "glibc 2.36 malloc"
PRELOAD = "jemalloc-sys preload, base wheel"
PRELOAD_PROF = "jemalloc-sys preload, profiling wheel"
INPROCESS = "jemalloc-sys in-process, base wheel (dlopen, global-dynamic TLS)"
THREADED = Path(__file__).parent / "workloads" / "threaded.py"
LOSSES = "Where jemalloc-sys loses to glibc here (more CPU, or peak RSS more than 5 % above):"


def is_ours(row: str) -> bool:
    return row.startswith("jemalloc-sys")


@dataclass(frozen=True, kw_only=True)
class Case:
    name: str
    args: tuple[str, ...]
    """threads, ops per thread, min size, max size, working set"""


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


Env = dict[str, str]


def _run(cmd: list[str], envs: Mapping[str, Env], name: str) -> measure.Run:
    return measure.run(cmd, env=envs[name])


def measure_c(exe: Path, envs: Mapping[str, Env], cases: list[Case], rounds: int,
              progress: Callable[[str], None]) -> dict[str, dict[str, measure.Series]]:
    """case -> contender -> series, each case's contenders interleaved."""
    results = {}
    for case in cases:
        progress(f"  {case.name}")
        results[case.name] = measure.interleaved(list(envs), rounds,
                                                 functools.partial(_run, [str(exe), *case.args], envs), progress)
    return results


def python_case(quick: bool, threads: int) -> tuple[str, list[str]]:
    ops = "40000" if quick else "120000"
    return f"Python, {threads} threads, PYTHONMALLOC=malloc", [sys.executable, str(THREADED), str(threads), ops]


def _contenders(base: Env, base_wheel: Installed, profiling_wheel: Installed, *, dlopen: bool) -> dict[str, Env]:
    envs = {GLIBC: base}
    debian = libraries.SYSTEM_ALLOCATORS[0]
    if debian.path.is_file():
        envs[debian.name] = {**base, "LD_PRELOAD": str(debian.path)}
    envs[PRELOAD] = sites.preload_env(base_wheel.site, base)
    envs[PRELOAD_PROF] = sites.preload_env(profiling_wheel.site, base)
    if dlopen:
        envs[INPROCESS] = {**base, "BENCH_LIB": str(base_wheel.inprocess), "BENCH_PREFIX": "_rjem_"}
    for other in libraries.SYSTEM_ALLOCATORS[1:]:
        if other.path.is_file():
            envs[other.name] = {**base, "LD_PRELOAD": str(other.path)}
    return envs


def run_c(base_wheel: Installed, profiling_wheel: Installed, work: Path, *, quick: bool, rounds: int, threads: int,
          progress: Callable[[str], None]) -> str:
    exe = programs.through_pointers(work)
    envs = _contenders(sites.clean_env(os.environ), base_wheel, profiling_wheel, dlopen=True)
    cases = c_cases(quick, threads)
    results = measure_c(exe, envs, cases, rounds, progress)
    return report.runs_table(
        "C microbenchmark", f"Median of {rounds} interleaved rounds; ratio to glibc. The in-process row reaches"
        " `_rjem_malloc` through dlopen/dlsym as Python does; every jemalloc-sys row is a library from the wheelhouse.",
        list(envs), [c.name for c in cases], results, dict.fromkeys(envs, GLIBC), LOSSES, is_ours)


def run_python(base_wheel: Installed, profiling_wheel: Installed, *, quick: bool, rounds: int, threads: int,
               progress: Callable[[str], None]) -> str:
    base = {**sites.clean_env(os.environ), "PYTHONMALLOC": "malloc"}
    envs = _contenders(base, base_wheel, profiling_wheel, dlopen=False)
    case, cmd = python_case(quick, threads)
    progress(f"  {case}")
    results = {case: measure.interleaved(list(envs), rounds, lambda name: measure.run(cmd, env=envs[name]), progress)}
    return report.runs_table(
        "Python threaded workload", f"Median of {rounds} interleaved rounds; ratio to glibc. Python's own"
        " allocations go through `malloc`, so the in-process (prefixed) library does not apply here.",
        list(envs), [case], results, dict.fromkeys(envs, GLIBC), LOSSES, is_ours)
