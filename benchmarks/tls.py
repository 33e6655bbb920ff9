"""The TLS experiment: what the dlopen-safe library costs, and what wins it back.

jemalloc keeps its per-thread cache in TLS. The in-process library is
dlopen'ed after start-up, so it is built with global-dynamic TLS (every access
may call ``__tls_get_addr``); initial-exec TLS is faster but needs room in the
static TLS block, which glibc only grants a dlopen'ed library when the process
was started with a larger ``glibc.rtld.optional_static_tls`` (REFERENCE.md §2).
Every contender here is the same prefixed library reached through dlopen/dlsym,
except the preloaded reference.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path

from . import libraries, measure, sites
from .libraries import compile_c
from .runtime import Case, Table, _run_with

TUNABLE = "glibc.rtld.optional_static_tls=4096"
IE_TUNED = f"initial-exec, dlopen'ed, GLIBC_TUNABLES={TUNABLE}"
IE_PLAIN = "initial-exec, dlopen'ed, no tunable"
GD = "global-dynamic (shipped in-process build)"
GD_GNU2 = "global-dynamic + -mtls-dialect=gnu2"
PRELOADED = "initial-exec, LD_PRELOAD'ed (preload build, reference)"


def run(cache_dir: Path, work: Path, *, quick: bool, rounds: int, progress: Callable[[str], None]) -> Table:
    exe = compile_c("alloc_bench", work)
    base = sites.clean_env(dict(os.environ))
    progress("  TLS: building the initial-exec and gnu2 variants of the in-process library (cached after the first run)")
    ie = libraries.ours(cache_dir, features="-disable_initial_exec_tls").library
    gd = libraries.ours(cache_dir).library
    gnu2 = libraries.ours(cache_dir, extra_cflags="-mtls-dialect=gnu2").library
    pre = libraries.ours(cache_dir, flavour="preload").library

    def dl(lib: Path, **extra: str) -> dict[str, str]:
        return {**base, "BENCH_LIB": str(lib), "BENCH_PREFIX": "_rjem_", **extra}

    envs = {
        IE_TUNED: dl(ie, GLIBC_TUNABLES=TUNABLE),
        GD: dl(gd),
        GD_GNU2: dl(gnu2),
        IE_PLAIN: dl(ie),
        PRELOADED: {**base, "LD_PRELOAD": str(pre)},
    }
    scale = 4 if quick else 1
    cases = [Case(name="1 thread, 16-256 B", args=("1", str(20_000_000 // scale), "16", "256", "1000")),
             Case(name="2 threads, 16 B-32 KiB", args=("2", str(2_000_000 // scale), "16", "32768", "20000"))]
    results: dict[str, dict[str, measure.Series]] = {}
    for case in cases:
        progress(f"  TLS: {case.name}")
        results[case.name] = measure.interleaved(
            list(envs), rounds, functools.partial(_run_with, [str(exe), *case.args], envs), progress)
    return Table(title="TLS models of the in-process library", rows=list(envs), cases=[c.name for c in cases],
                 results=results, baseline=IE_TUNED)
